"""Approvers' decisions through the hub's decision endpoint (a function URL with AuthType AWS_IAM),
against the emulator: the decision covers exactly the version decided on, the person is named, and
what the hub cannot attribute to a decision on the version is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_deployed_attacks import POWER_USER_ACCESS
from tests.test_workflow import HUB, Governance, call_url, drain, edit

CARD = "churn-111111111111-v1"


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


def in_review(gov: Governance, session: Any = None) -> str:
    package = gov.register(session or gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    gov.notices_received()
    return package


def kinds(gov: Governance, kind: str) -> list[dict[str, str]]:
    return [e for e in gov.ledger(CARD) if e["Kind"] == kind]


def test_a_spoke_cannot_hijack_a_decision_by_writing_a_new_version_right_after_it(gov: Governance) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    card = "spoke-churn-222222222222-v1"
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    status, answer = gov.decide(card, 1)
    assert (status, answer["outcome"], answer["person"]) == (200, "recorded", "alice@example.com")
    decided = gov.hub_events()
    # Within a second of the decision: v1 back to review, v2 written, v2 set Approved.
    spoke = gov.spoke.client("sagemaker")
    arn = gov.card_arn(card)
    spoke.update_model_card(ModelCardName=arn, ModelCardStatus="PendingReview")
    edit(gov, card, {"intended_uses": {"risk_rating": "Low"}}, by=gov.spoke)
    spoke.update_model_card(ModelCardName=arn, ModelCardStatus="Approved")
    hijack = gov.hub_events()
    outcomes = gov.run(decided + hijack)
    assert f"package {package} set Approved" not in " ".join(outcomes[1:]), outcomes
    assert gov.status_of(card) == (2, "PendingReview")
    refused = [e for e in gov.ledger(card) if e["Kind"] == "approval-refused"]
    assert [e["Version"] for e in refused] == ["2"]
    # v1 had moved on before its Approved status was looked at: neither version approved anything.
    assert [e for e in gov.ledger(card) if e["Kind"] == "approval-effective"] == []
    assert spoke.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "PendingManualApproval"
    assert [k for k in gov.evidence() if "/v2/" in k] == []
    notice = next(n for n in gov.notices_received() if n["Subject"].endswith("v2 refused"))
    assert f"scripts/review approve {card} --version <current version>" in notice["Message"]


def test_a_hub_developer_calling_the_endpoint_is_refused_and_recorded(gov: Governance) -> None:
    from emulator.sessions import role_session

    package = in_review(gov)
    iam = gov.hub.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="developer", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="developer", PolicyName="PowerUserAccess", PolicyDocument=json.dumps(POWER_USER_ACCESS)
    )
    developer = role_session(HUB, "developer", session_name="dev")
    status, answer = gov.decide(CARD, by=developer)
    assert status == 403
    assert answer["reason"] == f"arn:aws:iam::{HUB}:role/developer is not an approver"
    [entry] = kinds(gov, "decision-refused")
    assert entry["Caller"] == f"arn:aws:sts::{HUB}:assumed-role/developer/dev"
    assert gov.status_of(CARD) == (1, "PendingReview") and kinds(gov, "decision") == []
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )


def test_a_spoke_principal_gets_403_from_the_function_url(gov: Governance) -> None:
    in_review(gov)
    status, answer = call_url(gov.decision_url, gov.spoke, {"card": CARD, "version": 1, "decision": "approve"})
    assert (status, answer) == (403, {"Message": "Forbidden"})
    assert kinds(gov, "decision") == kinds(gov, "decision-refused") == []
    assert gov.status_of(CARD) == (1, "PendingReview")


def test_a_decision_on_a_stale_version_is_refused(gov: Governance) -> None:
    in_review(gov)
    edit(gov, CARD, {"intended_uses": {"risk_rating": "Low"}})  # version 2, still in review
    gov.run(gov.hub_events())
    status, answer = gov.decide(CARD, 1)
    assert status == 409
    assert answer["reason"] == "version 2 is current, you decided on 1: decide again on version 2"
    [entry] = kinds(gov, "decision-refused")
    assert entry["Version"] == "1" and entry["Person"] == "alice@example.com"
    assert gov.status_of(CARD) == (2, "PendingReview")


def test_one_person_deciding_twice_counts_once(gov: Governance) -> None:
    in_review(gov)
    assert gov.decide(CARD)[1]["outcome"] == "recorded"
    assert gov.decide(CARD)[1]["outcome"] == "already recorded"  # the card is Approved: a retry
    gov.run(gov.hub_events())
    assert len(kinds(gov, "decision")) == 1
    assert [e["Person"] for e in kinds(gov, "approval-effective")] == ["alice@example.com"]


def test_the_gate_lets_the_workflows_approval_stand_when_an_edit_follows_at_once(gov: Governance) -> None:
    package = in_review(gov)
    gov.run(gov.set_status(CARD, "Approved"))
    edit(gov, CARD, {"intended_uses": {"risk_rating": "Low"}}, by=gov.spoke)  # before the gate runs
    events = [json.loads(m["Body"]) for m in drain(gov.sqs, gov.events_queue)]
    gov.run([e for e in events if e["detail-type"] == "SageMaker Model Card State Change"])
    assert gov.status_of(CARD) == (2, "PendingReview")  # the edit is refused
    [approval] = [e for e in events if e["detail-type"] == "SageMaker Model Package State Change"]
    assert gov.run([approval]) == [f"package {package} approved by the workflow with card {CARD} v1: approval stands"]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    # The same package approved by hand afterwards is another change: reverted as before.
    gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="PendingManualApproval")
    gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    by_hand = gov.hub_events("SageMaker Model Package State Change")[-1]
    assert gov.run([by_hand]) == [f"reverted {package}: model card {CARD} is PendingReview"]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )


def test_scripts_review_prints_the_hubs_answer_in_one_line(gov: Governance, capsys: pytest.CaptureFixture[str]) -> None:
    from card_workflow import review_cli

    from emulator import function_urls

    in_review(gov)
    url = "https://decisionsurl0000.lambda-url.us-east-1.on.aws/"

    def send(method: str, address: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        status, _, answer = function_urls.invoke(gov.decision_url, method, address, headers, body)
        return status, answer

    def review(version: str, session: Any = None) -> int:
        argv = ["approve", CARD, "--version", version, "--comment", "Reviewed", "--url", url]
        return review_cli.main(argv, session=session or gov.reviewer, send=send)

    assert review("2") == 1
    assert capsys.readouterr().out == "refused: version 1 is current, you decided on 2: decide again on version 1\n"
    assert review("1") == 0
    assert capsys.readouterr().out == (
        f"recorded: {CARD} v1 approve by alice@example.com; Approved; the workflow makes it effective once it has "
        "checked who wrote the version\n"
    )
    assert review("1", session=gov.spoke) == 1
    assert capsys.readouterr().out == (
        "refused: Forbidden (the function URL refused the signed request: no permission to invoke it)\n"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["approve", "not a card", "--version", "1", "--comment", "c"], "card 'not a card' is not a model card name"),
        (["approve", CARD, "--version", "two", "--comment", "c"], "--version 'two' is not a positive integer"),
        (["approve", CARD, "--version", "1", "--comment", " "], "--comment is empty: say why"),
        (
            ["approve", CARD, "--version", "1", "--comment", "c", "--url", "ftp://hub"],
            "--url 'ftp://hub' is not an https URL",
        ),
    ],
)
def test_scripts_review_refuses_bad_input_in_one_line(argv: list[str], error: str) -> None:
    import os
    import subprocess

    from tests.conftest import ROOT

    env = {**os.environ, "DECISION_URL": "https://decisionsurl0000.lambda-url.us-east-1.on.aws/"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "review"), *argv], capture_output=True, text=True, timeout=60, env=env
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"review: {error}\n")


def test_the_gate_knows_the_workflows_package_change_by_its_time_at_the_events_precision() -> None:
    from card_workflow.workflow import approved_by_workflow

    package = "arn:aws:sagemaker:us-east-1:222222222222:model-package/churn/1"
    approval = "00000002#2026-12-03T10:00:00.123Z#Approved#approval-effective"
    entries = [
        {"EntryKey": approval, "Kind": "approval-effective", "Version": "2", "Package": package},
        {
            "EntryKey": "package#00000001#2026-12-03T10:00:01.456789+00:00#approved",
            "Kind": "package-approved",
            "Version": "2",
            "Package": package,
            "PackageModifiedAt": "2026-12-03T10:00:01.456789+00:00",
            "Approval": approval,
        },
    ]
    # AWS's sample package event has whole seconds; DescribeModelPackage has fractions.
    assert approved_by_workflow(entries, package, "2026-12-03T10:00:01Z") == 2
    assert approved_by_workflow(entries, package, "2026-12-03T10:00:01.456Z") == 2
    assert approved_by_workflow(entries, package, "2026-12-03T10:00:02Z") is None  # a later change
    assert approved_by_workflow(entries, package.replace("/1", "/2"), "2026-12-03T10:00:01Z") is None
    assert approved_by_workflow(entries[1:], package, "2026-12-03T10:00:01Z") is None  # no effective approval


def test_a_cloudtrail_record_counts_for_a_version_only_when_it_provably_came_after_its_last_change() -> None:
    from datetime import UTC, datetime, timedelta

    from card_workflow import attribution

    reviewer = f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"
    changed = datetime(2026, 12, 3, 10, 0, 0, 400_000, tzinfo=UTC)  # v3 written at .4 s

    def judge(recorded_at: datetime) -> attribution.Verdict:
        call = attribution.CardCall(
            "e", "UpdateModelCard", recorded_at, reviewer, f"{reviewer}/alice", "Approved", False, "alice@example.com"
        )
        return attribution.judge_approval(
            [call],
            approvers=frozenset({reviewer}),
            version=3,
            reviewed=True,
            author_calls=[],
            approver_may_not_edit=False,
            new_version=False,
            previous_change=changed,
        )

    # eventTime has whole seconds: 10:00:00 or 10:00:01 may be a call made before .4 s.
    for second in (0, 1):
        verdict = judge(changed.replace(microsecond=0) + timedelta(seconds=second))
        assert verdict.outcome == "refused" and "does not prove the call came after version 3" in verdict.reason
    assert judge(changed.replace(microsecond=0) + timedelta(seconds=2)).outcome == "effective"
