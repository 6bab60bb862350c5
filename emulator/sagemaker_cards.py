"""SageMaker model cards: what AWS does that moto 5.2.5 does not.

Content and status are validated as AWS validates them; DescribeModelCard, UpdateModelCard,
ListModelCardVersions and CreateModelCardExportJob take "the name or Amazon Resource Name (ARN)"
(API reference), and a spoke can only use the ARN; moto looked the ARN up as a name and answered
ResourceNotFound.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.models import FakeModelCard, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from emulator.core import ResourceNotFound, ValidationException, caller_of, now, page, result, user_context
from emulator.events import emit_card_event
from emulator.permissions import authorize_key_use, authorize_shared_card

CARD_STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
MAX_CONTENT = 100_000  # CreateModelCard/UpdateModelCard: Content, max length 100000
ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
CARD_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-card/([^/]+)$")


# --- Model card content and status validation --------------------------------------------------------
# AWS validates Content against the model card JSON schema ("Content uses the model card JSON schema",
# API reference, CreateModelCard and ModelCard) and ModelCardStatus against its enum; moto stored
# anything. The schema is the whole of it, nested objects included (emulator/model_card_schema.py).


def validate_content(content: str) -> None:
    if len(content) > MAX_CONTENT:
        raise ValidationException(f"Content length {len(content)} exceeds the maximum of {MAX_CONTENT} characters.")
    try:
        parsed = json.loads(content)
    except ValueError as error:
        raise ValidationException(f"Content is not valid JSON: {error}") from None
    # Imported here, not with the package: `python -m emulator.model_card_schema` regenerates the
    # schema, and runpy warns about a module the package imported before running it.
    from emulator.model_card_schema import content_errors

    errors = content_errors(parsed)
    if errors:
        # AWS does not document the message; this one names every offending path, as a schema
        # validator does, so a test can tell which rule refused the content.
        raise ValidationException("Content is not valid against the model card schema: " + "; ".join(errors))


def validate_status(status: str) -> None:
    if status not in CARD_STATUSES:
        raise ValidationException(
            f"1 validation error detected: Value '{status}' at 'modelCardStatus' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(CARD_STATUSES)}]"
        )


def resolve_card(response: Any, name_or_arn: str, action: str) -> tuple[SageMakerModelBackend, str]:
    match = CARD_ARN.match(name_or_arn or "")
    if not match:
        return response.sagemaker_backend, name_or_arn
    _, region, owner, name = match.groups()
    caller, caller_arn = caller_of(response)
    if owner != caller:
        authorize_shared_card(owner, region, caller, caller_arn, name_or_arn, action)
    return sagemaker_backends[owner][region], name


def _set_users(card: FakeModelCard, user: dict[str, Any], *, created: bool = False) -> None:
    """moto's cards record no users; AWS reports CreatedBy and LastModifiedBy (a UserContext)."""
    setattr(card, "last_modified_by", user)  # noqa: B010
    if created:
        setattr(card, "created_by", user)  # noqa: B010


def _version_created(card: FakeModelCard) -> datetime:
    # moto gives every version the card's creation time; a version summary's CreationTime is "the
    # date and time that the model card version was created" (API reference, ModelCardVersionSummary).
    created: datetime = getattr(card, "version_created", card.creation_time)
    return created


def card_history(backend: SageMakerModelBackend, name: str) -> list[FakeModelCard]:
    if name not in backend.model_cards:
        raise ResourceNotFound(f"Modelcard {name} does not exist")
    history: list[FakeModelCard] = backend.model_cards[name]
    return history


CREATE_KEY_ACTIONS = ["kms:DescribeKey", "kms:GenerateDataKey", "kms:CreateGrant"]


def use_card_key(security_config: dict[str, str] | None, card_arn: str, actions: list[str], region: str) -> None:
    """SageMaker encrypts a card with its KMS key for the caller, with the card's ARN as context."""
    key = (security_config or {}).get("KmsKeyId")
    if key:
        authorize_key_use(key, actions, {"aws:sagemaker:model-card-arn": card_arn}, "sagemaker", region)


