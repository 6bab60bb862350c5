"""Gives every new model package version its own model card, cloned from the group's previous card.

Plain functions that take their boto3 clients as arguments; `handler.py` only parses and logs.
Runs on the Lambda Python runtime with nothing but boto3.

A version is new when its event has no `UpdatedModelPackageFields`: SageMaker sets that field on
updates (the sample event, and the values AWS documents), and does not document it for a creation.
An update event therefore never creates a card; a creation event delivered twice creates one.

A card belongs to the account that registered the package (its name and index entry carry the
account). The hub plans the card's name before the card exists and binds the card to the package
only once it has made it (shared.card_links): a name someone else took first governs nothing.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.card_links import (
    CardLink,
    LinkConflict,
    PackagePlan,
    approved_card_version,
    bind_card,
    card_link,
    card_name_of_package,
    link_matches,
    new_nonce,
    package_plan,
    record_imported,
    record_plan,
    timestamp,
)
from shared.card_names import CARD_NAME, card_name_for
from shared.runtime import metadata_only

from auto_link.package_evidence import IMPORTED_FROM, Imported, read_package_evidence, reader_s3_client

__all__ = ["CARD_NAME", "card_name_for"]  # re-exported: the naming rule is part of this module's contract

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
PACKAGE_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-package/([^/]+)/([0-9]+)$")
MAX_CONTENT = 100_000
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
CARD_SECTIONS = {
    "model_overview": dict,
    "intended_uses": dict,
    "business_details": dict,
    "training_details": dict,
    "evaluation_details": list,
    "additional_information": dict,
    "model_package_details": dict,
}
DEFAULT_CARRY_OVER = ("business_details", "intended_uses", "additional_information")
# model_overview describes the model (kept from card to card) and the version (made afresh).
MODEL_LEVEL_OVERVIEW = ("model_owner", "problem_type", "algorithm_type", "model_description")
VERSION_LEVEL_OVERVIEW = (
    "model_id",
    "model_name",
    "model_version",
    "model_creator",
    "model_artifact",
    "inference_environment",
)
CARRY_OVER_FROM = ("approved", "latest")
GROUP_TAG = "model-card-governance:model-package-group"
VERSION_TAG = "model-card-governance:model-package-version"
ACCOUNT_TAG = "model-card-governance:model-package-account"


class MalformedEvent(ValueError):
    """The event cannot be processed as it is; retrying will not help."""


class InvalidCard(ValueError):
    """The card this version would get breaks the model card schema."""


class CardConflict(RuntimeError):
    """A card with this version's name exists but belongs to another package."""


@dataclass(frozen=True)
class PackageVersion:
    group: str
    version: int
    arn: str
    detail: Mapping[str, Any]

    @property
    def account(self) -> str:
        """The account that registered the package (from its ARN, which SageMaker wrote)."""
        return self.arn.split(":")[4]

    @property
    def group_arn(self) -> str:
        """The group's identity across accounts: the index of cards is kept per group ARN."""
        return self.arn.rsplit(":", 1)[0] + f":model-package-group/{self.group}"

    @property
    def card_name(self) -> str:
        return card_name_for(self.account, self.group, self.version)

    @property
    def created(self) -> str:
        """The package's CreationTime: with the ARN, its identity (a group created again numbers
        its versions from 1 again, and its packages get ARNs earlier packages had)."""
        try:
            return timestamp(self.detail.get("CreationTime"))
        except ValueError:
            raise MalformedEvent(f"detail.CreationTime {self.detail.get('CreationTime')!r} is not a time") from None


@dataclass(frozen=True)
class LinkResult:
    action: str  # "created", "completed" (existed, share ensured) or "ignored"
    card_name: str | None = None
    source_card: str | None = None
    reason: str = ""
    # What the package's own evidence left out of the card, and why (ModelMetrics member -> reason).
    not_imported: Mapping[str, str] | None = None
    # Earlier versions' cards that no longer exist, passed over as the clone source.
    deleted_sources: Sequence[str] = ()
    # Names found taken by cards the hub did not make (`<name> <card ARN> <CreationTime>`).
    squatted: Sequence[str] = ()


