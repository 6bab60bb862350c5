"""The approval policy as code: who must decide on a card version, by its risk, and for how long
the approval lasts. Pure functions: no AWS call, no clock but the `now` a caller passes.

The policy comes from config (`approval_policy`, validated in governance_config.py) as the JSON
the workflow's environment carries (`ApprovalPolicy.from_json`). Without that section the policy
is the hub's behaviour before it existed: one person from the configured approvers, no expiry
(`default_policy`).

A tier names how many distinct people must approve and which groups must be among them. A group
is a set of principal ARN patterns (a role, an IAM Identity Center permission set's role
`AWSReservedSSO_<set>_*`, a user), optionally narrowed to named people (a session's source
identity or its session name). A person never counts through a name alone: a source identity is
whatever the caller set at AssumeRole, which only the role's trust policy constrains (IAM User
Guide, "Monitor and control actions taken with assumed roles"), so the principal must match too.

Rules the verdict keeps (each one a row of tests/test_approval_policy.py):
- only decisions on exactly the version under review count;
- one person counts once, with their latest decision, however many sessions or roles they used;
- one person in two groups fills one group's place, never two (a matching of people to places);
- a person's standing `request-changes` or `reject` blocks the approval and is reported;
- the tier is the strictest of the reviewed version's risk rating, the last approved version's
  (lowering the rating is reviewed at the tier it lowers from) and the card's declared tier;
  `Unknown` or no rating at all is the strictest tier.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# From the least to the most strict; a rating outside these (Unknown, none) is the most strict.
RATINGS = ("Low", "Medium", "High")
DECISIONS = ("approve", "request-changes", "reject")
ON_EXPIRY = ("notify", "revert")
# What restarts or brings forward a periodic review (see `review_due`).
RE_REVIEW_TRIGGERS = ("new-version-approved", "content-change")
DEFAULT_GROUP = "approvers"
# The ledger entries this module reads for suspension (`suspension_state`).
SUSPEND = "suspend"
REINSTATE = "reinstate"
DECISION = "decision"
# An assumed-role session ARN: arn:<partition>:sts::<account>:assumed-role/<role>/<session>.
SESSION_ARN = re.compile(r"^arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/[^/]+/(?P<session>.+)$")


@dataclass(frozen=True)
class Group:
    """Principals (ARN patterns, `*` and `?` as IAM's ArnLike) and, optionally, the only people of them
    who belong."""

    principals: tuple[str, ...]
    people: tuple[str, ...] = ()

    def admits(self, principal: str, person: str | None, caller_arn: str = "") -> bool:
        if not any(_arn_like(pattern, principal) for pattern in self.principals):
            return False
        if not self.people:
            return True
        names = {name for name in (person, session_name(caller_arn)) if name}
        return any(_same_person(name, member) for name in names for member in self.people)


@dataclass(frozen=True)
class Tier:
    people: int
    groups: tuple[str, ...]  # a place for each; a name given twice needs two people of that group


@dataclass(frozen=True)
class Stage:
    """A SageMaker model package lifecycle stage (ModelLifeCycle Stage and StageStatus)."""

    stage: str
    status: str


@dataclass(frozen=True)
class ApprovalPolicy:
    groups: Mapping[str, Group]
    tiers: Mapping[str, Tier]  # by rating, High always present
    review_interval_days: int | None = None
    on_expiry: str = "notify"
    remind_days_before: tuple[int, ...] = ()
    remind_days_after: tuple[int, ...] = ()
    re_review_on: tuple[str, ...] = ()
    incident_group: str | None = None
    on_approval: Stage | None = None
    on_revert: Stage | None = None
    on_suspension: Stage | None = None
    # Declared card -> its tier, and model package group -> its declared card's tier: floors, never
    # ceilings.
    card_tiers: Mapping[str, str] = field(default_factory=dict)
    group_tiers: Mapping[str, str] = field(default_factory=dict)

    def declared_tier(self, card_name: str, group: str | None) -> str | None:
        """The tier config declares for the card (a declared card) or its model package group."""
        declared = [t for t in (self.card_tiers.get(card_name), self.group_tiers.get(group or "")) if t]
        return max(declared, key=strictness) if declared else None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ApprovalPolicy:
        """The policy as governance_config's `approval_policy_json` writes it."""

        def stage(value: Mapping[str, str] | None) -> Stage | None:
            return Stage(value["stage"], value["stage_status"]) if value else None

        return cls(
            groups={
                name: Group(tuple(g["principals"]), tuple(g.get("people", ()))) for name, g in raw["groups"].items()
            },
            tiers={rating: Tier(t["people"], tuple(t["groups"])) for rating, t in raw["tiers"].items()},
            review_interval_days=raw.get("review_interval_days"),
            on_expiry=raw.get("on_expiry", "notify"),
            remind_days_before=tuple(raw.get("remind_days_before", ())),
            remind_days_after=tuple(raw.get("remind_days_after", ())),
            re_review_on=tuple(raw.get("re_review_on", ())),
            incident_group=raw.get("incident_group"),
            on_approval=stage(raw.get("on_approval")),
            on_revert=stage(raw.get("on_revert")),
            on_suspension=stage(raw.get("on_suspension")),
            card_tiers=dict(raw.get("card_tiers", {})),
            group_tiers=dict(raw.get("group_tiers", {})),
        )


def default_policy(approver_arns: Sequence[str]) -> ApprovalPolicy:
    """The behaviour without an `approval_policy` section: one person of the configured approvers."""
    tier = Tier(1, (DEFAULT_GROUP,))
    return ApprovalPolicy(groups={DEFAULT_GROUP: Group(tuple(approver_arns))}, tiers=dict.fromkeys(RATINGS, tier))


# --- Which tier -----------------------------------------------------------------------------------


def strictness(rating: str | None) -> int:
    """Low 0, Medium 1, High 2; Unknown, none or anything else is as strict as High."""
    return RATINGS.index(rating) if rating in RATINGS else len(RATINGS) - 1


def tier_rating(
    policy: ApprovalPolicy,
    reviewed_rating: str | None,
    approved_rating: str | None = None,
    declared_tier: str | None = None,
) -> str:
    """The rating whose tier reviews this version: the strictest of the reviewed version's, the last
    approved version's (None when no version was approved) and the card's declared tier; a rating
    without a tier of its own takes the next stricter tier the policy has."""
    ratings = [reviewed_rating]
    if approved_rating is not None:
        ratings.append(approved_rating)
    if declared_tier is not None:
        ratings.append(declared_tier)
    level = max(strictness(r) for r in ratings)
    for rating in RATINGS[level:]:
        if rating in policy.tiers:
            return rating
    return RATINGS[-1]  # config refuses a policy without a High tier


# --- Decisions and the verdict --------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One person's decision on one card version, as the decision endpoint recorded it."""

    version: int
    person: str | None  # the source identity; None when the hub could not name the person
    principal: str  # the role (for a session) or user ARN
    decision: str  # approve | request-changes | reject
    at: datetime
    caller_arn: str = ""
    # The groups recorded with the decision; None: resolve from the policy. Either way only groups
    # the current policy still gives the principal count.
    groups: frozenset[str] | None = None


@dataclass(frozen=True)
class Verdict:
    rating: str  # the tier applied
    effective: bool
    approved: int  # people counted towards the tier (see evaluate)
    needed: int
    # Required group places and who filled each (None: pending), in the tier's order.
    places: tuple[tuple[str, str | None], ...]
    objections: tuple[Decision, ...]  # standing request-changes / reject
    ignored: tuple[tuple[Decision, str], ...]  # decisions that do not count, and why
    others: tuple[str, ...] = ()  # approving people counted beyond the group places

    @property
    def text(self) -> str:
        """E.g. "1 of 2: model-risk approved (alice), business-owner pending"."""
        shown = ", ".join(f"{group} approved ({who})" if who else f"{group} pending" for group, who in self.places)
        text = f"{self.approved} of {self.needed}: {shown}" if shown else f"{self.approved} of {self.needed}"
        if self.others:
            text += f", also approved ({', '.join(self.others)})"
        for objection in self.objections:
            text += f"; {objection.person} {_past(objection.decision)}"
        for decision, why in self.ignored:
            text += f"; {decision.person or decision.caller_arn or decision.principal} not counted ({why})"
        return text


def groups_of(policy: ApprovalPolicy, decision: Decision) -> frozenset[str]:
    """The policy's groups that admit the decision's principal and person (and that it recorded)."""
    resolved = frozenset(
        name
        for name, group in policy.groups.items()
        if group.admits(decision.principal, decision.person, decision.caller_arn)
    )
    return resolved if decision.groups is None else resolved & decision.groups


def evaluate(
    policy: ApprovalPolicy,
    version: int,
    decisions: Iterable[Decision],
    *,
    reviewed_rating: str | None,
    approved_rating: str | None = None,
    declared_tier: str | None = None,
) -> Verdict:
    """Whether the decisions on `version` make its approval effective under the policy."""
    rating = tier_rating(policy, reviewed_rating, approved_rating, declared_tier)
    tier = policy.tiers[rating]
    eligible = set(tier.groups)
    ignored: list[tuple[Decision, str]] = []
    latest: dict[str, tuple[Decision, frozenset[str]]] = {}
    for decision in sorted(decisions, key=lambda d: d.at):
        if decision.version != version:
            continue  # a decision covers exactly the version decided on
        if not decision.person:
            ignored.append((decision, "the hub cannot name the person"))
            continue
        if decision.decision not in DECISIONS:
            ignored.append((decision, f"unknown decision {decision.decision!r}"))
            continue
        groups = groups_of(policy, decision) & eligible
        if not groups:
            ignored.append((decision, f"in no group of the {rating} tier"))
            continue
        latest[_person_key(decision.person)] = (decision, groups)
    approvers = [(d, g) for d, g in latest.values() if d.decision == "approve"]
    objections = tuple(d for d, _ in latest.values() if d.decision != "approve")
    filled = _fill_places(tier.groups, [(d.person or "", g) for d, g in approvers])
    places = tuple(zip(tier.groups, filled, strict=True))
    effective = not objections and len(approvers) >= tier.people and all(who for who in filled)
    seated = {who for who in filled if who}
    others = tuple(d.person or "" for d, _ in approvers if d.person not in seated)
    # Counted towards the tier: the group places filled, and the people beyond them only up to the
    # places the tier leaves to anyone of its groups. A second model-risk approver of a High card
    # that needs one model-risk and one business-owner approver counts for nothing: "1 of 2".
    counted = len(seated) + min(len(others), tier.people - len(tier.groups))
    return Verdict(rating, effective, counted, tier.people, places, objections, tuple(ignored), others)


def _fill_places(places: Sequence[str], people: Sequence[tuple[str, frozenset[str]]]) -> list[str | None]:
    """Each place's person, at most one place per person, as many places filled as possible
    (augmenting paths: a person who could fill two places is moved to free one for another)."""
    holder: list[int | None] = [None] * len(places)

    def seat(person: int, seen: set[int]) -> bool:
        open_to = [p for p, group in enumerate(places) if group in people[person][1] and p not in seen]
        # A free place first, so whoever decided earlier keeps theirs unless someone must move.
        for place in sorted(open_to, key=lambda p: holder[p] is not None):
            seen.add(place)
            current = holder[place]
            if current is None or seat(current, seen):
                holder[place] = person
                return True
        return False

    for person in range(len(people)):
        seat(person, set())
    return [people[h][0] if h is not None else None for h in holder]


# --- Periodic review ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """Something that touches an approved version's periodic review: `new-version-approved` (a newer
    version of the same model package group took effect) or `content-change` (the card's content
    changed after the approval)."""

    kind: str
    at: datetime


@dataclass(frozen=True)
class Reminder:
    key: str  # stable, for the ledger entry that records it was sent: before-30, due, after-7
    at: datetime


@dataclass(frozen=True)
class ReviewState:
    due: datetime | None  # None: the policy has no periodic review
    overdue: bool
    reminders: tuple[Reminder, ...]  # due by now and not yet sent, oldest first
    revert: bool  # overdue and the policy reverts on expiry


def review_due(policy: ApprovalPolicy, approved_at: datetime, triggers: Iterable[Trigger] = ()) -> datetime | None:
    """When the approval given at `approved_at` must be reviewed again.

    `review_interval_days` after the approval, restarted by a newer version of the group taking
    effect (`new-version-approved` in `re_review_on`), and brought forward to the moment the card's
    content changed (`content-change`). Without a review interval only a content change makes a
    review due."""
    found = _due_and_since(policy, approved_at, triggers)
    return found[0] if found else None


def _due_and_since(
    policy: ApprovalPolicy, approved_at: datetime, triggers: Iterable[Trigger]
) -> tuple[datetime, datetime] | None:
    """The due date and the moment it became due at that date (the approval, the restart or the change)."""
    start = approved_at
    changed: datetime | None = None
    for trigger in sorted(triggers, key=lambda t: t.at):
        if trigger.kind not in policy.re_review_on or trigger.at < approved_at:
            continue
        if trigger.kind == "new-version-approved":
            start = max(start, trigger.at)
        elif trigger.kind == "content-change" and changed is None:
            changed = trigger.at
    candidates = [(changed, changed)] if changed is not None else []
    if policy.review_interval_days:
        candidates.append((start + timedelta(days=policy.review_interval_days), start))
    return min(candidates) if candidates else None


def review_state(
    policy: ApprovalPolicy,
    approved_at: datetime,
    now: datetime,
    *,
    triggers: Iterable[Trigger] = (),
    sent: Iterable[str] = (),
) -> ReviewState:
    """Due date, whether it has passed, and the reminders to send now (those not in `sent`)."""
    found = _due_and_since(policy, approved_at, triggers)
    if found is None:
        return ReviewState(None, False, (), False)
    due, since = found
    schedule = [Reminder(f"before-{days}", due - timedelta(days=days)) for days in policy.remind_days_before]
    schedule.append(Reminder("due", due))
    schedule += [Reminder(f"after-{days}", due + timedelta(days=days)) for days in policy.remind_days_after]
    done = set(sent)
    # A reminder whose time came before the due date was set (a short interval, a content change) is
    # not sent: "due in 7 days" would be wrong by then.
    reminders = tuple(sorted((r for r in schedule if since <= r.at <= now and r.key not in done), key=lambda r: r.at))
    overdue = now >= due
    return ReviewState(due, overdue, reminders, overdue and policy.on_expiry == "revert")


# --- Suspension -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suspension:
    suspended: bool
    by: str | None = None
    at: str | None = None
    reason: str | None = None
    refused: tuple[str, ...] = ()  # suspend or reinstate entries by people outside the incident group


def suspension_state(policy: ApprovalPolicy, entries: Iterable[Mapping[str, str]]) -> Suspension:
    """Whether the card is suspended, from its ledger entries in chain order.

    Entries of Kind `suspend` or `reinstate` carry Principal, Person, Caller, At and Reason; only
    people of the policy's `incident_group` change the state, the others are reported in `refused`.
    Without an incident group nobody can suspend."""
    group = policy.groups.get(policy.incident_group) if policy.incident_group else None
    state = Suspension(False)
    refused: list[str] = []
    for entry in entries:
        kind = entry.get("Kind")
        if kind not in (SUSPEND, REINSTATE):
            continue
        person = entry.get("Person") or None
        if group is None or not person or not group.admits(entry.get("Principal", ""), person, entry.get("Caller", "")):
            refused.append(f"{kind} by {person or entry.get('Caller') or entry.get('Principal')} at {entry.get('At')}")
            continue
        state = Suspension(True, person, entry.get("At"), entry.get("Reason")) if kind == SUSPEND else Suspension(False)
    return Suspension(state.suspended, state.by, state.at, state.reason, tuple(refused))


def decisions_from_entries(entries: Iterable[Mapping[str, str]]) -> list[Decision]:
    """The `decision` ledger entries as Decisions (Version, Person, Principal, Caller, Decision, the
    time as DecidedAt (what the decision endpoint writes) or At, and Groups as a comma-separated list
    when the endpoint recorded them)."""
    found = []
    for entry in entries:
        if entry.get("Kind") != DECISION:
            continue
        groups = entry.get("Groups")
        found.append(
            Decision(
                version=int(entry["Version"]),
                person=entry.get("Person") or None,
                principal=entry.get("Principal", ""),
                decision=entry.get("Decision", ""),
                at=datetime.fromisoformat(entry.get("DecidedAt") or entry["At"]),
                caller_arn=entry.get("Caller", ""),
                groups=frozenset(g for g in groups.split(",") if g) if groups is not None else None,
            )
        )
    return found


def stage_of(package: Mapping[str, Any]) -> tuple[str, str]:
    """A model package's (its description's, summary's or event's) ModelLifeCycle Stage and
    StageStatus; empty without one."""
    life_cycle = package.get("ModelLifeCycle")
    if not isinstance(life_cycle, Mapping):
        return "", ""
    return str(life_cycle.get("Stage") or ""), str(life_cycle.get("StageStatus") or "")


def lifecycle_for(policy: ApprovalPolicy, outcome: str) -> Stage | None:
    """The model package lifecycle stage to set on `approved`, `reverted` or `suspended`; None: leave it."""
    return {"approved": policy.on_approval, "reverted": policy.on_revert, "suspended": policy.on_suspension}[outcome]


# --- Matching -------------------------------------------------------------------------------------


def session_name(caller_arn: str) -> str | None:
    match = SESSION_ARN.match(caller_arn)
    return match.group("session") if match else None


def _person_key(person: str) -> str:
    # "Alice" and "alice" through two sessions are one person: counting them twice would be the
    # lenient mistake.
    return person.casefold()


def _same_person(name: str, member: str) -> bool:
    return _person_key(name) == _person_key(member)


def _arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: each of the six colon-delimited parts matched on its own, `*` any run of
    characters within it, `?` one; case-sensitive (IAM User Guide, "IAM JSON policy elements:
    Condition operators", ARN condition operators)."""
    expected, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(expected) == len(actual) == 6 and all(
        fnmatch.fnmatchcase(part, want.replace("[", "[[]")) for want, part in zip(expected, actual, strict=True)
    )


def _past(decision: str) -> str:
    return {"request-changes": "requested changes", "reject": "rejected"}.get(decision, decision)
