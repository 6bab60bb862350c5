"""Periodic review and suspension: what an approval's age or an incident does to the package it
approved.

`sweep_reviews(now, ...)` looks at each card's latest effective approval (the ledger's
`approval-effective` entries; an approval of a newer version of the card supersedes the older one):
it sends the policy's reminders before and after the due date once each (send_once keys), records
an overdue approval once (`review-overdue`), and with `on_expiry: revert` reverts it once
(`review-expired`): the package back to PendingManualApproval and its lifecycle stage to the
policy's `on_revert`, the card back to PendingReview, and the version's decisions made before then
no longer count (tiers.VOIDING_KINDS). A later sweep finds the entry and does nothing.

`enforce_suspension(...)` acts on the incident group's `suspend` entry (decisions.py) once
(`suspended`): the package to PendingManualApproval and its stage to `on_suspension`.
PendingManualApproval rather than Rejected: a suspension is an incident under investigation, not a
verdict on the model, and deployment pipelines act on Approved only (ModelApprovalStatus is one of
Approved, Rejected, PendingManualApproval; SageMaker API Reference, UpdateModelPackage).

Both are plain functions of explicit clients and settings, so a scheduled rule (the workflow's
daily run) and any other caller (a reconciler) run the same code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from card_workflow.approval_policy import Trigger, lifecycle_for, review_state, suspension_state
from card_workflow.ledger import (
    EFFECTIVE_INDEX,
    EFFECTIVE_KEY,
    EFFECTIVE_VALUE,
    append_entry,
    get_entry,
    ledger_entries,
)
from card_workflow.notices import send_once

SCHEDULED_EVENT = "Scheduled Event"
# Must equal governance_constructs.approval_sync_role's: the spoke's role may put exactly these.
REVIEW_SOURCE = "model-card-governance"
REVIEW_DECISION = "Model Card Review Decision"


def tell_spoke(
    events: Any,
    sts: Any,
    dynamodb: Any,
    settings: Any,
    card_name: str,
    card_arn: str,
    key: str,
    detail: dict[str, Any],
) -> str:
    """Put a review decision on the default bus of the spoke that owns the card, once per `key`,
    through the spoke's approval-sync role (the role the hub already assumes there for packages;
    its policy allows PutEvents on its own account's default bus for this source and detail-type
    only). A same-account PutEvents needs no bus policy; the spoke's own rules take it from there.
    A card the hub owns (or whose package the hub never linked) has no spoke to tell."""
    from shared.card_links import card_link

    from card_workflow.workflow import spoke_client

    if events is None or not settings.link_table:
        return "no spoke told"
    link = card_link(dynamodb, settings.link_table, card_name)
    owner = link.package_arn.split(":")[4] if link is not None else ""
    if link is None or not owner or owner == settings.hub_account:
        return "no spoke owns the card"
    if get_entry(dynamodb, settings.ledger_table, card_arn, key) is not None:
        return f"spoke {owner} already told"
    spoke_events = spoke_client(events, sts, settings, link.package_arn)
    answer = spoke_events.put_events(
        Entries=[
            {
                "Source": REVIEW_SOURCE,
                "DetailType": REVIEW_DECISION,
                "Detail": json.dumps({**detail, "account": owner, "card": card_name}),
                "EventBusName": "default",
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"the review decision for spoke {owner} was not put: {answer.get('Entries')}")
    # After the put: a retry that finds no entry puts again (at least once; the event carries the key).
    append_entry(
        dynamodb, settings.ledger_table, card_arn, key, {"Kind": "spoke-told", "Account": owner, "Detail": key}
    )
    return f"spoke {owner} told"


@dataclass(frozen=True)
class Approval:
    """A card's latest effective approval, as the ledger holds it."""

    card_arn: str
    card_name: str
    version: int
    entry_key: str
    approved_at: datetime
    package: str


