"""An AWS Organization for configs that name one: the hub and the account spokes as its members.

AWS Organizations' API picks the ID of every account it creates, so no API call can make accounts
with the config's IDs. The sandbox runs the emulator in its own process and places the accounts in
the emulator's organization directly, as moto itself places the management account. The emulator
answers organization questions (RAM's "is this principal inside the organization?") from the
owner's organization, so the hub holds it here, while its ARNs name the config's management
account. OU spokes get their OU (empty: the local run plays account spokes only), so that shares
naming them are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    from moto.organizations.models import FakeAccount, FakeOrganizationalUnit, organizations_backends

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
    joined = []
    for account in members:
        if account == hub:
            continue
        member = FakeAccount(organization, AccountName=f"account-{account}", Email=f"{account}@example.com")
        member.id = account
        backend.accounts.append(member)
        for policy_id in (utils.DEFAULT_SCP_POLICY_ID, utils.DEFAULT_RCP_POLICY_ID):
            backend.attach_policy(PolicyId=policy_id, TargetId=account)
        organizations_backends.master_accounts[account] = (hub, "aws")
        joined.append(account)
    return joined