@dataclass(frozen=True)
class LinkerSettings:
    card_key_arn: str
    # Shares every card joins: the read-only share of all spokes (or, with sharing widened, the
    # share of each access level).
    share_arns: Sequence[str]
    index_table: str
    link_table: str
    # Share `<owner_share_prefix><account>` gives the registering spoke its own access level on
    # its own cards; None when sharing is widened to every card.
    owner_share_prefix: str | None = None
    carry_over: Sequence[str] = DEFAULT_CARRY_OVER
    carry_over_from: str = "approved"
    # group name -> name of the card whose content starts that group's first card
    template_cards: Mapping[str, str] | None = None
    # The role in each spoke through which the package's reports are read; None reads none.
    reader_role_name: str | None = None
    hub_account: str = ""
    partition: str = "aws"


def parse_package_event(event: Mapping[str, Any]) -> PackageVersion | None:
    """The package version an event announces, None for an update, MalformedEvent otherwise."""
    if event.get("detail-type") != MODEL_PACKAGE_STATE_CHANGE:
        raise MalformedEvent(f"detail-type is {event.get('detail-type')!r}, expected {MODEL_PACKAGE_STATE_CHANGE!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing")
    group = detail.get("ModelPackageGroupName")
    version = detail.get("ModelPackageVersion")
    arn = detail.get("ModelPackageArn")
    if not isinstance(group, str) or not group:
        raise MalformedEvent(f"detail.ModelPackageGroupName is missing or not a string ({group!r})")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise MalformedEvent(f"detail.ModelPackageVersion is missing or not a positive integer ({version!r})")
    if not isinstance(arn, str) or not PACKAGE_ARN.match(arn):
        raise MalformedEvent(f"detail.ModelPackageArn is missing or not a versioned package ARN ({arn!r})")
    # An event is the account's own news (EventBridge keeps the sender's `account` on a forwarded
    # event): one that names another account's package would let a spoke start another's card line.
    sender = event.get("account")
    if sender is not None and sender != arn.split(":")[4]:
        raise MalformedEvent(f"event account {sender!r} is not the account of detail.ModelPackageArn {arn!r}")
    if "UpdatedModelPackageFields" in detail:
        return None
    return PackageVersion(group, version, arn, detail)


