"""AWS RAM for model cards.

AWS RAM shares sagemaker:ModelCard with the two AWS-managed permissions or a customer-managed one,
associates and disassociates resources and principals after creation, invites principals outside
the owner's organization, and lists what others share with an account. It lists the permissions
there are for a resource type (ListPermissions), those of a share (ListResourceSharePermissions)
and one permission's policy template (GetPermission), and a share that names no permission gets
the resource type's default. moto refused the resource type, ignored permissions, took
`permissionType` values outside the API's enum and had none of the rest.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError
from moto.ram import models as ram_models
from moto.ram import urls as ram_urls
from moto.ram.models import ram_backends
from moto.ram.responses import ResourceAccessManagerResponse

from emulator.core import now, page
from emulator.organizations import account_in_ou, org_accounts, organization_of

CARD_RESOURCE_TYPE = "sagemaker:ModelCard"
# SageMaker developer guide, "Set up cross-account support for Amazon SageMaker Model Cards": the
# two AWS-managed permissions for model cards and what each lets the shared account do.
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
# The same guide calls AWSRAMPermissionSageMakerModelCards "the default"; CreateResourceShare
# attaches "the default version of the permission for each resource type" when none is named.
DEFAULT_PERMISSIONS = {CARD_RESOURCE_TYPE: "AWSRAMPermissionSageMakerModelCards"}
PERMISSION_TYPES = ("ALL", "AWS_MANAGED", "CUSTOMER_MANAGED")  # botocore: PermissionTypeFilter
PERMISSION_STATUSES = ("ATTACHABLE", "UNATTACHABLE", "DELETING", "DELETED", "DEPRECATED")
RESOURCE_OWNERS = ("SELF", "OTHER-ACCOUNTS")
PAGE_DEFAULT, PAGE_MAXIMUM = 50, 500  # botocore: MaxResults 1-500; AWS does not document the default
PERMISSION_ARN = re.compile(r"^arn:aws[a-z-]*:ram:([a-z0-9-]*):(aws|[0-9]{12}):permission/([\w.-]+)$")
SHARE_ARN = re.compile(r"^arn:aws[a-z-]*:ram:[a-z0-9-]+:([0-9]{12}):resource-share/[\w-]+$")
# Managed permissions exist before any account uses them: the emulator's start stands for their date.
_MANAGED_SINCE = now()


def managed_permission_arn(name: str) -> str:
    """Every AWS-managed RAM permission has this ARN: no region, account `aws`."""
    return f"arn:aws:ram::aws:permission/{name}"


def _managed_summary(name: str) -> dict[str, Any]:
    """A ResourceSharePermissionSummary of a model card managed permission (one version, 1)."""
    return {
        "arn": managed_permission_arn(name),
        "version": "1",
        "defaultVersion": True,
        "name": name,
        "resourceType": CARD_RESOURCE_TYPE,
        "status": "ATTACHABLE",
        "creationTime": _MANAGED_SINCE.timestamp(),
        "lastUpdatedTime": _MANAGED_SINCE.timestamp(),
        "isResourceTypeDefault": DEFAULT_PERMISSIONS[CARD_RESOURCE_TYPE] == name,
        "permissionType": "AWS_MANAGED",
        "featureSet": "STANDARD",
    }


def _managed_template(name: str) -> str:
    # "The permission's effect and actions in JSON format" (ResourceSharePermissionDetail).
    return json.dumps({"Effect": "Allow", "Action": sorted(MANAGED_PERMISSIONS[name])})


class RamException(JsonRESTError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass
class Invitation:
    arn: str
    share: Any
    sender: str
    receiver: str
    status: str = "PENDING"
    created: datetime = field(default_factory=now)

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
    template: str = "{}"
    created: datetime = field(default_factory=now)

    def summary(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "version": "1",
            "defaultVersion": True,
            "name": self.name,
            "resourceType": self.resource_type,
            "status": "ATTACHABLE",
            "creationTime": self.created.timestamp(),
            "lastUpdatedTime": self.created.timestamp(),
            "isResourceTypeDefault": False,
            "permissionType": "CUSTOMER_MANAGED",
            "featureSet": "STANDARD",
            "resourceOwner": "SELF",
        }


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


def share_actions(owner: str, region: str, share: Any) -> frozenset[str]:
    actions: set[str] = set()
    for arn in getattr(share, "permission_arns", []):
        name = arn.rsplit("/", 1)[-1]
        if arn.startswith("arn:") and ":ram::aws:permission/" in arn:
            actions |= MANAGED_PERMISSIONS.get(name, frozenset())
        elif arn in ram_state(owner, region).permissions:
            actions |= ram_state(owner, region).permissions[arn].actions
    return frozenset(actions)


def share_reaches(owner: str, region: str, share: Any, account: str) -> bool:
    """Is `account` an associated principal of the share (its invitation accepted, where needed)?"""
    if share.status != "ACTIVE":
        return False
    for principal in share.principals:
        member = (
            principal == account
            or (principal.startswith("arn:") and ":ou/" in principal and account_in_ou(owner, account, principal))
            or (principal.startswith("arn:") and ":organization/" in principal and in_organization(account, principal))
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


def in_organization(account: str, organization_arn: str) -> bool:
    """Is `account` in the organization the ARN names? (CreateResourceShare accepted the ARN only
    if it is the owner's organization.)"""
    organization = organization_of(account)
    return organization is not None and organization[0] == organization_arn.rsplit("/", 1)[-1]


def _all_ram_backends(region: str) -> Iterator[tuple[str, Any]]:
    """RAM in every account moto has state for (a share's owner is another account's backend)."""
    for account in list(ram_backends.keys()):
        yield account, ram_backends[account][region]


def install() -> None:
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
        _attach_defaults(self.account_id, self.region_name, share, kwargs.get("resourceArns") or [])
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
            if share_reaches(account, self.region_name, share, self.account_id)
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
        "listresourcesharepermissions",
        "getpermission",
    ):
        ram_urls.url_paths[f"{{0}}/{path}$"] = ResourceAccessManagerResponse.dispatch
    for name, handler in _RAM_HANDLERS.items():
        setattr(ResourceAccessManagerResponse, name, handler)


