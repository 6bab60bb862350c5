"""An AWS Organization for configs that name one: the hub and the account spokes as its members.

AWS Organizations' API picks the ID of every account it creates, so no API call can make accounts
with the config's IDs. The sandbox runs the emulator in its own process and places the accounts in
the emulator's organization directly, as moto itself places the management account. The emulator
answers organization questions (RAM's "is this principal inside the organization?") from the
owner's organization, so the hub holds it here, while its ARNs name the config's management
account. OU spokes get their OU (empty: the local run plays account spokes only), so that shares
naming them are accepted.

A config with `organization.guardrails` synthesizes a stack for the management account whose
`AWS::Organizations::Policy` is the guardrail SCP; `deploy_guardrails` creates and attaches it in
the emulated organization as CloudFormation would there, after the spokes are provisioned (the
sandbox provisions them as their administrator, not through the CloudFormation execution role the
SCP spares).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.provision import REGION


def emulate_organization(
    organization_id: str,
    hub: str,
    members: Iterable[str],
    *,
    management_account: str | None = None,
    ous: Iterable[str] = (),
) -> list[str]:
    """The organization with the config's ID, `hub` holding it, the members as accounts and the OUs
    under the root; ARNs name `management_account` (the config's) where given. Returns the members."""
    from moto.organizations import utils
    from moto.organizations.models import FakeOrganizationalUnit, organizations_backends

    backend = organizations_backends[hub]["aws"]
    backend.create_organization(region=REGION, FeatureSet="ALL")
    organization = backend.org
    assert organization is not None
    organization.id = organization_id
    organization.master_account_id = management_account or hub
    for unit in backend.ou:  # the root, made before the ID was set
        unit.organization_id, unit.master_account_id = organization.id, organization.master_account_id
    for ou_id in ous:
        unit = FakeOrganizationalUnit(organization, Name=ou_id, ParentId=organization.root_id)
        unit.id = ou_id
        backend.ou.append(unit)
        # Organizations attaches FullAWSAccess to every OU it creates, as to every account.
        for policy_id in (utils.DEFAULT_SCP_POLICY_ID, utils.DEFAULT_RCP_POLICY_ID):
            backend.attach_policy(PolicyId=policy_id, TargetId=ou_id)
    # The management account is an account of its organization too (ListAccounts lists it), and
    # the one SCPs never restrict (emulator.organizations.scp_path).
    if organization.master_account_id != hub:
        join_organization(hub, organization.master_account_id)
    joined = []
    for account in members:
        if account in (hub, organization.master_account_id):
            continue
        join_organization(hub, account)
        joined.append(account)
    return joined


def join_organization(hub: str, account: str, parent: str | None = None) -> None:
    """`account` joins the organization `hub` holds, under `parent` (default: the root), with
    FullAWSAccess attached as Organizations attaches it to every account."""
    from moto.organizations import utils
    from moto.organizations.models import FakeAccount, organizations_backends

    backend = organizations_backends[hub]["aws"]
    organization = backend.org
    if organization is None:
        raise ValueError("join_organization: the hub holds no organization; emulate_organization first")
    member = FakeAccount(organization, AccountName=f"account-{account}", Email=f"{account}@example.com")
    member.id = account
    if parent is not None:
        member.parent_id = parent
    backend.accounts.append(member)
    for policy_id in (utils.DEFAULT_SCP_POLICY_ID, utils.DEFAULT_RCP_POLICY_ID):
        backend.attach_policy(PolicyId=policy_id, TargetId=account)
    organizations_backends.master_accounts[account] = (hub, "aws")


def service_control_policies(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The properties of each SCP a template declares (`AWS::Organizations::Policy`)."""
    return [
        resource["Properties"]
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Organizations::Policy"
        and resource["Properties"].get("Type") == "SERVICE_CONTROL_POLICY"
    ]


def deploy_guardrails(hub: str, template: Mapping[str, Any]) -> list[str]:
    """Create the template's SCPs in the organization `hub` holds and attach each to its TargetIds,
    enabling the SCP policy type in the root first ("Before you can create a policy of a given type,
    you must first enable that policy type", CloudFormation Template Reference,
    AWS::Organizations::Policy). Returns the IDs of the policies created."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[hub]["aws"]
    organization = backend.org
    if organization is None:
        raise ValueError("deploy_guardrails: the hub holds no organization; emulate_organization first")
    root = next(unit for unit in backend.ou if unit.id == organization.root_id)
    if not any(kind["Type"] == "SERVICE_CONTROL_POLICY" for kind in getattr(root, "policy_types", [])):
        backend.enable_policy_type(RootId=root.id, PolicyType="SERVICE_CONTROL_POLICY")
    created = []
    for properties in service_control_policies(template):
        content = properties["Content"]
        policy = backend.create_policy(
            Name=properties["Name"],
            Description=properties.get("Description", ""),
            Type="SERVICE_CONTROL_POLICY",
            Content=content if isinstance(content, str) else json.dumps(content),
        )
        policy_id = policy["Policy"]["PolicySummary"]["Id"]
        for target in properties.get("TargetIds", []):
            backend.attach_policy(PolicyId=policy_id, TargetId=target)
        created.append(policy_id)
    return created
