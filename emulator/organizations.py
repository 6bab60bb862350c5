"""AWS Organizations as RAM and policy conditions see it: which accounts share an organization, and
which organizational unit an account sits in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import AccessKey, IAMBackend
from moto.organizations.models import organizations_backends


def org_accounts(owner: str) -> set[str] | None:
    """The accounts of the owner's organization, or None when the owner is in none."""
    try:
        org = organizations_backends[owner]["aws"]
        if org.org is None:
            return None
        return {account.id for account in org.accounts} | {owner}
    except Exception:
        return None


def account_in_ou(owner: str, account: str, ou_arn: str) -> bool:
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


# --- The way in: AWS Organizations' administrator convention ------------------------------------------
# AWS Organizations creates `OrganizationAccountAccessRole` in every account it creates: administrator
# permissions, trusting the management account ("Accessing a member account that has a management
# account access role", Organizations User Guide). The emulator gives every account that role and
# gives the management account one administrator user whose keys `python -m emulator.server` prints.
# moto creates an IAM backend per account, on first use and again on every reset; its
# `initialize_service_roles` hook runs then, so the role and the user are there from the start.

MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT_ID  # moto's default account: where unknown keys land
ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMIN_USER = "OrganizationAdmin"
ADMIN_ACCESS_KEY_ID = "AKIAMANAGEMENTADMIN0"
ADMIN_SECRET_ACCESS_KEY = "emulator-management-account-administrator"
ADMINISTRATOR_ACCESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def access_role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ACCESS_ROLE}"


def _give_organization_access(backend: IAMBackend) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    backend.create_role(
        role_name=ACCESS_ROLE,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="Administrator access for the organization's management account",
        tags=[],
        max_session_duration=None,
    )
    backend.put_role_policy(ACCESS_ROLE, "AdministratorAccess", ADMINISTRATOR_ACCESS)
    if backend.account_id != MANAGEMENT_ACCOUNT:
        return
    user = backend.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "AdministratorAccess", ADMINISTRATOR_ACCESS)
    key = AccessKey(ADMIN_USER, prefix="AKIA", account_id=backend.account_id)  # type: ignore[abstract]
    key.access_key_id, key.secret_access_key = ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
    user.access_keys.append(key)
    backend.access_keys[key.physical_resource_id] = key


def install() -> None:
    original = IAMBackend.initialize_service_roles

    def initialize_service_roles(self: IAMBackend) -> None:
        original(self)
        _give_organization_access(self)

    IAMBackend.initialize_service_roles = initialize_service_roles  # type: ignore[method-assign]
    _install_policy_size_quota()


# "Maximum size of a policy document: Service control policies: 5120 bytes (not characters)" (Quotas
# for AWS Organizations); saved through the API the document counts as given. CreatePolicy and
# UpdatePolicy answer ConstraintViolationException with reason POLICY_CONTENT_LIMIT_EXCEEDED
# (Organizations API reference, ConstraintViolationException); moto took any size.
SCP_MAX_BYTES = 5_120


def _install_policy_size_quota() -> None:
    from moto.organizations.exceptions import ConstraintViolationException
    from moto.organizations.models import OrganizationsBackend

    def checked(original: Any) -> Any:
        def call(self: Any, **kwargs: Any) -> Any:
            content = kwargs.get("Content")
            is_scp = kwargs.get("Type", SERVICE_CONTROL_POLICY) == SERVICE_CONTROL_POLICY
            if "PolicyId" in kwargs:
                is_scp = self.get_policy_by_id(kwargs["PolicyId"]).type == SERVICE_CONTROL_POLICY
            if is_scp and content is not None and len(str(content).encode("utf-8")) > SCP_MAX_BYTES:
                raise ConstraintViolationException(
                    "You provided a value that does not match the required pattern or exceeds the "
                    "maximum size (POLICY_CONTENT_LIMIT_EXCEEDED)."
                )
            return original(self, **kwargs)

        return call

    OrganizationsBackend.create_policy = checked(OrganizationsBackend.create_policy)  # type: ignore[method-assign]
    OrganizationsBackend.update_policy = checked(OrganizationsBackend.update_policy)  # type: ignore[method-assign]


def organization_of(account: str) -> tuple[str, list[str]] | None:
    """`aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` for an account, or None outside any organization."""
    for owner in list(organizations_backends.keys()):
        org = organizations_backends[owner]["aws"]
        if org.org is None:
            continue
        member = next((a for a in org.accounts if a.id == account), None)
        if member is None and account != org.org.master_account_id:
            continue
        path: list[str] = []
        parent: str | None = member.parent_id if member else org.org.root_id
        while parent:
            path.insert(0, parent)
            parent = next((ou.parent_id for ou in org.ou if ou.id == parent), None)
        return org.org.id, [f"{org.org.id}/{'/'.join(path)}/"]
    return None


# --- Service control policies --------------------------------------------------------------------------
# "SCP evaluation" (AWS Organizations User Guide): to allow an action in an account, every level of the
# direct path from the root to the account (the root, each OU, the account itself) needs an SCP that
# allows it (FullAWSAccess is attached to each by default); an explicit Deny in any SCP on that path
# denies. "SCPs don't affect users or roles in the management account", nor service-linked roles; they
# do affect every IAM user and role of a member account, its root user included ("Service control
# policies (SCPs)", same guide). SCPs are in force only while the SERVICE_CONTROL_POLICY type is
# enabled in the root (EnablePolicyType); until then attached SCPs decide nothing.

SERVICE_LINKED_ROLE_PATH = ":role/aws-service-role/"  # IAM User Guide, "Using service-linked roles"


@dataclass(frozen=True)
class ScpLevel:
    """One level of an account's path from the root: the root, an OU or the account, and the SCP
    documents attached to it."""

    target: str
    documents: tuple[str, ...]


def scp_path(account: str) -> list[ScpLevel] | None:
    """The SCPs on the account's path from the root, level by level; None when no SCP applies
    (no organization, the management account, or SCPs not enabled in the root)."""
    for owner in list(organizations_backends.keys()):
        backend = organizations_backends[owner]["aws"]
        org = backend.org
        if org is None:
            continue
        member = next((a for a in backend.accounts if a.id == account), None)
        if member is None or account == org.master_account_id:
            continue
        root = next((ou for ou in backend.ou if ou.id == org.root_id), None)
        if root is None or not any(t["Type"] == SERVICE_CONTROL_POLICY for t in getattr(root, "policy_types", [])):
            return None
        levels = [_level(member.id, member.attached_policies)]
        parent: str | None = member.parent_id
        while parent:
            unit = next((ou for ou in backend.ou if ou.id == parent), None)
            if unit is None:
                break
            levels.insert(0, _level(unit.id, unit.attached_policies))
            parent = unit.parent_id if unit.id != org.root_id else None
        return levels
    return None


SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"


def _level(target: str, attached: list[Any]) -> ScpLevel:
    return ScpLevel(target, tuple(str(p.content) for p in attached if p.type == SERVICE_CONTROL_POLICY))
