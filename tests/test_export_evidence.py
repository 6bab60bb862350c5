"""The approved version's PDF: recorded from the export job's own state change event, verified with
DescribeModelCardExportJob, once whatever the delivery; the delayed follow-up look is the fallback
for an event that is lost. Against the permission-evaluating emulator (the `aws` fixture)."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_workflow import HUB, Governance, drain, gov  # noqa: F401 - gov is a fixture

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow.evidence import ExpectedExport, hinted_export_card, judge_export

CARD = "churn-111111111111-v1"


def approved(gov: Governance) -> list[dict[str, Any]]:  # noqa: F811
    """A hub card, reviewed and approved by the reviewer; returns its export job's events."""
    gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status(CARD, "PendingReview"))
    [outcome] = gov.run(gov.set_status(CARD, "Approved"))
    assert "export approved-v1-" in outcome
    return gov.export_events()


def kinds(gov: Governance, kind: str) -> list[dict[str, str]]:  # noqa: F811
    return [e for e in gov.ledger(CARD) if e["Kind"] == kind]


def jobs(gov: Governance) -> dict[str, Any]:  # noqa: F811
    from moto.sagemaker.models import sagemaker_backends

    from emulator.export_jobs import export_jobs

    return {job.arn: job for job in export_jobs(sagemaker_backends[HUB]["us-east-1"]).values()}


def test_the_completion_event_records_the_pdf_once_however_often_and_in_whatever_order_it_comes(
    gov: Governance,  # noqa: F811
) -> None:
    [completed] = approved(gov)
    [job] = kinds(gov, "export-job")
    assert completed["resources"] == [job["JobArn"]]
    in_progress = copy.deepcopy(completed)
    in_progress["detail"]["Status"] = "InProgress"
    # A stale InProgress event first, the completion twice, then the stale one again.
    outcomes = gov.follow([in_progress, completed, copy.deepcopy(completed), in_progress])
    artifact = jobs(gov)[job["JobArn"]].artifact
    assert outcomes == [f"export completed: {artifact}"] + [f"nothing to follow for {CARD}"] * 3
    [pdf] = kinds(gov, "evidence-pdf")
    assert (pdf["Detail"], pdf["JobArn"], pdf["Version"], pdf["Via"]) == (artifact, job["JobArn"], "1", "event")
    assert artifact.startswith(f"s3://evidence-bucket/evidence/{CARD}/v1/")
    # The fallback look that was queued with the job finds nothing left, and looks no more.
    assert gov.follow_exports() == [CARD]
    assert drain(gov.sqs, gov.follow_up) == []
    assert len(kinds(gov, "evidence-pdf")) == 1


def test_an_event_while_the_job_still_runs_records_nothing_and_the_fallback_look_records_it(
    gov: Governance,  # noqa: F811
) -> None:
    [event] = approved(gov)
    [job] = kinds(gov, "export-job")
    jobs(gov)[job["JobArn"]].status = "InProgress"
    assert gov.follow([event]) == [f"export {job['JobArn']} still InProgress"]
    assert gov.follow_exports() == [CARD]  # still InProgress: it looks again later
    jobs(gov)[job["JobArn"]].status = "Completed"
    assert gov.follow_exports() == [CARD]  # the completion event was lost; the look records it
    assert [e["Via"] for e in kinds(gov, "evidence-pdf")] == ["check"]