def _sm_create_model_card(self: Any) -> Any:
    content = self._get_param("Content")
    status = self._get_param("ModelCardStatus")
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    validate_status(status)
    if content is not None:
        validate_content(content)
    card_arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:model-card/{name}"
    # What AWS's CloudFormation handler for AWS::SageMaker::ModelCard lists for create.
    use_card_key(self._get_param("SecurityConfig"), card_arn, CREATE_KEY_ACTIONS, self.region)
    answer = _original["create_model_card"](self)
    card = self.sagemaker_backend.model_cards[name][-1]
    setattr(card, "version_created", card.creation_time)  # noqa: B010
    _set_users(card, user_context(self, iam_identity=False), created=True)
    emit_card_event(self.sagemaker_backend, card)
    return answer


def _sm_update_model_card(self: Any) -> Any:
    """AWS: content and status cannot change in one call; content makes a new version with the same
    status; status alone changes the current version in place; Archived cards take no content.
    moto accepted both, made a version either way and dropped whichever field was not sent."""
    content = self._get_param("Content")
    status = self._get_param("ModelCardStatus")
    backend, name = resolve_card(self, self._get_param("ModelCardName"), "sagemaker:UpdateModelCard")
    history = card_history(backend, name)
    latest = history[-1]
    if content is not None and status is not None:
        raise ValidationException("Cannot update content and status of a model card in the same request.")
    if content is None and status is None:
        raise ValidationException("Either Content or ModelCardStatus must be provided.")
    if status is not None:
        validate_status(status)
        latest.model_card_status = status
        card = latest
    else:
        if latest.model_card_status == "Archived":
            # The message AWS documents (API reference, ModelPackageModelCard, ModelCardStatus).
            raise ValidationException("Model Card is in Archived state")
        validate_content(content)
        use_card_key(latest.security_config, latest.arn, ["kms:GenerateDataKey"], backend.region_name)
        card = FakeModelCard(
            account_id=backend.account_id,
            region_name=backend.region_name,
            model_card_name=name,
            model_card_version=latest.model_card_version + 1,
            content=content,
            model_card_status=latest.model_card_status,
            security_config=latest.security_config,
            tags=latest.tags,
            creation_time=history[0].creation_time,
        )
        # AWS does not say which status the new version of an Approved card has; it keeps the card's
        # (docs/emulator.md, "Still unlike AWS"): an unreviewed version that reads Approved is the case a
        # governance product must catch, so the emulator lets it happen.
        setattr(card, "version_created", now())  # noqa: B010
        history.append(card)
    card.last_modified_time = now()
    _set_users(card, user_context(self, iam_identity=False))
    emit_card_event(backend, card)
    return result({"ModelCardArn": card.arn})


# --- IncludedData (DescribeModelCard, DescribeModelPackage; botocore 1.44 service model) -------------
INCLUDED_DATA = ("AllData", "MetadataOnly")  # botocore: IncludedData
# What MetadataOnly keeps of Content "when present in the model card" (botocore, DescribeModelCard's
# Content and ModelPackageModelCard): every other field is removed.
METADATA_ONLY_PATHS = (
    ("model_overview", "model_id"),
    ("model_overview", "model_name"),
    ("intended_uses", "risk_rating"),
    ("model_package_details", "model_package_group_name"),
    ("model_package_details", "model_package_arn"),
)


def included_data(response: Any) -> str:
    value = response._get_param("IncludedData")
    if value is None:
        return "AllData"  # "If you don't specify a value, SageMaker returns AllData."
    if value not in INCLUDED_DATA:
        raise ValidationException(_enum_message(value, "includedData", INCLUDED_DATA))
    return str(value)


def metadata_only(content: str | None) -> str | None:
    """Content as MetadataOnly returns it: the documented paths that are present, nothing else.

    AWS does not say what remains of a section none of whose paths is present; the emulator drops
    it, so a reader of MetadataOnly finds no section it could mistake for the card's."""
    if content is None:
        return None
    parsed = json.loads(content or "{}")
    kept: dict[str, dict[str, Any]] = {}
    for section, field in METADATA_ONLY_PATHS:
        value = parsed.get(section)
        if isinstance(value, dict) and field in value:
            kept.setdefault(section, {})[field] = value[field]
    return json.dumps(kept)