def _external_accounts(owner: str, principals: list[str]) -> set[str]:
    org = org_accounts(owner)
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
    _attach_defaults(backend.account_id, backend.region_name, share, new_resources)
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
            if owner == "OTHER-ACCOUNTS" and not share_reaches(account, self.region, share, self.current_account):
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
    name = self._get_param("name") or ""
    resource_type = self._get_param("resourceType")
    if not re.fullmatch(r"[\w.-]{1,36}", name):
        raise RamException("InvalidParameterException", f"The permission name {name!r} is not valid.")
    arn = f"arn:aws:ram:{self.region}:{self.current_account}:permission/{name}"
    permissions = ram_state(self.current_account, self.region).permissions
    if arn in permissions:
        raise RamException("PermissionAlreadyExistsException", f"A permission named {name} already exists.")
    text = self._get_param("policyTemplate")
    try:
        template = json.loads(text)
    except (TypeError, ValueError):
        raise RamException("MalformedPolicyTemplateException", "The policy template is not valid JSON.") from None
    actions = template.get("Action", []) if isinstance(template, dict) else []
    actions = frozenset([actions] if isinstance(actions, str) else actions)
    permission = CustomerPermission(arn, name, resource_type, actions, text)
    permissions[arn] = permission
    return json.dumps({"permission": permission.summary()})


def _type_matches(resource_type: str | None, wanted: str | None) -> bool:
    # ListPermissions: resourceType "is not case sensitive" (RAM API reference).
    return wanted is None or (resource_type or "").lower() == wanted.lower()


def _shared_customer_permissions(account: str, region: str) -> list[dict[str, Any]]:
    """Customer-managed permissions of other accounts, on shares that reach `account`."""
    found: dict[str, dict[str, Any]] = {}
    for owner, backend in _all_ram_backends(region):
        if owner == account:
            continue
        state = ram_state(owner, region)
        for share in backend.resource_shares:
            if not share_reaches(owner, region, share, account):
                continue
            for arn in getattr(share, "permission_arns", []):
                if arn in state.permissions:
                    found[arn] = {**state.permissions[arn].summary(), "resourceOwner": "OTHER-ACCOUNTS"}
    return list(found.values())


def _ram_list_permissions(self: Any) -> str:
    """ListPermissions: AWS's managed permissions and the caller's own, for one resource type or all."""
    wanted = self._get_param("resourceType")
    kind = self._get_param("permissionType") or "ALL"
    status = self._get_param("permissionStatus")
    owner = self._get_param("resourceOwner")
    if kind not in PERMISSION_TYPES:
        raise RamException(
            "InvalidParameterException",
            f"{kind} is not a valid permissionType. Must be one of: {', '.join(PERMISSION_TYPES)}.",
        )
    if status is not None and status not in PERMISSION_STATUSES:
        raise RamException("InvalidParameterException", f"{status} is not a valid permissionStatus.")
    if owner is not None and owner not in RESOURCE_OWNERS:
        raise RamException("InvalidParameterException", f"{owner} is not a valid resourceOwner.")
    managed = [_managed_summary(name) for name in MANAGED_PERMISSIONS]
    managed += [p.describe() for p in self.ram_backend.managed_permissions]
    own = [p.summary() for p in ram_state(self.current_account, self.region).permissions.values()]
    known_types = {p["resourceType"].lower() for p in managed + own}
    if wanted is not None and wanted.lower() not in known_types:
        raise RamException("InvalidParameterException", f"Invalid resource type: {wanted}")
    if owner == "SELF":
        candidates = own
    elif owner == "OTHER-ACCOUNTS":
        candidates = _shared_customer_permissions(self.current_account, self.region)
    else:
        candidates = managed + own
    listed = [
        p
        for p in candidates
        if _type_matches(p["resourceType"], wanted)
        and kind in ("ALL", p["permissionType"])
        and (status is None or p["status"] == status)
    ]
    return _paged(self, "permissions", listed)


