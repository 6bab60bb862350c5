"""Benchmark: the governance report of 1,000 model package versions across 10 accounts, against the
emulator: wall time and AWS API calls by operation.

    .venv/bin/python benchmarks/report.py

Each of 10 spoke accounts registers 4 groups of 25 versions; the hub links a card to every version
(the auto-linker itself), approves half of them in the ledger with evidence, and each spoke serves
two versions from endpoints. Calls are counted with botocore's `before-call` event on the report's
session. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

from moto import mock_aws  # noqa: E402

from emulator import install  # noqa: E402
from emulator.permissions import enforcement  # noqa: E402

install()

from auto_link.card_linker import LinkerSettings, link_new_version  # noqa: E402
from card_workflow.ledger import append_entry  # noqa: E402
from governance_report.render import render_files  # noqa: E402
from governance_report.run import produce_report  # noqa: E402
from governance_report.sources import ReportSettings  # noqa: E402

from sandbox.provision import session_for  # noqa: E402

HUB = "111111111111"
SPOKES = tuple(f"2000000000{i:02d}" for i in range(10))
GROUPS = ("churn", "fraud", "pricing", "credit")
VERSIONS = 25
BUCKET = "evidence"
REGISTRY_ROLE = "model-card-governance-registry-reader"
INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}]}


def table(dynamodb: Any, name: str, key: str, sort: str | None = None) -> None:
    schema = [{"AttributeName": key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": key, "AttributeType": "S"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort, "AttributeType": "S"})
    dynamodb.create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


def populate() -> None:
    hub = session_for(HUB)
    sagemaker, dynamodb, s3 = hub.client("sagemaker"), hub.client("dynamodb"), hub.client("s3")
    table(dynamodb, "ledger", "CardArn", "EntryKey")
    table(dynamodb, "card-index", "Group")
    table(dynamodb, "card-links", "CardName")
    s3.create_bucket(Bucket=BUCKET)
    linker = LinkerSettings(card_key_arn="", share_arns=[], index_table="card-index", link_table="card-links")
    for account in SPOKES:
        spoke_session = session_for(account)
        # The spoke stack's registry reader, trusting the hub (the report runs as its administrator).
        trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
        spoke_session.client("iam").create_role(
            RoleName=REGISTRY_ROLE,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )
        spoke = spoke_session.client("sagemaker")
        for group in GROUPS:
            spoke.create_model_package_group(ModelPackageGroupName=group)
            for version in range(1, VERSIONS + 1):
                approved = version % 2 == 0
                arn = spoke.create_model_package(
                    ModelPackageGroupName=group,
                    InferenceSpecification=INFERENCE,
                    ModelApprovalStatus="Approved" if approved else "PendingManualApproval",
                )["ModelPackageArn"]
                detail = {"ModelPackageGroupName": group, "ModelPackageVersion": version, "ModelPackageArn": arn}
                event = {"detail-type": "SageMaker Model Package State Change", "account": account, "detail": detail}
                card = link_new_version(event, sagemaker=sagemaker, ram=None, dynamodb=dynamodb, settings=linker)
                if approved and card.card_name:
                    approve(sagemaker, dynamodb, s3, card.card_name)
                if version == VERSIONS:
                    serve(spoke, f"{group}-endpoint", arn)
        print(f"account {account}: {len(GROUPS) * VERSIONS} versions", file=sys.stderr)


REVIEWER = f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"


def approve(sagemaker: Any, dynamodb: Any, s3: Any, card: str) -> None:
    sagemaker.update_model_card(ModelCardName=card, ModelCardStatus="Approved")
    card_arn = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{card}"
    key = f"evidence/{card}/v1/{card}.pdf"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"%PDF-1.4")
    at = "2026-11-01T09:00:00.000Z"
    append_entry(
        dynamodb,
        "ledger",
        card_arn,
        f"00000001#{at}#Approved",
        {"Kind": "status", "Version": "1", "Status": "Approved", "ModifiedBy": "model-risk", "ModifiedAt": at},
    )
    # What the workflow writes once CloudTrail named an approver: the approval the report counts.
    append_entry(
        dynamodb,
        "ledger",
        card_arn,
        f"00000001#{at}#Approved#approval-effective",
        {
            "Kind": "approval-effective",
            "Version": "1",
            "Principal": REVIEWER,
            "Caller": f"{REVIEWER.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/')}/model-risk",
        },
    )
    append_entry(
        dynamodb,
        "ledger",
        card_arn,
        f"00000001#{at}#Approved#evidence-pdf",
        {"Kind": "evidence-pdf", "Version": "1", "Detail": f"s3://{BUCKET}/{key}"},
    )


def serve(sagemaker: Any, endpoint: str, package_arn: str) -> None:
    role = f"arn:aws:iam::{package_arn.split(':')[4]}:role/inference"
    sagemaker.create_model(
        ModelName=endpoint, ExecutionRoleArn=role, PrimaryContainer={"ModelPackageName": package_arn}
    )
    variant = {"VariantName": "main", "ModelName": endpoint, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(EndpointConfigName=endpoint, ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)


def measure(workers: int) -> tuple[float, float, Counter[str], int, int]:
    calls: Counter[str] = Counter()
    session = session_for(HUB)
    session.events.register("before-call", lambda model, **_: calls.update([model.name]))
    settings = ReportSettings(
        hub_account=HUB,
        region="us-east-1",
        ledger_table="ledger",
        link_table="card-links",
        evidence_bucket=BUCKET,
        spoke_accounts=SPOKES,
        registry_role_name=REGISTRY_ROLE,
        workers=workers,
    )
    started = time.perf_counter()
    report = produce_report(session, settings)
    read = time.perf_counter() - started
    files = render_files(report)
    total = time.perf_counter() - started
    assert len(report.rows) == len(SPOKES) * len(GROUPS) * VERSIONS, len(report.rows)
    # The approvals written above count (an approval-effective item each): every even version's.
    assert sum(1 for r in report.rows if r.approved_by) == len(SPOKES) * len(GROUPS) * (VERSIONS // 2)
    return read, total, calls, len(report.rows), len(files["report.html"][0])


def main() -> None:
    # No options; parsing still answers --help (and refuses a typo) instead of running for minutes.
    argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split())).parse_args()
    # Policy evaluation is the emulator's own cost, not the report's: it is off here.
    with mock_aws(), enforcement(False):
        started = time.perf_counter()
        populate()
        print(
            f"setup: {len(SPOKES)} accounts, {len(SPOKES) * len(GROUPS) * VERSIONS} versions with cards, "
            f"{time.perf_counter() - started:.1f} s\n"
        )
        print("| describe calls in flight | versions | accounts | API calls | read s | read + render s | page KiB |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        counts: Counter[str] = Counter()
        for workers in (8, 1):
            read, total, counts, rows, size = measure(workers)
            cells = [workers, rows, len(SPOKES) + 1, sum(counts.values()), f"{read:.1f}", f"{total:.1f}", size // 1024]
            print("| " + " | ".join(str(c) for c in cells) + " |")
        print("\nAPI calls by operation (one report):")
        for operation, count in counts.most_common():
            print(f"    {operation:32} {count}")


if __name__ == "__main__":
    main()
