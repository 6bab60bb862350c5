"""The approval gate's reverts are part of the card's history: recorded once in the ledger, told once."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT
from tests.test_workflow import Governance

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow.ledger import verify_card


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


def test_a_reverted_package_approval_is_recorded_and_told_once_however_often_delivered(gov: Governance) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    [manual] = gov.hub_events("SageMaker Model Package State Change")
    reverted = f"reverted {package}: model card churn-111111111111-v1 is Draft"
    # EventBridge delivers the approval twice; the second finds the package already sent back.
    assert gov.run([manual, manual]) == [reverted, reverted]

    [entry] = [e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "package-approval-reverted"]
    assert (entry["Package"], entry["Reason"], entry["Version"]) == (
        package,
        "model card churn-111111111111-v1 is Draft",
        "1",
    )
    assert entry["EventId"] == manual["id"]
    notices = [n["Subject"] for n in gov.notices_received()]
    assert notices == ["Approval of churn v1 reverted"]
    # The revert's entries join the card's hash chain like every other entry.
    card_arn = gov.card_arn("churn-111111111111-v1")
    items = gov.dynamodb.scan(TableName="ledger")["Items"]
    plain = [{k: v["S"] for k, v in i.items()} for i in items if i["CardArn"]["S"] == card_arn]
    assert verify_card(card_arn, plain) is None


def test_a_second_hand_approval_is_a_second_revert(gov: Governance) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    for _ in range(2):
        gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
        [manual] = gov.hub_events("SageMaker Model Package State Change")
        gov.run([manual])
        gov.run(gov.hub_events("SageMaker Model Package State Change"))  # the revert's own event
    reverts = [e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "package-approval-reverted"]
    assert len(reverts) == 2
    assert [n["Subject"] for n in gov.notices_received()] == ["Approval of churn v1 reverted"] * 2