def validate_content(content: Mapping[str, Any]) -> str:
    """The content as the JSON SageMaker takes, or InvalidCard naming the offending field."""
    for key, value in content.items():
        if key not in CARD_SECTIONS:
            raise InvalidCard(f"content.{key}: not a model card section (the schema allows no other properties)")
        if not isinstance(value, CARD_SECTIONS[key]):
            raise InvalidCard(f"content.{key}: must be {'an array' if CARD_SECTIONS[key] is list else 'an object'}")
    risk = content.get("intended_uses", {}).get("risk_rating")
    if risk is not None and risk not in RISK_RATINGS:
        raise InvalidCard(f"content.intended_uses.risk_rating: {risk!r} is not one of {', '.join(RISK_RATINGS)}")
    # Not ASCII-escaped: a model card holds 100,000 characters, and an escape would count one
    # non-ASCII character of the content as six or twelve.
    text = json.dumps(content, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_CONTENT:
        raise InvalidCard(f"content: {len(text)} characters, more than the {MAX_CONTENT} a model card holds")
    return text


def package_details(package: PackageVersion) -> dict[str, Any]:
    detail = package.detail
    details: dict[str, Any] = {
        "model_package_arn": package.arn,
        "model_package_group_name": package.group,
        "model_package_version": package.version,
    }
    optional = {
        "model_approval_status": detail.get("ModelApprovalStatus"),
        "model_package_status": detail.get("ModelPackageStatus"),
        "model_package_description": detail.get("ModelPackageDescription"),
        "created_by": _user(detail.get("CreatedBy")),
        "inference_specification": _inference(detail.get("InferenceSpecification")),
    }
    details.update({k: v for k, v in optional.items() if v})
    return details


def _user(user: Any) -> dict[str, str] | None:
    """created_by as the model card JSON schema has it: `user_profile_name` and nothing else (its
    ModelPackageCreator sets additionalProperties false; AWS::SageMaker::ModelCard ModelPackageCreator,
    CloudFormation template reference). A card with more is refused by CreateModelCard."""
    if not isinstance(user, Mapping):
        return None
    name = user.get("UserProfileName")
    return {"user_profile_name": name} if isinstance(name, str) and name else None


# Where the rest of the package's CreatedBy goes: custom_details is the schema's one string map
# (keys [a-zA-Z_][a-zA-Z0-9_]*, values up to 1024 characters). Each version's own, never carried over.
CREATOR_DETAILS = {"UserProfileArn": "created_by_user_profile_arn", "DomainId": "created_by_domain_id"}
MAX_CUSTOM_DETAIL = 1024


def creator_details(detail: Mapping[str, Any]) -> dict[str, str]:
    user = detail.get("CreatedBy")
    if not isinstance(user, Mapping):
        return {}
    return {
        key: value
        for field, key in CREATOR_DETAILS.items()
        if isinstance(value := user.get(field), str) and value and len(value) <= MAX_CUSTOM_DETAIL
    }


def _inference(spec: Any) -> dict[str, Any] | None:
    if not isinstance(spec, Mapping) or not spec.get("Containers"):
        return None
    containers = [
        {k: v for k, v in {"image": c.get("Image"), "model_data_url": c.get("ModelDataUrl")}.items() if v}
        for c in spec["Containers"]
        if isinstance(c, Mapping)
    ]
    return {"containers": containers}


def overview_for_version(package: PackageVersion, source: Mapping[str, Any], carry_all: bool) -> dict[str, Any]:
    """model_overview: the model-level fields carried over, the version-level ones made afresh."""
    if carry_all:
        carried = {k: copy.deepcopy(v) for k, v in source.items() if k not in VERSION_LEVEL_OVERVIEW}
    else:
        carried = {k: copy.deepcopy(source[k]) for k in MODEL_LEVEL_OVERVIEW if k in source}
    overview: dict[str, Any] = {**carried, "model_name": package.group, "model_version": package.version}
    containers = package.detail.get("InferenceSpecification", {}).get("Containers") or []
    artifacts = [c["ModelDataUrl"] for c in containers if isinstance(c, Mapping) and c.get("ModelDataUrl")]
    images = [c["Image"] for c in containers if isinstance(c, Mapping) and c.get("Image")]
    if artifacts:
        overview["model_artifact"] = artifacts[:15]
    if images:
        overview["inference_environment"] = {"container_image": images[:15]}
    return overview


def clone_card_for_version(
    package: PackageVersion,
    source_content: Mapping[str, Any] | None,
    source: tuple[str, int] | None,
    carry_over: Sequence[str],
    imported: Imported | None = None,
) -> dict[str, Any]:
    """The new version's content: what the package's reports and lineage say, then carried-over
    sections, then the package's own card for what neither gave; fresh package details, provenance."""
    source_content = source_content or {}
    content = {k: copy.deepcopy(v) for k, v in source_content.items() if k in carry_over and k != "model_overview"}
    if imported is not None:
        content.update(imported_sections(imported))
    for section, value in package_card_sections(package).items():
        _fill(content, section, value)
    source_overview = source_content.get("model_overview")
    content["model_overview"] = overview_for_version(
        package, source_overview if isinstance(source_overview, Mapping) else {}, "model_overview" in carry_over
    )
    content["model_package_details"] = package_details(package)
    info = content.setdefault("additional_information", {})
    custom = dict(info.get("custom_details") or {})
    for key in ("cloned_from_card", "cloned_from_card_version", "hub_card_nonce", *CREATOR_DETAILS.values()):
        custom.pop(key, None)
    custom.update(creator_details(package.detail))
    if source is not None:
        custom["cloned_from_card"] = source[0]
        custom["cloned_from_card_version"] = str(source[1])
    else:
        custom["cloned_from_card"] = "none"
    for key in [k for k in custom if k.startswith(("imported_", "not_imported_"))]:
        del custom[key]  # the previous version's import says nothing of this one
    if imported is not None:
        custom.update(imported_custom_details(package, imported))
    info["custom_details"] = custom
    return content


def imported_sections(imported: Imported) -> dict[str, Any]:
    """The sections the package's own evidence fills: they describe this version, so they replace
    whatever the previous card said."""
    sections: dict[str, Any] = {}
    if imported.evaluation_details:
        sections["evaluation_details"] = copy.deepcopy(imported.evaluation_details)
    if imported.training_details:
        sections["training_details"] = copy.deepcopy(imported.training_details)
    return sections


def imported_custom_details(package: PackageVersion, imported: Imported) -> dict[str, str]:
    """custom_details that mark what came from the package, and why any report is not there."""
    custom = dict(imported.custom_details)
    sections = [name for name, value in imported_sections(imported).items() if value]
    if sections:
        custom[IMPORTED_FROM] = package.arn[:1024]
        custom["imported_sections"] = ",".join(sections)
    for where, reason in sorted(imported.not_imported.items()):
        custom["not_imported_" + re.sub(r"[^A-Za-z0-9_]", "_", where)] = reason[:1024]
    return custom


def package_card_sections(package: PackageVersion) -> dict[str, Any]:
    """The sections of the card embedded in the package (CreateModelPackage's ModelCard), as input
    only: its status and any model_package_details are never taken."""
    embedded = package.detail.get("ModelCard")
    text = embedded.get("ModelCardContent") if isinstance(embedded, Mapping) else None
    if not isinstance(text, str):
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, Mapping):
        return {}
    return {
        k: copy.deepcopy(v)
        for k, v in parsed.items()
        if k in CARD_SECTIONS and k != "model_package_details" and isinstance(v, CARD_SECTIONS[k])
    }


