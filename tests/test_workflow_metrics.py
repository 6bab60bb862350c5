"""Reviewers see the evidence: a version's metrics against the last approved version, regressions
beyond the configured thresholds first, edits of what the hub imported, and the approval's evidence
JSON with the metrics and lineage as the hub read them (report objects' ETags included)."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys

import pytest

from tests.conftest import ROOT, load_event
from tests.test_package_evidence import READER, put_report, reader_role
from tests.test_workflow import HUB, INFERENCE, SPOKE, Governance, edit

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link.card_linker import link_new_version

GROUP = "churn"


def quality(auc: float) -> bytes:
    return json.dumps({"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": 0.004}}}).encode()


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    reader_role(SPOKE)
    gov = Governance(monkeypatch)
    gov.linker = dataclasses.replace(gov.linker, reader_role_name=READER, hub_account=HUB)
    monkeypatch.setenv("METRIC_THRESHOLDS", json.dumps({"auc": {"max_drop": 0.02}}))
    return gov


def register(gov: Governance, auc: float) -> tuple[str, str]:
    """The spoke registers the next version with its model quality report in a spoke bucket."""
    sagemaker = gov.spoke.client("sagemaker")
    if not sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    key = f"{GROUP}/{auc}/quality.json"
    etag = put_report(SPOKE, "spoke-reports", key, quality(auc))
    metrics = {
        "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://spoke-reports/{key}"}}
    }
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification=INFERENCE,
        ModelApprovalStatus="PendingManualApproval",
        ModelMetrics=metrics,
    )["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    event = copy.deepcopy(load_event("model-package-state-change"))
    event["account"] = SPOKE
    event["detail"] = {k: v for k, v in described.items() if k != "ResponseMetadata"}
    event["detail"]["CreationTime"] = event["detail"]["CreationTime"].isoformat()
    event["detail"].pop("LastModifiedTime", None)
    link_new_version(
        event,
        sagemaker=gov.sagemaker,
        ram=gov.hub.client("ram"),
        dynamodb=gov.dynamodb,
        settings=gov.linker,
        sts=gov.hub.client("sts"),
    )
    return f"{GROUP}-{SPOKE}-v{arn.rsplit('/', 1)[-1]}", etag


def review(gov: Governance, card: str) -> str:
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    [notice] = gov.notices_received()
    message: str = notice["Message"]
    return message


def test_reviewers_see_metric_changes_regressions_first_and_the_evidence_keeps_the_etags(gov: Governance) -> None:
    v1, etag = register(gov, 0.912)
    first = review(gov, v1)
    assert "Metric changes compared with nothing (first version of a new card):" in first
    assert "ModelQuality.Statistics / binary_classification_metrics / auc: new, 0.912" in first
    assert "METRIC REGRESSION" not in first
    gov.run(gov.set_status(v1, "Approved"))

    snapshot = json.loads(
        gov.s3.get_object(Bucket="evidence-bucket", Key=f"evidence/{v1}/v1/approval.json")["Body"].read()
    )
    read = snapshot["package_evidence"]
    assert read["objects"] == [
        {
            "where": "ModelQuality.Statistics",
            "uri": f"s3://spoke-reports/{GROUP}/0.912/quality.json",
            "etag": etag,
            "version_id": "",
            "bytes": len(quality(0.912)),
        }
    ]
    auc = read["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]
    assert (auc["name"], auc["value"]) == ("auc", 0.912)
    assert read["training_details"]["training_job_details"]["training_environment"]["container_image"]

    v2, _ = register(gov, 0.874)
    second = review(gov, v2)
    lines = second.split("\n")
    assert lines[0] == (
        "METRIC REGRESSION beyond the configured threshold: ModelQuality.Statistics / "
        "binary_classification_metrics / auc: 0.912 -> 0.874 (-0.038): a drop of more than 0.02"
    )
    assert f"Metric changes compared with {v1} v1 (the card this one was cloned from):" in second
    assert "ModelQuality.Statistics / binary_classification_metrics / auc: 0.912 -> 0.874 (-0.038)" in lines
    assert "Edited since the hub imported it" not in second


def test_a_spoke_edit_of_imported_metrics_is_shown_as_such(gov: Governance) -> None:
    v1, _ = register(gov, 0.912)
    content = json.loads(gov.sagemaker.describe_model_card(ModelCardName=v1)["Content"])
    evaluation = content["evaluation_details"]
    evaluation[0]["metric_groups"][0]["metric_data"][0]["value"] = 0.99
    edit(gov, v1, {"evaluation_details": evaluation}, by=gov.spoke)
    message = review(gov, v1)
    assert (
        "Edited since the hub imported it from the model package: evaluation_details (the diff below shows how)"
        in message
    )
    assert "training_details (the diff" not in message


def test_without_thresholds_changes_are_listed_but_none_is_a_regression(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRIC_THRESHOLDS", "{}")
    v1, _ = register(gov, 0.912)
    review(gov, v1)
    gov.run(gov.set_status(v1, "Approved"))
    v2, _ = register(gov, 0.5)
    message = review(gov, v2)
    assert "auc: 0.912 -> 0.500 (-0.412)" in message
    assert "METRIC REGRESSION" not in message


def test_the_report_shows_metric_changes_and_a_regression_is_a_finding(gov: Governance) -> None:
    from governance_report.run import produce_report
    from shared.metrics import Threshold

    from tests.test_report import settings

    v1, _ = register(gov, 0.912)
    review(gov, v1)
    gov.run(gov.set_status(v1, "Approved"))
    v2, _ = register(gov, 0.874)
    v3, _ = register(gov, 0.905)
    thresholds = {"auc": Threshold(max_drop=0.02)}
    report = produce_report(gov.hub, settings(spoke_accounts=(SPOKE,), metric_thresholds=thresholds))
    rows = {r.card_name: r for r in report.rows}
    line = "ModelQuality.Statistics / binary_classification_metrics / auc"
    assert rows[v1].metric_changes == []  # nothing approved before it
    assert rows[v2].metric_changes == [f"{line}: 0.912 -> 0.874 (-0.038)"]
    assert rows[v3].metric_changes == [f"{line}: 0.912 -> 0.905 (-0.007)"]  # v1 is still the last approved
    regressions = [(f.rule, f.subject, f.message) for f in report.findings if f.rule == "metric-regression"]
    assert regressions == [
        (
            "metric-regression",
            gov.card_arn(v2),
            f"{v2} v1 against {v1} v1: {line}: 0.912 -> 0.874 (-0.038): a drop of more than 0.02",
        )
    ]
    assert rows[v2].findings == ["metric-regression"]
