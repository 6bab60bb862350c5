"""AWS Organizations as RAM and policy conditions see it: which accounts share an organization, and
which organizational unit an account sits in."""

from __future__ import annotations

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
