"""The one configuration object of the app: parsed, validated and frozen before any construct exists.

Every problem in the file is reported at once, one line each, naming the field and the value, so a
platform team fixes a bad config in one pass instead of one `cdk synth` per mistake. A field that
failed is reported once and then treated as absent, so nothing that depends on it reports again.

The pydantic models below (`ConfigFile` and its sections) are the file's schema: each field's type
carries its limits, read from the same sources AWS enforces (the CloudFormation registry schemas
cfn-lint ships, botocore's service models), and the sentence a user reads when a value breaks them.
`config/schema.json` is generated from them for editors. Adding a validated field is four steps:

1. give the dataclass that holds it (`GovernanceConfig`, `Spoke`, `DeclaredCard`, ...) the field;
2. give its section's model an attribute of the right type, with a docstring for the schema:
   `Text(...)` for strings (pass `cloudformation=` when the value lands in a CloudFormation
   property), `AccountId`, `EmailAddress`, `WholeNumber`, `Flag`, `OneOf`, lists wrapped in
   `Explained`; an optional key without a default is `Omittable[...] = None`. A rule across fields
   is a `field_validator` or `model_validator` that raises with `_refuse`; a name derived from
   config that a resource takes is one more row in `physical_names`;
3. pass it on in `ConfigFile.governance_config`, and regenerate the schema:
   `python -m governance_config --schema > config/schema.json`;
4. add a bad value for it to `tests/test_config.py`: one line naming the field and the value.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, InitErrorDetails, PydanticCustomError, core_schema


@cache
def cloudformation_property(resource_type: str, *path: str) -> Mapping[str, Any]:
    """A property's JSON schema from the CloudFormation registry schemas that cfn-lint ships.

    The patterns and lengths CloudFormation enforces at deploy come from here rather than being
    copied, so they follow the schemas when cfn-lint is upgraded.
    """
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    node: Mapping[str, Any] = schema
    for step in path:
        node = _resolve(schema, node["properties"][step])
    return node


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@dataclass(frozen=True)
class StringLimit:
    """What CloudFormation accepts for a string property: its length and pattern."""

    source: str
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None


@cache
def cloudformation_string(resource_type: str, *path: str) -> StringLimit:
    node = cloudformation_property(resource_type, *path)
    pattern = node.get("pattern")
    return StringLimit(
        source=f"{resource_type} {'.'.join(path)}",
        max_length=node.get("maxLength"),
        # Registry patterns are ECMAScript regexes: \w and \d are ASCII there.
        pattern=re.compile(pattern, re.ASCII) if pattern else None,
    )


@cache
def botocore_pattern(service: str, shape: str) -> re.Pattern[str]:
    """An API's own pattern for an identifier, from botocore's service model (no network)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return re.compile(model.shape_for(shape).metadata["pattern"], re.ASCII)


def card_name_limit() -> StringLimit:
    return cloudformation_string("AWS::SageMaker::ModelCard", "ModelCardName")


# Kept as a module constant for the constructs that check a card name again at synth.
CARD_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Anchored, because a JSON Schema pattern matches anywhere in the value.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", re.ASCII)
# Names other resources are derived from: a RAM permission name holds 36 characters and the
# evidence bucket name 63, so the prefix is at most 24 characters, lower case and DNS-safe.
# A metric's name in a model card (metric_data name: 1 to 255 characters, the AWS::SageMaker::ModelCard
# schema), here without line breaks: it is matched against the names the reports give.
METRIC_NAME_PATTERN = re.compile(r"^[^\n\r]{1,255}$")
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$", re.ASCII)
# A spoke name becomes part of stack, StackSet and construct names: no double or trailing dashes,
# so two names never collapse into one construct ID.
DISPLAY_NAME_PATTERN = re.compile(r"^[A-Za-z](-?[A-Za-z0-9]){0,39}$", re.ASCII)
KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", re.ASCII)
# The auto-linker names each model package version's card `<group>-v<version>` (lambdas/shared).
VERSION_CARD_NAME = re.compile(r".+-v[0-9]+", re.ASCII)

# S3 bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules"); the
# CloudFormation schema's pattern does not carry these.
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
# Sections of the model card content schema a new version's card may inherit from the previous one.
CARRY_OVER_SECTIONS = (
    "model_overview",
    "intended_uses",
    "business_details",
    "training_details",
    "evaluation_details",
    "additional_information",
)
# What the SageMaker Python SDK carries over to a group's next card.
DEFAULT_CARRY_OVER = ("business_details", "intended_uses", "additional_information")
# Seven years, the common retention for model-risk records (e.g. SR 11-7 programmes), leap days
# counted (7 x 365 + 2); ten years is 3653. S3's API reference states no maximum for a default
# retention; the CDK's ObjectLockRetention refuses more than 100 years.
DEFAULT_RETENTION_DAYS = 2557
MAX_RETENTION_DAYS = 36500
# Export PDFs that spokes start are working copies, not evidence: they expire.
DEFAULT_EXPORT_EXPIRY_DAYS = 30
MAX_EXPORT_EXPIRY_DAYS = 3650
# Where a new version's card takes its carried-over content from: the previous card's last approved
# version, or its latest one.
CARRY_OVER_FROM = ("approved", "latest")
# How long an approval may wait for its CloudTrail record before it is refused. CloudTrail delivers
# "within an average of about 5 minutes of an API call; this time is not guaranteed".
DEFAULT_ATTRIBUTION_MINUTES = 30
MIN_ATTRIBUTION_MINUTES = 5
MAX_ATTRIBUTION_MINUTES = 1440
# The reconciler's schedule: EventBridge's rate() takes whole minutes (EventBridge User Guide,
# "Creating an Amazon EventBridge rule that runs on a schedule"); at least 5 leaves a run (up to its
# 15-minute Lambda timeout at 1,000 versions: benchmarks/reconciler.py) room before the next,
# at most a day is the detection time the docs state.
DEFAULT_RECONCILE_MINUTES = 60
MIN_RECONCILE_MINUTES = 5
MAX_RECONCILE_MINUTES = 1440
APPROVER_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", re.ASCII
)
# Who may assume the reviewer role: an exact role or user ARN, or one with `*` in the path or name
# (IAM Identity Center names a permission set's role AWSReservedSSO_<set>_<unique suffix>).
REVIEWER_PRINCIPAL_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/([\w+=,.@*-]+/)*[\w+=,.@*-]{1,64}$", re.ASCII
)
# A config nests four levels; anything far deeper is a broken or hostile file, refused before
# validation walks it.
MAX_NESTING = 32
# No field takes a number this long; longer integers cost Python quadratic time to convert.
MAX_NUMBER_DIGITS = 30
SHOWN_VALUE_CHARS = 80


class Sharing(StrEnum):
    """Which cards a spoke gets at its access level; every other card it may only read."""

    # A card of a package registered in an account spoke: that account at its level. Template cards,
    # hub packages' cards and cards of accounts reached through an OU: read-only for every spoke.
    OWN_ACCOUNT = "own-account"
    # Every card, at each spoke's access level (any edit spoke may edit any card).
    ALL_SPOKES = "all-spokes"


class AccessLevel(StrEnum):
    """What a spoke may do with the shared cards."""

    READ = "read"
    EDIT = "edit"
    EDIT_EXPORT = "edit-export"

    @property
    def can_edit(self) -> bool:
        return self is not AccessLevel.READ

    @property
    def can_export(self) -> bool:
        return self is AccessLevel.EDIT_EXPORT


