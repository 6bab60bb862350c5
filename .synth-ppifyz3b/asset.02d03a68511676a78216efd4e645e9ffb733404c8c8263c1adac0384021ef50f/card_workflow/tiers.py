"""The approval policy (approval_policy.py) applied to a card's ledger: which decisions on a version
still count, the ratings that choose its tier, and the verdict. Shared by the decision endpoint
(which sets a card Approved only when the verdict is effective) and the workflow (which makes an
Approved status effective only then, whoever set it).

Decisions that no longer count on a version, besides those on other versions:
- those made before the version's last suspension or expired review (`suspend`, `review-expired`):
  lifting either needs a new approval under the tier;
- those naming another card of the same name (a card deleted and created again: its CreationTime).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from card_workflow.approval_policy import (
    ApprovalPolicy,
    Decision,
    Verdict,
    decisions_from_entries,
    evaluate,
    suspension_state,
)

# Ledger entries after which a version's earlier decisions no longer count.
VOIDING_KINDS = ("suspend", "review-expired")


def policy_from_environment(raw: str | None) -> ApprovalPolicy | None:
    """The policy the environment's APPROVAL_POLICY carries (governance_config.approval_policy_json);
    None without it: the settings' `approval_policy` is then today's rule, one person of the approvers."""
    return ApprovalPolicy.from_json(json.loads(raw)) if raw else None


def risk_rating(content: Mapping[str, Any]) -> str | None:
    """The card's `intended_uses.risk_rating` (Low, Medium, High, Unknown), None when absent."""
    uses = content.get("intended_uses")
    rating = uses.get("risk_rating") if isinstance(uses, Mapping) else None
    return rating if isinstance(rating, str) else None


def voided_before(entries: Iterable[Mapping[str, str]], version: int) -> str | None:
    """The time of the version's last suspension or expired review (ISO 8601), if any."""
    times = [e.get("At", "") for e in entries if e.get("Kind") in VOIDING_KINDS and e.get("Version") == str(version)]
    return max((t for t in times if t), default=None)


def counting_decisions(
    entries: Sequence[Mapping[str, str]], version: int, *, card_created: str | None = None
) -> list[Decision]:
    """The decisions on exactly `version` that still count (see the module's docstring)."""
    floor = voided_before(entries, version)
    kept = [
        e
        for e in entries
        if e.get("Kind") == "decision"
        and e.get("Version") == str(version)
        and (card_created is None or e.get("CardCreatedAt", "") == card_created)
    ]
    decisions = decisions_from_entries(kept)
    if floor is None:
        return decisions
    since = datetime.fromisoformat(floor)
    return [d for d in decisions if d.at > since]


def card_verdict(
    policy: ApprovalPolicy,
    entries: Sequence[Mapping[str, str]],
    version: int,
    *,
    reviewed_rating: str | None,
    approved_rating: str | None,
    card_name: str,
    group: str | None = None,
    card_created: str | None = None,
) -> Verdict:
    """evaluate() on the decisions that count, at the strictest of the reviewed version's rating, the
    last approved version's and the card's declared tier."""
    return evaluate(
        policy,
        version,
        counting_decisions(entries, version, card_created=card_created),
        reviewed_rating=reviewed_rating,
        approved_rating=approved_rating,
        declared_tier=policy.declared_tier(card_name, group),
    )


def suspended(policy: ApprovalPolicy, entries: Iterable[Mapping[str, str]]) -> bool:
    """Is the card suspended now: its last `suspend`/`reinstate` entry by the incident group."""
    return suspension_state(policy, entries).suspended
