"""Benchmark: AWS API calls and wall time of the auto-linker per new version, against the emulator.

    .venv/bin/python benchmarks/auto_link.py

Calls are counted with botocore's `before-call` event on the handler's clients, so every request
the handler makes counts, retries excepted (there are none against the emulator). Prints a table.
"""

from __future__ import annotations

import os
import statistics
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

install()

import boto3  # noqa: E402
from auto_link.card_linker import LinkerSettings, link_new_version  # noqa: E402

HUB = "111111111111"
INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}]}


def event(group: str, version: int) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/{group}/{version}"
    return {
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": HUB,
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": "PendingManualApproval",
            "ModelPackageStatus": "Completed",
            "InferenceSpecification": INFERENCE,
        },
    }


class Harness:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.clients = {name: boto3.client(name, region_name="us-east-1") for name in ("sagemaker", "ram", "dynamodb")}
        for client in self.clients.values():
            client.meta.events.register("before-call", self.count)
        self.clients["dynamodb"].create_table(
            TableName="card-index",
            KeySchema=[{"AttributeName": "Group", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Group", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ram = self.clients["ram"]
        shares = [
            ram.create_resource_share(name=f"cards-{level}", principals=["222222222222"])["resourceShare"][
                "resourceShareArn"
            ]
            for level in ("read", "edit-export")
        ]
        self.settings = LinkerSettings(
            card_key_arn=f"arn:aws:kms:us-east-1:{HUB}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            share_arns=shares,
            index_table="card-index",
        )

    def count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def link(self, group: str, version: int) -> tuple[int, float]:
        self.calls.clear()
        started = time.perf_counter()
        link_new_version(event(group, version), settings=self.settings, **self.clients)
        return sum(self.calls.values()), time.perf_counter() - started


def main() -> None:
    rows = []
    for existing in (10, 100, 1000):
        with mock_aws():
            harness = Harness()
            group = f"group-{existing}"
            for version in range(1, existing + 1):
                harness.link(group, version)
            samples = [harness.link(group, existing + i) for i in range(1, 6)]
            rows.append(
                (
                    f"group with {existing} versions",
                    5,
                    max(c for c, _ in samples),
                    statistics.median(t for _, t in samples) * 1000,
                )
            )
    with mock_aws():
        harness = Harness()
        samples = []
        burst_started = time.perf_counter()
        for version in range(1, 11):
            for group_number in range(50):
                samples.append(harness.link(f"burst-{group_number}", version))
        burst = time.perf_counter() - burst_started
        rows.append(
            (
                "burst: 500 versions, 50 groups",
                500,
                max(c for c, _ in samples),
                statistics.median(t for _, t in samples) * 1000,
            )
        )
    print(f"{'scenario':<34} {'new versions':>12} {'API calls/version (max)':>24} {'median ms/version':>18}")
    for scenario, count, calls, median_ms in rows:
        print(f"{scenario:<34} {count:>12} {calls:>24} {median_ms:>18.1f}")
    print(
        f"burst wall time: {burst:.1f} s for 500 versions "
        f"(calls per version: 4 + one AssociateResourceShare per share; 2 shares here)"
    )


if __name__ == "__main__":
    main()
