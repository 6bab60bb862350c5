"""The one configuration object of the app: parsed, validated and frozen before any construct exists.

Every problem in the file is reported at once, one line each, naming the field and the value, so a
platform team fixes a bad config in one pass instead of one `cdk synth` per mistake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

# The card-name rule of CreateModelCard (botocore sagemaker model: EntityName).
CARD_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
# AWS Organizations API reference: OrganizationId and OrganizationalUnitId patterns.
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
OU_ID_PATTERN = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# Names other resources are derived from: a RAM permission name holds 36 characters and the
# evidence bucket name 63, so the prefix is at most 24 characters, lower case and DNS-safe.
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
DISPLAY_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$")

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
    def card_key_alias(self) -> str:
        return f"alias/{self.prefix}-cards"

    @property
    def approval_sync_role_name(self) -> str:
        return f"{self.prefix}-approval-sync"

    @property
    def approval_workflow_role_name(self) -> str:
        return f"{self.prefix}-approval-workflow"

    def share_name(self, level: AccessLevel) -> str:
        return f"{self.prefix}-cards-{level.value}"

    @property
    def read_permission_name(self) -> str:
        return f"{self.prefix}-cards-read"

    @property
    def partition(self) -> str:
        return partition_of(self.region)


EXPORT_PREFIX = "exports"


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


class _Checker:
    """Collects problems while reading raw JSON into typed values."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str, value: Any = None, *, show_value: bool = True) -> None:
        shown = f" (got {json.dumps(value)})" if show_value else ""
        self.problems.append(f"{path}: {message}{shown}")

    def keys(self, path: str, raw: Any, required: Sequence[str], optional: Sequence[str]) -> bool:
        if not isinstance(raw, Mapping):
            self.fail(path, "must be an object", raw)
            return False
        for key in raw:
            if key not in required and key not in optional:
                allowed = ", ".join([*required, *optional])
                self.fail(f"{path}.{key}" if path else key, f"unknown key; allowed: {allowed}", show_value=False)
        for key in required:
            if key not in raw:
                self.fail(f"{path}.{key}" if path else key, "is required", show_value=False)
        return True

    def string(self, path: str, value: Any, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string", value)
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"is not {what}", value)
            return None
        return value

    def account(self, path: str, value: Any) -> str | None:
        return self.string(path, value, ACCOUNT_PATTERN, "a 12-digit AWS account ID")


def parse_config(raw: Any) -> GovernanceConfig:
    """Turn the decoded config file into a GovernanceConfig, or raise ConfigError with every problem."""
    check = _Checker()
    top_required = ("hub", "spokes", "reviewers")
    top_optional = (
        "prefix",
        "organization",
        "evidence_retention_days",
        "cards",
        "carry_over_sections",
        "archived_rejects_package",
        "$comment",
    )
    if not check.keys("", raw, top_required, top_optional):
        raise ConfigError(check.problems)

    prefix = raw.get("prefix", "model-card-governance")
    if check.string("prefix", prefix, PREFIX_PATTERN, "3-24 lower-case letters, digits and dashes") is None:
        prefix = "invalid"

    hub_account, region, card_key_arn = _parse_hub(check, raw.get("hub"))
    organization = _parse_organization(check, raw.get("organization"))
    spokes = _parse_spokes(check, raw.get("spokes"), hub_account, organization, "organization" in raw)
    reviewers = _parse_reviewers(check, raw.get("reviewers"))
    cards = _parse_cards(check, raw.get("cards", []))

    retention = raw.get("evidence_retention_days", DEFAULT_RETENTION_DAYS)
    if isinstance(retention, bool) or not isinstance(retention, int) or not 1 <= retention <= MAX_RETENTION_DAYS:
        check.fail(
            "evidence_retention_days", f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}", retention
        )
        retention = DEFAULT_RETENTION_DAYS

    carry_over = raw.get("carry_over_sections", list(DEFAULT_CARRY_OVER))
    if not isinstance(carry_over, list):
        check.fail("carry_over_sections", "must be a list of model card sections", carry_over)
        carry_over = []
    for i, section in enumerate(carry_over):
        if section not in CARRY_OVER_SECTIONS:
            check.fail(f"carry_over_sections[{i}]", f"is not one of {', '.join(CARRY_OVER_SECTIONS)}", section)

    archived_rejects = raw.get("archived_rejects_package", False)
    if not isinstance(archived_rejects, bool):
        check.fail("archived_rejects_package", "must be true or false", archived_rejects)

    if check.problems:
        raise ConfigError(check.problems)
    assert hub_account is not None and region is not None
    return GovernanceConfig(
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
    )


def _parse_hub(check: _Checker, raw: Any) -> tuple[str | None, str | None, str | None]:
    if not check.keys("hub", raw, ("account", "region"), ("card_key_arn",)):
        return None, None, None
    account = check.account("hub.account", raw.get("account")) if "account" in raw else None
    region = None
    if "region" in raw:
        region = check.string("hub.region", raw["region"])
        if region is not None and region not in known_regions():
            check.fail("hub.region", "is not an AWS region where SageMaker runs", region)
            region = None
    key_arn = raw.get("card_key_arn")
    if key_arn is not None:
        key_arn = check.string("hub.card_key_arn", key_arn, KEY_ARN_PATTERN, "a KMS key ARN")
        if key_arn and account and region and f":{region}:{account}:" not in key_arn:
            check.fail("hub.card_key_arn", "must be a key in the hub account and region", key_arn)
    return account, region, key_arn