def _paged(self: Any, key: str, items: list[dict[str, Any]]) -> str:
    listed, token = page(
        items,
        self._get_param("maxResults"),
        self._get_param("nextToken"),
        default=PAGE_DEFAULT,
        maximum=PAGE_MAXIMUM,
        invalid_token=lambda message: RamException("InvalidNextTokenException", message),
        invalid_max=lambda message: RamException("InvalidParameterException", message),
    )
    return json.dumps({key: listed, **({"nextToken": token} if token else {})})


def _permission_summary(owner: str, region: str, arn: str) -> dict[str, Any] | None:
    name = arn.rsplit("/", 1)[-1]
    if arn == managed_permission_arn(name) and name in MANAGED_PERMISSIONS:
        return _managed_summary(name)
    permission = ram_state(owner, region).permissions.get(arn)
    return permission.summary() if permission else None


def _ram_list_share_permissions(self: Any) -> str:
    """ListResourceSharePermissions: the permissions of one of the caller's shares."""
    arn = self._get_param("resourceShareArn") or ""
    if not SHARE_ARN.match(arn):
        raise RamException("MalformedArnException", f"The resource share ARN {arn} is malformed.")
    share = _find_share(self.ram_backend, arn)
    summaries = [_permission_summary(self.current_account, self.region, a) for a in share.permission_arns]
    return _paged(self, "permissions", [s for s in summaries if s is not None])


def _ram_get_permission(self: Any) -> str:
    """GetPermission: a permission's summary and its policy template, default version if none asked."""
    arn = self._get_param("permissionArn") or ""
    version = self._get_param("permissionVersion")
    match = PERMISSION_ARN.match(arn)
    if not match:
        raise RamException("MalformedArnException", f"The permission ARN {arn} is malformed.")
    region, account, name = match.groups()
    if account == "aws" and not region and name in MANAGED_PERMISSIONS:
        detail = {**_managed_summary(name), "permission": _managed_template(name)}
    else:
        # A customer-managed permission is its owner's; another account sees none of it.
        found = ram_state(self.current_account, self.region).permissions.get(arn)
        if found is None:
            raise RamException("UnknownResourceException", f"Permission {arn} could not be found.")
        detail = {**found.summary(), "permission": found.template}
    if version is not None and str(version) != detail["version"]:
        raise RamException("UnknownResourceException", f"Permission {arn} has no version {version}.")
    return json.dumps({"permission": detail})


def _attach_defaults(owner: str, region: str, share: Any, resource_arns: list[str]) -> None:
    """What CreateResourceShare does for a resource type the share names no permission for."""
    named = {_permission_type(owner, region, arn) for arn in getattr(share, "permission_arns", [])}
    for kind in sorted({_resource_type(arn) for arn in resource_arns}):
        default = DEFAULT_PERMISSIONS.get(kind)
        if default is not None and kind not in named:
            share.permission_arns = [*getattr(share, "permission_arns", []), managed_permission_arn(default)]
            named.add(kind)


def _permission_type(owner: str, region: str, arn: str) -> str | None:
    summary = _permission_summary(owner, region, arn)
    return summary["resourceType"] if summary else None


_RAM_HANDLERS: dict[str, Callable[..., str]] = {
    "associate_resource_share": _ram_associate,
    "disassociate_resource_share": _ram_disassociate,
    "get_resource_share_invitations": _ram_get_invitations,
    "accept_resource_share_invitation": lambda self: _answer_invitation(self, "ACCEPTED"),
    "reject_resource_share_invitation": lambda self: _answer_invitation(self, "REJECTED"),
    "list_resources": _ram_list_resources,
    "create_permission": _ram_create_permission,
    "list_permissions": _ram_list_permissions,
    "list_resource_share_permissions": _ram_list_share_permissions,
    "get_permission": _ram_get_permission,
}