class ConfigError(Exception):
    """All problems found in a config file, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Spoke:
    """An account, or every account of an OU, that receives the shared cards."""

    name: str
    access: AccessLevel
    account: str | None = None
    ou: str | None = None


@dataclass(frozen=True)
class DeclaredCard:
    """A card the hub stack creates from config (a business problem's first card)."""

    name: str
    owner: str
    problem_type: str
    risk_rating: str
    intended_uses: str
    purpose: str | None = None
    model_package_group: str | None = None


@dataclass(frozen=True)
class Guardrails:
    """The service control policy that keeps spoke administrators from silencing their forwarding
    rule or approving their own packages: on or off, and the accounts and OUs it is attached to
    (none given: every spoke's account and OU)."""

    enabled: bool = True
    targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Organization:
    id: str
    management_account: str | None = None
    # A member account registered as delegated administrator for StackSets: the OU roll-out then
    # deploys there and acts with CallAs DELEGATED_ADMIN instead of from the management account.
    stack_set_delegated_admin: str | None = None
    guardrails: Guardrails | None = None

    @property
    def stack_set_admin_account(self) -> str | None:
        """The account the OU roll-out stack deploys to."""
        return self.stack_set_delegated_admin or self.management_account


@dataclass(frozen=True)
class ReportOptions:
    """The cross-account governance report: when a review is overdue, and whether the hub
    publishes the report weekly into the evidence bucket."""

    pending_review_days: int = 14
    weekly: bool = False


@dataclass(frozen=True)
class GovernanceConfig:
    prefix: str
    hub_account: str
    region: str
    spokes: tuple[Spoke, ...]
    reviewers: tuple[str, ...]
    evidence_retention_days: int
    organization: Organization | None = None
    cards: tuple[DeclaredCard, ...] = ()
    card_key_arn: str | None = None
    carry_over_sections: tuple[str, ...] = DEFAULT_CARRY_OVER
    archived_rejects_package: bool = False
    sharing: Sharing = Sharing.OWN_ACCOUNT
    carry_over_from: str = "approved"
    export_expiry_days: int = DEFAULT_EXPORT_EXPIRY_DAYS
    # Hub principals (role or user ARNs) besides the stack's reviewer role whose approval counts.
    approvers: tuple[str, ...] = ()
    # Hub principals (ARN patterns) that may assume the reviewer role; none: nobody may.
    reviewer_principals: tuple[str, ...] = ()
    approver_may_not_edit: bool = True
    approval_attribution_minutes: int = DEFAULT_ATTRIBUTION_MINUTES
    reconcile_interval_minutes: int = DEFAULT_RECONCILE_MINUTES
    report: ReportOptions = ReportOptions()
    # (metric name, largest acceptable drop, largest acceptable rise), sorted by name.
    metric_thresholds: tuple[tuple[str, float | None, float | None], ...] = ()
    # None: one person of `approver_arns` approves any card (see `approval_policy_json`).
    approval_policy: ApprovalPolicyConfig | None = None

    @property
    def approval_policy_json(self) -> str:
        """The policy as the workflow reads it from its environment (card_workflow.approval_policy)."""
        if self.approval_policy is None:
            return json.dumps(
                {
                    "groups": {DEFAULT_APPROVER_GROUP: {"principals": list(self.approver_arns)}},
                    "tiers": {rating: {"people": 1, "groups": [DEFAULT_APPROVER_GROUP]} for rating in TIER_RATINGS},
                },
                sort_keys=True,
            )
        return self.approval_policy.to_json(self.cards)

    @property
    def lifecycle_stages(self) -> tuple[LifecycleStage, ...]:
        """The model package lifecycle stages the approval policy sets; none without one."""
        return self.approval_policy.lifecycle_stages if self.approval_policy is not None else ()

    @property
    def metric_thresholds_json(self) -> str:
        """The thresholds as the workflow and report functions read them from their environment."""
        return json.dumps(
            {
                name: {k: v for k, v in (("max_drop", drop), ("max_rise", rise)) if v is not None}
                for name, drop, rise in self.metric_thresholds
            },
            sort_keys=True,
        )

    @property
    def template_cards(self) -> dict[str, str]:
        """Model package group -> the declared card that starts its first version's card."""
        return {c.model_package_group: c.name for c in self.cards if c.model_package_group}

    @property
    def account_spokes(self) -> tuple[Spoke, ...]:
        return tuple(s for s in self.spokes if s.account)

    @property
    def ou_spokes(self) -> tuple[Spoke, ...]:
        return tuple(s for s in self.spokes if s.ou)

    @property
    def access_levels(self) -> tuple[AccessLevel, ...]:
        """Levels in use, in a stable order (one RAM share each)."""
        used = {s.access for s in self.spokes}
        return tuple(level for level in AccessLevel if level in used)

    @property
    def spoke_accounts(self) -> tuple[str, ...]:
        return tuple(s.account for s in self.spokes if s.account)

    @property
    def guardrails_enabled(self) -> bool:
        guardrails = self.organization.guardrails if self.organization else None
        return guardrails is not None and guardrails.enabled

    @property
    def guardrail_targets(self) -> tuple[str, ...]:
        """Where the guardrail SCP is attached: the configured targets, else every spoke's account or OU."""
        guardrails = self.organization.guardrails if self.organization else None
        if guardrails is not None and guardrails.targets is not None:
            return guardrails.targets
        return tuple(target for s in self.spokes if (target := s.account or s.ou))

    # Physical names. Each is one the service or another account must know in advance: spokes
    # target the bus and bucket by ARN, the hub assumes the spoke role by ARN.
    @property
    def event_bus_name(self) -> str:
        return f"{self.prefix}-bus"

    @property
    def evidence_bucket_name(self) -> str:
        return f"{self.prefix}-evidence-{self.hub_account}-{self.region}"

    @property
    def exports_bucket_name(self) -> str:
        return f"{self.prefix}-exports-{self.hub_account}-{self.region}"

    @property
    def card_key_alias(self) -> str:
        return f"alias/{self.prefix}-cards"

    @property
    def approval_sync_role_name(self) -> str:
        return f"{self.prefix}-approval-sync"

    @property
    def approval_workflow_role_name(self) -> str:
        return f"{self.prefix}-approval-workflow"

    @property
    def registry_forwarding_role_name(self) -> str:
        """The role each spoke's forwarding rule sends events with; the hub bus admits it by name."""
        return f"{self.prefix}-registry-forwarding"

    @property
    def registry_forwarding_rule_name(self) -> str:
        """Each spoke's forwarding rule, named so the guardrail SCP protects it by ARN and the
        reconciler reads exactly that rule."""
        return f"{self.prefix}-registry-forwarding"

    @property
    def guardrail_policy_name(self) -> str:
        return f"{self.prefix}-guardrails"

    @property
    def guardrail_stack_name(self) -> str:
        return f"{self.prefix}-guardrails"

    def stack_set_name(self, level: AccessLevel) -> str:
        return f"{self.prefix}-spoke-{level.value}"

    @property
    def reviewer_role_name(self) -> str:
        return f"{self.prefix}-reviewer"

    def hub_role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.hub_account}:role/{role_name}"

    @property
    def reviewer_role_arn(self) -> str:
        return self.hub_role_arn(self.reviewer_role_name)

    @property
    def approver_arns(self) -> tuple[str, ...]:
        """Every principal whose Approved status takes effect: the reviewer role, then `approvers`."""
        return (self.reviewer_role_arn, *(a for a in self.approvers if a != self.reviewer_role_arn))

    @property
    def registry_reader_role_name(self) -> str:
        return f"{self.prefix}-registry-reader"

    @property
    def auto_linker_role_name(self) -> str:
        """The auto-linker's role: spokes' registry-reader roles trust it by name, to read reports."""
        return f"{self.prefix}-auto-linker"

    @property
    def auditor_role_name(self) -> str:
        return f"{self.prefix}-auditor"

    @property
    def reconciler_role_name(self) -> str:
        """The reconciler's role: spokes' registry-reader roles trust it by name."""
        return f"{self.prefix}-reconciler"

    @property
    def report_function_role_name(self) -> str:
        return f"{self.prefix}-report"

    def share_name(self, level: AccessLevel) -> str:
        return f"{self.prefix}-cards-{level.value}"

    @property
    def owner_share_prefix(self) -> str:
        """`<prefix>-cards-<account>` is the share of an account spoke's own cards."""
        return f"{self.prefix}-cards-"

    def owner_share_name(self, account: str) -> str:
        return f"{self.owner_share_prefix}{account}"

    @property
    def read_permission_name(self) -> str:
        return f"{self.prefix}-cards-read"

    # Stack names carry the prefix, so two installations (two prefixes) can live in one account.
    @property
    def hub_stack_name(self) -> str:
        return f"{self.prefix}{HUB_STACK_SUFFIX}"

    def spoke_stack_name(self, spoke: Spoke) -> str:
        return f"{self.prefix}{SPOKE_STACK_INFIX}{spoke.name}"

    @property
    def ou_rollout_stack_name(self) -> str:
        return f"{self.prefix}-ou-rollout"

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def physical_names(self) -> list[tuple[str, str, str]]:
        """(CloudFormation resource type, property, name) for every name derived from config.

        Each is checked against the resource's schema when the config is read, so a prefix or
        spoke name CloudFormation would refuse at deploy fails here instead.
        """
        names = [
            ("AWS::S3::Bucket", "BucketName", self.evidence_bucket_name),
            ("AWS::S3::Bucket", "BucketName", self.exports_bucket_name),
            ("AWS::Events::EventBus", "Name", self.event_bus_name),
            ("AWS::KMS::Alias", "AliasName", self.card_key_alias),
            ("AWS::IAM::Role", "RoleName", self.approval_sync_role_name),
            ("AWS::IAM::Role", "RoleName", self.approval_workflow_role_name),
            ("AWS::IAM::Role", "RoleName", self.reviewer_role_name),
            ("AWS::IAM::Role", "RoleName", self.registry_reader_role_name),
            ("AWS::IAM::Role", "RoleName", self.auditor_role_name),
            ("AWS::IAM::Role", "RoleName", self.auto_linker_role_name),
            ("AWS::IAM::Role", "RoleName", self.report_function_role_name),
            ("AWS::IAM::Role", "RoleName", self.reconciler_role_name),
            ("AWS::RAM::Permission", "Name", self.read_permission_name),
        ]
        names += [("AWS::RAM::ResourceShare", "Name", self.share_name(level)) for level in AccessLevel]
        names += [
            ("AWS::RAM::ResourceShare", "Name", self.owner_share_name(s.account))
            for s in self.account_spokes
            if s.account and s.access.can_edit
        ]
        names.append(("AWS::IAM::Role", "RoleName", self.registry_forwarding_role_name))
        names.append(("AWS::Events::Rule", "Name", self.registry_forwarding_rule_name))
        names.append(("AWS::Organizations::Policy", "Name", self.guardrail_policy_name))
        names += [
            ("AWS::CloudFormation::StackSet", "StackSetName", self.stack_set_name(level)) for level in AccessLevel
        ]
        return names


