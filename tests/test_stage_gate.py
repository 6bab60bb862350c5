"""The approval policy's deployable lifecycle stage (`on_approval`) is an approval too: set on a
package by anyone but the workflow, for a card without an effective approval, the gate puts the
package back (status and `on_revert` stage), records it in the card's ledger and tells reviewers.
On the permission-enforcing emulator, as the spoke's administrator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_approval_tiers import Tiers, approve_fully, high_risk_in_review
from tests.test_workflow import SPOKE, drain, queue

PACKAGE_EVENT = "SageMaker Model Package State Change"
CARD = "spoke-churn-222222222222-v1"


class Forwarded(Tiers):
    """The harness with the spoke's package events collected, as its forwarding rule sends them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        self.spoke_queue, arn = queue(self.spoke, "spoke-events")
        events = self.spoke.client("events")
        events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_targets(Rule="forward", Targets=[{"Id": "q", "Arn": arn}])

    def spoke_events(self) -> list[dict[str, Any]]:
        found = [json.loads(m["Body"]) for m in drain(self.spoke.client("sqs"), self.spoke_queue)]
        return [e for e in found if e["detail-type"] == PACKAGE_EVENT]


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Forwarded:
    return Forwarded(monkeypatch)


def stage(gov: Tiers, package: str) -> tuple[str, str, str]:
    described = gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)
    life_cycle = described.get("ModelLifeCycle") or {}
    return described["ModelApprovalStatus"], life_cycle.get("Stage", ""), life_cycle.get("StageStatus", "")


def test_the_deployable_stage_set_in_the_spoke_without_an_approval_is_reverted(gov: Forwarded) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    assert gov.run(gov.spoke_events()) == ["not an approval"]  # its registration
    gov.notices_received()
    # The spoke's administrator (no guardrail SCP here) marks the version deployable by its stage
    # alone; its approval status stays PendingManualApproval.
    gov.spoke.client("sagemaker").update_model_package(
        ModelPackageArn=package, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"}
    )
    [outcome] = gov.run(gov.spoke_events())
    assert outcome == f"reverted {package}: model card {CARD} is Draft"
    assert stage(gov, package) == ("PendingManualApproval", "Staging", "PendingApproval")
    [entry] = [e for e in gov.ledger(CARD) if e["Kind"] == "package-approval-reverted"]
    assert (entry["Package"], entry["Reason"]) == (package, f"model card {CARD} is Draft")
    [notice] = gov.notices_received()
    assert notice["Subject"] == "Approval of spoke-churn v1 reverted"
    assert "was set to stage Production/Approved" in notice["Message"]
    assert "back in PendingManualApproval and stage Staging/PendingApproval" in notice["Message"]
    # The gate's own revert is no approval: it passes without another change.
    assert gov.run(gov.spoke_events()) == ["not an approval"]
    assert stage(gov, package) == ("PendingManualApproval", "Staging", "PendingApproval")


def test_another_stage_is_not_an_approval(gov: Forwarded) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.spoke_events())
    gov.spoke.client("sagemaker").update_model_package(
        ModelPackageArn=package, ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"}
    )
    assert gov.run(gov.spoke_events()) == ["not an approval"]
    assert stage(gov, package) == ("PendingManualApproval", "Development", "InProgress")
    assert not [e for e in gov.ledger(CARD) if e["Kind"] == "package-approval-reverted"]


def test_the_stage_of_an_effective_approval_stands(gov: Forwarded) -> None:
    package = high_risk_in_review(gov)
    approve_fully(gov)
    outcomes = gov.run(gov.hub_events(PACKAGE_EVENT))
    assert outcomes and all("approval stands" in o for o in outcomes), outcomes
    described = gov.package(package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ModelLifeCycle"]["Stage"] == "Production"
    assert SPOKE not in package  # a hub package: the workflow sets it with its own role