@pytest.mark.parametrize(
    "event",
    [
        {},  # nothing
        {"resources": []},
        {"resources": [f"arn:aws:sagemaker:us-east-1:222222222222:model-card/{CARD}/export-job/x"]},
        {"resources": [f"arn:aws:sagemaker:eu-west-1:{HUB}:model-card/{CARD}/export-job/x"]},
        {"resources": [f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{CARD}"]},
        {"detail": {"ModelCardName": CARD, "Status": "Completed"}},
    ],
)
def test_an_event_that_names_no_export_job_of_a_hub_card_changes_nothing(
    gov: Governance,  # noqa: F811
    event: dict[str, Any],
) -> None:
    approved(gov)
    full = {"source": "aws.sagemaker", "detail-type": "SageMaker Model Card Export Job State Change", **event}
    assert gov.follow([full]) == ["the event names no export job of a hub card: ignored"]
    assert kinds(gov, "evidence-pdf") == []


def test_a_job_that_is_not_what_the_hub_asked_for_is_refused_ledgered_and_told(
    gov: Governance,  # noqa: F811
) -> None:
    [event] = approved(gov)
    [job] = kinds(gov, "export-job")
    jobs(gov)[job["JobArn"]].card_version = 7  # SageMaker answering for another version than asked
    assert gov.follow([event, copy.deepcopy(event)]) == [
        f"export {job['JobArn']} of {CARD} v1 not recorded as evidence: card version 7, expected 1",
        f"nothing to follow for {CARD}",
    ]
    assert kinds(gov, "evidence-pdf") == []
    [refused] = kinds(gov, "evidence-refused")
    assert (refused["JobArn"], refused["Reason"]) == (job["JobArn"], "card version 7, expected 1")
    # Told once: the dead-letter queue's alarm is the administrators' signal.
    parked = gov.sqs.receive_message(QueueUrl=gov.dlq, MessageAttributeNames=["Reason"], MaxNumberOfMessages=10)
    [message] = parked["Messages"]
    assert "card version 7, expected 1" in message["MessageAttributes"]["Reason"]["StringValue"]


EXPECTED = ExpectedExport(
    "00000002#t#Approved",
    f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{CARD}/export-job/approved-v2-{'a' * 32}",
    CARD,
    f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{CARD}",
    2,
    f"s3://evidence-bucket/evidence/{CARD}/v2",
)
GOOD = {
    "ModelCardExportJobArn": EXPECTED.job_arn,
    "ModelCardName": CARD,
    "ModelCardVersion": 2,
    "OutputConfig": {"S3OutputPath": EXPECTED.output_path},
    "Status": "Completed",
    "ExportArtifacts": {"S3ExportArtifacts": f"{EXPECTED.output_path}/{CARD}/j/{CARD}.pdf"},
}


@pytest.mark.parametrize(
    ("change", "outcome", "reason"),
    [
        ({}, "completed", ""),
        ({"Status": "InProgress"}, "in-progress", ""),
        ({"Status": "Failed", "FailureReason": "boom"}, "failed", "boom"),
        ({"Status": "Stopped"}, "refused", "status 'Stopped'"),
        ({"ModelCardVersion": 1}, "refused", "card version 1, expected 2"),
        ({"ModelCardVersion": True}, "refused", "card version True, expected 2"),
        ({"ModelCardName": "other"}, "refused", "card 'other'"),
        ({"ModelCardExportJobArn": EXPECTED.job_arn.replace(HUB, "222222222222")}, "refused", "job ARN"),
        ({"OutputConfig": {"S3OutputPath": "s3://exports/exports/222222222222"}}, "refused", "output"),
        ({"OutputConfig": {}}, "refused", "output None"),
        ({"ExportArtifacts": {"S3ExportArtifacts": "s3://exports/x.pdf"}}, "refused", "is not under"),
        ({"ExportArtifacts": {"S3ExportArtifacts": f"{EXPECTED.output_path}/../v1/x.pdf"}}, "refused", "not under"),
        ({"ExportArtifacts": {}}, "refused", "PDF None"),
    ],
)
def test_judge_export_accepts_only_the_job_the_hub_asked_for(change: dict[str, Any], outcome: str, reason: str) -> None:
    verdict = judge_export({**GOOD, **change}, EXPECTED)
    assert verdict.outcome == outcome
    assert reason in "; ".join(verdict.reasons)
    assert verdict.artifact == (GOOD["ExportArtifacts"]["S3ExportArtifacts"] if outcome == "completed" else "")  # type: ignore[index]


def test_the_event_hint_is_the_card_of_an_export_job_arn_of_the_hub_and_nothing_else() -> None:
    base = {"source": "aws.sagemaker", "detail-type": "SageMaker Model Card Export Job State Change"}
    hint = {**base, "detail": {"ModelCardExportJobArn": EXPECTED.job_arn}}
    assert hinted_export_card(hint, account=HUB, region="us-east-1") == CARD
    assert hinted_export_card({**base, "resources": [EXPECTED.job_arn]}, account=HUB, region="us-east-1") == CARD
    forged = {**hint, "source": "custom.sagemaker"}
    assert hinted_export_card(forged, account=HUB, region="us-east-1") is None
    other = {**hint, "detail-type": "SageMaker Model Card State Change"}
    assert hinted_export_card(other, account=HUB, region="us-east-1") is None
    assert json.dumps(hinted_export_card(base, account=HUB, region="us-east-1")) == "null"
