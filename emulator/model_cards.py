"""What AWS does for SageMaker model cards, RAM and model packages that moto 5.2.5 does not.

`install()` extends moto's own backends and response handlers in place, once, before any client is
made; it serves `mock_aws` and moto's server alike. Each section reads "AWS does X; moto did Y",
with the AWS document it follows. When a later moto release gains a behaviour, its extension here
is deleted and its test in tests/test_emulator.py must still pass.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError
from moto.events.models import Rule as EventsRule
from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.organizations.models import organizations_backends
from moto.ram import models as ram_models
from moto.ram import urls as ram_urls
from moto.ram.models import ram_backends
from moto.ram.responses import ResourceAccessManagerResponse
from moto.s3.models import s3_backends
from moto.sagemaker.models import FakeModelCard, ModelPackage, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sts.models import sts_backends
from moto.utilities.arns import parse_arn

CARD_STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
# The top-level sections of the model card JSON schema ("Model card JSON schema", SageMaker
# developer guide); the schema sets additionalProperties false at the top level.
CARD_SECTIONS = {
    "model_overview": dict,
    "intended_uses": dict,
    "business_details": dict,
    "training_details": dict,
    "evaluation_details": list,
    "additional_information": dict,
    "model_package_details": dict,
}
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
MAX_CONTENT = 100_000  # CreateModelCard/UpdateModelCard: Content, max length 100000
ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
CARD_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-card/([^/]+)$")
EXPORT_JOB_ARN = re.compile(
    r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-card/([^/]+)/export-job/([^/]+)$"
)

CARD_RESOURCE_TYPE = "sagemaker:ModelCard"
MANAGED_PERMISSIONS = {
    "AWSRAMPermissionSageMakerModelCards": frozenset(
        {"sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions", "sagemaker:UpdateModelCard"}
    ),
    "AWSRAMPermissionSageMakerModelCardsAllowExport": frozenset(
        {
            "sagemaker:DescribeModelCard",
            "sagemaker:ListModelCardVersions",
            "sagemaker:UpdateModelCard",
            "sagemaker:CreateModelCardExportJob",
            "sagemaker:DescribeModelCardExportJob",
        }
    ),
}


class ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceNotFound(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFound", message)


class AccessDeniedException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


class RamException(JsonRESTError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _now() -> datetime:
    # moto keeps naive UTC datetimes; mixing in aware ones breaks its own sorting.
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


# --- Who is calling -------------------------------------------------------------------------------


def _caller(response: Any) -> tuple[str, str]:
    """The caller's account and principal ARN, as STS would report them."""
    account: str = response.current_account
    _, arn, _ = sts_backends[account]["global"].get_caller_identity(response.get_access_key(), response.region)
    return account, arn


def _user_context(arn: str, region: str) -> dict[str, str]:
    # SageMaker reports the Studio user profile; an API caller outside Studio is recorded here by
    # its principal, in the same three fields the sample event has.
    return {"DomainId": region, "UserProfileArn": arn, "UserProfileName": arn.rsplit("/", 1)[-1]}


# --- Events: AWS emits them, moto emitted none ------------------------------------------------------
# "Automating Amazon SageMaker with Amazon EventBridge": SageMaker Model Card State Change on every
# card create and update; SageMaker Model Package State Change on every package create and update.


