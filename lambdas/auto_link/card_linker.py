"""Gives every new model package version its own model card, cloned from the group's previous card.

Plain functions that take their boto3 clients as arguments; `handler.py` only parses and logs.
Runs on the Lambda Python runtime with nothing but boto3.

A version is new when its event has no `UpdatedModelPackageFields`: SageMaker sets that field on
updates (the sample event, and the values AWS documents), and does not document it for a creation.
An update event therefore never creates a card; a creation event delivered twice creates one.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.card_names import CARD_NAME, card_name_for

__all__ = ["CARD_NAME", "card_name_for"]  # re-exported: the naming rule is part of this module's contract

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[^/]+/[0-9]+$")
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
GROUP_TAG = "model-card-governance:model-package-group"
VERSION_TAG = "model-card-governance:model-package-version"


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


@dataclass(frozen=True)
class LinkResult:
    action: str  # "created", "completed" (existed, share ensured) or "ignored"
    card_name: str | None = None
    source_card: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class LinkerSettings:
    card_key_arn: str
    share_arns: Sequence[str]
    index_table: str
    carry_over: Sequence[str] = DEFAULT_CARRY_OVER
    # group name -> name of the card whose content starts that group's first card
    template_cards: Mapping[str, str] | None = None


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
    text = json.dumps(content, separators=(",", ":"), sort_keys=True)
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
    if not isinstance(user, Mapping):
        return None
    mapping = {"UserProfileArn": "user_profile_arn", "UserProfileName": "user_profile_name", "DomainId": "domain_id"}
    found = {mapping[k]: v for k, v in user.items() if k in mapping and isinstance(v, str)}
    return found or None


def _inference(spec: Any) -> dict[str, Any] | None:
    if not isinstance(spec, Mapping) or not spec.get("Containers"):
        return None
    containers = [
        {k: v for k, v in {"image": c.get("Image"), "model_data_url": c.get("ModelDataUrl")}.items() if v}
        for c in spec["Containers"]
        if isinstance(c, Mapping)
    ]
    return {"containers": containers}


def clone_card_for_version(
    package: PackageVersion,
    source_content: Mapping[str, Any] | None,
    source: tuple[str, int] | None,
    carry_over: Sequence[str],
) -> dict[str, Any]:
    """The new version's content: carried-over sections, fresh package details, provenance."""
    content: dict[str, Any] = {}
    if source_content:
        content = {k: copy.deepcopy(v) for k, v in source_content.items() if k in carry_over}
    if "model_overview" not in content:
        content["model_overview"] = {"model_name": package.group, "model_version": package.version}
    content["model_package_details"] = package_details(package)
    info = content.setdefault("additional_information", {})
    custom = dict(info.get("custom_details") or {})
    custom.pop("cloned_from_card", None)
    custom.pop("cloned_from_card_version", None)
    if source is not None:
        custom["cloned_from_card"] = source[0]
        custom["cloned_from_card_version"] = str(source[1])
    else:
        custom["cloned_from_card"] = "none"
    info["custom_details"] = custom
    return content


def link_new_version(
    event: Mapping[str, Any], *, sagemaker: Any, ram: Any, dynamodb: Any, settings: LinkerSettings
) -> LinkResult:
    """Create (or complete) the card of the package version an event announces."""
    package = parse_package_event(event)
    if package is None:
        return LinkResult("ignored", reason="update of an existing version (UpdatedModelPackageFields present)")
    name = card_name_for(package.group, package.version)

    earlier = _versions_with_cards(dynamodb, settings.index_table, package.group)
    source_version = max((v for v in earlier if v < package.version), default=None)
    source_content: Mapping[str, Any] | None = None
    source: tuple[str, int] | None = None
    if source_version is not None:
        source_name = card_name_for(package.group, source_version)
        described = sagemaker.describe_model_card(ModelCardName=source_name)
        source_content = json.loads(described.get("Content") or "{}")
        source = (source_name, int(described["ModelCardVersion"]))
    elif settings.template_cards and package.group in settings.template_cards:
        template = settings.template_cards[package.group]
        described = sagemaker.describe_model_card(ModelCardName=template)
        source_content = json.loads(described.get("Content") or "{}")
        source = (template, int(described["ModelCardVersion"]))

    content = validate_content(clone_card_for_version(package, source_content, source, settings.carry_over))
    try:
        card_arn = sagemaker.create_model_card(
            ModelCardName=name,
            Content=content,
            ModelCardStatus="Draft",
            SecurityConfig={"KmsKeyId": settings.card_key_arn},
            Tags=[
                {"Key": GROUP_TAG, "Value": package.group},
                {"Key": VERSION_TAG, "Value": str(package.version)},
            ],
        )["ModelCardArn"]
        action = "created"
    except sagemaker.exceptions.ConflictException:
        card_arn = _existing_card_of(sagemaker, name, package)
        action = "completed"
    for share_arn in settings.share_arns:
        ram.associate_resource_share(resourceShareArn=share_arn, resourceArns=[card_arn])
    dynamodb.update_item(
        TableName=settings.index_table,
        Key={"Group": {"S": package.group}},
        UpdateExpression="ADD CardVersions :v",
        ExpressionAttributeValues={":v": {"NS": [str(package.version)]}},
    )
    return LinkResult(action, card_name=name, source_card=source[0] if source else None)


def _versions_with_cards(dynamodb: Any, table: str, group: str) -> list[int]:
    item = dynamodb.get_item(TableName=table, Key={"Group": {"S": group}}, ConsistentRead=True).get("Item", {})
    return [int(v) for v in item.get("CardVersions", {}).get("NS", [])]


def _existing_card_of(sagemaker: Any, name: str, package: PackageVersion) -> str:
    """The existing card is a success only when it is the card of this very package version."""
    described = sagemaker.describe_model_card(ModelCardName=name)
    linked = json.loads(described.get("Content") or "{}").get("model_package_details", {}).get("model_package_arn")
    if linked != package.arn:
        raise CardConflict(f"card {name} exists but is linked to {linked!r}, not {package.arn}")
    arn: str = described["ModelCardArn"]
    return arn
