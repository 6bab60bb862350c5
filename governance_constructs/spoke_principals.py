"""Who the spokes are, as IAM principals, for the hub's resource policies (key, bus, bucket)."""

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


def spoke_grantees(
    spokes: Sequence[Spoke], organization: Organization | None, *, include: Callable[[Spoke], bool] = lambda s: True
) -> list[SpokeGrantee]:
    """Account spokes by account; OU spokes as any principal whose org path runs through the OU.

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
    for spoke in selected:
        if spoke.ou and organization is not None:
            conditions = dict(org_condition)
            conditions["ForAnyValue:StringLike"] = {
                "aws:PrincipalOrgPaths": ou_principal_path(organization.id, spoke.ou)
            }
            grantees.append(SpokeGrantee((iam.AnyPrincipal(),), conditions))
    return grantees


def merge_conditions(*parts: dict[str, Any]) -> dict[str, Any]:
    """Merge condition blocks operator by operator (later keys win within an operator)."""
    merged: dict[str, Any] = {}
    for part in parts:
        for operator, keys in part.items():
            merged.setdefault(operator, {}).update(keys)
    return merged