def _emit(account: str, region: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> None:
    events_backends[account][region].put_events(
        [
            {
                "Source": "aws.sagemaker",
                "DetailType": detail_type,
                "Detail": json.dumps(_iso(detail)),
                "Resources": resources,
                "EventBusName": "default",
            }
        ]
    )


def _emit_card_event(backend: SageMakerModelBackend, card: FakeModelCard) -> None:
    history = backend.model_cards[card.model_card_name]
    try:
        model_id = json.loads(card.content or "{}").get("model_overview", {}).get("model_id", "")
    except ValueError:
        model_id = ""
    _emit(
        backend.account_id,
        backend.region_name,
        "SageMaker Model Card State Change",
        [card.arn],
        {
            "ModelCardVersion": card.model_card_version,
            "LastModifiedTime": card.last_modified_time,
            "LastModifiedBy": getattr(card, "last_modified_by", {}),
            "CreationTime": history[0].creation_time,
            "CreatedBy": getattr(history[0], "created_by", {}),
            "ModelCardName": card.model_card_name,
            "ModelId": model_id,
            "ModelCardStatus": card.model_card_status,
            "AccountId": backend.account_id,
            "SecurityConfig": card.security_config or {},
        },
    )


def _emit_package_event(backend: SageMakerModelBackend, package: ModelPackage, updated: list[str] | None) -> None:
    detail = package.gen_response_object()
    detail.pop("ModelPackageName", None)
    # A new package has been modified when it was created; moto left the field out.
    detail.setdefault("LastModifiedTime", package.creation_time)
    if updated is not None:
        detail["UpdatedModelPackageFields"] = updated
    _emit(backend.account_id, backend.region_name, "SageMaker Model Package State Change", [package.arn], detail)


# --- EventBridge delivery -------------------------------------------------------------------------
# AWS delivers every event with its `account`, and an event a rule sends to another account's bus
# arrives unchanged: same id, account (the sender), time and resources ("Sending and receiving
# events between AWS accounts in Amazon EventBridge"). moto left `account` out of every delivered
# event and rebuilt forwarded events as new ones in the receiving account, without resources.


def _install_event_delivery() -> None:
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",'
        )
    original = EventsRule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        def is_bus(target: dict[str, Any]) -> bool:
            arn = parse_arn(target["Arn"])
            return bool(arn.service == "events" and arn.resource_type == "event-bus")

        bus_targets = [t for t in self.targets if is_bus(t)]
        if len(bus_targets) < len(self.targets):
            saved, self.targets = self.targets, [t for t in self.targets if not is_bus(t)]
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved
        if not bus_targets or not self.event_pattern.matches_event(original_event):
            return
        for target in bus_targets:
            arn = parse_arn(target["Arn"])
            bus = events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
            for rule in list(bus.rules.values()):
                rule.send_to_targets(copy.deepcopy(original_event))

    EventsRule.send_to_targets = send_to_targets  # type: ignore[method-assign]


# --- Model card content and status validation --------------------------------------------------------
# AWS validates Content against the model card JSON schema and ModelCardStatus against its enum;
# moto stored anything.


def validate_content(content: str) -> None:
    if len(content) > MAX_CONTENT:
        raise ValidationException(f"Content length {len(content)} exceeds the maximum of {MAX_CONTENT} characters.")
    try:
        parsed = json.loads(content)
    except ValueError as error:
        raise ValidationException(f"Content is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise ValidationException("Content must be a JSON object.")
    for key, value in parsed.items():
        if key not in CARD_SECTIONS:
            raise ValidationException(
                f"Content is not valid against the model card schema: additional property '{key}' is not allowed."
            )
        expected = CARD_SECTIONS[key]
        if not isinstance(value, expected):
            kind = "an array" if expected is list else "an object"
            raise ValidationException(f"Content is not valid against the model card schema: '{key}' must be {kind}.")
    risk = parsed.get("intended_uses", {}).get("risk_rating")
    if risk is not None and risk not in RISK_RATINGS:
        raise ValidationException(
            f"Content is not valid against the model card schema: intended_uses.risk_rating '{risk}' is not one of "
            f"{', '.join(RISK_RATINGS)}."
        )


def validate_status(status: str) -> None:
    if status not in CARD_STATUSES:
        raise ValidationException(
            f"1 validation error detected: Value '{status}' at 'modelCardStatus' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(CARD_STATUSES)}]"
        )


# --- RAM for model cards ------------------------------------------------------------------------------
# AWS RAM shares sagemaker:ModelCard with the two AWS-managed permissions or a customer-managed one,
# associates and disassociates resources and principals after creation, invites principals outside
# the owner's organization, and lists what others share with an account. moto refused the resource
# type, ignored permissions and had none of the rest.


@dataclass
class Invitation:
    arn: str
    share: Any
    sender: str
    receiver: str
    status: str = "PENDING"
    created: datetime = field(default_factory=_now)

    def describe(self) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share.name,
            "resourceShareArn": self.share.arn,
            "senderAccountId": self.sender,
            "receiverAccountId": self.receiver,
            "invitationTimestamp": self.created.timestamp(),
            "status": self.status,
        }


@dataclass
class CustomerPermission:
    arn: str
    name: str
    resource_type: str
    actions: frozenset[str]


