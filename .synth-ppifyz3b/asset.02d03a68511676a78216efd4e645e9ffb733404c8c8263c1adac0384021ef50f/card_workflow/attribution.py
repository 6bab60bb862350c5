"""Who set a card Approved, from the hub's CloudTrail event history.

The card state change event does not say which IAM principal made the change (its LastModifiedBy
names a Studio user profile, when there is one). CloudTrail event history does: every SageMaker
management call, with its `userIdentity`, searchable with LookupEvents for 90 days. Three limits
shape what is read from it:
- a call is recorded in the caller's account; a spoke's call on a hub card through RAM is not in
  the hub's history (AWS documents no copy to the resource owner for SageMaker), so such a call is
  never attributable, which is what the hub wants: approvers are hub principals;
- records arrive late (about 5 minutes on average, not guaranteed): "not there yet" is an answer,
  and the caller looks again later;
- eventTime has whole seconds and the card's LastModifiedTime comes from SageMaker a moment
  later: calls are matched within MATCH_SECONDS of the change, and when more than one call on the
  card falls in that window, every one of them must be an approver's;
- a status-only UpdateModelCard names no version (it sets the card's current one), so a record
  tells which version an approver approved only through time: the call counts for version N when
  it provably came after N existed and after N's previous status change. A whole-second eventTime
  (truncated or rounded, the CloudTrail User Guide does not say which) proves that only when the
  second before it is already after that change (`provably_after`); anything closer is ambiguous
  and refused, and the approver decides again through the hub's decision endpoint (decisions.py),
  whose record names the version.

Separation of duties compares people, not roles: many people share the reviewer role, and one
person may reach a card through several sessions. A session's source identity names the person; it
is set when the role is assumed, cannot change and carries over to roles chained from it, and
CloudTrail records it in `userIdentity.sessionContext.sourceIdentity` (IAM User Guide, "Monitor and
control actions taken with assumed roles"; CloudTrail User Guide, "CloudTrail userIdentity
element"). Without one the hub knows only the session (or the IAM user), so it can compare
sessions, not people.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MATCH_SECONDS = 5
CARD_WRITES = ("CreateModelCard", "UpdateModelCard")


@dataclass(frozen=True)
class CardCall:
    """One successful CreateModelCard/UpdateModelCard on the card, as CloudTrail recorded it."""

    event_id: str
    event_name: str
    at: datetime
    principal: str  # the role (for an assumed-role session), the user, or the root ARN
    caller_arn: str  # the exact identity, e.g. the assumed-role session
    status: str | None
    writes_content: bool
    source_identity: str = ""  # the person the session names, when it names one

    @property
    def person(self) -> str:
        """Who acted, as far as the record tells: the source identity, else the session or user."""
        return self.source_identity or self.caller_arn

    @property
    def who(self) -> str:
        return f"{self.source_identity} ({self.caller_arn})" if self.source_identity else self.caller_arn

    def describe(self) -> str:
        what = f"set {self.status}" if self.status else "wrote content"
        return f"{self.who} {what} at {self.at.isoformat(timespec='seconds')} (CloudTrail {self.event_id})"


def principal_of(identity: dict[str, Any]) -> tuple[str, str]:
    """(the principal an approver list names, the exact caller ARN) from a CloudTrail userIdentity."""
    arn = str(identity.get("arn", ""))
    if identity.get("type") == "AssumedRole":
        issuer = identity.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
        if issuer:
            return str(issuer), arn
    return arn, arn


def source_identity_of(identity: dict[str, Any]) -> str:
    """The source identity of an assumed-role session's record, or "" when it names none."""
    if identity.get("type") != "AssumedRole":
        return ""
    context = identity.get("sessionContext")
    value = context.get("sourceIdentity") if isinstance(context, dict) else None
    return value if isinstance(value, str) else ""


def parse_time(value: str) -> datetime:
    """ISO 8601 with Z and up to nanoseconds (SageMaker's event times), as an aware datetime."""
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        zone_at = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        digits, zone = rest[:zone_at], rest[zone_at:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no zone")
    return parsed


def _lookup(cloudtrail: Any, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    pages = cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "sagemaker.amazonaws.com"}],
        StartTime=start,
        EndTime=end,
    )
    for page in pages:
        yield from page.get("Events", [])


