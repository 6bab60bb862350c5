"""The approval policy (approval_policy.py) applied to a card's ledger: which decisions on a version
still count, the ratings that choose its tier, and the verdict (`card_verdict`). One function for
the decision endpoint (which sets a card Approved only when the verdict is effective), the workflow
(which makes an Approved status effective only then, whoever set it) and the governance report
(which shows the tier and who is still missing), so the report never shows a laxer tier than the
workflow applies.

The rating a version was approved at is the ledger's: the workflow records it on the
`approval-effective` entry (APPROVED_RATING, the approved version's own risk rating, and
APPROVED_TIER, the tier applied), so the next version's tier is read from the ledger, not from
the card (`last_approved_rating`).

Decisions that no longer count on a version, besides those on other versions:
- those made before the version's last suspension or expired review (`suspend`, `review-expired`):
  lifting either needs a new approval under the tier;
- those naming another card of the same name (a card deleted and created again: its CreationTime).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from card_workflow.approval_policy import (
    ApprovalPolicy,
    Decision,
    Verdict,
    decisions_from_entries,
    evaluate,
    strictness,
    suspension_state,
)

# Ledger entries after which a version's earlier decisions no longer count.
VOIDING_KINDS = ("suspend", "review-expired")
APPROVAL_EFFECTIVE = "approval-effective"
# What an `approval-effective` entry records of the policy: the approved version's own risk rating
# (UNKNOWN when it had none) and the tier its approval was given under.
APPROVED_RATING = "RiskRating"
APPROVED_TIER = "Tier"
UNKNOWN = "Unknown"


def policy_from_environment(raw: str | None) -> ApprovalPolicy | None:
    """The policy the environment's APPROVAL_POLICY carries (governance_config.approval_policy_json);
    None without it: the settings' `approval_policy` is then today's rule, one person of the approvers."""
    return ApprovalPolicy.from_json(json.loads(raw)) if raw else None


def risk_rating(content: Mapping[str, Any]) -> str | None:
    """The card's `intended_uses.risk_rating` (Low, Medium, High, Unknown), None when absent."""
    uses = content.get("intended_uses")
    rating = uses.get("risk_rating") if isinstance(uses, Mapping) else None
    return rating if isinstance(rating, str) else None


def package_group(content: Mapping[str, Any]) -> str | None:
    """The card's `model_package_details.model_package_group_name`: its declared tier may be the group's."""
    details = content.get("model_package_details")
    group = details.get("model_package_group_name") if isinstance(details, Mapping) else None
    return group if isinstance(group, str) and group else None


def created_at(value: Any) -> str | None:
    """A card's CreationTime as `decision` entries record it (CardCreatedAt): UTC, microseconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value if isinstance(value, str) and value else None


def last_approved_rating(
    entries: Iterable[Mapping[str, str]],
    before: int,
    describe_rating: Callable[[int], str | None] | None = None,
) -> str | None:
    """The risk rating the last version before `before` whose approval took effect was approved at;
    None when none took effect (an Approved status alone approved nothing and is no baseline).

    The `approval-effective` entry's APPROVED_RATING, when the workflow recorded it. An entry
    written before it did: `describe_rating(version)` reads that version's card, when the caller can
    (the workflow and the decision endpoint can); without it, or when the card has no rating, the
    rating is UNKNOWN, the strictest tier: a laxer tier than the workflow's is never shown."""
    approved: dict[int, str] = {}
    for entry in entries:
        if entry.get("Kind") != APPROVAL_EFFECTIVE or not entry.get("Version", "").isdigit():
            continue
        version = int(entry["Version"])
        if version < before:
            # A version approved twice (after a suspension, an expired review) has one content.
            approved[version] = entry.get(APPROVED_RATING) or approved.get(version, "")
    if not approved:
        return None
    version = max(approved)
    rating = approved[version] or (describe_rating(version) if describe_rating is not None else None)
    return rating or UNKNOWN


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
    *,
    card_name: str,
    version: int,
    rating: str | None,
    group: str | None,
    card_created: Any,
    describe_rating: Callable[[int], str | None] | None = None,
    model_rating: str | None = None,
) -> Verdict:
    """The policy's verdict on version `version` of the card: evaluate() on the decisions that count
    (on exactly this version of this card: `card_created`, its CreationTime), at the strictest of
    the version's own `rating`, the rating the last approved version was approved at
    (`last_approved_rating`, with `describe_rating` for entries that predate the recorded rating),
    `model_rating` (the rating of the model's latest effective approval, whichever package version's
    card it was: shared.card_links.group_approved_rating) and the tier config declares for the card
    or its model package `group`.

    `model_rating` is what makes the rule hold across versions: each package version gets a card of
    its own, cloned from the last one, so a rating lowered in the clone has no approved version of
    its own card to be held to."""
    approved = [r for r in (last_approved_rating(entries, version, describe_rating), model_rating) if r is not None]
    return evaluate(
        policy,
        version,
        counting_decisions(entries, version, card_created=created_at(card_created)),
        reviewed_rating=rating,
        approved_rating=max(approved, key=strictness) if approved else None,
        declared_tier=policy.declared_tier(card_name, group),
    )


def suspended(policy: ApprovalPolicy, entries: Iterable[Mapping[str, str]]) -> bool:
    """Is the card suspended now: its last `suspend`/`reinstate` entry by the incident group."""
    return suspension_state(policy, entries).suspended