class RamState(BaseModel):
    """Per-account state RAM needs beyond moto's ResourceShare objects."""

    def __init__(self) -> None:
        self.permissions: dict[str, CustomerPermission] = {}
        self.invitations: dict[str, Invitation] = {}


def ram_state(account: str, region: str) -> RamState:
    # Kept on moto's own backend object, so moto's reset between tests clears it too.
    backend = ram_backends[account][region]
    if not hasattr(backend, "model_card_state"):
        setattr(backend, "model_card_state", RamState())  # noqa: B010 - an attribute moto does not declare
    state: RamState = getattr(backend, "model_card_state")  # noqa: B009
    return state


def _org_accounts(owner: str) -> set[str] | None:
    """The accounts of the owner's organization, or None when the owner is in none."""
    try:
        org = organizations_backends[owner]["aws"]
        if org.org is None:
            return None
        return {account.id for account in org.accounts} | {owner}
    except Exception:
        return None


def _account_in_ou(owner: str, account: str, ou_arn: str) -> bool:
    org = organizations_backends[owner]["aws"]
    if org.org is None:
        return False
    ou_id = ou_arn.rsplit("/", 1)[-1]
    parent = next((a.parent_id for a in org.accounts if a.id == account), None)
    while parent and parent.startswith("ou-"):
        if parent == ou_id:
            return True
        parent = next((ou.parent_id for ou in org.ou if ou.id == parent), None)
    return False


def _share_actions(owner: str, region: str, share: Any) -> frozenset[str]:
    actions: set[str] = set()
    for arn in getattr(share, "permission_arns", []):
        name = arn.rsplit("/", 1)[-1]
        if arn.startswith("arn:") and ":ram::aws:permission/" in arn:
            actions |= MANAGED_PERMISSIONS.get(name, frozenset())
        elif arn in ram_state(owner, region).permissions:
            actions |= ram_state(owner, region).permissions[arn].actions
    return frozenset(actions)


def _share_reaches(owner: str, region: str, share: Any, account: str) -> bool:
    """Is `account` an associated principal of the share (its invitation accepted, where needed)?"""
    if share.status != "ACTIVE":
        return False
    for principal in share.principals:
        member = principal == account or (
            principal.startswith("arn:") and ":ou/" in principal and _account_in_ou(owner, account, principal)
        )
        if not member:
            continue
        invitation = next(
            (i for i in ram_state(owner, region).invitations.values() if i.share is share and i.receiver == account),
            None,
        )
        if invitation is None or invitation.status == "ACCEPTED":
            return True
    return False


def authorize_shared_card(owner: str, region: str, caller: str, caller_arn: str, card_arn: str, action: str) -> None:
    """AWS admits a spoke's call on a hub card only through a share that grants the action."""
    for share in ram_backends[owner][region].resource_shares:
        if (
            card_arn in share.resource_arns
            and _share_reaches(owner, region, share, caller)
            and action in _share_actions(owner, region, share)
        ):
            return
    raise AccessDeniedException(
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {card_arn} "
        "because no resource-based policy allows the " + action + " action"
    )


def _all_ram_backends(region: str) -> Iterator[tuple[str, Any]]:
    """RAM in every account moto has state for (a share's owner is another account's backend)."""
    for account in list(ram_backends.keys()):
        yield account, ram_backends[account][region]