def _fill(content: dict[str, Any], section: str, value: Any) -> None:
    """`value` where the content has no such section; inside an object section, only its missing fields."""
    if section not in content:
        content[section] = value
    elif isinstance(content[section], dict) and isinstance(value, Mapping):
        for key, item in value.items():
            content[section].setdefault(key, item)


def link_new_version(
    event: Mapping[str, Any],
    *,
    sagemaker: Any,
    ram: Any,
    dynamodb: Any,
    settings: LinkerSettings,
    sts: Any = None,
    now: datetime | None = None,
) -> LinkResult:
    """Create (or complete) the card of the package version an event announces."""
    package = parse_package_event(event)
    if package is None:
        return LinkResult("ignored", reason="update of an existing version (UpdatedModelPackageFields present)")
    return link_package(package, sagemaker=sagemaker, ram=ram, dynamodb=dynamodb, settings=settings, sts=sts, now=now)


MAX_NAMES = 3  # a name found taken is passed over for a fresh one; three in a row is no accident


def link_package(
    package: PackageVersion,
    *,
    sagemaker: Any,
    ram: Any,
    dynamodb: Any,
    settings: LinkerSettings,
    sts: Any = None,
    now: datetime | None = None,
) -> LinkResult:
    """Give one package version its own card, made by the hub under a name planned for it.

    The plan (shared.card_links) is recorded before the card is made; the link binds the card only
    after CreateModelCard answered (or, for an answer lost after SageMaker acted, after the card
    under the planned name proved to be this plan's: its first version carries the plan's nonce).
    A name someone else took first is passed over, recorded in the plan, and reported.
    """
    table = settings.link_table
    plan = _plan_for(dynamodb, table, package, now or datetime.now(UTC))
    if plan is None:
        return LinkResult("ignored", reason=f"{package.arn} of {package.created} was deleted: a newer package has it")
    source_content, source, deleted_sources = _clone_source(sagemaker, dynamodb, settings, package)
    imported = import_package_evidence(package, settings, sts=sts, like=sagemaker)
    try:
        content = clone_card_for_version(package, source_content, source, settings.carry_over, imported)
        validate_content(content)
    except InvalidCard as invalid:
        if not imported.evaluation_details:
            raise
        # The reports must not cost the version its card: without them, with the reason.
        for detail in imported.evaluation_details:
            imported.not_imported[str(detail.get("name"))] = f"left out: with it the card is invalid ({invalid})"
        imported.evaluation_details.clear()
        imported.objects.clear()
        content = clone_card_for_version(package, source_content, source, settings.carry_over, imported)
    for _ in range(MAX_NAMES):
        name = plan.card_name
        if settings.reader_role_name is not None:
            record_imported(dynamodb, table, name, json.dumps(imported.record(), sort_keys=True))
        try:
            card_arn = sagemaker.create_model_card(
                ModelCardName=name,
                Content=validate_content(with_nonce(content, plan.nonce)),
                ModelCardStatus="Draft",
                SecurityConfig={"KmsKeyId": settings.card_key_arn},
                Tags=[
                    {"Key": GROUP_TAG, "Value": package.group},
                    {"Key": VERSION_TAG, "Value": str(package.version)},
                    {"Key": ACCOUNT_TAG, "Value": package.account},
                ],
            )["ModelCardArn"]
            action = "created"
            described = sagemaker.describe_model_card(
                ModelCardName=name, **metadata_only(sagemaker, "DescribeModelCard")
            )
        except sagemaker.exceptions.ConflictException:
            described = sagemaker.describe_model_card(
                ModelCardName=name, **metadata_only(sagemaker, "DescribeModelCard")
            )
            if _made_for_plan(sagemaker, dynamodb, table, plan, package, described):
                card_arn, action = described["ModelCardArn"], "completed"
            else:
                plan = _pass_over(dynamodb, table, plan, package, described, now or datetime.now(UTC))
                continue
        link = CardLink(
            name,
            package.arn,
            package.account,
            package.group,
            package.version,
            card_arn=card_arn,
            card_created=timestamp(described.get("CreationTime")),
            package_created=package.created,
        )
        try:
            bind_card(dynamodb, table, link)
        except LinkConflict as conflict:
            raise CardConflict(str(conflict)) from None
        break
    else:
        raise CardConflict(f"{MAX_NAMES} card names for {package.arn} were taken first: {', '.join(plan.squatted)}")
    for share_arn in shares_for(ram, settings, package.account):
        ram.associate_resource_share(resourceShareArn=share_arn, resourceArns=[card_arn])
    dynamodb.update_item(
        TableName=settings.index_table,
        Key={"Group": {"S": package.group_arn}},
        UpdateExpression="ADD CardVersions :v",
        ExpressionAttributeValues={":v": {"NS": [str(package.version)]}},
    )
    return LinkResult(
        action,
        card_name=name,
        source_card=source[0] if source else None,
        not_imported=imported.not_imported,
        deleted_sources=deleted_sources,
        squatted=plan.squatted,
    )


