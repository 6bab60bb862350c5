"""The approval policy's verdicts, as tables of cases: no AWS, no clock."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow.approval_policy import (
    ApprovalPolicy,
    Decision,
    Group,
    Stage,
    Tier,
    Trigger,
    decisions_from_entries,
    default_policy,
    evaluate,
    lifecycle_for,
    review_state,
    suspension_state,
    tier_rating,
)

HUB = "111111111111"
SSO = f"arn:aws:iam::{HUB}:role/aws-reserved/sso.amazonaws.com/"
MODEL_RISK_ROLE = f"{SSO}AWSReservedSSO_ModelRisk_0123456789abcdef"
BUSINESS_ROLE = f"{SSO}AWSReservedSSO_BusinessOwner_0123456789abcdef"
LEADS_ROLE = f"arn:aws:iam::{HUB}:role/ml-leads"
REVIEWER_ROLE = f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

POLICY = ApprovalPolicy.from_json(
    {
        "groups": {
            "model-risk": {"principals": [f"{SSO}AWSReservedSSO_ModelRisk_*"]},
            "business-owner": {"principals": [f"{SSO}AWSReservedSSO_BusinessOwner_*"]},
            "ml-leads": {"principals": [LEADS_ROLE]},
            # Carol is in both model-risk (through her role) and here: one place only.
            "senior": {"principals": [f"{SSO}*"], "people": ["carol", "dave"]},
            "incident": {"principals": [REVIEWER_ROLE], "people": ["erin"]},
        },
        "tiers": {
            "High": {"people": 2, "groups": ["model-risk", "business-owner"]},
            "Medium": {"people": 2, "groups": ["model-risk"]},
            "Low": {"people": 1, "groups": ["ml-leads"]},
        },
        "review_interval_days": 365,
        "on_expiry": "revert",
        "remind_days_before": [30, 7],
        "remind_days_after": [7],
        "re_review_on": ["new-version-approved", "content-change"],
        "incident_group": "incident",
        "on_approval": {"stage": "Production", "stage_status": "Approved"},
        "on_revert": {"stage": "Production", "stage_status": "Rejected"},
    }
)


def session(role_arn: str, name: str) -> str:
    role = role_arn.rsplit("/", 1)[1]
    return f"arn:aws:sts::{HUB}:assumed-role/{role}/{name}"


def decided(
    person: str | None, role: str, decision: str = "approve", *, version: int = 3, minutes: int = 0
) -> Decision:
    return Decision(
        version=version,
        person=person,
        principal=role,
        decision=decision,
        at=T0 + timedelta(minutes=minutes),
        caller_arn=session(role, person or "anonymous"),
    )


ALICE = decided("alice", MODEL_RISK_ROLE)
BOB = decided("bob", BUSINESS_ROLE, minutes=1)
LEE = decided("lee", LEADS_ROLE)


@pytest.mark.parametrize(
    ("reviewed", "approved", "declared", "tier"),
    [
        ("Low", None, None, "Low"),
        ("Medium", None, None, "Medium"),
        ("High", None, None, "High"),
        ("Unknown", None, None, "High"),
        (None, None, None, "High"),
        ("Severe", None, None, "High"),
        # Lowering the rating is reviewed at the tier it lowers from.
        ("Low", "High", None, "High"),
        ("Low", "Medium", None, "Medium"),
        ("High", "Low", None, "High"),
        ("Low", "Unknown", None, "High"),
        # A declared card's tier is a floor.
        ("Low", None, "Medium", "Medium"),
        ("High", None, "Low", "High"),
    ],
)
def test_the_strictest_rating_picks_the_tier(
    reviewed: str | None, approved: str | None, declared: str | None, tier: str
) -> None:
    assert tier_rating(POLICY, reviewed, approved, declared) == tier


def test_a_rating_without_its_own_tier_takes_the_next_stricter() -> None:
    policy = ApprovalPolicy(groups=POLICY.groups, tiers={"High": Tier(2, ("model-risk",)), "Low": Tier(1, ())})
    assert [tier_rating(policy, r) for r in ("Low", "Medium", "High", "Unknown")] == ["Low", "High", "High", "High"]


@pytest.mark.parametrize(
    ("rating", "decisions", "effective", "text"),
    [
        ("High", [], False, "0 of 2: model-risk pending, business-owner pending"),
        ("High", [ALICE], False, "1 of 2: model-risk approved (alice), business-owner pending"),
        (
            "High",
            [ALICE, BOB],
            True,
            "2 of 2: model-risk approved (alice), business-owner approved (bob)",
        ),
        # The same person twice, through two sessions, counts once.
        (
            "High",
            [ALICE, decided("alice", MODEL_RISK_ROLE, minutes=5)],
            False,
            "1 of 2: model-risk approved (alice), business-owner pending",
        ),
        # ... also when the second session names her in another case.
        (
            "High",
            [ALICE, decided("Alice", BUSINESS_ROLE, minutes=5)],
            False,
            "1 of 2: model-risk pending, business-owner approved (Alice)",
        ),
        # Two people of one group do not fill the other group's place.
        (
            "High",
            [ALICE, decided("anna", MODEL_RISK_ROLE, minutes=2)],
            False,
            "1 of 2: model-risk approved (alice), business-owner pending, also approved (anna)",
        ),
        # Decisions on an earlier version do not count.
        (
            "High",
            [ALICE, decided("bob", BUSINESS_ROLE, version=2)],
            False,
            "1 of 2: model-risk approved (alice), business-owner pending",
        ),
        # A standing request for changes blocks the approval and is reported.
        (
            "High",
            [ALICE, BOB, decided("ben", BUSINESS_ROLE, "request-changes", minutes=3)],
            False,
            "2 of 2: model-risk approved (alice), business-owner approved (bob); ben requested changes",
        ),
        (
            "High",
            [ALICE, decided("bob", BUSINESS_ROLE, "reject", minutes=3)],
            False,
            "1 of 2: model-risk approved (alice), business-owner pending; bob rejected",
        ),
        # A person's latest decision is theirs: approval after a request for changes counts.
        (
            "High",
            [ALICE, decided("bob", BUSINESS_ROLE, "request-changes"), decided("bob", BUSINESS_ROLE, minutes=9)],
            True,
            "2 of 2: model-risk approved (alice), business-owner approved (bob)",
        ),
        # ... and a request for changes after an approval withdraws it.
        (
            "High",
            [ALICE, BOB, decided("bob", BUSINESS_ROLE, "request-changes", minutes=9)],
            False,
            "1 of 2: model-risk approved (alice), business-owner pending; bob requested changes",
        ),
        # Without a source identity the hub cannot count people.
        (
            "Low",
            [decided(None, LEADS_ROLE)],
            False,
            "0 of 1: ml-leads pending; arn:aws:sts::111111111111:assumed-role/ml-leads/anonymous not counted "
            "(the hub cannot name the person)",
        ),
        # Someone outside the tier's groups is not counted.
        ("Low", [ALICE], False, "0 of 1: ml-leads pending; alice not counted (in no group of the Low tier)"),
        ("Low", [LEE], True, "1 of 1: ml-leads approved (lee)"),
        # Medium: two people, one of them model-risk; the second from the tier's groups.
        ("Medium", [ALICE], False, "1 of 2: model-risk approved (alice)"),
        (
            "Medium",
            [ALICE, decided("anna", MODEL_RISK_ROLE, minutes=1)],
            True,
            "2 of 2: model-risk approved (alice), also approved (anna)",
        ),
    ],
)
def test_verdicts(rating: str, decisions: list[Decision], effective: bool, text: str) -> None:
    verdict = evaluate(POLICY, 3, decisions, reviewed_rating=rating)
    assert (verdict.effective, verdict.text) == (effective, text)


def test_one_person_in_two_groups_fills_one_place_and_is_moved_to_free_another() -> None:
    policy = ApprovalPolicy(groups=POLICY.groups, tiers={"High": Tier(2, ("senior", "model-risk"))})
    # Carol (model-risk role, and named in senior) alone fills one place, not both.
    carol = decided("carol", MODEL_RISK_ROLE)
    alone = evaluate(policy, 3, [carol], reviewed_rating="High")
    assert (alone.effective, alone.text) == (False, "1 of 2: senior approved (carol), model-risk pending")
    # With Dave (senior only, through the business-owner role), Carol moves to model-risk.
    dave = decided("dave", BUSINESS_ROLE, minutes=1)
    both = evaluate(policy, 3, [carol, dave], reviewed_rating="High")
    assert (both.effective, both.text) == (True, "2 of 2: senior approved (dave), model-risk approved (carol)")


def test_a_named_person_counts_only_through_a_principal_of_the_group() -> None:
    # "carol" as a source identity on a role outside the group's principals is not senior.
    outside = decided("carol", LEADS_ROLE)
    policy = ApprovalPolicy(groups=POLICY.groups, tiers={"High": Tier(1, ("senior",))})
    verdict = evaluate(policy, 3, [outside], reviewed_rating="High")
    assert not verdict.effective
    assert "carol not counted (in no group of the High tier)" in verdict.text


def test_a_group_of_people_also_knows_them_by_session_name() -> None:
    policy = ApprovalPolicy(groups=POLICY.groups, tiers={"High": Tier(1, ("senior",))})
    by_session = Decision(3, "sid-7f3a", MODEL_RISK_ROLE, "approve", T0, caller_arn=session(MODEL_RISK_ROLE, "dave"))
    assert evaluate(policy, 3, [by_session], reviewed_rating="High").effective


def test_recorded_groups_count_only_while_the_policy_still_gives_them() -> None:
    recorded_more = Decision(3, "lee", LEADS_ROLE, "approve", T0, groups=frozenset({"ml-leads", "model-risk"}))
    assert evaluate(POLICY, 3, [recorded_more], reviewed_rating="Low").effective
    high = evaluate(POLICY, 3, [recorded_more, BOB], reviewed_rating="High")
    assert high.text == (
        "1 of 2: model-risk pending, business-owner approved (bob); lee not counted (in no group of the High tier)"
    )
    recorded_fewer = Decision(3, "alice", MODEL_RISK_ROLE, "approve", T0, groups=frozenset())
    assert not evaluate(POLICY, 3, [recorded_fewer, BOB], reviewed_rating="High").effective


def test_arn_patterns_match_part_by_part() -> None:
    # `*` does not reach across the ARN's colons into another account.
    group = Group((f"arn:aws:iam::{HUB}:role/*",))
    assert group.admits(LEADS_ROLE, "lee")
    assert not group.admits("arn:aws:iam::222222222222:role/ml-leads", "lee")
    assert not Group(("arn:aws:iam::*",)).admits(LEADS_ROLE, "lee")


def test_the_default_policy_is_one_person_of_the_approvers() -> None:
    policy = default_policy([REVIEWER_ROLE, LEADS_ROLE])
    reviewer = decided("erin", REVIEWER_ROLE)
    for rating in ("High", "Medium", "Low", "Unknown", None):
        verdict = evaluate(policy, 3, [reviewer], reviewed_rating=rating)
        assert (verdict.effective, verdict.text) == (True, "1 of 1: approvers approved (erin)")
    assert not evaluate(policy, 3, [ALICE], reviewed_rating="Low").effective
    assert review_state(policy, T0, T0 + timedelta(days=4000)).due is None


DAY = timedelta(days=1)
DUE = T0 + 365 * DAY


@pytest.mark.parametrize(
    ("now", "sent", "triggers", "due", "overdue", "reminders", "revert"),
    [
        (T0, [], [], DUE, False, [], False),
        (DUE - 31 * DAY, [], [], DUE, False, [], False),
        (DUE - 30 * DAY, [], [], DUE, False, ["before-30"], False),
        (DUE - 8 * DAY, ["before-30"], [], DUE, False, [], False),
        # A missed run sends every reminder that has come, oldest first.
        (DUE - 1 * DAY, [], [], DUE, False, ["before-30", "before-7"], False),
        (DUE, ["before-30", "before-7"], [], DUE, True, ["due"], True),
        (DUE + 7 * DAY, ["before-30", "before-7", "due"], [], DUE, True, ["after-7"], True),
        (DUE + 8 * DAY, ["before-30", "before-7", "due", "after-7"], [], DUE, True, [], True),
        # A newer version of the group approved restarts the interval.
        (DUE, [], [Trigger("new-version-approved", T0 + 100 * DAY)], DUE + 100 * DAY, False, [], False),
        # A content change makes the review due at once.
        (T0 + 10 * DAY, [], [Trigger("content-change", T0 + 10 * DAY)], T0 + 10 * DAY, True, ["due"], True),
        # Triggers before the approval are history.
        (T0, [], [Trigger("content-change", T0 - DAY)], DUE, False, [], False),
    ],
)
def test_review_state(
    now: datetime,
    sent: list[str],
    triggers: list[Trigger],
    due: datetime,
    overdue: bool,
    reminders: list[str],
    revert: bool,
) -> None:
    state = review_state(POLICY, T0, now, triggers=triggers, sent=sent)
    assert (state.due, state.overdue, [r.key for r in state.reminders], state.revert) == (
        due,
        overdue,
        reminders,
        revert,
    )


def test_triggers_the_policy_does_not_name_change_nothing() -> None:
    policy = ApprovalPolicy(groups=POLICY.groups, tiers=POLICY.tiers, review_interval_days=30, on_expiry="notify")
    state = review_state(policy, T0, T0 + 31 * DAY, triggers=[Trigger("new-version-approved", T0 + 20 * DAY)])
    assert (state.due, state.overdue, state.revert) == (T0 + 30 * DAY, True, False)


def entry(
    kind: str, person: str, principal: str = REVIEWER_ROLE, at: str = "2026-12-02T10:00:00+00:00"
) -> dict[str, str]:
    return {
        "Kind": kind,
        "Person": person,
        "Principal": principal,
        "Caller": session(principal, person),
        "At": "2026-12-02T10:00:00+00:00",
        "Reason": "drift incident",
    }


@pytest.mark.parametrize(
    ("entries", "suspended", "refused"),
    [
        ([], False, 0),
        ([entry("suspend", "erin")], True, 0),
        ([entry("suspend", "erin"), entry("reinstate", "erin")], False, 0),
        # Only the incident group suspends or reinstates; the others are reported.
        ([entry("suspend", "mallory")], False, 1),
        ([entry("suspend", "erin", LEADS_ROLE)], False, 1),
        ([entry("suspend", "erin"), entry("reinstate", "mallory")], True, 1),
        ([{"Kind": "status", "Status": "Approved"}, entry("suspend", "erin")], True, 0),
    ],
)
def test_suspension_state(entries: list[dict[str, str]], suspended: bool, refused: int) -> None:
    state = suspension_state(POLICY, entries)
    assert (state.suspended, len(state.refused)) == (suspended, refused)


def test_without_an_incident_group_nobody_suspends() -> None:
    state = suspension_state(default_policy([REVIEWER_ROLE]), [entry("suspend", "erin")])
    assert (state.suspended, state.refused) == (False, ("suspend by erin at 2026-12-02T10:00:00+00:00",))


def test_decision_entries_become_decisions() -> None:
    entries = [
        {"Kind": "status", "Version": "3", "Status": "PendingReview"},
        {
            "Kind": "decision",
            "Version": "3",
            "Person": "alice",
            "Principal": MODEL_RISK_ROLE,
            "Caller": session(MODEL_RISK_ROLE, "alice"),
            "Decision": "approve",
            "At": "2026-12-01T09:00:00+00:00",
            "Groups": "model-risk",
        },
        {
            "Kind": "decision",
            "Version": "3",
            "Person": "bob",
            "Principal": BUSINESS_ROLE,
            "Decision": "approve",
            "At": "2026-12-01T09:01:00+00:00",
        },
    ]
    decisions = decisions_from_entries(entries)
    assert [(d.person, d.groups) for d in decisions] == [("alice", frozenset({"model-risk"})), ("bob", None)]
    assert evaluate(POLICY, 3, decisions, reviewed_rating="High").effective


def test_lifecycle_stages() -> None:
    assert lifecycle_for(POLICY, "approved") == Stage("Production", "Approved")
    assert lifecycle_for(POLICY, "reverted") == Stage("Production", "Rejected")
    assert lifecycle_for(POLICY, "suspended") is None


def test_declared_tiers_reach_the_groups_version_cards() -> None:
    policy = ApprovalPolicy(
        groups=POLICY.groups,
        tiers=POLICY.tiers,
        card_tiers={"customer-churn": "Medium"},
        group_tiers={"customer-churn": "Medium", "fraud": "High"},
    )
    assert policy.declared_tier("customer-churn", None) == "Medium"
    assert policy.declared_tier("customer-churn-v4", "customer-churn") == "Medium"
    assert policy.declared_tier("fraud-v1", "fraud") == "High"
    assert policy.declared_tier("other-v1", "other") is None
    declared = policy.declared_tier("customer-churn-v4", "customer-churn")
    assert tier_rating(policy, "Low", None, declared) == "Medium"


def test_a_group_named_twice_needs_two_of_its_people() -> None:
    policy = ApprovalPolicy(groups=POLICY.groups, tiers={"High": Tier(2, ("model-risk", "model-risk"))})
    one = evaluate(policy, 3, [ALICE, decided("alice", MODEL_RISK_ROLE, minutes=4)], reviewed_rating="High")
    assert (one.effective, one.text) == (False, "1 of 2: model-risk approved (alice), model-risk pending")
    two = evaluate(policy, 3, [ALICE, decided("anna", MODEL_RISK_ROLE, minutes=4)], reviewed_rating="High")
    assert (two.effective, two.text) == (True, "2 of 2: model-risk approved (alice), model-risk approved (anna)")