def _install_ram() -> None:
    if "model-card" not in ram_models.ResourceShare.SHAREABLE_RESOURCES:
        ram_models.ResourceShare.SHAREABLE_RESOURCES.append("model-card")

    original_create = ram_models.ResourceAccessManagerBackend.create_resource_share

    def create_resource_share(self: Any, **kwargs: Any) -> dict[str, Any]:
        permission_arns = kwargs.get("permissionArns") or []
        for arn in permission_arns:
            name = arn.rsplit("/", 1)[-1]
            known = name in MANAGED_PERMISSIONS or arn in ram_state(self.account_id, self.region_name).permissions
            if not known:
                raise RamException("UnknownResourceException", f"Permission {arn} could not be found.")
        principals = kwargs.get("principals", [])
        allow_external = kwargs.get("allowExternalPrincipals", True)
        external = _external_accounts(self.account_id, principals)
        if external and not allow_external:
            raise RamException(
                "OperationNotPermittedException",
                f"The resource share does not allow external principals: {', '.join(sorted(external))}.",
            )
        result = original_create(self, **kwargs)
        share = next(s for s in self.resource_shares if s.arn == result["resourceShare"]["resourceShareArn"])
        share.permission_arns = list(permission_arns)
        _invite(self, share, external)
        return result

    ram_models.ResourceAccessManagerBackend.create_resource_share = create_resource_share  # type: ignore[method-assign]

    def get_resource_shares(self: Any, resource_owner: str | None) -> dict[str, Any]:
        if resource_owner != "OTHER-ACCOUNTS":
            return original_get_shares(self, resource_owner)
        shares = [
            share.describe()
            for account, backend in _all_ram_backends(self.region_name)
            if account != self.account_id
            for share in backend.resource_shares
            if _share_reaches(account, self.region_name, share, self.account_id)
        ]
        return {"resourceShares": shares}

    original_get_shares = ram_models.ResourceAccessManagerBackend.get_resource_shares
    ram_models.ResourceAccessManagerBackend.get_resource_shares = get_resource_shares  # type: ignore[method-assign]

    for path in (
        "associateresourceshare",
        "disassociateresourceshare",
        "getresourceshareinvitations",
        "acceptresourceshareinvitation",
        "rejectresourceshareinvitation",
        "listresources",
        "createpermission",
    ):
        ram_urls.url_paths[f"{{0}}/{path}$"] = ResourceAccessManagerResponse.dispatch
    for name, handler in _RAM_HANDLERS.items():
        setattr(ResourceAccessManagerResponse, name, handler)


def _external_accounts(owner: str, principals: list[str]) -> set[str]:
    org = _org_accounts(owner)
    accounts = {p for p in principals if re.fullmatch(r"[0-9]{12}", p)}
    return {a for a in accounts if org is None or a not in org}


def _invite(backend: Any, share: Any, accounts: set[str]) -> None:
    state = ram_state(backend.account_id, backend.region_name)
    for account in sorted(accounts):
        if any(i.share is share and i.receiver == account for i in state.invitations.values()):
            continue
        arn = f"arn:aws:ram:{backend.region_name}:{backend.account_id}:resource-share-invitation/{uuid.uuid4()}"
        state.invitations[arn] = Invitation(arn, share, backend.account_id, account)


def _find_share(backend: Any, arn: str) -> Any:
    share = next((s for s in backend.resource_shares if s.arn == arn), None)
    if share is None:
        raise RamException("UnknownResourceException", f"ResourceShare {arn} could not be found.")
    return share


def _ram_associate(self: Any) -> str:
    backend = self.ram_backend
    share = _find_share(backend, self._get_param("resourceShareArn"))
    principals = self._get_param("principals") or []
    resources = self._get_param("resourceArns") or []
    external = _external_accounts(backend.account_id, principals)
    if external and not share.allow_external_principals:
        raise RamException("OperationNotPermittedException", "The resource share does not allow external principals.")
    new_principals = [p for p in principals if p not in share.principals]
    new_resources = [r for r in resources if r not in share.resource_arns]
    share.add_principals(new_principals)
    share.add_resources(new_resources)
    _invite(backend, share, external)
    associations = [
        {"resourceShareArn": share.arn, "associatedEntity": entity, "associationType": kind, "status": "ASSOCIATED"}
        for kind, entities in (("PRINCIPAL", principals), ("RESOURCE", resources))
        for entity in entities
    ]
    return json.dumps({"resourceShareAssociations": associations})


def _ram_disassociate(self: Any) -> str:
    share = _find_share(self.ram_backend, self._get_param("resourceShareArn"))
    principals = self._get_param("principals") or []
    resources = self._get_param("resourceArns") or []
    share.principals = [p for p in share.principals if p not in principals]
    share.resource_arns = [r for r in share.resource_arns if r not in resources]
    associations = [
        {"resourceShareArn": share.arn, "associatedEntity": entity, "associationType": kind, "status": "DISASSOCIATED"}
        for kind, entities in (("PRINCIPAL", principals), ("RESOURCE", resources))
        for entity in entities
    ]
    return json.dumps({"resourceShareAssociations": associations})


def _invitations_for(account: str, region: str) -> list[Invitation]:
    return [
        invitation
        for owner, _ in _all_ram_backends(region)
        for invitation in ram_state(owner, region).invitations.values()
        if invitation.receiver == account
    ]