EXPORT_PREFIX = "exports"
HUB_STACK_SUFFIX = "-hub"
SPOKE_STACK_INFIX = "-spoke-"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@cache
def known_regions() -> frozenset[str]:
    """Regions where SageMaker runs, from botocore's own endpoint data (no network)."""
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        regions.update(session.get_available_regions("sagemaker", partition_name=partition))
    return frozenset(regions)


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


@dataclass(frozen=True)
class _OversizedNumber:
    """A JSON number no field could take (NaN, Infinity, or too many digits), kept for the message."""

    text: str


def _printable(text: str) -> str:
    """The text with any lone UTF-16 surrogate written as its escape, so a terminal can show it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value: Any) -> str:
    """A value as the config wrote it, shortened past 80 characters."""
    if isinstance(value, _OversizedNumber):
        text = value.text
    else:
        try:
            text = _printable(json.dumps(value, ensure_ascii=False))
        except (TypeError, ValueError, RecursionError):
            text = f"<{type(value).__name__}>"
    if len(text) > SHOWN_VALUE_CHARS:
        return f"{text[: SHOWN_VALUE_CHARS - 3]}... ({len(text)} characters)"
    return text


# Where a value sits in the file: keys and list indexes from the top, as pydantic reports it.
Location = tuple[int | str, ...]
Refusal = tuple[Location, str, Any]

# The pydantic error types this module raises: one shows the value it refused, the other is about a
# field or object as a whole and names what it needs in the sentence.
VALUE_REFUSED = "value_refused"
FIELD_REFUSED = "field_refused"
_NO_VALUE = object()


def _refusal(problem: str, *, with_value: bool = True) -> PydanticCustomError:
    # The sentence travels as context, not as the template, so a pattern's braces stay literal.
    return PydanticCustomError(VALUE_REFUSED if with_value else FIELD_REFUSED, "{problem}", {"problem": problem})


def _refuse(refusals: Sequence[Refusal]) -> None:
    """Raise every refusal at once, each at its place under the value being validated."""
    if refusals:
        raise ValidationError.from_exception_data(
            "GovernanceConfig",
            [
                InitErrorDetails(type=_refusal(problem, with_value=value is not _NO_VALUE), loc=location, input=value)
                for location, problem, value in refusals
            ],
        )


@dataclass(frozen=True)
class Explained:
    """Words every problem with the value as a whole (its type, length, range) as one sentence.

    A problem inside the value, such as one of a list's items, keeps its own sentence and place.
    """

    problem: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return self.around(handler(source))

    def around(self, schema: CoreSchema) -> CoreSchema:
        return core_schema.no_info_wrap_validator_function(self._validate, schema)

    def _validate(self, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if any(detail["loc"] for detail in error.errors()):
                raise
            raise _refusal(self.problem) from None


@dataclass(frozen=True)
class WholeNumber:
    """An integer in a range (never a boolean, a float or a numeric string)."""

    unit: str
    low: int
    high: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        explained = Explained(f"must be a whole number of {self.unit} from {self.low} to {self.high}")
        return explained.around(core_schema.int_schema(ge=self.low, le=self.high, strict=True))


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of strings: an enum's values (the field's type), `choices`, or the enum of
    the CloudFormation property `cloudformation` names."""

    choices: tuple[str, ...] = ()
    cloudformation: tuple[str, ...] = ()

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        value_of: Callable[[str], Any]
        if isinstance(source, type) and issubclass(source, Enum):
            choices, value_of = tuple(member.value for member in source), source
        else:
            choices, value_of = self.choices or tuple(cloudformation_property(*self.cloudformation)["enum"]), str
        schema = core_schema.no_info_after_validator_function(value_of, core_schema.literal_schema(list(choices)))
        return Explained(f"must be one of {', '.join(choices)}").around(schema)


@dataclass(frozen=True)
class Text:
    """A non-empty string without surrounding whitespace, within the limits of where it lands.

    The pattern is the project's own (`pattern`) or an API's from botocore (`botocore`: service and
    shape); `cloudformation` names the resource type and property path whose registry schema gives
    the length and pattern CloudFormation enforces at deploy. `what` names the kind of value.
    """

    what: str = ""
    pattern: re.Pattern[str] | None = None
    botocore: tuple[str, str] | None = None
    cloudformation: tuple[str, ...] = ()

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        limit = cloudformation_string(*self.cloudformation) if self.cloudformation else StringLimit(source="")
        own_pattern = botocore_pattern(*self.botocore) if self.botocore else self.pattern

        def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
            # Whitespace would reach the template unchanged: in a principal ARN, a subscription, a name.
            if isinstance(value, str) and value != value.strip():
                raise _refusal("has leading or trailing whitespace" if value.strip() else "must be a non-empty string")
            try:
                return str(handler(value))
            except ValidationError as error:
                kind = error.errors()[0]["type"]
                if kind in ("string_type", "string_too_short"):
                    raise _refusal("must be a non-empty string") from None
                if kind == "string_too_long":
                    raise _refusal(
                        f"is {len(value)} characters; CloudFormation ({limit.source}) takes at most {limit.max_length}"
                    ) from None
                if kind == "string_pattern_mismatch" and own_pattern is not None:
                    raise _refusal(f"is not {self.what}") from None
                if kind == "string_pattern_mismatch" and limit.pattern is not None:
                    raise _refusal(
                        f"is not {self.what or 'accepted'}: CloudFormation ({limit.source}) "
                        f"requires {limit.pattern.pattern}"
                    ) from None
                raise

        schema = core_schema.str_schema(
            min_length=1,
            max_length=limit.max_length,
            pattern=own_pattern or limit.pattern,
            # Python's re keeps the patterns' ASCII flag: \d and \w are ASCII in the registry's
            # ECMAScript patterns and in botocore's.
            regex_engine="python-re",
            strict=True,
        )
        return core_schema.no_info_wrap_validator_function(validate, schema)


