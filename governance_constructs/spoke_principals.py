"""Who the spokes are, as IAM principals, for the hub's resource policies (key, bus, bucket).

Two shapes. `organization_grantee` does not grow with the number of spokes: inside an organization
it admits any principal of the organization (`aws:PrincipalOrgID`), optionally only a role of a
fixed name (`aws:PrincipalArn`), and leaves the finer decision to a gate that already names the
spokes (a RAM share, a trust policy). Only outside an organization does it list accounts, because
there AWS offers nothing else. `spoke_grantees` names the spokes exactly (accounts, and one list of
OU paths) for the few grants that have no other gate; it grows with the number of spokes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_iam as iam

from governance_config import Organization, Spoke
from governance_constructs.aws_facts import ou_principal_path


@dataclass(frozen=True)
class SpokeGrantee:
    """Principals and the conditions that must hold for them, ready for one policy statement."""

    principals: tuple[iam.IPrincipal, ...]
    conditions: dict[str, Any]


def organization_grantee(
    spokes: Sequence[Spoke],
    organization: Organization | None,
    *,
    include: Callable[[Spoke], bool] = lambda s: True,
    principal_arn: str | None = None,
) -> SpokeGrantee | None:
    """One grantee of constant size inside an organization; the spoke accounts outside one.

    `principal_arn` (an ARN pattern such as `arn:aws:iam::*:role/<fixed name>`) further requires
    the caller to be that role, in or outside an organization. None when no spoke is selected.
    """
    selected = [s for s in spokes if include(s)]
    if not selected:
        return None
    conditions: dict[str, Any] = {}
    if principal_arn is not None:
        conditions["ArnLike"] = {"aws:PrincipalArn": principal_arn}
    if organization is not None:
        conditions["StringEquals"] = {"aws:PrincipalOrgID": organization.id}
        return SpokeGrantee((iam.AnyPrincipal(),), conditions)
    accounts = sorted({s.account for s in selected if s.account})
    return SpokeGrantee(tuple(iam.AccountPrincipal(account) for account in accounts), conditions)


def spoke_grantees(
    spokes: Sequence[Spoke], organization: Organization | None, *, include: Callable[[Spoke], bool] = lambda s: True
) -> list[SpokeGrantee]:
    """Account spokes by account; OU spokes as any principal whose org path runs through one of them.

    Inside an organization every statement also requires `aws:PrincipalOrgID`, so an account that
    leaves the organization loses access even before the config is changed.
    """
    selected = [s for s in spokes if include(s)]
    org_condition: dict[str, Any] = (
        {"StringEquals": {"aws:PrincipalOrgID": organization.id}} if organization is not None else {}
    )
    grantees: list[SpokeGrantee] = []
    accounts = sorted({s.account for s in selected if s.account})
    if accounts:
        grantees.append(SpokeGrantee(tuple(iam.AccountPrincipal(account) for account in accounts), dict(org_condition)))
    ou_paths = [ou_principal_path(organization.id, s.ou) for s in selected if s.ou and organization is not None]
    if ou_paths and organization is not None:
        conditions = dict(org_condition)
        conditions["ForAnyValue:StringLike"] = {"aws:PrincipalOrgPaths": ou_paths}
        grantees.append(SpokeGrantee((iam.AnyPrincipal(),), conditions))
    return grantees


def merge_conditions(*parts: dict[str, Any]) -> dict[str, Any]:
    """Merge condition blocks operator by operator (later keys win within an operator)."""
    merged: dict[str, Any] = {}
    for part in parts:
        for operator, keys in part.items():
            merged.setdefault(operator, {}).update(keys)
    return merged