def _ram_get_invitations(self: Any) -> str:
    wanted = set(self._get_param("resourceShareInvitationArns") or [])
    found = [i.describe() for i in _invitations_for(self.current_account, self.region) if not wanted or i.arn in wanted]
    return json.dumps({"resourceShareInvitations": found})


def _answer_invitation(self: Any, status: str) -> str:
    arn = self._get_param("resourceShareInvitationArn")
    invitation = next((i for i in _invitations_for(self.current_account, self.region) if i.arn == arn), None)
    if invitation is None:
        raise RamException("ResourceShareInvitationArnNotFoundException", f"Invitation {arn} could not be found.")
    if invitation.status != "PENDING":
        code = (
            "ResourceShareInvitationAlreadyAcceptedException"
            if invitation.status == "ACCEPTED"
            else ("ResourceShareInvitationAlreadyRejectedException")
        )
        raise RamException(code, f"Invitation {arn} is already {invitation.status.lower()}.")
    invitation.status = status
    return json.dumps({"resourceShareInvitation": invitation.describe()})


def _ram_list_resources(self: Any) -> str:
    owner = self._get_param("resourceOwner")
    if owner not in ("SELF", "OTHER-ACCOUNTS"):
        raise RamException("InvalidParameterException", f"{owner} is not a valid resource owner.")
    resource_type = self._get_param("resourceType")
    found = []
    for account, backend in _all_ram_backends(self.region):
        if (owner == "SELF") != (account == self.current_account):
            continue
        for share in backend.resource_shares:
            if owner == "OTHER-ACCOUNTS" and not _share_reaches(account, self.region, share, self.current_account):
                continue
            for arn in share.resource_arns:
                kind = _resource_type(arn)
                if resource_type and kind != resource_type:
                    continue
                found.append(
                    {
                        "arn": arn,
                        "type": kind,
                        "resourceShareArn": share.arn,
                        "status": "AVAILABLE",
                        "creationTime": share.creation_time.timestamp(),
                        "lastUpdatedTime": share.last_updated_time.timestamp(),
                        "resourceRegionScope": "REGIONAL",
                    }
                )
    return json.dumps({"resources": found})


def _resource_type(arn: str) -> str:
    parts = arn.split(":", 5)
    return f"{parts[2]}:{'ModelCard' if parts[5].startswith('model-card/') else parts[5].split('/')[0]}"


def _ram_create_permission(self: Any) -> str:
    name = self._get_param("name")
    resource_type = self._get_param("resourceType")
    template = json.loads(self._get_param("policyTemplate"))
    actions = template.get("Action", [])
    actions = frozenset([actions] if isinstance(actions, str) else actions)
    arn = f"arn:aws:ram:{self.region}:{self.current_account}:permission/{name}"
    ram_state(self.current_account, self.region).permissions[arn] = CustomerPermission(
        arn, name, resource_type, actions
    )
    return json.dumps(
        {
            "permission": {
                "arn": arn,
                "name": name,
                "resourceType": resource_type,
                "version": "1",
                "status": "ATTACHABLE",
                "isResourceTypeDefault": False,
            }
        }
    )


_RAM_HANDLERS: dict[str, Callable[..., str]] = {
    "associate_resource_share": _ram_associate,
    "disassociate_resource_share": _ram_disassociate,
    "get_resource_share_invitations": _ram_get_invitations,
    "accept_resource_share_invitation": lambda self: _answer_invitation(self, "ACCEPTED"),
    "reject_resource_share_invitation": lambda self: _answer_invitation(self, "REJECTED"),
    "list_resources": _ram_list_resources,
    "create_permission": _ram_create_permission,
}


# --- Model cards: name or ARN, cross-account, update semantics, export jobs --------------------------
# API reference: DescribeModelCard, UpdateModelCard, ListModelCardVersions and
# CreateModelCardExportJob take "the name or Amazon Resource Name (ARN)"; a spoke can only use the
# ARN. moto looked the ARN up as a name and answered ResourceNotFound.


