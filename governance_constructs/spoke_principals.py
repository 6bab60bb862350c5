"""Who the spokes are, as IAM principals, for the hub's resource policies (key, bus, bucket).

Three shapes. `organization_grantee` does not grow with the number of spokes: inside an
organization it admits any principal of the organization (`aws:PrincipalOrgID`), optionally only a
role of a fixed name (`aws:PrincipalArn`), and leaves the finer decision to a gate that already
names the spokes (a RAM share); the card key uses it. Only outside an organization does it list
accounts, because there AWS offers nothing else. `spoke_grantees` names the spokes exactly
(accounts, and one list of OU paths) for the exports bucket. `exact_spoke_conditions` and
`spoke_role_statements` hold a fixed-name role to exactly the configured spokes, by account ID and
OU path, where a member account that is no spoke could otherwise create a role of that name: the
governance bus and the roles that assume spoke roles. Those grow by one ID per spoke.
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


# Spokes per statement: a role's statements past its inline quota move into managed policies of at
# most 6,144 characters each (IAM quotas), and a statement cannot be split, so long lists are cut
# into statements of about 3,000 characters (15 per account ID, 23 per OU pattern).
ACCOUNTS_PER_STATEMENT = 200
OUS_PER_STATEMENT = 130


def exact_spoke_conditions(spokes: Sequence[Spoke], organization: Organization, *, side: str) -> list[dict[str, Any]]:
    """Condition blocks, one per statement, that hold inside the organization for exactly the
    configured spokes: the account spokes by account ID, the OU spokes by the OU in the org path
    (long lists in several blocks, `ACCOUNTS_PER_STATEMENT`, `OUS_PER_STATEMENT`).

    `side` is "Principal" (the caller: aws:PrincipalAccount, aws:PrincipalOrgPaths) or "Resource"
    (the resource's account: aws:ResourceAccount, aws:ResourceOrgPaths), all global condition keys
    (IAM User Guide, "AWS global condition context keys"). An org path reads
    `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/`, from the organization through the root
    to the account's parent OU. The pattern `*/<ou>/*` needs neither the organization's nor the
    root's ID: the same statement requires the organization's ID (aws:...OrgID), an organization has
    exactly one root (Quotas for AWS Organizations), and an OU ID is unique in it, so the pattern
    matches every account in the OU and its child OUs and nothing else, at 24 characters an OU
    instead of 38 (the hub's role policies hold one per OU spoke). A member account that is no
    spoke matches neither block, whatever its roles are named.
    """
    if side not in ("Principal", "Resource"):
        raise ValueError(f"exact_spoke_conditions: side must be Principal or Resource, not {side!r}")
    in_organization = {f"aws:{side}OrgID": organization.id}
    blocks: list[dict[str, Any]] = []
    accounts = sorted({s.account for s in spokes if s.account})
    for start in range(0, len(accounts), ACCOUNTS_PER_STATEMENT):
        chunk = accounts[start : start + ACCOUNTS_PER_STATEMENT]
        blocks.append({"StringEquals": {**in_organization, f"aws:{side}Account": chunk}})
    ou_paths = sorted({f"*/{s.ou}/*" for s in spokes if s.ou})
    for start in range(0, len(ou_paths), OUS_PER_STATEMENT):
        chunk = ou_paths[start : start + OUS_PER_STATEMENT]
        blocks.append({"StringEquals": dict(in_organization), "ForAnyValue:StringLike": {f"aws:{side}OrgPaths": chunk}})
    return blocks


def spoke_role_statements(
    role_name: str, spokes: Sequence[Spoke], organization: Organization | None, partition: str
) -> tuple[list[iam.PolicyStatement], str | None]:
    """sts:AssumeRole on the hub's fixed-name role in exactly the configured spokes, and the
    wildcard ARN the statements use inside an organization (None outside one).

    Outside an organization: the role's ARN in each spoke account. Inside one: the role's name in
    any account (`iam::*:role/<name>`) held by `exact_spoke_conditions` to the account spokes
    (`aws:ResourceAccount`) or to accounts under an OU spoke (`aws:ResourceOrgPaths`), one
    statement each, so the accounts of OU spokes need not be known at synth. A member account that
    is no spoke matches neither, whatever its roles are named. Each spoke adds its ID (an account)
    or one path (an OU) to the role's policy; `aws_quotas` checks the sizes at synthesis.
    """
    if organization is None:
        accounts = sorted({s.account for s in spokes if s.account})
        if not accounts:
            return [], None
        arns = [f"arn:{partition}:iam::{account}:role/{role_name}" for account in accounts]
        return [iam.PolicyStatement(actions=["sts:AssumeRole"], resources=arns)], None
    any_account = f"arn:{partition}:iam::*:role/{role_name}"
    statements = [
        iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[any_account], conditions=conditions)
        for conditions in exact_spoke_conditions(spokes, organization, side="Resource")
    ]
    return statements, any_account if statements else None
