"""Approval tiers on the permission-enforcing emulator: a High-risk card needs a model-risk and a
business-owner approval of exactly its version before the hub sets it Approved; request changes,
reject, periodic review with expiry, and suspension by the incident group."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_workflow import HUB, REVIEWER_ROLE, SPOKE, Governance, call_url, drain, edit, queue

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow import handler as workflow_handler
from card_workflow.ledger import verify_table
from card_workflow.reviews import sweep_reviews
from governance_report import findings as report_findings
from governance_report.sources import ReportSettings
from governance_report.sources import describe_card as report_card

CARD = "churn-111111111111-v1"
STAGE_KEY, STAGE_STATUS_KEY = "sagemaker:ModelLifeCycle:stage", "sagemaker:ModelLifeCycle:stageStatus"
POLICY = {
    "groups": {
        "model-risk": {"principals": [REVIEWER_ROLE], "people": ["alice@example.com", "dave@example.com"]},
        "business-owner": {"principals": [REVIEWER_ROLE], "people": ["bob@example.com"]},
        "incident": {"principals": [REVIEWER_ROLE], "people": ["carol@example.com"]},
    },
    "tiers": {
        "High": {"people": 2, "groups": ["model-risk", "business-owner"]},
        "Medium": {"people": 1, "groups": ["model-risk"]},
        "Low": {"people": 1, "groups": ["model-risk"]},
    },
    "review_interval_days": 30,
    "on_expiry": "revert",
    "remind_days_before": [7],
    "incident_group": "incident",
    "on_approval": {"stage": "Production", "stage_status": "Approved"},
    "on_revert": {"stage": "Staging", "stage_status": "PendingApproval"},
    "on_suspension": {"stage": "Staging", "stage_status": "Suspended"},
}


class Tiers(Governance):
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("APPROVAL_POLICY", json.dumps(POLICY))
        monkeypatch.setenv("ARCHIVED_REJECTS_PACKAGE", "true")
        super().__init__(monkeypatch)
        from emulator.sessions import role_session

        # Each person through the reviewer role, named as its trust policy demands.
        self.people = {"alice": self.reviewer}
        for name in ("bob", "dave", "carol"):
            person = f"{name}@example.com"
            self.people[name] = role_session(
                HUB, "model-card-governance-reviewer", session_name=person, SourceIdentity=person
            )

    def by(self, name: str, decision: str = "approve", comment: str = "Reviewed", version: int = 0) -> tuple[int, Any]:
        payload = {
            "card": CARD,
            "version": version or self.status_of(CARD)[0],
            "decision": decision,
            "comment": comment,
        }
        return call_url(self.decision_url, self.people[name], payload)

    def package(self, arn: str) -> dict[str, Any]:
        described: dict[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return described

    def kinds(self, kind: str) -> list[dict[str, str]]:
        return [e for e in self.ledger(CARD) if e["Kind"] == kind]


def report_row(
    gov: Tiers,
    now: datetime | None = None,
    *,
    card_name: str = CARD,
    version: int = 1,
    model_rating: str | None = None,
) -> report_findings.Row:
    """The governance report's row for a card (its approval policy columns); `model_rating` as the
    report reads it from the link table (sources.read_links)."""
    from card_workflow.tiers import policy_from_environment

    settings = ReportSettings(
        hub_account=HUB,
        region="us-east-1",
        ledger_table="ledger",
        link_table="card-links",
        evidence_bucket="evidence-bucket",
        spoke_accounts=(),
        registry_role_name="reader",
        policy=policy_from_environment(json.dumps(POLICY)),
    )
    row = report_findings.Row(HUB, "churn", version, "arn", "PendingManualApproval")
    card = report_card(gov.sagemaker, card_name)
    when = now or datetime.now(UTC)
    report_findings.policy_columns(row, card, gov.ledger(card_name), settings, when, model_rating)
    return row


def summary_of(row: report_findings.Row) -> dict[str, int]:
    report = report_findings.Report("", HUB, [HUB], 14, [row], [])
    return report.summary["approval_policy"]


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Tiers:
    return Tiers(monkeypatch)


def high_risk_in_review(gov: Tiers, change: dict[str, Any] | None = None) -> str:
    package = gov.register(gov.hub, "churn")
    edit(gov, CARD, {"intended_uses": {"risk_rating": "High"}, **(change or {})})
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    gov.notices_received()
    return package


def approve_fully(gov: Tiers) -> None:
    for name in ("alice", "bob"):
        assert gov.by(name)[0] == 200
    gov.run(gov.hub_events())


def test_a_high_risk_card_needs_both_groups_and_two_people(gov: Tiers) -> None:
    package = high_risk_in_review(gov)
    version = gov.status_of(CARD)[0]

    status, answer = gov.by("alice")
    assert status == 200
    assert answer["policy"] == "1 of 2: model-risk approved (alice@example.com), business-owner pending"
    assert gov.status_of(CARD) == (version, "PendingReview")
    assert gov.package(package)["ModelApprovalStatus"] == "PendingManualApproval"
    [notice] = gov.notices_received()
    assert "1 of 2: model-risk approved (alice@example.com), business-owner pending" in notice["Message"]
    assert [e["Detail"] for e in gov.kinds("partial-approval")] == [answer["policy"]]
    row = report_row(gov)
    assert (row.tier, row.missing, row.suspended) == ("High", ["business-owner"], False)
    [decided] = row.decisions
    assert decided.startswith("alice@example.com (20")
    assert summary_of(row) == {"partially approved": 1, "overdue": 0, "suspended": 0}
    from governance_report.render import html_page

    page = html_page(report_findings.Report("", HUB, [HUB], 14, [row], []))
    assert "<div>business-owner pending</div>" in page and "<dt>partially approved</dt><dd>1</dd>" in page

    # The same person twice is one decision; two people of one group fill one group's place.
    assert gov.by("alice")[1]["outcome"] == "already recorded"
    status, answer = gov.by("dave")
    assert answer["policy"] == (
        "1 of 2: model-risk approved (alice@example.com), business-owner pending, also approved (dave@example.com)"
    )
    assert gov.status_of(CARD) == (version, "PendingReview")
    assert gov.hub_events() == []  # no status change at all
    assert gov.package(package)["ModelApprovalStatus"] == "PendingManualApproval"

    status, answer = gov.by("bob")
    assert (status, answer["policy"]) == (
        200,
        "2 of 2: model-risk approved (alice@example.com), business-owner approved (bob@example.com), "
        "also approved (dave@example.com)",
    )
    assert gov.status_of(CARD) == (version, "Approved")
    [outcome] = gov.run(gov.hub_events())
    assert f"package {package} set Approved (stage Production/Approved)" in outcome
    described = gov.package(package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ModelLifeCycle"]["Stage"] == "Production"
    assert described["ModelLifeCycle"]["StageStatus"] == "Approved"
    decisions = gov.kinds("decision")
    assert [(d["Person"], d["Version"]) for d in decisions] == [
        ("alice@example.com", str(version)),
        ("dave@example.com", str(version)),
        ("bob@example.com", str(version)),
    ]
    [effective] = gov.kinds("approval-effective")
    assert effective["Policy"].startswith("High tier: 2 of 2")
    assert verify_table(gov.dynamodb, "ledger").broken == ()


def test_an_approved_status_without_the_tier_is_refused_by_the_workflow(gov: Tiers) -> None:
    package = high_risk_in_review(gov)
    assert gov.by("alice")[0] == 200
    # A reviewer sets the status directly: one approver is not the tier.
    gov.people["bob"].client("sagemaker").update_model_card(ModelCardName=CARD, ModelCardStatus="Approved")
    outcomes = gov.run(gov.hub_events())
    assert "approval refused" in outcomes[0] and "tier is not met" in outcomes[0], outcomes
    assert gov.status_of(CARD)[1] == "PendingReview"
    assert gov.package(package)["ModelApprovalStatus"] == "PendingManualApproval"


def test_a_content_edit_voids_partial_approvals_and_lowering_the_rating_keeps_the_higher_tier(gov: Tiers) -> None:
    high_risk_in_review(gov)
    assert gov.by("alice")[0] == 200
    edit(gov, CARD, {"business_details": {"business_problem": "Churn, revised"}})
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    # Alice's approval covered the version before the edit only.
    _, answer = gov.by("bob")
    assert answer["policy"] == "1 of 2: model-risk pending, business-owner approved (bob@example.com)"
    assert gov.status_of(CARD)[1] == "PendingReview"
    assert gov.by("alice")[0] == 200
    gov.run(gov.hub_events())
    assert len(gov.kinds("approval-effective")) == 1

    # Lowering the rating is reviewed at the tier it lowers from.
    edit(gov, CARD, {"intended_uses": {"risk_rating": "Low"}})
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    _, answer = gov.by("alice")
    assert answer["policy"] == "1 of 2: model-risk approved (alice@example.com), business-owner pending"
    assert gov.status_of(CARD)[1] == "PendingReview"


def test_the_report_shows_a_lowered_rating_at_the_tier_it_lowers_from(gov: Tiers) -> None:
    high_risk_in_review(gov)
    approve_fully(gov)
    [first] = gov.kinds("approval-effective")
    assert (first["RiskRating"], first["Tier"]) == ("High", "High")

    edit(gov, CARD, {"intended_uses": {"risk_rating": "Low"}})
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    row = report_row(gov)
    assert (row.tier, row.decisions, row.missing) == ("High", [], ["model-risk", "business-owner"])

    _, answer = gov.by("alice")
    assert answer["policy"] == "1 of 2: model-risk approved (alice@example.com), business-owner pending"
    row = report_row(gov)
    assert (row.tier, row.missing, len(row.decisions)) == ("High", ["business-owner"], 1)
    assert summary_of(row)["partially approved"] == 1

    assert gov.by("bob")[0] == 200
    gov.run(gov.hub_events())
    row = report_row(gov)
    assert (row.tier, row.missing, len(row.decisions)) == ("High", [], 2)
    # The new version was approved at its own rating under the tier it lowered from.
    second = gov.kinds("approval-effective")[-1]
    assert (second["RiskRating"], second["Tier"], second["Policy"][:14]) == ("Low", "High", "High tier: 2 o")


def test_request_changes_returns_the_card_to_draft_and_reject_archives_it(gov: Tiers) -> None:
    package = high_risk_in_review(gov)
    version = gov.status_of(CARD)[0]
    assert gov.by("alice", "request-changes", comment="")[0] == 400  # a comment is required
    status, answer = gov.by("alice", "request-changes", comment="Add the fairness evaluation")
    assert (status, answer["status"]) == (200, "Draft")
    assert gov.status_of(CARD) == (version, "Draft")
    [decision] = gov.kinds("decision")
    assert (decision["Decision"], decision["Comment"]) == ("request-changes", "Add the fairness evaluation")
    gov.run(gov.hub_events())

    gov.run(gov.set_status(CARD, "PendingReview"))
    status, answer = gov.by("bob", "reject", comment="Not fit for retail use")
    assert (status, answer["status"]) == (200, "Archived")
    outcomes = gov.run(gov.hub_events())
    assert f"package {package} set Rejected" in outcomes[-1], outcomes
    assert gov.package(package)["ModelApprovalStatus"] == "Rejected"
    [archived] = gov.kinds("archive-effective")
    assert archived["Person"] == "bob@example.com"
    assert any("rejected" in n["Subject"] for n in gov.notices_received())


def spoke_inbox(gov: Tiers) -> str:
    """The spoke's own rule on its default bus, putting the hub's review decisions on a queue."""
    inbox, inbox_arn = queue(gov.spoke, "review-inbox")
    spoke_events = gov.spoke.client("events")
    spoke_events.put_rule(Name="reviews", EventPattern=json.dumps({"source": ["model-card-governance"]}))
    spoke_events.put_targets(Rule="reviews", Targets=[{"Id": "q", "Arn": inbox_arn}])
    return inbox


def test_the_spoke_that_owns_the_card_receives_the_requested_changes_on_its_bus(gov: Tiers) -> None:
    inbox = spoke_inbox(gov)
    card = "spoke-churn-222222222222-v1"
    gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    payload = {"card": card, "version": 1, "decision": "request-changes", "comment": "Add the fairness evaluation"}
    status, answer = call_url(gov.decision_url, gov.people["alice"], payload)
    assert (status, answer["status"]) == (200, "Draft")
    outcomes = gov.run(gov.hub_events())
    assert outcomes == [f"recorded=True; changes requested by alice@example.com: spoke {SPOKE} told"]
    [message] = drain(gov.spoke.client("sqs"), inbox)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("model-card-governance", "Model Card Review Decision")
    assert event["detail"] == {
        "version": 1,
        "decision": "request-changes",
        "comment": "Add the fairness evaluation",
        "person": "alice@example.com",
        "account": SPOKE,
        "card": card,
    }
    # A second delivery of the Draft event tells the spoke nothing new.
    entries = [e for e in gov.ledger(card) if e["Kind"] == "spoke-told"]
    assert len(entries) == 1


def test_an_expired_approval_is_reverted_once(gov: Tiers) -> None:
    package = high_risk_in_review(gov)
    approve_fully(gov)
    settings = workflow_handler.settings_from_environment()

    def sweep(days: int) -> list[str]:
        return sweep_reviews(
            datetime.now(UTC) + timedelta(days=days),
            sagemaker=gov.sagemaker,
            dynamodb=gov.dynamodb,
            sns=gov.clients["sns"],
            sts=gov.clients["sts"],
            settings=settings,
        )

    assert "reminder" not in " ".join(sweep(1))
    [done] = sweep(24)
    assert "reminder before-7: notice sent" in done
    assert gov.package(package)["ModelApprovalStatus"] == "Approved"
    assert not report_row(gov).overdue
    row = report_row(gov, datetime.now(UTC) + timedelta(days=31))
    assert row.overdue and row.review_due and summary_of(row)["overdue"] == 1
    [done] = sweep(31)
    assert "PendingManualApproval (stage Staging/PendingApproval)" in done and "card back to PendingReview" in done
    described = gov.package(package)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelLifeCycle"]["Stage"] == "Staging"
    modified = described["LastModifiedTime"]
    [done] = sweep(32)  # once: a later sweep changes nothing
    assert "set" not in done.split(":", 1)[1]
    assert gov.package(package)["LastModifiedTime"] == modified
    assert len(gov.kinds("review-expired")) == 1 and len(gov.kinds("review-overdue")) == 1
    assert gov.status_of(CARD)[1] == "PendingReview"
    # The decisions made before the expiry no longer count: both decide again.
    _, answer = gov.by("alice")
    assert answer["policy"].startswith("1 of 2")
    assert gov.by("bob")[0] == 200
    outcomes = gov.run(gov.hub_events())
    assert any("set Approved" in o for o in outcomes), outcomes


def test_the_review_sweep_finds_the_effective_approvals_through_the_ledgers_sparse_index(gov: Tiers) -> None:
    from card_workflow.ledger import EFFECTIVE_INDEX, EFFECTIVE_KEY, EFFECTIVE_VALUE, append_entry
    from card_workflow.reviews import approved_cards

    high_risk_in_review(gov)
    approve_fully(gov)
    entries = gov.ledger(CARD)
    card_arn = entries[0]["CardArn"]
    [effective] = gov.kinds("approval-effective")
    assert effective[EFFECTIVE_KEY] == EFFECTIVE_VALUE
    assert all(EFFECTIVE_KEY not in e for e in entries if e["Kind"] != "approval-effective")
    indexed = gov.dynamodb.query(
        TableName="ledger",
        IndexName=EFFECTIVE_INDEX,
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": EFFECTIVE_KEY},
        ExpressionAttributeValues={":v": {"S": EFFECTIVE_VALUE}},
    )["Items"]
    assert [i["EntryKey"]["S"] for i in indexed] == [effective["EntryKey"]]  # one of the card's entries
    assert len(entries) > len(indexed)

    # Every page of the index is read.
    others = [card_arn.replace(CARD, f"other-{n}") for n in range(2)]
    for other in others:
        append_entry(
            gov.dynamodb,
            "ledger",
            other,
            "00000001#x#approval-effective",
            {"Kind": "approval-effective", EFFECTIVE_KEY: EFFECTIVE_VALUE, "Version": "1"},
        )

    class OneItemPages:
        calls = 0

        def query(self, **kwargs: Any) -> Any:
            OneItemPages.calls += 1
            return gov.dynamodb.query(**kwargs, Limit=1)

    assert approved_cards(OneItemPages(), "ledger") == sorted([card_arn, *others])
    assert OneItemPages.calls >= 3


def test_suspension_by_the_incident_group_and_its_lifting(gov: Tiers) -> None:
    package = high_risk_in_review(gov)
    approve_fully(gov)
    gov.notices_received()
    # Only the incident group suspends.
    status, answer = gov.by("alice", "suspend", comment="Drift incident")
    assert status == 403 and gov.kinds("decision-refused")[-1]["Decision"] == "suspend"

    status, answer = gov.by("carol", "suspend", comment="Drift incident INC-7")
    assert (status, answer["status"]) == (200, "suspended")
    assert gov.status_of(CARD)[1] == "PendingReview"
    assert gov.run_rechecks() == [CARD]
    described = gov.package(package)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert (described["ModelLifeCycle"]["Stage"], described["ModelLifeCycle"]["StageStatus"]) == (
        "Staging",
        "Suspended",
    )
    assert report_row(gov).suspended
    [suspended] = gov.kinds("suspended")
    assert (suspended["Person"], suspended["Reason"]) == ("carol@example.com", "Drift incident INC-7")
    assert any("suspended" in n["Subject"] for n in gov.notices_received())
    gov.run(gov.hub_events())

    # No approval while suspended; once reinstated, a new approval under the tier is needed.
    assert gov.by("alice")[0] == 409
    assert gov.by("carol", "reinstate", comment="Resolved")[0] == 200
    drain(gov.sqs, gov.recheck)
    status, answer = gov.by("alice")
    assert answer["policy"] == "1 of 2: model-risk approved (alice@example.com), business-owner pending"
    assert gov.by("bob")[0] == 200
    outcomes = gov.run(gov.hub_events())
    assert any("set Approved (stage Production/Approved)" in o for o in outcomes), outcomes
    kinds = [e["Kind"] for e in gov.ledger(CARD) if e["Kind"] in ("decision", "suspend", "suspended", "reinstate")]
    assert kinds == ["decision", "decision", "suspend", "suspended", "reinstate", "decision", "decision"]
    assert verify_table(gov.dynamodb, "ledger").broken == ()


def test_the_hub_stack_hands_the_documented_policy_to_its_functions_within_their_environment_quota(
    tmp_path: Any,
) -> None:
    import copy

    from aws_cdk import App, Environment
    from aws_cdk.assertions import Match, Template

    from aws_quotas import FUNCTION_ENVIRONMENT, measure_assembly
    from governance_config import parse_config
    from stacks.hub_stack import HubStack
    from tests.docs_pages import blocks, page, section
    from tests.test_scale import context

    (shown,) = blocks(section(page("configure"), "The approval policy"), "json")
    raw = json.loads((ROOT / "config" / "example.json").read_text())
    config = parse_config({**copy.deepcopy(raw), **json.loads(shown.body)})
    app = App(outdir=str(tmp_path), context=context())
    stack = HubStack(app, "Hub", config=config, env=Environment(account=config.hub_account, region=config.region))
    app.synth()
    template = Template.from_stack(stack)
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Environment": {"Variables": {"APPROVAL_POLICY": config.approval_policy_json}}}},
    )
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == [
        "card_workflow.handler.decide",
        "card_workflow.handler.follow_exports",
        "card_workflow.handler.handler",
        "governance_report.handler.handler",
    ]
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 day)", "Targets": Match.any_value()}
    )
    sizes = [m for m in measure_assembly(tmp_path) if m.quota is FUNCTION_ENVIRONMENT]
    assert sizes and all(not m.exceeded for m in sizes)
    # The workflow role sets the hub's packages to the documented stages only, each with its status.
    [role_id] = template.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "model-card-governance-approval-workflow"}}
    )
    stages = [
        (s["Condition"]["StringEquals"].get(STAGE_KEY), s["Condition"]["StringEquals"].get(STAGE_STATUS_KEY))
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sagemaker:UpdateModelPackage"
    ]
    assert stages == [(None, None), ("Production", "Approved"), ("Production", "Rejected"), ("Production", "Suspended")]


def test_a_newer_package_version_approved_in_the_same_group_is_a_re_review_trigger() -> None:
    from card_workflow.reviews import Approval, newer_versions_approved

    def approval(name: str, day: int) -> Approval:
        at = datetime(2026, 1, day, tzinfo=UTC)
        return Approval(f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{name}", name, 2, "k", at, "")

    v1, v2 = approval("churn-222222222222-v1", 1), approval("churn-222222222222-v2", 20)
    other_group = approval("fraud-222222222222-v9", 25)
    [trigger] = newer_versions_approved(v1, [v1, v2, other_group, None])
    assert (trigger.kind, trigger.at) == ("new-version-approved", v2.approved_at)
    assert newer_versions_approved(v2, [v1, v2, other_group]) == []


def test_a_spoke_package_gets_its_stage_through_the_approval_sync_role(gov: Tiers) -> None:
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    for name in ("alice", "bob"):
        payload = {"card": card, "version": 1, "decision": "approve", "comment": "Reviewed"}
        assert call_url(gov.decision_url, gov.people[name], payload)[0] == 200
    [outcome] = gov.run(gov.hub_events())
    assert f"package {package} set Approved (stage Production/Approved)" in outcome
    described = gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert (described["ModelLifeCycle"]["Stage"], described["ModelLifeCycle"]["StageStatus"]) == (
        "Production",
        "Approved",
    )