def _parse_organization(check: _Checker, raw: Any) -> Organization | None:
    if raw is None:
        return None
    if not check.keys("organization", raw, ("id",), ("management_account",)):
        return None
    org_id = check.string("organization.id", raw.get("id"), ORG_ID_PATTERN, "an organization ID like o-a1b2c3d4e5")
    management = raw.get("management_account")
    if management is not None:
        management = check.account("organization.management_account", management)
    return Organization(org_id, management) if org_id else None


def _parse_spokes(
    check: _Checker, raw: Any, hub_account: str | None, organization: Organization | None, organization_given: bool
) -> list[Spoke]:
    if not isinstance(raw, list) or not raw:
        check.fail("spokes", "must be a non-empty list", raw)
        return []
    spokes: list[Spoke] = []
    seen_targets: dict[str, str] = {}
    seen_names: dict[str, str] = {}
    for i, item in enumerate(raw):
        path = f"spokes[{i}]"
        if not check.keys(path, item, ("name", "access"), ("account", "ou")):
            continue
        name = check.string(
            f"{path}.name",
            item.get("name"),
            DISPLAY_NAME_PATTERN,
            "a name of letters, digits and dashes (max 40), starting with a letter",
        )
        access: AccessLevel | None = None
        try:
            access = AccessLevel(item.get("access"))
        except ValueError:
            levels = ", ".join(level.value for level in AccessLevel)
            check.fail(f"{path}.access", f"must be one of {levels}", item.get("access"))
        account = ou = None
        if ("account" in item) == ("ou" in item):
            check.fail(path, "needs exactly one of account or ou", show_value=False)
        elif "account" in item:
            account = check.account(f"{path}.account", item["account"])
            if account is not None and account == hub_account:
                check.fail(f"{path}.account", "is the hub account; the hub owns the cards and is not a spoke", account)
                account = None
        else:
            ou = check.string(f"{path}.ou", item["ou"], OU_ID_PATTERN, "an OU ID like ou-ab12-cdef3456")
            if ou is not None and organization is None and organization_given:
                ou = None  # the organization's own problem is already reported
            elif ou is not None and organization is None:
                check.fail(f"{path}.ou", "needs organization.id: OUs exist only inside an organization", ou)
                ou = None
            elif ou is not None and organization is not None and organization.management_account is None:
                check.fail(
                    f"{path}.ou",
                    "needs organization.management_account: RAM names an OU by an ARN "
                    "in the management account, and the OU roll-out stack deploys there",
                    ou,
                )
                ou = None
        target = account or ou
        if target is not None:
            if target in seen_targets:
                check.fail(f"{path}.{'account' if account else 'ou'}", f"duplicates {seen_targets[target]}", target)
                continue
            seen_targets[target] = path
        if name is not None:
            if name.lower() in seen_names:
                check.fail(f"{path}.name", f"duplicates {seen_names[name.lower()]}.name", name)
                continue
            seen_names[name.lower()] = path
        if name and access and target:
            spokes.append(Spoke(name=name, access=access, account=account, ou=ou))
    return spokes


def _parse_reviewers(check: _Checker, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw:
        check.fail("reviewers", "must be a non-empty list of e-mail addresses", raw)
        return []
    reviewers = []
    for i, address in enumerate(raw):
        valid = check.string(f"reviewers[{i}]", address, EMAIL_PATTERN, "an e-mail address")
        if valid is not None:
            reviewers.append(valid)
    return reviewers


def _parse_cards(check: _Checker, raw: Any) -> list[DeclaredCard]:
    if not isinstance(raw, list):
        check.fail("cards", "must be a list", raw)
        return []
    cards: list[DeclaredCard] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        path = f"cards[{i}]"
        if not check.keys(
            path,
            item,
            ("name", "owner", "problem_type", "risk_rating", "intended_uses"),
            ("purpose", "model_package_group"),
        ):
            continue
        name = check.string(
            f"{path}.name",
            item.get("name"),
            CARD_NAME_PATTERN,
            "a model card name (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$)",
        )
        owner = check.string(f"{path}.owner", item.get("owner"))
        problem_type = check.string(f"{path}.problem_type", item.get("problem_type"))
        intended_uses = check.string(f"{path}.intended_uses", item.get("intended_uses"))
        risk = item.get("risk_rating")
        if risk not in RISK_RATINGS:
            check.fail(f"{path}.risk_rating", f"must be one of {', '.join(RISK_RATINGS)}", risk)
            risk = None
        purpose = item.get("purpose")
        if purpose is not None:
            purpose = check.string(f"{path}.purpose", purpose)
        group = item.get("model_package_group")
        if group is not None:
            group = check.string(
                f"{path}.model_package_group",
                group,
                CARD_NAME_PATTERN,
                "a model package group name (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$)",
            )
        if name is not None:
            if name in seen:
                check.fail(f"{path}.name", f"duplicates {seen[name]}.name", name)
                continue
            seen[name] = path
        if name and owner and problem_type and intended_uses and risk:
            cards.append(DeclaredCard(name, owner, problem_type, risk, intended_uses, purpose, group))
    return cards


def load_config(path: Path) -> GovernanceConfig:
    """Read and validate a config file; every failure is a ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the config file ({error.strerror})"]) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            [f"{path}: not valid JSON at line {error.lineno} column {error.colno} ({error.msg})"]
        ) from None
    try:
        return parse_config(raw)
    except ConfigError as error:
        raise ConfigError([f"{path}: {problem}" for problem in error.problems]) from None