def card_calls(
    cloudtrail: Any, *, card_name: str, card_arn: str, around: datetime, seconds: int | None = None
) -> list[CardCall]:
    """The successful writes on this card within `seconds` of `around`, as the hub's history has them."""
    seconds = MATCH_SECONDS if seconds is None else seconds
    found = []
    for entry in _lookup(cloudtrail, around - timedelta(seconds=seconds), around + timedelta(seconds=seconds)):
        if entry.get("EventName") not in CARD_WRITES:
            continue
        record = json.loads(entry.get("CloudTrailEvent") or "{}")
        if record.get("errorCode"):
            continue  # a refused call changed nothing
        parameters = record.get("requestParameters") or {}
        if parameters.get("modelCardName") not in (card_name, card_arn):
            continue
        identity = record.get("userIdentity") or {}
        principal, caller = principal_of(identity)
        found.append(
            CardCall(
                event_id=str(record.get("eventID", entry.get("EventId", ""))),
                event_name=str(record.get("eventName")),
                at=parse_time(str(record.get("eventTime"))),
                principal=principal,
                caller_arn=caller,
                status=parameters.get("modelCardStatus"),
                writes_content="content" in parameters,
                source_identity=source_identity_of(identity),
            )
        )
    return sorted(found, key=lambda call: abs((call.at - around).total_seconds()))


def provably_after(call: CardCall, moment: datetime) -> bool:
    """Did the call happen after `moment`? Its eventTime T has whole seconds, so the call was made
    within a second of T, either side at worst: only T - 1 s >= moment proves it."""
    return call.at - timedelta(seconds=1) >= moment


@dataclass(frozen=True)
class Decision:
    """An approver's recorded decision on one version (a `decision` ledger entry, decisions.py)."""

    entry_key: str
    version: int
    decision: str
    person: str
    principal: str
    caller_arn: str
    decided_at: datetime

    def as_call(self) -> CardCall:
        """The decision in the shape the rest of the judgement reads (who, when, which person)."""
        return CardCall(
            event_id=self.entry_key,
            event_name="Decision",
            at=self.decided_at,
            principal=self.principal,
            caller_arn=self.caller_arn,
            status="Approved",
            writes_content=False,
            source_identity=self.person,
        )


@dataclass(frozen=True)
class Verdict:
    """effective: the approval stands; refused: undo it now; pending: the record is not there yet."""

    outcome: str
    reason: str
    approver: CardCall | None = None
    offender: CardCall | None = None
    # What a pending verdict becomes when the deadline passes: refused, except when only the
    # author of the version is unseen (a write from another account never reaches the hub).
    at_deadline: str = "refused"


def judge_setter(
    calls: Iterable[CardCall],
    *,
    status: str,
    approvers: frozenset[str],
    what: str,
    named_roles: frozenset[str] = frozenset(),
) -> Verdict:
    """Who set the card to `status`, from the calls matched to the change: refused when any call
    that set it is not an approver's, or is a session of a role in `named_roles` that names no
    person; pending while none is recorded, else the first approver's."""
    setters = [c for c in calls if c.status == status]
    strangers = [c for c in setters if c.principal not in approvers]
    if strangers:
        return Verdict("refused", f"{strangers[0].principal} is not an approver", offender=strangers[0])
    # The role's trust policy admits no session without a source identity: a record without one
    # means the role or the record is not what the hub set up, and nobody can be named.
    nameless = [c for c in setters if c.principal in named_roles and not c.source_identity]
    if nameless:
        return Verdict(
            "refused",
            f"{nameless[0].caller_arn} has no source identity, so the hub cannot name the person",
            offender=nameless[0],
        )
    if not setters:
        return Verdict("pending", f"no CloudTrail record of this {what} in the hub account yet")
    return Verdict("effective", f"{what} by {setters[0].who}", approver=setters[0])