@dataclass(frozen=True)
class NeverNull:
    """An optional key that, when given, is not null: validated and published as its value's type only."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        (value_type,) = (member for member in get_args(source) if member is not type(None))
        return core_schema.no_info_wrap_validator_function(self._validate, handler.generate_schema(value_type))

    @staticmethod
    def _validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if value is None:
            raise _refusal("is null")
        return handler(value)


T = TypeVar("T")
# A key that may be left out (its default is None) but is never null.
Omittable = Annotated[T | None, NeverNull()]
Flag = Annotated[bool, Explained("must be true or false")]
AnyText = Annotated[str, Explained("must be a string")]
AccountId = Annotated[str, Text("a 12-digit AWS account ID", botocore=("organizations", "AccountId"))]
EmailAddress = Annotated[str, Text("an e-mail address", pattern=EMAIL_PATTERN)]
MODEL_CARD = "AWS::SageMaker::ModelCard"


def _sagemaker_region(region: str) -> str:
    if region not in known_regions():
        raise _refusal("is not an AWS region where SageMaker runs")
    return region


def _not_a_version_card_name(name: str) -> str:
    if VERSION_CARD_NAME.fullmatch(name):
        raise _refusal("ends like the card the auto-linker creates for a model package version (<group>-v<version>)")
    return name


def _name_key(name: str) -> str:
    """Names equal under this key become the same construct ID (dashes dropped, case folded)."""
    return name.replace("-", "").lower()


def _repeats(
    field: str, values: Sequence[str | None], member: str = "", key: Callable[[str], Hashable] = str
) -> list[Refusal]:
    """Each value equal (under `key`) to an earlier one, refused by naming the first."""
    first: dict[Hashable, int] = {}
    refusals: list[Refusal] = []
    for index, value in enumerate(values):
        if value is not None and (earlier := first.setdefault(key(value), index)) != index:
            where: Location = (index, member) if member else (index,)
            refusals.append((where, f"duplicates {field}[{earlier}]{'.' if member else ''}{member}", value))
    return refusals


class _Section(BaseModel):
    # Strict: "30" is not a number of days and 1 is not true. Built on first use, so importing the
    # module does not load the CloudFormation schemas.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True, use_attribute_docstrings=True)


class HubSection(_Section):
    """The account that owns the cards, approves them and keeps the evidence."""

    account: AccountId
    """The hub account's 12-digit ID."""
    region: Annotated[str, Text(), AfterValidator(_sagemaker_region)]
    """The hub's region, where SageMaker runs; every spoke uses the same region."""
    card_key_arn: Omittable[Annotated[str, Text("a KMS key ARN", pattern=KEY_ARN_PATTERN)]] = None
    """A customer managed KMS key of the hub for the cards; by default the stack creates one."""

    @model_validator(mode="after")
    def check_the_key_is_the_hubs(self) -> Self:
        expected = f"arn:{partition_of(self.region)}:kms:{self.region}:{self.account}:key/"
        if self.card_key_arn is not None and not self.card_key_arn.startswith(expected):
            problem = f"must be a key in the hub account, region and partition (an ARN starting {expected})"
            _refuse([(("card_key_arn",), problem, self.card_key_arn)])
        return self


# An account ID or an OU ID, as AWS Organizations' AttachPolicy takes a TargetId (botocore's
# organizations model, PolicyTargetId, also takes a root ID: the guardrail binds spokes, not the root).
GUARDRAIL_TARGET_PATTERN = re.compile(r"^(\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$", re.ASCII)


class GuardrailsSection(_Section):
    """A service control policy that denies spoke administrators what would silence the hub: changing
    the forwarding rule or the hub's roles, and approving a model package themselves."""

    enabled: Flag = True
    """Whether the guardrail stack (for the management account) is synthesized."""
    targets: Omittable[
        Annotated[
            list[Annotated[str, Text("an account or OU ID (ou-ab12-cdef3456)", pattern=GUARDRAIL_TARGET_PATTERN)]],
            Field(min_length=1),
            Explained("must be a non-empty list of account and OU IDs"),
        ]
    ] = None
    """The accounts and OUs the policy is attached to; by default every spoke's account or OU."""

    @field_validator("targets")
    @classmethod
    def check_targets(cls, targets: list[str] | None) -> list[str] | None:
        _refuse(_repeats("targets", targets or []))
        return targets


class OrganizationSection(_Section):
    """The AWS Organization of the spokes; needed for OU spokes."""

    id: Annotated[str, Text("an organization ID like o-a1b2c3d4e5", botocore=("organizations", "OrganizationId"))]
    """The organization's ID, like o-a1b2c3d4e5."""
    management_account: Omittable[AccountId] = None
    """Needed for OU spokes: RAM names an OU by an ARN in the management account."""
    stack_set_delegated_admin: Omittable[AccountId] = None
    """A member account registered as delegated administrator for StackSets, to deploy the OU roll-out."""
    guardrails: Omittable[GuardrailsSection] = None
    """A service control policy for the spokes, deployed in the management account."""

    @model_validator(mode="after")
    def check_the_delegated_admin_is_a_member(self) -> Self:
        if self.stack_set_delegated_admin is not None and self.stack_set_delegated_admin == self.management_account:
            problem = "is the management account; leave it out to deploy the OU roll-out from the management account"
            _refuse([(("stack_set_delegated_admin",), problem, self.stack_set_delegated_admin)])
        return self

    @model_validator(mode="after")
    def check_guardrails(self) -> Self:
        guardrails = self.guardrails
        if guardrails is None or not guardrails.enabled:
            return self
        refusals: list[Refusal] = []
        if self.management_account is None:
            problem = "needs organization.management_account: the guardrail SCP is created there"
            refusals.append((("guardrails", "enabled"), problem, guardrails.enabled))
        for index, target in enumerate(guardrails.targets or []):
            # "SCPs don't affect users or roles in the management account" (Organizations User Guide, SCPs).
            if target == self.management_account:
                problem = "is the management account, which service control policies never restrict"
                refusals.append((("guardrails", "targets", index), problem, target))
        _refuse(refusals)
        return self


class SpokeSection(_Section):
    """An account, or every account of an OU, that receives the shared cards."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["account"]}, {"required": ["ou"]}]})

    name: Annotated[
        str,
        Text(
            "a name of letters, digits and single dashes (max 40), starting with a letter",
            pattern=DISPLAY_NAME_PATTERN,
        ),
    ]
    """Part of the spoke's stack and StackSet names."""
    access: Annotated[AccessLevel, OneOf()]
    """What the spoke may do with the shared cards."""
    account: Omittable[AccountId] = None
    """The spoke account's 12-digit ID (give account or ou, not both)."""
    ou: Omittable[
        Annotated[str, Text("an OU ID like ou-ab12-cdef3456", botocore=("organizations", "OrganizationalUnitId"))]
    ] = None
    """Every account of this OU is a spoke (needs organization.management_account)."""

    @model_validator(mode="after")
    def check_one_target(self) -> Self:
        if (self.account is None) == (self.ou is None):
            _refuse([((), "needs exactly one of account or ou", _NO_VALUE)])
        return self


class CardSection(_Section):
    """A card the hub stack creates: a business problem's first card."""

    name: Annotated[
        str,
        Text("a model card name", cloudformation=(MODEL_CARD, "ModelCardName")),
        AfterValidator(_not_a_version_card_name),
    ]
    """The card's name; not <group>-v<version>, the name of a model package version's card."""
    owner: Annotated[str, Text(cloudformation=(MODEL_CARD, "Content", "ModelOverview", "ModelOwner"))]
    """Who owns the model (model overview)."""
    problem_type: Annotated[str, Text(cloudformation=(MODEL_CARD, "Content", "ModelOverview", "ProblemType"))]
    """The kind of problem the model solves (model overview)."""
    risk_rating: Annotated[str, OneOf(cloudformation=(MODEL_CARD, "Content", "IntendedUses", "RiskRating"))]
    """The model's risk rating (intended uses)."""
    intended_uses: Annotated[str, Text(cloudformation=(MODEL_CARD, "Content", "IntendedUses", "IntendedUses"))]
    """What the model is meant to be used for (intended uses)."""
    purpose: Omittable[
        Annotated[str, Text(cloudformation=(MODEL_CARD, "Content", "IntendedUses", "PurposeOfModel"))]
    ] = None
    """The purpose of the model (intended uses)."""
    model_package_group: Omittable[
        Annotated[str, Text(cloudformation=("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"))]
    ] = None
    """The group whose first version's card starts from this one."""