def _resolve_card(response: Any, name_or_arn: str, action: str) -> tuple[SageMakerModelBackend, str]:
    match = CARD_ARN.match(name_or_arn or "")
    if not match:
        return response.sagemaker_backend, name_or_arn
    _, region, owner, name = match.groups()
    caller, caller_arn = _caller(response)
    if owner != caller:
        authorize_shared_card(owner, region, caller, caller_arn, name_or_arn, action)
    return sagemaker_backends[owner][region], name


def _set_users(card: FakeModelCard, user: dict[str, str], *, created: bool = False) -> None:
    """moto's cards record no users; AWS reports CreatedBy and LastModifiedBy."""
    setattr(card, "last_modified_by", user)  # noqa: B010
    if created:
        setattr(card, "created_by", user)  # noqa: B010


def _card_history(backend: SageMakerModelBackend, name: str) -> list[FakeModelCard]:
    if name not in backend.model_cards:
        raise ResourceNotFound(f"Modelcard {name} does not exist")
    history: list[FakeModelCard] = backend.model_cards[name]
    return history


def _sm_create_model_card(self: Any) -> Any:
    content = self._get_param("Content")
    status = self._get_param("ModelCardStatus")
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    validate_status(status)
    if content is not None:
        validate_content(content)
    result = _original["create_model_card"](self)
    card = self.sagemaker_backend.model_cards[name][-1]
    _, arn = _caller(self)
    _set_users(card, _user_context(arn, self.region), created=True)
    _emit_card_event(self.sagemaker_backend, card)
    return result


def _sm_update_model_card(self: Any) -> Any:
    """AWS: content and status cannot change in one call; content makes a new version with the same
    status; status alone changes the current version in place; Archived cards take no content.
    moto accepted both, made a version either way and dropped whichever field was not sent."""
    content = self._get_param("Content")
    status = self._get_param("ModelCardStatus")
    backend, name = _resolve_card(self, self._get_param("ModelCardName"), "sagemaker:UpdateModelCard")
    history = _card_history(backend, name)
    latest = history[-1]
    _, caller_arn = _caller(self)
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
            raise ValidationException(f"Model card {name} is Archived; the content of an archived card cannot change.")
        validate_content(content)
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
        history.append(card)
    card.last_modified_time = _now()
    _set_users(card, _user_context(caller_arn, self.region))
    _emit_card_event(backend, card)
    return self._card_result({"ModelCardArn": card.arn})


def _sm_describe_model_card(self: Any) -> Any:
    backend, name = _resolve_card(self, self._get_param("ModelCardName"), "sagemaker:DescribeModelCard")
    version = self._get_param("ModelCardVersion")
    history = _card_history(backend, name)
    card = history[-1]
    if version:
        card = next((c for c in history if c.model_card_version == version), None)  # type: ignore[assignment]
        if card is None:
            raise ResourceNotFound(f"Modelcard with name {name} and version: {version} does not exist")
    described = card.describe()
    described["CreatedBy"] = getattr(history[0], "created_by", {})
    described["LastModifiedBy"] = getattr(card, "last_modified_by", {})
    described["LastModifiedTime"] = card.last_modified_time
    return self._card_result(described)


def _sm_list_model_card_versions(self: Any) -> Any:
    backend, name = _resolve_card(self, self._get_param("ModelCardName"), "sagemaker:ListModelCardVersions")
    history = _card_history(backend, name)
    status = self._get_param("ModelCardStatus")
    versions = [c for c in history if not status or c.model_card_status == status]
    versions.sort(key=lambda c: c.model_card_version, reverse=self._get_param("SortOrder") == "Descending")
    return self._card_result({"ModelCardVersionSummaryList": [c.version_summary() for c in versions]})


def _sm_delete_model_card(self: Any) -> Any:
    # DeleteModelCard takes a name only (botocore: ModelCardName is an EntityName).
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    return _original["delete_model_card"](self)


@dataclass
class ExportJob:
    arn: str
    name: str
    card_name: str
    card_version: int
    output_path: str
    status: str
    created: datetime
    artifact: str | None = None
    failure: str | None = None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "ModelCardExportJobName": self.name,
            "ModelCardExportJobArn": self.arn,
            "Status": self.status,
            "ModelCardName": self.card_name,
            "ModelCardVersion": self.card_version,
            "OutputConfig": {"S3OutputPath": self.output_path},
            "CreatedAt": self.created,
            "LastModifiedAt": self.created,
        }
        if self.artifact:
            described["ExportArtifacts"] = {"S3ExportArtifacts": self.artifact}
        if self.failure:
            described["FailureReason"] = self.failure
        return described

    def summary(self) -> dict[str, Any]:
        return {
            k: v for k, v in self.describe().items() if k not in ("OutputConfig", "ExportArtifacts", "FailureReason")
        }