NONCE_DETAIL = "hub_card_nonce"
CLOCK_SLACK = timedelta(minutes=1)


def with_nonce(content: Mapping[str, Any], nonce: str) -> dict[str, Any]:
    """The content with the plan's nonce in custom_details: the card's first version, which no one
    can change (any content change makes a new version), then shows the hub made it for this plan."""
    marked = copy.deepcopy(dict(content))
    info = marked.setdefault("additional_information", {})
    info["custom_details"] = {**(info.get("custom_details") or {}), NONCE_DETAIL: nonce}
    return marked


def _plan_for(dynamodb: Any, table: str, package: PackageVersion, now: datetime) -> PackagePlan | None:
    """The package's plan, made now if it has none; None for a package a newer one of its ARN replaced."""
    for _ in range(2):
        plan = package_plan(dynamodb, table, package.arn)
        if plan is not None and plan.package_created == package.created:
            return plan
        if plan is not None and package.created and plan.package_created > package.created:
            return None  # a late event of a package deleted since: its group was created again
        nonce = new_nonce()
        primary = package.card_name
        holder = card_link(dynamodb, table, primary)
        # A plain name already bound (or, before binding, linked) to another package, or to an
        # earlier package of this ARN, is not this package's to take.
        # A link written before binding (no PackageCreated) for this very ARN is adopted when its card
        # proves to be the one made after it (_made_for_plan).
        legacy = holder is not None and holder.package_arn == package.arn and not holder.package_created and not plan
        taken = (
            holder is not None
            and not legacy
            and (holder.package_arn != package.arn or holder.package_created != package.created)
        )
        name = card_name_for(package.account, package.group, package.version, nonce) if taken or plan else primary
        fresh = PackagePlan(package.arn, package.created, name, nonce, now.isoformat(timespec="milliseconds"))
        if record_plan(dynamodb, table, fresh, replacing=plan):
            return fresh
    raise CardConflict(f"the plan for {package.arn} kept changing under the auto-linker")