def approved_cards(dynamodb: Any, table: str) -> list[str]:
    """The cards whose ledger holds an effective approval: a paginated Query of the ledger's sparse
    index (ledger.EFFECTIVE_INDEX), which holds the `approval-effective` entries and nothing else,
    whatever the size of the ledger. "All reads from GSIs ... are eventually consistent" (DynamoDB
    Developer Guide, "DynamoDB read consistency"): an approval made a moment ago may wait for the
    next day's sweep, which then sends whatever fell due in between."""
    cards: set[str] = set()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": EFFECTIVE_INDEX,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": EFFECTIVE_KEY},
        "ExpressionAttributeValues": {":v": {"S": EFFECTIVE_VALUE}},
        "ProjectionExpression": "CardArn",
    }
    while True:
        page = dynamodb.query(**kwargs)
        cards.update(item["CardArn"]["S"] for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return sorted(cards)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def latest_approval(card_arn: str, entries: Iterable[Mapping[str, str]]) -> Approval | None:
    found = None
    for entry in entries:
        if entry.get("Kind") != "approval-effective":
            continue
        at = entry.get("ApprovedAt") or entry["EntryKey"].split("#")[1]
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            continue
        found = Approval(
            card_arn,
            card_arn.rsplit("/", 1)[-1],
            int(entry["Version"]),
            entry["EntryKey"],
            when if when.tzinfo else when.replace(tzinfo=UTC),
            entry.get("Package", ""),
        )
    return found


def content_changes(entries: Iterable[Mapping[str, str]], approval: Approval) -> list[Trigger]:
    """A newer version of the card (its first status entry) after the approval: its content changed."""
    seen: set[str] = set()
    triggers = []
    for entry in entries:
        version = entry.get("Version", "")
        if entry.get("Kind") != "status" or not version.isdigit() or int(version) <= approval.version:
            continue
        if version in seen:
            continue
        seen.add(version)
        try:
            triggers.append(
                Trigger("content-change", datetime.fromisoformat(entry["ModifiedAt"].replace("Z", "+00:00")))
            )
        except (KeyError, ValueError):
            continue
    return triggers


# A version card's name: <group>-<account>-v<package version> (shared.card_names).
VERSION_CARD = re.compile(r"^(?P<group>.+)-v(?P<version>[0-9]+)$")


def newer_versions_approved(approval: Approval, others: Iterable[Approval | None]) -> list[Trigger]:
    """`new-version-approved`: the approval of a newer package version's card of the same group
    (names `<group>-<account>-v<N>`), which the policy's `re_review_on` may count (review_due)."""
    mine = VERSION_CARD.match(approval.card_name)
    if mine is None:
        return []
    found = []
    for other in others:
        theirs = VERSION_CARD.match(other.card_name) if other is not None else None
        if other is None or theirs is None or theirs.group("group") != mine.group("group"):
            continue
        if int(theirs.group("version")) > int(mine.group("version")):
            found.append(Trigger("new-version-approved", other.approved_at))
    return found


def sweep_reviews(
    now: datetime,
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    sts: Any,
    settings: Any,
    card_arns: Iterable[str] | None = None,
) -> list[str]:
    """One pass over the effective approvals (all, or `card_arns`); returns what was done, per card."""
    from card_workflow.workflow import set_package_status

    policy = settings.approval_policy
    done = []
    cards = list(card_arns) if card_arns is not None else approved_cards(dynamodb, settings.ledger_table)
    ledgers = {arn: ledger_entries(dynamodb, settings.ledger_table, arn) for arn in cards}
    approvals = {arn: latest_approval(arn, entries) for arn, entries in ledgers.items()}
    for card_arn in cards:
        entries = ledgers[card_arn]
        approval = approvals[card_arn]
        if approval is None or suspension_state(policy, entries).suspended:
            continue
        triggers = content_changes(entries, approval) + newer_versions_approved(approval, approvals.values())
        state = review_state(policy, approval.approved_at, now, triggers=triggers)
        if state.due is None:
            continue
        steps = []
        for reminder in state.reminders:
            sent = send_once(
                dynamodb,
                sns,
                table=settings.ledger_table,
                topic_arn=settings.topic_arn,
                card_arn=card_arn,
                key=f"{approval.entry_key}#review-reminder#{reminder.key}",
                subject=f"Review of model card {approval.card_name} v{approval.version} due {state.due.date()}",
                message=f"The approval of model card {approval.card_name} v{approval.version} "
                f"({approval.approved_at.isoformat()}) is due for review on {state.due.isoformat()}.\n"
                f"Reminder {reminder.key}; on expiry the hub will {policy.on_expiry}.",
                version=approval.version,
            )
            steps.append(f"reminder {reminder.key}: {sent}")
        if state.overdue:
            append_entry(
                dynamodb,
                settings.ledger_table,
                card_arn,
                f"{approval.entry_key}#review-overdue",
                {"Kind": "review-overdue", "Version": str(approval.version), "Due": state.due.isoformat()},
            )
        expired_key = f"{approval.entry_key}#review-expired"
        if state.revert and get_entry(dynamodb, settings.ledger_table, card_arn, expired_key) is None:
            reason = f"review due {state.due.isoformat()} not done"
            if approval.package:
                steps.append(
                    set_package_status(
                        sagemaker,
                        sts,
                        settings,
                        approval.package,
                        "PendingManualApproval",
                        f"Approval of model card {approval.card_name} v{approval.version} expired: {reason}",
                        lifecycle_for(policy, "reverted"),
                    )
                )
            steps.append(_back_to_review(sagemaker, approval))
            append_entry(
                dynamodb,
                settings.ledger_table,
                card_arn,
                expired_key,
                {
                    "Kind": "review-expired",
                    "Version": str(approval.version),
                    "Package": approval.package,
                    "Due": state.due.isoformat(),
                    "Reason": reason,
                    # When it was written: decisions on the version from before it no longer count.
                    "At": datetime.now(UTC).isoformat(timespec="microseconds"),
                },
            )
            send_once(
                dynamodb,
                sns,
                table=settings.ledger_table,
                topic_arn=settings.topic_arn,
                card_arn=card_arn,
                key=f"{expired_key}#notice",
                subject=f"Approval of model card {approval.card_name} v{approval.version} expired",
                message=f"The approval of model card {approval.card_name} v{approval.version} was due for review "
                f"on {state.due.isoformat()}. Its model package {approval.package or '(none linked)'} is back in "
                "PendingManualApproval and the card in PendingReview: approvers decide on it again.",
                version=approval.version,
            )
        done.append(
            f"{approval.card_name} v{approval.version}: due {state.due.isoformat()}" + "".join(f"; {s}" for s in steps)
        )
    return done


def _back_to_review(sagemaker: Any, approval: Approval) -> str:
    card = sagemaker.describe_model_card(ModelCardName=approval.card_name, IncludedData="MetadataOnly")
    if card.get("ModelCardVersion") == approval.version and card.get("ModelCardStatus") == "Approved":
        # A status-only update: the version's status changes in place.
        sagemaker.update_model_card(ModelCardName=approval.card_name, ModelCardStatus="PendingReview")
        return "card back to PendingReview"
    return f"card is v{card.get('ModelCardVersion')} {card.get('ModelCardStatus')}"


def enforce_suspension(
    card_name: str,
    card_arn: str,
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    sts: Any,
    settings: Any,
    events: Any = None,
) -> str | None:
    """Act once on the card's standing suspension; None when it is not suspended."""
    from card_workflow.workflow import set_package_status

    policy = settings.approval_policy
    entries = ledger_entries(dynamodb, settings.ledger_table, card_arn)
    state = suspension_state(policy, entries)
    if not state.suspended:
        return None
    suspend = [e for e in entries if e.get("Kind") == "suspend" and e.get("At") == state.at][-1]
    key = f"{suspend['EntryKey']}#suspended"
    if get_entry(dynamodb, settings.ledger_table, card_arn, key) is not None:
        return "suspension already acted on"
    approval = latest_approval(card_arn, entries)
    steps = []
    if approval is not None and approval.package:
        steps.append(
            set_package_status(
                sagemaker,
                sts,
                settings,
                approval.package,
                "PendingManualApproval",
                f"Model card {card_name} suspended by {state.by}: {state.reason}",
                lifecycle_for(policy, "suspended"),
            )
        )
    append_entry(
        dynamodb,
        settings.ledger_table,
        card_arn,
        key,
        {
            "Kind": "suspended",
            "Version": suspend.get("Version", ""),
            "Person": state.by or "",
            "Reason": state.reason or "",
            "Package": approval.package if approval else "",
            "At": datetime.now(UTC).isoformat(timespec="microseconds"),
        },
    )
    steps.append(
        tell_spoke(
            events,
            sts,
            dynamodb,
            settings,
            card_name,
            card_arn,
            f"{key}#spoke-told",
            {
                "version": int(suspend.get("Version") or 0),
                "decision": "suspend",
                "comment": state.reason or "",
                "person": state.by or "",
            },
        )
    )
    return f"suspended by {state.by}: " + "; ".join(steps)