def export_jobs(backend: SageMakerModelBackend) -> dict[str, ExportJob]:
    """The export jobs of one account and region, kept on moto's backend (reset with it)."""
    if not hasattr(backend, "model_card_export_jobs"):
        setattr(backend, "model_card_export_jobs", {})  # noqa: B010 - an attribute moto does not declare
    jobs: dict[str, ExportJob] = getattr(backend, "model_card_export_jobs")  # noqa: B009
    return jobs


def card_pdf(card: FakeModelCard) -> bytes:
    """A small, valid one-page PDF naming the card and version (AWS renders the whole card)."""
    text = f"Model card {card.model_card_name} version {card.model_card_version} ({card.model_card_status})"
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _sm_create_export_job(self: Any) -> Any:
    """AWS runs the export and writes a PDF under S3OutputPath; moto had no export jobs. The job,
    like every job on a shared card, belongs to the card's owner (the hub)."""
    job_name = self._get_param("ModelCardExportJobName")
    if not ENTITY_NAME.match(job_name or ""):
        raise ValidationException(f"Value '{job_name}' at 'modelCardExportJobName' failed to satisfy the constraint.")
    backend, name = _resolve_card(self, self._get_param("ModelCardName"), "sagemaker:CreateModelCardExportJob")
    history = _card_history(backend, name)
    version = self._get_param("ModelCardVersion") or history[-1].model_card_version
    card = next((c for c in history if c.model_card_version == version), None)
    if card is None:
        raise ResourceNotFound(f"Modelcard with name {name} and version: {version} does not exist")
    output = (self._get_param("OutputConfig") or {}).get("S3OutputPath", "")
    match = re.match(r"^s3://([^/]+)/?(.*)$", output)
    if not match:
        raise ValidationException(f"S3OutputPath {output!r} is not an s3:// URI.")
    arn = f"{card.arn}/export-job/{job_name}"
    if arn in export_jobs(backend):
        raise JsonRESTError("ConflictException", f"Export job {job_name} already exists for model card {name}.")
    job = ExportJob(arn, job_name, name, version, output, "InProgress", _now())
    bucket, prefix = match.group(1), match.group(2).rstrip("/")
    key = "/".join(p for p in (prefix, name, job_name, f"{name}.pdf") if p)
    try:
        s3_backends[backend.account_id]["aws"].put_object(bucket, key, card_pdf(card))
        job.status, job.artifact = "Completed", f"s3://{bucket}/{key}"
    except Exception as error:  # AWS reports the job Failed with a reason rather than failing the call
        job.status, job.failure = "Failed", f"Could not write to {output}: {type(error).__name__}"
    export_jobs(backend)[arn] = job
    return self._card_result({"ModelCardExportJobArn": arn})


def _sm_describe_export_job(self: Any) -> Any:
    arn = self._get_param("ModelCardExportJobArn")
    match = EXPORT_JOB_ARN.match(arn or "")
    if not match:
        raise ValidationException(f"Value '{arn}' at 'modelCardExportJobArn' failed to satisfy the constraint.")
    _, region, owner, _, _ = match.groups()
    jobs = export_jobs(sagemaker_backends[owner][region])
    if arn not in jobs:
        raise ResourceNotFound(f"Model card export job {arn} does not exist")
    caller, caller_arn = _caller(self)
    if owner != caller:
        card_arn = arn.split("/export-job/")[0]
        authorize_shared_card(owner, region, caller, caller_arn, card_arn, "sagemaker:DescribeModelCardExportJob")
    return self._card_result(jobs[arn].describe())


def _sm_list_export_jobs(self: Any) -> Any:
    # ListModelCardExportJobs takes a name only, in the caller's own account.
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    prefix = f"model-card/{name}/export-job/"
    jobs = [job.summary() for arn, job in export_jobs(self.sagemaker_backend).items() if prefix in arn]
    version = self._get_param("ModelCardVersion")
    if version:
        jobs = [j for j in jobs if j["ModelCardVersion"] == version]
    return self._card_result({"ModelCardExportJobSummaries": jobs})