def _made_for_plan(
    sagemaker: Any, dynamodb: Any, table: str, plan: PackagePlan, package: PackageVersion, described: Mapping[str, Any]
) -> bool:
    """Is the card under the planned name the one this plan made (an answer lost after SageMaker acted,
    or a second delivery)? Bound to this package already, or made after the plan with its nonce."""
    link = card_link(dynamodb, table, plan.card_name)
    if link is not None and link.card_arn:
        return (
            link.package_arn == package.arn
            and link.package_created == package.created
            and link_matches(link, described)
        )
    if link is not None and link.package_arn == package.arn and not link.package_created:
        return link_matches(link, described)  # written before binding: adopted if the card came after it
    created = timestamp(described.get("CreationTime"))
    # The nonce is the proof; the time only passes over at once a card made before the plan (with
    # a minute's room for the Lambda's clock against SageMaker's).
    planned = timestamp(plan.planned_at)
    if not created or not planned or datetime.fromisoformat(created) < datetime.fromisoformat(planned) - CLOCK_SLACK:
        return False  # the name was taken before the hub planned it
    first = described
    if described.get("ModelCardVersion") != 1 or "Content" not in described or not _full(described):
        first = sagemaker.describe_model_card(ModelCardName=plan.card_name, ModelCardVersion=1)
    details = json.loads(first.get("Content") or "{}").get("additional_information", {}).get("custom_details", {})
    return isinstance(details, Mapping) and details.get(NONCE_DETAIL) == plan.nonce


def _full(described: Mapping[str, Any]) -> bool:
    """Whether a description carries the whole content (MetadataOnly leaves custom_details out)."""
    try:
        return "additional_information" in json.loads(described.get("Content") or "{}")
    except ValueError:
        return False


def _pass_over(
    dynamodb: Any, table: str, plan: PackagePlan, package: PackageVersion, described: Mapping[str, Any], now: datetime
) -> PackagePlan:
    """Record that the planned name was taken first, and plan a name no one can know yet."""
    squat = f"{plan.card_name} {described.get('ModelCardArn')} {timestamp(described.get('CreationTime'))}"
    nonce = new_nonce()
    fresh = PackagePlan(
        package.arn,
        package.created,
        card_name_for(package.account, package.group, package.version, nonce),
        nonce,
        now.isoformat(timespec="milliseconds"),
        tuple(sorted({*plan.squatted, squat})),
    )
    if record_plan(dynamodb, table, fresh, replacing=plan):
        return fresh
    moved = package_plan(dynamodb, table, package.arn)
    if moved is None or moved.package_created != package.created:
        raise CardConflict(f"the plan for {package.arn} changed under the auto-linker")
    return moved


