"""The one configuration object of the app: parsed, validated and frozen before any construct exists.

Every problem in the file is reported at once, one line each, naming the field and the value, so a
platform team fixes a bad config in one pass instead of one `cdk synth` per mistake. A field that
failed is reported once and then treated as absent, so nothing that depends on it reports again.

Adding a validated field is a local change of four steps:

1. give the dataclass that holds it (`GovernanceConfig`, `Spoke`, `DeclaredCard`, ...) the field and
   its default;
2. add its key to the `optional` (or `required`) tuple of its section's `check.section(...)` call:
   keys not listed there are refused as unknown, and a `null` value is refused for every key;
3. read it with one `check.*` call in that section's parser: `text` (strings: whitespace, length and
   pattern; pass `limit=cloudformation_string(...)` when the value lands in a CloudFormation
   property), `account`, `email`, `integer`, `boolean`, `choice`, `items` (lists) and `first_use`
   (duplicates). Each reports its own problem and returns None, which the parser treats as absent;
   a name derived from config that a resource takes is one more row in `physical_names`;
4. add a bad value for it to `tests/test_config.py`: one line naming the field and the value.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any


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
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII)
# Names other resources are derived from: a RAM permission name holds 36 characters and the
# evidence bucket name 63, so the prefix is at most 24 characters, lower case and DNS-safe.
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", re.ASCII)
# A spoke name becomes part of stack, StackSet and construct names: no double or trailing dashes,
# so two names never collapse into one construct ID.
DISPLAY_NAME_PATTERN = re.compile(r"[A-Za-z](-?[A-Za-z0-9]){0,39}", re.ASCII)
KEY_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}", re.ASCII)
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
# Seven years, the common retention for model-risk records (e.g. SR 11-7 programmes).
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
APPROVER_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
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
class Organization:
    id: str
    management_account: str | None = None
    # A member account registered as delegated administrator for StackSets: the OU roll-out then
    # deploys there and acts with CallAs DELEGATED_ADMIN instead of from the management account.
    stack_set_delegated_admin: str | None = None

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
    approver_may_not_edit: bool = True
    approval_attribution_minutes: int = DEFAULT_ATTRIBUTION_MINUTES
    report: ReportOptions = ReportOptions()

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
    def auditor_role_name(self) -> str:
        return f"{self.prefix}-auditor"

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
            ("AWS::IAM::Role", "RoleName", self.report_function_role_name),
            ("AWS::RAM::Permission", "Name", self.read_permission_name),
        ]
        names += [("AWS::RAM::ResourceShare", "Name", self.share_name(level)) for level in AccessLevel]
        names += [
            ("AWS::RAM::ResourceShare", "Name", self.owner_share_name(s.account))
            for s in self.account_spokes
            if s.account and s.access.can_edit
        ]
        names.append(("AWS::IAM::Role", "RoleName", self.registry_forwarding_role_name))
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


def shown(value: Any) -> str:
    """A value as the config wrote it, shortened past 80 characters."""
    if isinstance(value, _OversizedNumber):
        text = value.text
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = f"<{type(value).__name__}>"
    if len(text) > SHOWN_VALUE_CHARS:
        return f"{text[: SHOWN_VALUE_CHARS - 3]}... ({len(text)} characters)"
    return text


_NO_VALUE = object()


class _Checker:
    """Collects problems while reading raw JSON into typed values.

    Every reader returns None after reporting a problem, and returns None silently for a None
    value: None means the key was absent, null or already reported, so it is never reported twice.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str, value: Any = _NO_VALUE) -> None:
        shown_value = "" if value is _NO_VALUE else f" (got {shown(value)})"
        self.problems.append(f"{path or '(root)'}: {message}{shown_value}")

    def section(
        self, path: str, raw: Any, required: Sequence[str], optional: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """The object's keys with null values left out (each reported), or None if it is not an object."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.fail(path, "must be an object", raw)
            return None
        prefix = f"{path}." if path else ""
        for key in getattr(raw, "duplicates", ()):
            self.fail(f"{prefix}{key}", "is given more than once in the same object (JSON keeps only the last)")
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in required and key not in optional:
                self.fail(f"{prefix}{key}", f"unknown key; allowed: {', '.join([*required, *optional])}")
            elif value is None:
                self.fail(f"{prefix}{key}", "is null; give a value or leave the key out")
            else:
                fields[key] = value
        for key in required:
            if key not in raw:
                self.fail(f"{prefix}{key}", "is required")
        return fields

    def text(
        self,
        path: str,
        value: Any,
        *,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
        limit: StringLimit | None = None,
    ) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string", value)
            return None
        if value != value.strip():
            self.fail(path, "has leading or trailing whitespace", value)
            return None
        if limit is not None and limit.max_length is not None and len(value) > limit.max_length:
            self.fail(
                path,
                f"is {len(value)} characters; CloudFormation ({limit.source}) takes at most {limit.max_length}",
                value,
            )
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"is not {what}", value)
            return None
        if limit is not None and limit.pattern is not None and not limit.pattern.search(value):
            self.fail(
                path,
                f"is not {what or 'accepted'}: CloudFormation ({limit.source}) requires {limit.pattern.pattern}",
                value,
            )
            return None
        return value

    def account(self, path: str, value: Any) -> str | None:
        return self.text(
            path, value, pattern=botocore_pattern("organizations", "AccountId"), what="a 12-digit AWS account ID"
        )

    def email(self, path: str, value: Any) -> str | None:
        return self.text(path, value, pattern=EMAIL_PATTERN, what="an e-mail address")

    def integer(self, path: str, value: Any, low: int, high: int, unit: str = "") -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"must be a whole number{unit} from {low} to {high}", value)
            return None
        return value

    def boolean(self, path: str, value: Any) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(path, "must be true or false", value)
            return None
        return value

    def choice(self, path: str, value: Any, choices: Sequence[str]) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}", value)
            return None
        return value

    def items(self, path: str, value: Any, *, what: str = "list", non_empty: bool = False) -> list[Any]:
        """The list's items (empty after a problem); a non-list is reported, not iterated."""
        if value is None:
            return []
        if not isinstance(value, list) or (non_empty and not value):
            self.fail(path, f"must be {'a non-empty' if non_empty else 'a'} {what}", value)
            return []
        return value

    def first_use(
        self, path: str, value: Any, seen: dict[Hashable, str], *, key: Callable[[Any], Hashable] = lambda v: v
    ) -> bool:
        """False (and reported) when `value` repeats an earlier one under `key`; `seen` maps key -> path."""
        if value is None:
            return True
        same = key(value)
        if same in seen:
            self.fail(path, f"duplicates {seen[same]}", value)
            return False
        seen[same] = path
        return True


def parse_config(raw: Any) -> GovernanceConfig:
    """Turn the decoded config file into a GovernanceConfig, or raise ConfigError with every problem."""
    check = _Checker()
    top = check.section(
        "",
        raw,
        required=("hub", "spokes", "reviewers"),
        optional=(
            "prefix",
            "organization",
            "evidence_retention_days",
            "cards",
            "carry_over_sections",
            "archived_rejects_package",
            "sharing",
            "carry_over_from",
            "export_expiry_days",
            "approvers",
            "approver_may_not_edit",
            "approval_attribution_minutes",
            "report",
            "$comment",
        ),
    )
    if top is None:
        if raw is None:
            check.fail("", "must be an object", raw)
        raise ConfigError(check.problems)

    prefix = check.text(
        "prefix",
        top.get("prefix", "model-card-governance"),
        pattern=PREFIX_PATTERN,
        what="3-24 lower-case letters, digits and dashes",
    )
    hub_account, region, card_key_arn = _parse_hub(check, top.get("hub"))
    organization = _parse_organization(check, top.get("organization"))
    # An OU spoke is only dropped from the result when `organization` itself was reported.
    organization_reported = "organization" in raw and organization is None
    spokes = _parse_spokes(check, top.get("spokes"), hub_account, organization, organization_reported)
    reviewers = _parse_reviewers(check, top.get("reviewers"))
    cards = _parse_cards(check, top.get("cards"))
    retention = check.integer(
        "evidence_retention_days",
        top.get("evidence_retention_days", DEFAULT_RETENTION_DAYS),
        1,
        MAX_RETENTION_DAYS,
        " of days",
    )
    carry_over = _parse_carry_over(check, top.get("carry_over_sections", list(DEFAULT_CARRY_OVER)))
    archived_rejects = check.boolean("archived_rejects_package", top.get("archived_rejects_package", False))
    sharing = check.choice("sharing", top.get("sharing", Sharing.OWN_ACCOUNT.value), [s.value for s in Sharing])
    carry_over_from = check.choice("carry_over_from", top.get("carry_over_from", "approved"), CARRY_OVER_FROM)
    expiry = check.integer(
        "export_expiry_days",
        top.get("export_expiry_days", DEFAULT_EXPORT_EXPIRY_DAYS),
        1,
        MAX_EXPORT_EXPIRY_DAYS,
        " of days",
    )
    approvers = _parse_approvers(check, top.get("approvers"), hub_account, region)
    may_not_edit = check.boolean("approver_may_not_edit", top.get("approver_may_not_edit", True))
    attribution_minutes = check.integer(
        "approval_attribution_minutes",
        top.get("approval_attribution_minutes", DEFAULT_ATTRIBUTION_MINUTES),
        MIN_ATTRIBUTION_MINUTES,
        MAX_ATTRIBUTION_MINUTES,
        " of minutes",
    )
    report = _parse_report(check, top.get("report"))

    if check.problems:
        raise ConfigError(check.problems)
    assert prefix is not None and hub_account is not None and region is not None and retention is not None
    config = GovernanceConfig(
        prefix=prefix,
        hub_account=hub_account,
        region=region,
        spokes=tuple(spokes),
        reviewers=tuple(reviewers),
        evidence_retention_days=retention,
        organization=organization,
        cards=tuple(cards),
        card_key_arn=card_key_arn,
        carry_over_sections=tuple(carry_over),
        archived_rejects_package=archived_rejects is True,
        sharing=Sharing(sharing or Sharing.OWN_ACCOUNT.value),
        carry_over_from=carry_over_from or "approved",
        export_expiry_days=expiry or DEFAULT_EXPORT_EXPIRY_DAYS,
        approvers=tuple(approvers),
        approver_may_not_edit=may_not_edit is not False,
        approval_attribution_minutes=attribution_minutes or DEFAULT_ATTRIBUTION_MINUTES,
        report=report,
    )
    _check_physical_names(check, config)
    if check.problems:
        raise ConfigError(check.problems)
    return config


def _parse_hub(check: _Checker, raw: Any) -> tuple[str | None, str | None, str | None]:
    hub = check.section("hub", raw, ("account", "region"), ("card_key_arn",))
    if hub is None:
        return None, None, None
    account = check.account("hub.account", hub.get("account"))
    region = check.text("hub.region", hub.get("region"))
    if region is not None and region not in known_regions():
        check.fail("hub.region", "is not an AWS region where SageMaker runs", region)
        region = None
    key_arn = check.text("hub.card_key_arn", hub.get("card_key_arn"), pattern=KEY_ARN_PATTERN, what="a KMS key ARN")
    if key_arn is not None and account is not None and region is not None:
        expected = f"arn:{partition_of(region)}:kms:{region}:{account}:key/"
        if not key_arn.startswith(expected):
            check.fail(
                "hub.card_key_arn",
                f"must be a key in the hub account, region and partition (an ARN starting {expected})",
                key_arn,
            )
            key_arn = None
    return account, region, key_arn


def _parse_organization(check: _Checker, raw: Any) -> Organization | None:
    organization = check.section("organization", raw, ("id",), ("management_account", "stack_set_delegated_admin"))
    if organization is None:
        return None
    org_id = check.text(
        "organization.id",
        organization.get("id"),
        pattern=botocore_pattern("organizations", "OrganizationId"),
        what="an organization ID like o-a1b2c3d4e5",
    )
    management = check.account("organization.management_account", organization.get("management_account"))
    if "management_account" in raw and management is None:  # reported: OU spokes are not checked
        return None
    delegated = check.account("organization.stack_set_delegated_admin", organization.get("stack_set_delegated_admin"))
    if delegated is not None and delegated == management:
        check.fail(
            "organization.stack_set_delegated_admin",
            "is the management account; leave it out to deploy the OU roll-out from the management account",
            delegated,
        )
        delegated = None
    return Organization(org_id, management, delegated) if org_id else None


def _name_key(name: str) -> str:
    """Names equal under this key become the same construct ID (dashes dropped, case folded)."""
    return name.replace("-", "").lower()


def _parse_spokes(
    check: _Checker, raw: Any, hub_account: str | None, organization: Organization | None, organization_reported: bool
) -> list[Spoke]:
    spokes: list[Spoke] = []
    seen_targets: dict[Hashable, str] = {}
    seen_names: dict[Hashable, str] = {}
    for i, item in enumerate(check.items("spokes", raw, non_empty=True)):
        path = f"spokes[{i}]"
        spoke = check.section(path, item, ("name", "access"), ("account", "ou"))
        if spoke is None:
            continue
        name = check.text(
            f"{path}.name",
            spoke.get("name"),
            pattern=DISPLAY_NAME_PATTERN,
            what="a name of letters, digits and single dashes (max 40), starting with a letter",
        )
        access = check.choice(f"{path}.access", spoke.get("access"), [level.value for level in AccessLevel])
        account = ou = None
        if ("account" in item) == ("ou" in item):
            check.fail(path, "needs exactly one of account or ou")
        elif "account" in spoke:
            account = check.account(f"{path}.account", spoke["account"])
            if account is not None and account == hub_account:
                check.fail(f"{path}.account", "is the hub account; the hub owns the cards and is not a spoke", account)
                account = None
        elif "ou" in spoke:
            ou = check.text(
                f"{path}.ou",
                spoke["ou"],
                pattern=botocore_pattern("organizations", "OrganizationalUnitId"),
                what="an OU ID like ou-ab12-cdef3456",
            )
            if ou is not None and organization is None and not organization_reported:
                check.fail(f"{path}.ou", "needs organization.id: OUs exist only inside an organization", ou)
            elif ou is not None and organization is not None and organization.management_account is None:
                check.fail(
                    f"{path}.ou",
                    "needs organization.management_account: RAM names an OU by an ARN "
                    "in the management account, and the OU roll-out stack deploys there",
                    ou,
                )
            if organization is None or organization.management_account is None:
                ou = None
        target = account or ou
        target_path = f"{path}.{'account' if account else 'ou'}"
        if not check.first_use(target_path, target, seen_targets) or not check.first_use(
            f"{path}.name", name, seen_names, key=_name_key
        ):
            continue
        if name and access and target:
            spokes.append(Spoke(name=name, access=AccessLevel(access), account=account, ou=ou))
    return spokes


def _parse_approvers(check: _Checker, raw: Any, hub_account: str | None, region: str | None) -> list[str]:
    """IAM roles or users of the hub account: CloudTrail attributes an approval to one of them."""
    approvers: list[str] = []
    seen: dict[Hashable, str] = {}
    for i, item in enumerate(check.items("approvers", raw, what="list of IAM role or user ARNs")):
        path = f"approvers[{i}]"
        arn = check.text(path, item, pattern=APPROVER_ARN, what="an IAM role or user ARN (arn:aws:iam::<hub>:role/<n>)")
        if arn is None or not check.first_use(path, arn, seen):
            continue
        partition, account = arn.split(":")[1], arn.split(":")[4]
        if hub_account is not None and account != hub_account:
            check.fail(path, f"is not in the hub account {hub_account}: only hub principals approve", arn)
        elif region is not None and partition != partition_of(region):
            check.fail(path, f"is not in the {partition_of(region)} partition of {region}", arn)
        else:
            approvers.append(arn)
    return approvers


def _parse_reviewers(check: _Checker, raw: Any) -> list[str]:
    reviewers = []
    seen: dict[Hashable, str] = {}
    items = check.items("reviewers", raw, what="list of e-mail addresses", non_empty=True)
    for i, item in enumerate(items):
        address = check.email(f"reviewers[{i}]", item)
        # One SNS subscription per address: a repeated address would clash in the template.
        if address is not None and check.first_use(f"reviewers[{i}]", address, seen, key=str.lower):
            reviewers.append(address)
    return reviewers


def _parse_cards(check: _Checker, raw: Any) -> list[DeclaredCard]:
    model_card = "AWS::SageMaker::ModelCard"
    cards: list[DeclaredCard] = []
    seen_names: dict[Hashable, str] = {}
    seen_groups: dict[Hashable, str] = {}
    for i, item in enumerate(check.items("cards", raw)):
        path = f"cards[{i}]"
        card = check.section(
            path,
            item,
            ("name", "owner", "problem_type", "risk_rating", "intended_uses"),
            ("purpose", "model_package_group"),
        )
        if card is None:
            continue
        name = check.text(f"{path}.name", card.get("name"), limit=card_name_limit(), what="a model card name")
        if name is not None and VERSION_CARD_NAME.fullmatch(name):
            check.fail(
                f"{path}.name",
                "ends like the card the auto-linker creates for a model package version (<group>-v<version>)",
                name,
            )
            name = None
        owner = check.text(
            f"{path}.owner",
            card.get("owner"),
            limit=cloudformation_string(model_card, "Content", "ModelOverview", "ModelOwner"),
        )
        problem_type = check.text(
            f"{path}.problem_type",
            card.get("problem_type"),
            limit=cloudformation_string(model_card, "Content", "ModelOverview", "ProblemType"),
        )
        intended_uses = check.text(
            f"{path}.intended_uses",
            card.get("intended_uses"),
            limit=cloudformation_string(model_card, "Content", "IntendedUses", "IntendedUses"),
        )
        purpose = check.text(
            f"{path}.purpose",
            card.get("purpose"),
            limit=cloudformation_string(model_card, "Content", "IntendedUses", "PurposeOfModel"),
        )
        risk = check.choice(
            f"{path}.risk_rating",
            card.get("risk_rating"),
            cloudformation_property(model_card, "Content", "IntendedUses", "RiskRating")["enum"],
        )
        group = check.text(
            f"{path}.model_package_group",
            card.get("model_package_group"),
            limit=cloudformation_string("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"),
        )
        # Names differing only in case or dashes become one construct ID; a group has one template.
        if not check.first_use(f"{path}.name", name, seen_names, key=_name_key):
            continue
        if not check.first_use(f"{path}.model_package_group", group, seen_groups):
            continue
        if name and owner and problem_type and intended_uses and risk:
            cards.append(DeclaredCard(name, owner, problem_type, risk, intended_uses, purpose, group))
    return cards


MAX_PENDING_REVIEW_DAYS = 365


def _parse_report(check: _Checker, raw: Any) -> ReportOptions:
    section = check.section("report", raw, required=(), optional=("pending_review_days", "weekly"))
    if section is None:
        return ReportOptions()
    days = check.integer(
        "report.pending_review_days",
        section.get("pending_review_days", ReportOptions.pending_review_days),
        1,
        MAX_PENDING_REVIEW_DAYS,
        " of days",
    )
    weekly = check.boolean("report.weekly", section.get("weekly", False))
    return ReportOptions(
        pending_review_days=ReportOptions.pending_review_days if days is None else days, weekly=weekly is True
    )


def _parse_carry_over(check: _Checker, raw: Any) -> list[str]:
    sections: list[str] = []
    seen: dict[Hashable, str] = {}
    for i, item in enumerate(check.items("carry_over_sections", raw, what="list of model card sections")):
        section = check.choice(f"carry_over_sections[{i}]", item, CARRY_OVER_SECTIONS)
        if section is not None and check.first_use(f"carry_over_sections[{i}]", section, seen):
            sections.append(section)
    return sections


def _check_physical_names(check: _Checker, config: GovernanceConfig) -> None:
    """Refuse a name CloudFormation or the service would refuse at deploy, naming the config field."""
    for resource_type, prop, name in config.physical_names():
        field = "prefix"
        limit = cloudformation_string(resource_type, prop)
        problem = None
        if limit.max_length is not None and len(name) > limit.max_length:
            problem = f"is {len(name)} characters; at most {limit.max_length}"
        elif limit.pattern is not None and not limit.pattern.search(name):
            problem = f"does not match {limit.pattern.pattern}"
        elif resource_type == "AWS::S3::Bucket":
            problem = _s3_bucket_name_problem(name)
        if problem:
            check.fail(field, f"gives the {resource_type} {prop} {json.dumps(name)}, which AWS refuses: {problem}")


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
