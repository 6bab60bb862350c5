"""Benchmark: AWS API calls and wall time of the auto-linker per new version, against the emulator.

    .venv/bin/python benchmarks/auto_link.py

Calls are counted with botocore's `before-call` event on the handler's clients, so every request
the handler makes counts, retries excepted (there are none against the emulator). Prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
os.environ.update(
    AWS_ACCESS_KEY_ID="AKIAMANAGEMENTADMIN0",
    AWS_SECRET_ACCESS_KEY="emulator-management-account-administrator",
    AWS_DEFAULT_REGION="us-east-1",
)

from moto import mock_aws  # noqa: E402

from emulator import install  # noqa: E402
from emulator.sessions import admin_session  # noqa: E402

install()

from auto_link.card_linker import LinkerSettings, link_new_version  # noqa: E402

HUB = "111111111111"
SPOKE = "200000000001"  # an editing account spoke: its cards join the read share and its owner share
INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}]}


def event(group: str, version: int) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/{group}/{version}"
    return {
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": SPOKE,
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
    """The hub as the stack sets it up with own-account sharing: one read share for every spoke and
    one owner share per editing account spoke (`editing_spokes` of them)."""

    def __init__(self, editing_spokes: int = 1) -> None:
        self.calls: Counter[str] = Counter()
        hub = admin_session(HUB)
        self.clients = {name: hub.client(name) for name in ("sagemaker", "ram", "dynamodb")}
        for client in self.clients.values():
            client.meta.events.register("before-call", self.count)
        self.clients["dynamodb"].create_table(
            TableName="card-index",
            KeySchema=[{"AttributeName": "Group", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Group", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.clients["dynamodb"].create_table(
            TableName="card-links",
            KeySchema=[{"AttributeName": "CardName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "CardName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ram = self.clients["ram"]
        accounts = [str(200000000001 + i) for i in range(editing_spokes)]
        read_share = ram.create_resource_share(name="cards-read", principals=accounts)["resourceShare"]
        for account in accounts:
            ram.create_resource_share(name=f"cards-{account}", principals=[account])
        self.settings = LinkerSettings(
            card_key_arn=hub.client("kms").create_key()["KeyMetadata"]["Arn"],
            share_arns=[read_share["resourceShareArn"]],
            index_table="card-index",
            link_table="card-links",
            owner_share_prefix="cards-",
        )

    def count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def link(self, group: str, version: int) -> tuple[int, int, float]:
        self.calls.clear()
        started = time.perf_counter()
        link_new_version(event(group, version), settings=self.settings, **self.clients)
        elapsed = time.perf_counter() - started
        ram_calls = self.calls["GetResourceShares"] + self.calls["AssociateResourceShare"]
        return sum(self.calls.values()), ram_calls, elapsed


def row(scenario: str, samples: list[tuple[int, int, float]]) -> tuple[str, int, int, int, float]:
    return (
        scenario,
        len(samples),
        max(c for c, _, _ in samples),
        max(r for _, r, _ in samples),
        statistics.median(t for _, _, t in samples) * 1000,
    )


def main() -> None:
    # No options; parsing still answers --help (and refuses a typo) instead of running for minutes.
    argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split())).parse_args()
    rows = []
    for existing in (10, 100, 1000):
        with mock_aws():
            harness = Harness()
            group = f"group-{existing}"
            for version in range(1, existing + 1):
                harness.link(group, version)
            rows.append(
                row(f"group with {existing} versions", [harness.link(group, existing + i) for i in range(1, 6)])
            )
    for spokes in (10, 200):
        with mock_aws():
            harness = Harness(editing_spokes=spokes)
            rows.append(row(f"{spokes} editing spokes", [harness.link("churn", v) for v in range(1, 6)]))
    with mock_aws():
        harness = Harness()
        samples = []
        burst_started = time.perf_counter()
        for version in range(1, 11):
            for group_number in range(50):
                samples.append(harness.link(f"burst-{group_number}", version))
        burst = time.perf_counter() - burst_started
        rows.append(row("burst: 500 versions, 50 groups", samples))
    print(
        f"{'scenario':<34} {'new versions':>12} {'API calls/version (max)':>24} "
        f"{'RAM calls/version (max)':>24} {'median ms/version':>18}"
    )
    for scenario, count, calls, ram_calls, median_ms in rows:
        print(f"{scenario:<34} {count:>12} {calls:>24} {ram_calls:>24} {median_ms:>18.1f}")
    print(
        f"burst wall time: {burst:.1f} s for 500 versions (RAM calls per version: one GetResourceShares "
        "to find the owner's share, one AssociateResourceShare each for the read and the owner share)"
    )


if __name__ == "__main__":
    main()