def import_package_evidence(package: PackageVersion, settings: LinkerSettings, *, sts: Any, like: Any) -> Imported:
    """The package's reports (through the registering spoke's reader role) and lineage."""

    def s3_of() -> Any:
        if settings.reader_role_name is None or sts is None:
            raise LookupError("the auto-linker is not configured to read reports")
        if package.account == settings.hub_account:
            # The hub has no registry-reader role of its own, and its linker reads no bucket itself.
            raise LookupError("reports of packages the hub registers are not read")
        return reader_s3_client(
            sts, partition=settings.partition, account=package.account, role_name=settings.reader_role_name, like=like
        )

    return read_package_evidence(package.detail, package.account, s3_of)


def _clone_source(
    sagemaker: Any, dynamodb: Any, settings: LinkerSettings, package: PackageVersion
) -> tuple[Mapping[str, Any] | None, tuple[str, int] | None, list[str]]:
    """The card version the new card starts from: the highest earlier version's card that still
    exists (its last approved version, unless config says `latest`), else the group's template
    card, else nothing; and the earlier versions' cards passed over because someone deleted them.

    A deleted card must not cost every later version its card: it is passed over, and named."""
    earlier = sorted((v for v in _versions_with_cards(dynamodb, settings.index_table, package.group_arn)), reverse=True)
    prefix = package.arn.rsplit("/", 1)[0]
    candidates = [
        card_name_of_package(dynamodb, settings.link_table, f"{prefix}/{v}")
        or card_name_for(package.account, package.group, v)
        for v in earlier
        if v < package.version
    ]
    if settings.template_cards and package.group in settings.template_cards:
        candidates.append(settings.template_cards[package.group])
    deleted: list[str] = []
    for source_name in candidates:
        approved = (
            approved_card_version(dynamodb, settings.link_table, source_name)
            if settings.carry_over_from == "approved"
            else None
        )
        try:
            if approved is None:
                described = sagemaker.describe_model_card(ModelCardName=source_name)
            else:
                described = sagemaker.describe_model_card(ModelCardName=source_name, ModelCardVersion=approved)
        except sagemaker.exceptions.ResourceNotFound:
            deleted.append(source_name)
            continue
        content = json.loads(described.get("Content") or "{}")
        return content, (source_name, int(described["ModelCardVersion"])), deleted
    return None, None, deleted


def shares_for(ram: Any, settings: LinkerSettings, account: str) -> list[str]:
    """Every share a new card joins: a constant number of RAM calls per version, whatever the spokes."""
    shares = list(settings.share_arns)
    if settings.owner_share_prefix:
        owner_share = _owner_share(ram, settings, account)
        if owner_share:
            shares.append(owner_share)
    return shares


def _owner_share(ram: Any, settings: LinkerSettings, account: str) -> str | None:
    """The hub stack's share that gives `account` its access level on its own cards, if it has one.

    Only account spokes that may edit have one; a read spoke, an account reached through an OU and
    the hub itself do not, and their cards are read-only for every spoke. Share names are not
    unique in RAM, so the name is matched here too, among the hub's own active shares.
    """
    name = f"{settings.owner_share_prefix}{account}"
    found = ram.get_resource_shares(resourceOwner="SELF", name=name, resourceShareStatus="ACTIVE")
    arns = sorted(
        s["resourceShareArn"]
        for s in found.get("resourceShares", [])
        if s.get("name") == name and s.get("status", "ACTIVE") == "ACTIVE"
    )
    return arns[0] if arns else None


def _versions_with_cards(dynamodb: Any, table: str, group_arn: str) -> list[int]:
    item = dynamodb.get_item(TableName=table, Key={"Group": {"S": group_arn}}, ConsistentRead=True).get("Item", {})
    return [int(v) for v in item.get("CardVersions", {}).get("NS", [])]
