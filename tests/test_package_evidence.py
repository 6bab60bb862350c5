"""A new version's card gets the package's evaluation reports and lineage, read through the spoke's
registry-reader role; every report the hub cannot or will not read leaves a card with the reason."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import pytest

from tests.accounts import session_for
from tests.conftest import ROOT
from tests.test_auto_link import HUB, SPOKE, Hub, new_version_event

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link import package_evidence
from shared.card_links import imported_record

READER = "model-card-governance-registry-reader"
OTHER = "333333333333"
QUALITY = {
    "binary_classification_metrics": {
        "auc": {"value": 0.912, "standard_deviation": 0.004},
        "accuracy": {"value": 0.87, "standard_deviation": "NaN"},
        "confusion_matrix": {"0": {"0": 80, "1": 5}, "1": {"0": 8, "1": 7}},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": [0.0, 0.1, 1.0],
            "true_positive_rates": [0.0, 0.7, 1.0],
        },
    }
}


def reader_role(account: str) -> None:
    """The spoke stack's registry-reader role, as far as these tests go: trusts the hub, lists the
    registry, reads objects of buckets its own account owns."""
    iam = session_for(account).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName=READER, AssumeRolePolicyDocument=json.dumps(trust))
    reports = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::*/*",
        "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
    }
    registry = {
        "Effect": "Allow",
        "Action": ["sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages", "sagemaker:ListEndpoints"],
        "Resource": "*",
    }
    iam.put_role_policy(
        RoleName=READER,
        PolicyName="reports",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [reports, registry]}),
    )


def put_report(account: str, bucket: str, key: str, body: bytes) -> str:
    s3 = session_for(account).client("s3")
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    etag: str = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
    return etag


def spoke_version(group: str, version: int, uri: str | None) -> dict[str, Any]:
    event = new_version_event(group, version, SPOKE)
    if uri is None:
        del event["detail"]["ModelMetrics"]
    else:
        event["detail"]["ModelMetrics"] = {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}
        }
    return event


@pytest.fixture
def hub(aws: None) -> Hub:
    reader_role(SPOKE)
    hub = Hub()
    hub.settings = dataclasses.replace(hub.settings, reader_role_name=READER, hub_account=HUB)
    return hub


def link(hub: Hub, event: dict[str, Any]) -> dict[str, Any]:
    result = hub.link(event, sts=hub.session.client("sts"))
    assert result.action == "created"
    assert result.card_name is not None
    return hub.content(result.card_name)


def test_quality_metrics_become_the_cards_evaluation_details_with_the_objects_etag(hub: Hub) -> None:
    etag = put_report(SPOKE, "spoke-reports", "churn/1/quality.json", json.dumps(QUALITY).encode())
    content = link(hub, spoke_version("churn", 1, "s3://spoke-reports/churn/1/quality.json"))
    (evaluation,) = content["evaluation_details"]
    assert evaluation["name"] == "ModelQuality.Statistics"
    assert evaluation["metadata"] == {"imported_from": "s3://spoke-reports/churn/1/quality.json", "etag": etag}
    (group,) = evaluation["metric_groups"]
    assert group["name"] == "binary_classification_metrics"
    by_name = {m["name"]: m for m in group["metric_data"]}
    assert by_name["auc"] == {"name": "auc", "type": "number", "value": 0.912, "notes": "standard deviation 0.004"}
    assert by_name["confusion_matrix"]["value"] == [[80, 5], [8, 7]]
    assert by_name["receiver_operating_characteristic_curve"]["type"] == "linear_graph"
    custom = content["additional_information"]["custom_details"]
    assert custom["imported_sections"] == "evaluation_details,training_details"
    assert not [k for k in custom if k.startswith("not_imported_")]
    # The hub keeps what it read, for the approval's evidence: the card itself is the spoke's to edit.
    record = imported_record(hub.dynamodb, "card-links", f"churn-{SPOKE}-v1")
    assert record is not None
    assert record["objects"] == [
        {
            "where": "ModelQuality.Statistics",
            "uri": "s3://spoke-reports/churn/1/quality.json",
            "etag": etag,
            "version_id": "",
            "bytes": len(json.dumps(QUALITY)),
        }
    ]
    assert record["evaluation_details"] == content["evaluation_details"]


def test_a_version_without_metrics_gets_its_card_and_its_lineage(hub: Hub) -> None:
    content = link(hub, spoke_version("churn", 1, None))
    assert "evaluation_details" not in content
    job = content["training_details"]["training_job_details"]
    assert job["training_environment"]["container_image"][0].endswith("py3")
    custom = content["additional_information"]["custom_details"]
    assert custom["imported_image_digest_1"].startswith("sha256:")
    assert not [k for k in custom if k.startswith("not_imported_")]


def oversized(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(package_evidence, "MAX_REPORT_BYTES", 100)
    put_report(SPOKE, "spoke-reports", "big.json", json.dumps(QUALITY).encode())
    return "s3://spoke-reports/big.json"


def not_json(monkeypatch: pytest.MonkeyPatch) -> str:
    put_report(SPOKE, "spoke-reports", "broken.json", b"{not json")
    return "s3://spoke-reports/broken.json"


def unmapped(monkeypatch: pytest.MonkeyPatch) -> str:
    put_report(SPOKE, "spoke-reports", "other.json", json.dumps({"columns": []}).encode())
    return "s3://spoke-reports/other.json"


def missing(monkeypatch: pytest.MonkeyPatch) -> str:
    put_report(SPOKE, "spoke-reports", "here.json", b"{}")
    return "s3://spoke-reports/not-there.json"


def other_account(monkeypatch: pytest.MonkeyPatch) -> str:
    put_report(OTHER, "someone-elses-reports", "quality.json", json.dumps(QUALITY).encode())
    return "s3://someone-elses-reports/quality.json"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (oversized, "bytes, more than the 100 read"),
        (not_json, "not JSON"),
        (unmapped, "in a format the hub maps"),
        # Without s3:ListBucket S3 answers a missing key with 403, as it does a refused one.
        (missing, "(403) when calling the HeadObject operation: Forbidden"),
        (other_account, "because no identity-based policy allows the s3:GetObject action"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_a_report_not_read_leaves_a_card_with_the_reason(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, case: Any, reason: str
) -> None:
    uri = case(monkeypatch)
    content = link(hub, spoke_version("churn", 1, uri))
    assert "evaluation_details" not in content
    recorded = content["additional_information"]["custom_details"]["not_imported_ModelQuality_Statistics"]
    assert reason in recorded
    record = imported_record(hub.dynamodb, "card-links", f"churn-{SPOKE}-v1")
    assert record is not None
    assert record["not_imported"] == {"ModelQuality.Statistics": recorded}


def test_a_spoke_without_the_reader_role_still_gets_its_card(hub: Hub) -> None:
    hub.settings = dataclasses.replace(hub.settings, reader_role_name="no-such-role")
    content = link(hub, spoke_version("churn", 1, "s3://spoke-reports/quality.json"))
    recorded = content["additional_information"]["custom_details"]["not_imported_ModelQuality_Statistics"]
    assert recorded.startswith(f"the registry-reader role of {SPOKE} was not assumed")


def test_the_packages_own_card_fills_what_the_carry_over_leaves_and_never_the_package_details(hub: Hub) -> None:
    event = spoke_version("churn", 1, None)
    embedded = {
        "intended_uses": {"purpose_of_model": "from the package", "risk_rating": "Low"},
        "model_package_details": {"model_package_arn": "arn:aws:sagemaker:us-east-1:1:model-package/x/1"},
        "business_details": "not an object",
    }
    event["detail"]["ModelCard"] = {"ModelCardContent": json.dumps(embedded), "ModelCardStatus": "Approved"}
    content = link(hub, event)
    assert content["intended_uses"] == embedded["intended_uses"]
    assert content["model_package_details"]["model_package_arn"] == event["detail"]["ModelPackageArn"]
    assert "business_details" not in content
    card = hub.sagemaker.describe_model_card(ModelCardName=f"churn-{SPOKE}-v1")
    assert card["ModelCardStatus"] == "Draft"