# --- Model packages --------------------------------------------------------------------------------
# AWS keeps CreateModelPackage/UpdateModelPackage's ModelCard and returns it from Describe; an update
# changes only the fields it sends. moto ignored ModelCard and cleared ModelApprovalStatus,
# ApprovalDescription and CustomerMetadataProperties on every update that did not send them.

PACKAGE_UPDATE_FIELDS = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "CustomerMetadataProperties",
    "AdditionalInferenceSpecificationsToAdd",
    "ModelCard",
    "InferenceSpecification",
    "SourceUri",
)


def _sm_create_model_package(self: Any) -> Any:
    result = _original["create_model_package"](self)
    arn = json.loads(self._card_body(result))["ModelPackageArn"]
    package = _package_by_arn(self.sagemaker_backend, arn)
    if self._get_param("ModelCard") is not None:
        setattr(package, "model_card", self._get_param("ModelCard"))  # noqa: B010
    _emit_package_event(self.sagemaker_backend, package, None)
    return result


def _sm_update_model_package(self: Any) -> Any:
    backend = self.sagemaker_backend
    arn = self._get_param("ModelPackageArn")
    package = _package_by_arn(backend, arn)
    kept = {
        "model_approval_status": package.model_approval_status,
        "approval_description": package.approval_description,
        "customer_metadata_properties": package.customer_metadata_properties,
    }
    result = _original["update_model_package"](self)
    for attribute, before in kept.items():
        if getattr(package, attribute) is None:
            setattr(package, attribute, before)
    if self._get_param("ModelCard") is not None:
        setattr(package, "model_card", self._get_param("ModelCard"))  # noqa: B010
    updated = [name for name in PACKAGE_UPDATE_FIELDS if self._get_param(name) is not None]
    _emit_package_event(backend, package, updated)
    return result


def _package_by_arn(backend: SageMakerModelBackend, arn: str) -> ModelPackage:
    name = backend.model_package_name_mapping.get(arn, arn)
    package = backend.model_packages.get(name)
    if package is None:
        raise ValidationException(f"Model package {arn} not found")
    return package


def _package_response(self: ModelPackage) -> dict[str, Any]:
    response: dict[str, Any] = _original["package_response"](self)
    if getattr(self, "model_card", None) is not None:
        response["ModelCard"] = getattr(self, "model_card")  # noqa: B009
    return response


_original: dict[str, Callable[..., Any]] = {}
_installed = False


def install() -> None:
    """Extend moto in place. Idempotent; call before any boto3 client is created."""
    global _installed
    if _installed:
        return
    _installed = True
    _original["create_model_card"] = SageMakerResponse.create_model_card
    _original["delete_model_card"] = SageMakerResponse.delete_model_card
    _original["create_model_package"] = SageMakerResponse.create_model_package
    _original["update_model_package"] = SageMakerResponse.update_model_package
    _original["package_response"] = ModelPackage.gen_response_object
    SageMakerResponse._card_result = _result  # type: ignore[attr-defined]
    SageMakerResponse._card_body = _body  # type: ignore[attr-defined]
    handlers: dict[str, Callable[..., Any]] = {
        "create_model_card": _sm_create_model_card,
        "update_model_card": _sm_update_model_card,
        "describe_model_card": _sm_describe_model_card,
        "list_model_card_versions": _sm_list_model_card_versions,
        "delete_model_card": _sm_delete_model_card,
        "create_model_card_export_job": _sm_create_export_job,
        "describe_model_card_export_job": _sm_describe_export_job,
        "list_model_card_export_jobs": _sm_list_export_jobs,
        "create_model_package": _sm_create_model_package,
        "update_model_package": _sm_update_model_package,
    }
    for name, handler in handlers.items():
        setattr(SageMakerResponse, name, handler)
    ModelPackage.gen_response_object = _package_response  # type: ignore[method-assign]
    _install_ram()
    _install_event_delivery()


def _result(self: Any, payload: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(payload)


def _body(self: Any, result: Any) -> str:
    """The JSON body of an ActionResult, as the response serializer would send it."""
    payload = getattr(result, "result", None)
    if isinstance(payload, dict):
        return json.dumps(_iso(payload))
    return str(result)