MAX_PENDING_REVIEW_DAYS = 365


class ReportSection(_Section):
    """The cross-account governance report."""

    pending_review_days: Annotated[int, WholeNumber("days", 1, MAX_PENDING_REVIEW_DAYS)] = (
        ReportOptions.pending_review_days
    )
    """After how many days a card pending review is overdue."""
    weekly: Flag = ReportOptions.weekly
    """Whether the hub publishes the report weekly into the evidence bucket."""


Bound = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False),
    Explained("must be a number of at least 0"),
]


class MetricThresholdSection(_Section):
    """How far one metric may move from the last approved version before it is a finding."""

    max_drop: Omittable[Bound] = None
    """The largest acceptable fall (last approved minus new), e.g. 0.02 for auc."""
    max_rise: Omittable[Bound] = None
    """The largest acceptable climb (new minus last approved), e.g. 0.05 for rmse."""

    @model_validator(mode="after")
    def check_a_bound_is_set(self) -> Self:
        if self.max_drop is None and self.max_rise is None:
            _refuse([((), "needs max_drop or max_rise (or both)", _NO_VALUE)])
        return self


def _outside_hub(arns: list[str], info: ValidationInfo, because: str) -> list[Refusal]:
    """IAM ARNs not in the hub's account or partition (the hub section, when it passed, is in info.data)."""
    hub: HubSection | None = info.data.get("hub")
    refusals: list[Refusal] = []
    for index, arn in enumerate(arns):
        partition, account = arn.split(":")[1], arn.split(":")[4]
        if hub is not None and account != hub.account:
            refusals.append(((index,), f"is not in the hub account {hub.account}: {because}", arn))
        elif hub is not None and partition != partition_of(hub.region):
            refusals.append(((index,), f"is not in the {partition_of(hub.region)} partition of {hub.region}", arn))
    return refusals


# --- The approval policy (approval_policy): who decides, by risk rating, and for how long ------------

# Ratings with a tier of their own, least strict first; a card rated Unknown (or not rated) is
# reviewed at the strictest, so High is required (lambdas/card_workflow/approval_policy.py).
TIER_RATINGS = ("Low", "Medium", "High")
DEFAULT_APPROVER_GROUP = "approvers"
ON_EXPIRY = ("notify", "revert")
RE_REVIEW_TRIGGERS = ("new-version-approved", "content-change")
# A group name travels comma-separated in the ledger's decision entries: no commas, lower case.
GROUP_NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$", re.ASCII)
MAX_GROUP_NAME = 64
# A person as a session names them: an STS SourceIdentity (2 to 256 characters) or RoleSessionName
# (2 to 64), both of [\w+=,.@-] (botocore's STS model, AssumeRole); anchored here.
PERSON_PATTERN = re.compile(r"^[\w+=,.@-]{2,256}$", re.ASCII)
# ModelLifeCycle Stage and StageStatus: 1 to 63 characters of [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
# (SageMaker API reference, ModelLifeCycle; botocore's EntityName shape, unanchored there).
LIFECYCLE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", re.ASCII)
MAX_TIER_PEOPLE = 10
MAX_REVIEW_INTERVAL_DAYS = 3650
MAX_REMINDER_DAYS = 365


@dataclass(frozen=True)
class ApproverGroup:
    name: str
    principals: tuple[str, ...]
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalTier:
    rating: str
    people: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class LifecycleStage:
    """A SageMaker model package lifecycle stage: ModelLifeCycle Stage and StageStatus."""

    stage: str
    stage_status: str


@dataclass(frozen=True)
class ApprovalPolicyConfig:
    groups: tuple[ApproverGroup, ...]
    tiers: tuple[ApprovalTier, ...]
    review_interval_days: int | None = None
    on_expiry: str = "notify"
    remind_days_before: tuple[int, ...] = ()
    remind_days_after: tuple[int, ...] = ()
    re_review_on: tuple[str, ...] = ()
    incident_group: str | None = None
    on_approval: LifecycleStage | None = None
    on_revert: LifecycleStage | None = None
    on_suspension: LifecycleStage | None = None
    # (declared card name, its tier), sorted by name.
    card_tiers: tuple[tuple[str, str], ...] = ()

    @property
    def lifecycle_stages(self) -> tuple[LifecycleStage, ...]:
        """Every stage the workflow may set (on_approval, on_revert, on_suspension), each once."""
        return tuple(dict.fromkeys(s for s in (self.on_approval, self.on_revert, self.on_suspension) if s))

    def to_json(self, cards: Sequence[DeclaredCard] = ()) -> str:
        """The policy for the workflow; a declared card's tier also reaches its group's version cards."""
        groups_of_cards = {card.name: card.model_package_group for card in cards}
        stages = {"on_approval": self.on_approval, "on_revert": self.on_revert, "on_suspension": self.on_suspension}
        policy: dict[str, Any] = {
            "groups": {
                g.name: {"principals": list(g.principals), **({"people": list(g.people)} if g.people else {})}
                for g in self.groups
            },
            "tiers": {t.rating: {"people": t.people, "groups": list(t.groups)} for t in self.tiers},
            "on_expiry": self.on_expiry,
            "remind_days_before": list(self.remind_days_before),
            "remind_days_after": list(self.remind_days_after),
            "re_review_on": list(self.re_review_on),
            "card_tiers": dict(self.card_tiers),
            "group_tiers": {groups_of_cards[n]: t for n, t in self.card_tiers if groups_of_cards.get(n)},
        }
        if self.review_interval_days is not None:
            policy["review_interval_days"] = self.review_interval_days
        if self.incident_group is not None:
            policy["incident_group"] = self.incident_group
        for key, stage in stages.items():
            if stage is not None:
                policy[key] = {"stage": stage.stage, "stage_status": stage.stage_status}
        return json.dumps(policy, sort_keys=True)


GroupName = Annotated[
    str,
    Text("a group name of lower-case letters, digits and single dashes", pattern=GROUP_NAME_PATTERN),
    Field(max_length=MAX_GROUP_NAME),
]
TierRating = Annotated[str, OneOf(TIER_RATINGS)]
ReminderDays = Annotated[
    list[Annotated[int, WholeNumber("days", 1, MAX_REMINDER_DAYS)]],
    Explained("must be a list of whole numbers of days"),
]


class ApproverGroupSection(_Section):
    """Who belongs to an approver group: principals of the hub, optionally only the people named."""

    principals: Annotated[
        list[
            Annotated[
                str,
                Text(
                    "an IAM role or user ARN, `*` allowed in its name (arn:aws:iam::<hub>:role/<n>)",
                    pattern=REVIEWER_PRINCIPAL_ARN,
                ),
            ]
        ],
        Field(min_length=1),
        Explained("must be a non-empty list of IAM role or user ARNs"),
    ]
    """Role or user ARNs of the hub, `*` allowed in the name, e.g. an IAM Identity Center permission
    set's role arn:aws:iam::<hub>:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_ModelRisk_*."""
    people: Annotated[
        list[
            Annotated[
                str, Text("a source identity or role session name ([\\w+=,.@-], 2 to 256)", pattern=PERSON_PATTERN)
            ]
        ],
        Explained("must be a list of source identities or session names"),
    ] = []
    """Only these people (a session's source identity or session name) of the principals belong;
    none: everyone who acts through them. A name alone never admits anyone."""

    @field_validator("principals", "people")
    @classmethod
    def check_repeats(cls, values: list[str], info: ValidationInfo) -> list[str]:
        _refuse(_repeats(str(info.field_name), values, key=str.casefold if info.field_name == "people" else str))
        return values


class TierSection(_Section):
    """How many distinct people approve a card of this rating, and which groups must be among them."""

    people: Annotated[int, WholeNumber("people", 1, MAX_TIER_PEOPLE)]
    """How many distinct people must approve."""
    groups: Annotated[list[GroupName], Field(min_length=1), Explained("must be a non-empty list of group names")]
    """Groups that must each have one of the approving people (a group twice: two of its people); every
    approving person must belong to one of them."""

    @model_validator(mode="after")
    def check_a_person_per_place(self) -> Self:
        if self.people < len(self.groups):
            problem = f"is fewer than the {len(self.groups)} group places; one person fills one place"
            _refuse([(("people",), problem, self.people)])
        return self