def _sm_describe_model_card(self: Any) -> Any:
    backend, name = resolve_card(self, self._get_param("ModelCardName"), "sagemaker:DescribeModelCard")
    included = included_data(self)
    version = self._get_param("ModelCardVersion")
    history = card_history(backend, name)
    card = history[-1]
    if version:
        card = next((c for c in history if c.model_card_version == version), None)  # type: ignore[assignment]
        if card is None:
            raise ResourceNotFound(f"Modelcard with name {name} and version: {version} does not exist")
    described = card.describe()
    if included == "MetadataOnly":
        # "This option does not require kms:Decrypt permission" (botocore, DescribeModelCard).
        described["Content"] = metadata_only(described.get("Content"))
    else:
        use_card_key(card.security_config, card.arn, ["kms:Decrypt"], backend.region_name)
    described["CreatedBy"] = getattr(history[0], "created_by", {})
    described["LastModifiedBy"] = getattr(card, "last_modified_by", {})
    described["LastModifiedTime"] = card.last_modified_time
    return result(described)


VERSION_SORT_KEYS = ("Version",)  # botocore: ModelCardVersionSortBy
SORT_ORDERS = ("Ascending", "Descending")  # botocore: ModelCardSortOrder
# botocore: MaxResults 1-100. AWS does not document the default page size; a small one makes a
# caller that ignores NextToken miss versions here as it would on a long history in AWS.
VERSIONS_PAGE = 10
MAX_VERSIONS_PAGE = 100


def _sm_list_model_card_versions(self: Any) -> Any:
    """AWS pages ListModelCardVersions (MaxResults, NextToken) and sorts by version in either order;
    moto answered every version at once and ignored the creation-time filters."""
    backend, name = resolve_card(self, self._get_param("ModelCardName"), "sagemaker:ListModelCardVersions")
    history = card_history(backend, name)
    use_card_key(history[-1].security_config, history[-1].arn, ["kms:Decrypt"], backend.region_name)
    sort_by = self._get_param("SortBy") or "Version"
    order = self._get_param("SortOrder") or "Ascending"
    if sort_by not in VERSION_SORT_KEYS:
        raise ValidationException(_enum_message(sort_by, "sortBy", VERSION_SORT_KEYS))
    if order not in SORT_ORDERS:
        raise ValidationException(_enum_message(order, "sortOrder", SORT_ORDERS))
    status = self._get_param("ModelCardStatus")
    if status is not None:
        validate_status(status)
    after, before = _time_param(self, "CreationTimeAfter"), _time_param(self, "CreationTimeBefore")
    versions = [
        c
        for c in history
        if (not status or c.model_card_status == status)
        and (after is None or _version_created(c) > after)
        and (before is None or _version_created(c) < before)
    ]
    versions.sort(key=lambda c: c.model_card_version, reverse=order == "Descending")
    listed, token = page(
        versions,
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
        default=VERSIONS_PAGE,
        maximum=MAX_VERSIONS_PAGE,
        invalid_token=ValidationException,
        invalid_max=ValidationException,
        field="MaxResults",
    )
    summaries = [{**c.version_summary(), "CreationTime": _version_created(c)} for c in listed]
    answer: dict[str, Any] = {"ModelCardVersionSummaryList": summaries}
    if token:
        answer["NextToken"] = token
    return result(answer)


def _enum_message(value: str, member: str, allowed: tuple[str, ...]) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def _time_param(response: Any, name: str) -> datetime | None:
    value = response._get_param(name)
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def _sm_delete_model_card(self: Any) -> Any:
    # DeleteModelCard takes a name only (botocore: ModelCardName is an EntityName).
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    return _original["delete_model_card"](self)


_original: dict[str, Callable[..., Any]] = {}
# The server answers each request on its own thread, and moto checks a name and then inserts, or
# reads the newest version and then appends: unguarded, two CreateModelCard calls for one name could
# both succeed. AWS answers the second ConflictException and numbers one card's versions one by
# one, so every call that makes or changes cards runs alone.
CARDS = threading.RLock()


def one_at_a_time(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def serialized(self: Any) -> Any:
        with CARDS:
            return handler(self)

    return serialized


def install() -> None:
    _original["create_model_card"] = SageMakerResponse.create_model_card
    _original["delete_model_card"] = SageMakerResponse.delete_model_card
    handlers: dict[str, Callable[..., Any]] = {
        "create_model_card": one_at_a_time(_sm_create_model_card),
        "update_model_card": one_at_a_time(_sm_update_model_card),
        "describe_model_card": _sm_describe_model_card,
        "list_model_card_versions": _sm_list_model_card_versions,
        "delete_model_card": one_at_a_time(_sm_delete_model_card),
    }
    for name, handler in handlers.items():
        setattr(SageMakerResponse, name, handler)