def judge_approval(
    calls: Iterable[CardCall],
    *,
    approvers: frozenset[str],
    version: int,
    reviewed: bool,
    author_calls: Iterable[CardCall] | None,
    approver_may_not_edit: bool,
    new_version: bool,
    named_roles: frozenset[str] = frozenset(),
    previous_change: datetime | None = None,
) -> Verdict:
    """Decide one `Approved` status change of `version` from the calls matched to it.

    `reviewed`: the ledger shows the version PendingReview before the approval. `author_calls`:
    the content writes matched to the version's creation, or None when the ledger does not yet
    show when the version was created. `new_version`: this status event is the first the ledger
    has of the version, so a content write may have made it (an edit keeps the Approved status).
    `previous_change`: the version's last status change before this one, as the ledger has it (its
    creation is its first): the approver's call counts only when it provably came after it.
    """
    calls = list(calls)
    if new_version:
        # A status-only call makes no version, so a version whose first status is Approved was made
        # by a content write (an edit keeps the card's status): nobody reviewed it.
        edits = [c for c in calls if c.writes_content and (c.event_name == "UpdateModelCard" or version == 1)]
        if edits:
            return Verdict(
                "refused",
                f"version {version} is a content edit of an approved card; an approval covers only the "
                "version that was reviewed",
                offender=edits[0],
            )
        return Verdict("pending", f"no CloudTrail record of the write that made version {version} in the hub yet")
    setter = judge_setter(calls, status="Approved", approvers=approvers, what="approval", named_roles=named_roles)
    if setter.approver is None:
        return setter
    approver = setter.approver
    if not reviewed or previous_change is None:
        return Verdict("pending", f"version {version} has not been PendingReview", approver=approver)
    if not provably_after(approver, previous_change):
        return Verdict(
            "refused",
            f"the CloudTrail record of {approver.who} (eventTime {approver.at.isoformat(timespec='seconds')}, whole "
            f"seconds) does not prove the call came after version {version}'s last status change at "
            f"{previous_change.isoformat(timespec='milliseconds')}, so it may have approved an earlier version",
            offender=approver,
        )
    return judge_authorship(approver, author_calls, version=version, approver_may_not_edit=approver_may_not_edit)


def judge_authorship(
    approver: CardCall, author_calls: Iterable[CardCall] | None, *, version: int, approver_may_not_edit: bool
) -> Verdict:
    """Separation of duties: the person who approves did not write the version."""
    if approver_may_not_edit:
        if author_calls is None:
            return Verdict("pending", f"the creation of version {version} is not in the ledger yet", approver=approver)
        authors = [c for c in author_calls if c.writes_content and (c.event_name == "UpdateModelCard" or version == 1)]
        # The same person through another session or role is still the author; two people in
        # one role are not.
        if any(c.person == approver.person for c in authors):
            return Verdict(
                "refused",
                f"{approver.person} wrote version {version} and may not approve it",
                offender=approver,
            )
        if not authors:
            return Verdict(
                "pending",
                f"no CloudTrail record of who wrote version {version} in the hub account yet",
                approver=approver,
                at_deadline="effective",
            )
    return Verdict("effective", f"approved by {approver.who}", approver=approver)


def judge_decisions(
    decisions: Iterable[Decision],
    *,
    version: int,
    author_calls: Iterable[CardCall] | None,
    approver_may_not_edit: bool,
) -> Verdict | None:
    """The verdict of the decisions recorded on exactly `version`, or None when there is none.

    One person counts once however often they decided (the ledger keys a decision by version and
    person); the first decision of a person who did not write the version makes it effective.
    """
    found = sorted(
        (d for d in decisions if d.version == version and d.decision == "approve"), key=lambda d: d.decided_at
    )
    if not found:
        return None
    refused: Verdict | None = None
    for decision in found:
        verdict = judge_authorship(
            decision.as_call(), author_calls, version=version, approver_may_not_edit=approver_may_not_edit
        )
        if verdict.outcome != "refused":
            return verdict
        refused = refused or verdict
    return refused