class TiersSection(_Section):
    """The tier of each risk rating; Unknown and unrated cards take High's."""

    High: TierSection
    """Also the tier of cards rated Unknown or not rated."""
    Medium: Omittable[TierSection] = None
    """By default High's."""
    Low: Omittable[TierSection] = None
    """By default Medium's, else High's."""


class LifecycleStageSection(_Section):
    """A model package lifecycle stage (SageMaker ModelLifeCycle)."""

    stage: Annotated[
        str, Text("a stage name like Production (1-63 letters, digits, dashes)", pattern=LIFECYCLE_NAME_PATTERN)
    ]
    """ModelLifeCycle Stage, e.g. Production."""
    stage_status: Annotated[
        str, Text("a stage status like Approved (1-63 letters, digits, dashes)", pattern=LIFECYCLE_NAME_PATTERN)
    ]
    """ModelLifeCycle StageStatus, e.g. Approved."""


class ApprovalPolicySection(_Section):
    """Who must approve a card version, by its risk rating, and how long an approval lasts."""

    groups: Annotated[
        dict[GroupName, ApproverGroupSection],
        Field(min_length=1),
        Explained("must be a non-empty object of group name to principals and people"),
    ]
    """Approver groups by name."""
    tiers: TiersSection
    """The tier of each risk rating."""
    review_interval_days: Omittable[Annotated[int, WholeNumber("days", 1, MAX_REVIEW_INTERVAL_DAYS)]] = None
    """Days after an approval that the card must be reviewed again; none: no periodic review."""
    on_expiry: Annotated[str, OneOf(ON_EXPIRY)] = "notify"
    """At the due date: notify (remind reviewers) or revert (the approval stops taking effect)."""
    remind_days_before: ReminderDays = []
    """Days before the due date to remind reviewers."""
    remind_days_after: ReminderDays = []
    """Days after the due date to remind reviewers again."""
    re_review_on: Annotated[
        list[Annotated[str, OneOf(RE_REVIEW_TRIGGERS)]], Explained("must be a list of re-review triggers")
    ] = []
    """new-version-approved: a newer version of the group taking effect restarts the interval;
    content-change: a content change after the approval makes the review due at once."""
    incident_group: Omittable[GroupName] = None
    """The group whose people may suspend an approved card (and lift the suspension)."""
    on_approval: Omittable[LifecycleStageSection] = None
    """The model package lifecycle stage to set when an approval takes effect (needs on_revert): set
    by anyone else on a package without an effective approval, the hub puts it back."""
    on_revert: Omittable[LifecycleStageSection] = None
    """The lifecycle stage to set when an approval is reverted (expiry with on_expiry revert, or the
    on_approval stage set without an approval)."""
    on_suspension: Omittable[LifecycleStageSection] = None
    """The lifecycle stage to set when an incident suspends the card."""
    card_tiers: Annotated[
        dict[Annotated[str, Text("a model card name", cloudformation=(MODEL_CARD, "ModelCardName"))], TierRating],
        Explained("must be an object of declared card name to High, Medium or Low"),
    ] = {}
    """Per declared card (cards[].name): the least tier of that card and its group's version cards."""

    @model_validator(mode="after")
    def check_names_and_days(self) -> Self:
        refusals: list[Refusal] = []
        for rating in TIER_RATINGS:
            tier: TierSection | None = getattr(self.tiers, rating)
            for index, name in enumerate(tier.groups if tier else ()):
                if name not in self.groups:
                    refusals.append(
                        (("tiers", rating, "groups", index), "names no group of approval_policy.groups", name)
                    )
        if self.incident_group is not None and self.incident_group not in self.groups:
            refusals.append((("incident_group",), "names no group of approval_policy.groups", self.incident_group))
        for field in ("remind_days_before", "remind_days_after"):
            days: list[int] = getattr(self, field)
            refusals += [
                ((field, index), f"duplicates {field}[{days.index(value)}]", value)
                for index, value in enumerate(days)
                if days.index(value) != index
            ]
            if days and self.review_interval_days is None:
                refusals.append(((field,), "needs review_interval_days: there is no due date to remind of", _NO_VALUE))
        for index, before in enumerate(self.remind_days_before):
            if self.review_interval_days is not None and before >= self.review_interval_days:
                problem = f"is not within the review interval of {self.review_interval_days} days"
                refusals.append((("remind_days_before", index), problem, before))
        if self.on_approval is not None and self.on_revert is None:
            # The gate puts back a deployable stage set without an approval: it needs a stage to set.
            problem = "needs on_revert: the stage a package goes back to when its on_approval stage is undone"
            refusals.append((("on_approval",), problem, _NO_VALUE))
        if self.on_expiry == "revert" and self.review_interval_days is None:
            refusals.append((("on_expiry",), "needs review_interval_days: nothing expires without one", _NO_VALUE))
        refusals += [(("re_review_on", *loc), p, v) for loc, p, v in _repeats("re_review_on", self.re_review_on)]
        _refuse(refusals)
        return self

    def options(self) -> ApprovalPolicyConfig:
        def stage(section: LifecycleStageSection | None) -> LifecycleStage | None:
            return LifecycleStage(section.stage, section.stage_status) if section else None

        return ApprovalPolicyConfig(
            groups=tuple(ApproverGroup(n, tuple(g.principals), tuple(g.people)) for n, g in self.groups.items()),
            tiers=tuple(
                ApprovalTier(rating, tier.people, tuple(tier.groups))
                for rating in TIER_RATINGS
                if (tier := getattr(self.tiers, rating)) is not None
            ),
            review_interval_days=self.review_interval_days,
            on_expiry=self.on_expiry,
            remind_days_before=tuple(sorted(self.remind_days_before, reverse=True)),
            remind_days_after=tuple(sorted(self.remind_days_after)),
            re_review_on=tuple(self.re_review_on),
            incident_group=self.incident_group,
            on_approval=stage(self.on_approval),
            on_revert=stage(self.on_revert),
            on_suspension=stage(self.on_suspension),
            card_tiers=tuple(sorted(self.card_tiers.items())),
        )


class ConfigFile(_Section):
    """Governs Amazon SageMaker Model Cards across AWS accounts: a hub account shares them with spokes."""

    model_config = ConfigDict(title="Model card governance config")

    schema_reference: Omittable[AnyText] = Field(default=None, alias="$schema")
    """The JSON Schema of this file, for editors: "./schema.json"."""
    comment: Omittable[AnyText] = Field(default=None, alias="$comment")
    """A note for readers of the file; ignored."""
    prefix: Annotated[str, Text("3-24 lower-case letters, digits and dashes", pattern=PREFIX_PATTERN)] = (
        "model-card-governance"
    )
    """Starts every resource and stack name, so two installations can share an account."""
    hub: HubSection
    """The account that owns the cards, approves them and keeps the evidence."""
    organization: Omittable[OrganizationSection] = None
    """The AWS Organization of the spokes; needed for OU spokes."""
    spokes: Annotated[list[SpokeSection], Field(min_length=1), Explained("must be a non-empty list")]
    """The accounts and OUs that receive the shared cards."""
    reviewers: Annotated[
        list[EmailAddress], Field(min_length=1), Explained("must be a non-empty list of e-mail addresses")
    ]
    """Who is e-mailed when a card awaits review; one subscription each."""
    cards: Annotated[list[CardSection], Explained("must be a list")] = []
    """Cards the hub stack creates: each business problem's first card."""
    evidence_retention_days: Annotated[int, WholeNumber("days", 1, MAX_RETENTION_DAYS)] = DEFAULT_RETENTION_DAYS
    """How long the evidence bucket keeps each record (Object Lock in compliance mode: nobody, root
    included, deletes it sooner), in days; 3653 for ten years."""
    carry_over_sections: Annotated[
        list[Annotated[str, OneOf(CARRY_OVER_SECTIONS)]], Explained("must be a list of model card sections")
    ] = list(DEFAULT_CARRY_OVER)
    """The sections a new version's card takes from the previous card."""
    archived_rejects_package: Flag = False
    """Whether an approver archiving a card rejects its model package."""
    sharing: Annotated[Sharing, OneOf()] = Sharing.OWN_ACCOUNT
    """Which cards a spoke gets at its access level; every other card it may only read."""
    carry_over_from: Annotated[str, OneOf(CARRY_OVER_FROM)] = "approved"
    """Whether a new version's card takes the previous card's last approved version or its latest."""
    export_expiry_days: Annotated[int, WholeNumber("days", 1, MAX_EXPORT_EXPIRY_DAYS)] = DEFAULT_EXPORT_EXPIRY_DAYS
    """When the PDF exports spokes start expire."""
    approvers: Annotated[
        list[Annotated[str, Text("an IAM role or user ARN (arn:aws:iam::<hub>:role/<n>)", pattern=APPROVER_ARN)]],
        Explained("must be a list of IAM role or user ARNs"),
    ] = []
    """Hub roles or users besides the reviewer role whose approval counts."""
    reviewer_principals: Annotated[
        list[
            Annotated[
                str,
                Text(
                    "an IAM role or user ARN, `*` allowed in its name (arn:aws:iam::<hub>:role/<n>)",
                    pattern=REVIEWER_PRINCIPAL_ARN,
                ),
            ]
        ],
        Explained("must be a list of IAM role or user ARNs"),
    ] = []
    """Hub roles or users (ARN patterns) that may assume the reviewer role, each with a source identity;
    none: nobody may."""
    approver_may_not_edit: Flag = True
    """Whether an approver is refused the approval of a card they edited."""
    approval_attribution_minutes: Annotated[
        int, WholeNumber("minutes", MIN_ATTRIBUTION_MINUTES, MAX_ATTRIBUTION_MINUTES)
    ] = DEFAULT_ATTRIBUTION_MINUTES
    """How long an approval waits for its CloudTrail record before it is refused."""
    reconcile_interval_minutes: Annotated[int, WholeNumber("minutes", MIN_RECONCILE_MINUTES, MAX_RECONCILE_MINUTES)] = (
        DEFAULT_RECONCILE_MINUTES
    )
    """How often the reconciler compares every registry with the hub and closes the gaps (lost events,
    approvals the hub did not decide, silent spokes, dead letters): the longest such a gap lasts."""
    report: ReportSection = Field(default_factory=ReportSection)
    """The cross-account governance report."""
    metric_thresholds: Annotated[
        dict[
            Annotated[str, Text("a metric name (1 to 255 characters)", pattern=METRIC_NAME_PATTERN)],
            MetricThresholdSection,
        ],
        Explained("must be an object of metric name to max_drop and max_rise"),
    ] = {}
    """Per metric name (as in the card's evaluation_details): the largest acceptable change against the
    group's last approved version; a larger one is a report finding and heads the review notice."""
    approval_policy: Omittable[ApprovalPolicySection] = None
    """Who must approve a card version, by its risk rating, and how long an approval lasts; by default
    one person of the approvers (the reviewer role and approvers), for every card, without expiry."""

    # A rule across sections sees only the sections that passed (pydantic's `info.data`), so a bad
    # hub account is not also reported as "a spoke equal to the hub".
    @field_validator("organization")
    @classmethod
    def check_guardrail_targets(
        cls, organization: OrganizationSection | None, info: ValidationInfo
    ) -> OrganizationSection | None:
        hub: HubSection | None = info.data.get("hub")
        guardrails = organization.guardrails if organization else None
        if hub is not None and guardrails is not None:
            # The hub's own workflow sets package status there; the guardrail binds spokes.
            problem = "is the hub account; the guardrail binds spoke administrators, not the hub"
            _refuse(
                [
                    (("guardrails", "targets", index), problem, target)
                    for index, target in enumerate(guardrails.targets or [])
                    if target == hub.account
                ]
            )
        return organization

    @field_validator("spokes")
    @classmethod
    def check_spokes(cls, spokes: list[SpokeSection], info: ValidationInfo) -> list[SpokeSection]:
        hub: HubSection | None = info.data.get("hub")
        refusals: list[Refusal] = []
        for index, spoke in enumerate(spokes):
            if hub is not None and spoke.account == hub.account:
                problem = "is the hub account; the hub owns the cards and is not a spoke"
                refusals.append(((index, "account"), problem, spoke.account))
            organization_seen: OrganizationSection | None = info.data.get("organization")
            if (
                spoke.account is not None
                and organization_seen is not None
                and organization_seen.guardrails is not None
                and organization_seen.guardrails.enabled
                and spoke.account == organization_seen.management_account
            ):
                problem = "is the management account, which the guardrail service control policy cannot restrict"
                refusals.append(((index, "account"), problem, spoke.account))
            # `organization` is missing from info.data when it was refused itself.
            if spoke.ou is not None and "organization" in info.data:
                organization: OrganizationSection | None = info.data["organization"]
                if organization is None:
                    problem = "needs organization.id: OUs exist only inside an organization"
                    refusals.append(((index, "ou"), problem, spoke.ou))
                elif organization.management_account is None:
                    problem = (
                        "needs organization.management_account: RAM names an OU by an ARN "
                        "in the management account, and the OU roll-out stack deploys there"
                    )
                    refusals.append(((index, "ou"), problem, spoke.ou))
        refusals += _repeats("spokes", [spoke.account for spoke in spokes], "account")
        refusals += _repeats("spokes", [spoke.ou for spoke in spokes], "ou")
        # Names differing only in case or dashes become one construct ID.
        refusals += _repeats("spokes", [spoke.name for spoke in spokes], "name", key=_name_key)
        _refuse(refusals)
        return spokes

    @field_validator("reviewers")
    @classmethod
    def check_reviewers(cls, reviewers: list[str]) -> list[str]:
        # One SNS subscription per address: a repeated address would clash in the template.
        _refuse(_repeats("reviewers", reviewers, key=str.lower))
        return reviewers

    @field_validator("cards")
    @classmethod
    def check_cards(cls, cards: list[CardSection]) -> list[CardSection]:
        # Names differing only in case or dashes become one construct ID; a group has one template.
        _refuse(
            _repeats("cards", [card.name for card in cards], "name", key=_name_key)
            + _repeats("cards", [card.model_package_group for card in cards], "model_package_group")
        )
        return cards

    @field_validator("carry_over_sections")
    @classmethod
    def check_carry_over_sections(cls, sections: list[str]) -> list[str]:
        _refuse(_repeats("carry_over_sections", sections))
        return sections

    @field_validator("approvers")
    @classmethod
    def check_approvers(cls, approvers: list[str], info: ValidationInfo) -> list[str]:
        # CloudTrail attributes an approval to an IAM role or user; only the hub's count.
        _refuse(_repeats("approvers", approvers) + _outside_hub(approvers, info, "only hub principals approve"))
        return approvers

    @field_validator("reviewer_principals")
    @classmethod
    def check_reviewer_principals(cls, principals: list[str], info: ValidationInfo) -> list[str]:
        # Approvals must come from the hub's own people: the reviewer role trusts no other account.
        because = "only hub principals assume the reviewer role"
        _refuse(_repeats("reviewer_principals", principals) + _outside_hub(principals, info, because))
        return principals

    @field_validator("approval_policy")
    @classmethod
    def check_approval_policy(
        cls, policy: ApprovalPolicySection | None, info: ValidationInfo
    ) -> ApprovalPolicySection | None:
        if policy is None:
            return policy
        # Decisions are made by the hub's own people, as approvals are (check_approvers).
        refusals: list[Refusal] = []
        for name, group in policy.groups.items():
            outside = _outside_hub(group.principals, info, "only hub principals decide")
            refusals += [(("groups", name, "principals", *loc), p, v) for loc, p, v in outside]
        if "cards" in info.data:
            declared = {card.name for card in info.data["cards"]}
            refusals += [
                (("card_tiers", name), "is not a declared card (cards[].name)", _NO_VALUE)
                for name in policy.card_tiers
                if name not in declared
            ]
        _refuse(refusals)
        return policy

    @model_validator(mode="after")
    def check_physical_names(self) -> Self:
        """Refuse a name CloudFormation or the service would refuse at deploy, naming the config field."""
        refusals: list[Refusal] = []
        for resource_type, prop, name in self.governance_config().physical_names():
            limit = cloudformation_string(resource_type, prop)
            problem = None
            if limit.max_length is not None and len(name) > limit.max_length:
                problem = f"is {len(name)} characters; at most {limit.max_length}"
            elif limit.pattern is not None and not limit.pattern.search(name):
                problem = f"does not match {limit.pattern.pattern}"
            elif resource_type == "AWS::S3::Bucket":
                problem = _s3_bucket_name_problem(name)
            if problem:
                message = f"gives the {resource_type} {prop} {json.dumps(name)}, which AWS refuses: {problem}"
                refusals.append((("prefix",), message, _NO_VALUE))
        _refuse(refusals)
        return self

    def _organization(self) -> Organization | None:
        if self.organization is None:
            return None
        section = self.organization
        guardrails = section.guardrails
        return Organization(
            id=section.id,
            management_account=section.management_account,
            stack_set_delegated_admin=section.stack_set_delegated_admin,
            guardrails=Guardrails(guardrails.enabled, tuple(guardrails.targets) if guardrails.targets else None)
            if guardrails
            else None,
        )

    def governance_config(self) -> GovernanceConfig:
        """The frozen config the app reads: the hub's fields at the top, lists as tuples."""
        sections = {
            "schema_reference",
            "comment",
            "hub",
            "organization",
            "spokes",
            "cards",
            "report",
            "metric_thresholds",
            "approval_policy",
        }
        options: dict[str, Any] = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in self.model_dump(exclude=sections).items()
        }
        return GovernanceConfig(
            **options,
            hub_account=self.hub.account,
            region=self.hub.region,
            card_key_arn=self.hub.card_key_arn,
            organization=self._organization(),
            spokes=tuple(Spoke(**spoke.model_dump()) for spoke in self.spokes),
            cards=tuple(DeclaredCard(**card.model_dump()) for card in self.cards),
            report=ReportOptions(**self.report.model_dump()),
            metric_thresholds=tuple(
                (name, threshold.max_drop, threshold.max_rise)
                for name, threshold in sorted(self.metric_thresholds.items())
            ),
            approval_policy=self.approval_policy.options() if self.approval_policy else None,
        )


class _SchemaGenerator(GenerateJsonSchema):
    """The schema editors read: no generated per-field titles, no `null` defaults to offer."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", _NO_VALUE) is None:
            del json_schema["default"]
        return json_schema


SCHEMA_ID = "urn:model-card-governance:config"


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config file, generated from the models above."""
    schema = ConfigFile.model_json_schema(by_alias=True, schema_generator=_SchemaGenerator)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    """config/schema.json as committed: `python -m governance_config --schema > config/schema.json`."""
    return json.dumps(config_schema(), indent=2) + "\n"


def _keys_allowed_at(location: Location) -> list[str]:
    """The keys the schema lists for the object at `location`, in the models' order."""
    schema = config_schema()

    def definition(node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    node: Mapping[str, Any] = schema
    for step in location:
        node = definition(node)
        if isinstance(step, int):
            node = node["items"]
        elif "properties" in node:
            node = node["properties"][step]
        else:  # an object of any keys (metric_thresholds): each value has the one schema
            (node,) = node["patternProperties"].values()
    return list(definition(node)["properties"])


def _path(location: Location) -> str:
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in location)
    return _printable(text.removeprefix(".")) or "(root)"


def _line(location: Location, problem: str, value: Any = _NO_VALUE) -> str:
    return f"{_path(location)}: {problem}{'' if value is _NO_VALUE else f' (got {shown(value)})'}"


def _schema_problem(error: ErrorDetails) -> str:
    """One pydantic error as the config's one line: where, what is wrong, and the value."""
    location, kind, value = tuple(error["loc"]), error["type"], error["input"]
    if kind == FIELD_REFUSED:
        return _line(location, error["msg"])
    if kind == "missing":
        return _line(location, "is required")
    if kind == "extra_forbidden":
        return _line(location, f"unknown key; allowed: {', '.join(_keys_allowed_at(location[:-1]))}")
    if value is None and location and isinstance(location[-1], str):
        return _line(location, "is null; give a value or leave the key out")
    if kind == "model_type":
        return _line(location, "must be an object", value)
    return _line(location, error["msg"], value)


def _json_problems(node: Any, location: Location = ()) -> Iterator[tuple[str, Location | None]]:
    """What JSON lets through and no field can mean: a key given twice, a lone UTF-16 surrogate.

    Found here, before pydantic, because pydantic lets a surrogate through a plain string and gives
    up on a whole object at a surrogate key. Yields each problem's line and, for a surrogate, the
    place whose schema errors it replaces.
    """

    def is_text(text: str) -> bool:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    if isinstance(node, str) and not is_text(node):
        yield (
            _line(location, "contains a lone UTF-16 surrogate (half of a \\uXXXX pair), which is not text", node),
            location,
        )
    elif isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            yield _line((*location, key), "is given more than once in the same object (JSON keeps only the last)"), None
        for key, value in node.items():
            if is_text(key):
                yield from _json_problems(value, (*location, key))
            else:
                problem = "has a key with a lone UTF-16 surrogate (half of a \\uXXXX pair), which is not text"
                yield _line(location, problem, key), location
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _json_problems(item, (*location, index))


def parse_config(raw: Any) -> GovernanceConfig:
    """Turn the decoded config file into a GovernanceConfig, or raise ConfigError with every problem."""
    found = list(_json_problems(raw))
    problems = [line for line, _ in found]
    replaced = {location for _, location in found if location is not None}
    try:
        config = ConfigFile.model_validate(raw).governance_config()
    except ValidationError as error:
        problems += [
            _schema_problem(detail)
            for detail in error.errors(include_url=False)
            # pydantic's own words for a surrogate, or a follow-on of one, already have a line.
            if detail["type"] != "string_unicode" and tuple(detail["loc"]) not in replaced
        ]
    if problems:
        raise ConfigError(problems)
    return config


def _s3_bucket_name_problem(name: str) -> str | None:
    for reserved in S3_RESERVED_PREFIXES:
        if name.startswith(reserved):
            return f"S3 reserves the prefix {reserved}"
    for reserved in S3_RESERVED_SUFFIXES:
        if name.endswith(reserved):
            return f"S3 reserves the suffix {reserved}"
    if ".." in name:
        return "two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return "formatted as an IP address"


def decode_json(data: bytes) -> Any:
    """Decode a config file: UTF-8 (a BOM is accepted), strict JSON, no duplicate keys, sane sizes.

    Raises ValueError with one line saying what is wrong with the file as a whole.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and b"\x00" in data[:4]):
        raise ValueError("UTF-16 or UTF-32 encoded; save it as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"not UTF-8 (byte 0x{data[error.start]:02x} on line {line}; Latin-1 or Windows-1252?); save it as UTF-8"
        ) from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> _JsonObject:
        obj = _JsonObject(pairs)
        if len(obj) != len(pairs):
            keys = [key for key, _ in pairs]
            obj.duplicates = tuple(dict.fromkeys(key for key in keys if keys.count(key) > 1))
        return obj

    def checked_int(digits: str) -> int | _OversizedNumber:
        if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
            return _OversizedNumber(digits)
        return int(digits)

    try:
        raw = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_int=checked_int,
            parse_constant=_OversizedNumber,  # NaN and Infinity are not JSON
        )
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON at line {error.lineno} column {error.colno} ({error.msg})") from None
    except RecursionError:
        raise ValueError(f"nests more than {MAX_NESTING} levels deep") from None
    if _depth(raw) > MAX_NESTING:
        raise ValueError(f"nests more than {MAX_NESTING} levels deep")
    return raw


def _depth(value: Any) -> int:
    deepest = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                pending.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def load_config(path: Path) -> GovernanceConfig:
    """Read and validate a config file; every failure is a ConfigError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the config file ({error.strerror})"]) from None
    try:
        raw = decode_json(data)
    except ValueError as error:
        raise ConfigError([f"{path}: {error}"]) from None
    try:
        return parse_config(raw)
    except ConfigError as error:
        raise ConfigError([f"{path}: {problem}" for problem in error.problems]) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m governance_config", description="Print the JSON Schema of config files."
    )
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema of config files")
    args = parser.parse_args(argv)
    if not args.schema:
        parser.print_usage(sys.stderr)
        return 2
    sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
