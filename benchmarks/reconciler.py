"""Benchmark: the reconciler's AWS API calls (by API) and wall time at 10, 100 and 1,000 versions,
against the emulator, with every version already converged (the steady state every run but the
first meets) and with a tenth of the versions' cards missing (their events lost).

    .venv/bin/python benchmarks/reconciler.py [--sizes 10 100 1000]

Calls are counted with botocore's `before-call` event on every client the run makes (the hub's and
each spoke's registry-reader clients). The run is sequential (one call in flight), and every List
call pages with MaxResults 100 (botocore: ListModelCards, ListModelPackageGroups and
ListModelPackages take 1 to 100). SageMaker does not publish per-API request rates (its quotas page
lists resource quotas; throttling is per account and Region, answered ThrottlingException); the
reconciler's steady state makes about one call per version per run in the hub account, a few per
spoke in each spoke account, and none to CloudTrail (whose LookupEvents allows 2 per second).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
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
from emulator.sessions import account_trust, admin_session  # noqa: E402

install()

from auto_link.card_linker import LinkerSettings, link_new_version  # noqa: E402
from reconciler.handler import registries, run  # noqa: E402
from reconciler.reconcile import ReconcilerSettings  # noqa: E402

HUB = "111111111111"
READER = "model-card-governance-registry-reader"
RULE = "model-card-governance-registry-forwarding"
INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}]}


class Counted:
    """Dispatch that only counts: the benchmark measures the reconciler's own calls."""

    def __init__(self) -> None:
        self.handed: Counter[str] = Counter()

    def link(self, event: Any) -> str:
        self.handed["link"] += 1
        return "counted"

    def gate(self, event: Any) -> str:
        self.handed["gate"] += 1
        return "counted"

    def card_event(self, event: Any) -> str:
        self.handed["card_event"] += 1
        return "counted"

    def recheck(self, card_name: str) -> str:
        self.handed["recheck"] += 1
        return "counted"

    def redrive(self, function: str, event: Any) -> str:
        self.handed["redrive"] += 1
        return "counted"


def spokes_for(versions: int) -> int:
    return 1 if versions <= 10 else 5 if versions <= 100 else 50


def build(versions: int, lost_every: int) -> tuple[Any, ReconcilerSettings, list[str]]:
    """Hub tables and topic, `spokes_for(versions)` spokes with reader roles and forwarding rules,
    `versions` versions spread over them (4 per group), each linked but every `lost_every`-th."""
    hub = admin_session(HUB)
    dynamodb = hub.client("dynamodb")
    for table, keys in (("ledger", ("CardArn", "EntryKey")), ("card-links", ("CardName",)), ("card-index", ("Group",))):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    hub.client("s3").create_bucket(Bucket="evidence")
    topic = hub.client("sns").create_topic(Name="reviews")["TopicArn"]
    linker = LinkerSettings(card_key_arn="", share_arns=[], index_table="card-index", link_table="card-links")
    accounts = [str(200000000000 + i) for i in range(spokes_for(versions))]
    hub_sagemaker = hub.client("sagemaker")
    for account in accounts:
        spoke = admin_session(account)
        iam = spoke.client("iam")
        iam.create_role(RoleName=READER, AssumeRolePolicyDocument=json.dumps(account_trust(HUB)))
        iam.put_role_policy(
            RoleName=READER,
            PolicyName="reads",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["sagemaker:List*", "sagemaker:Describe*"], "Resource": "*"},
                        {
                            "Effect": "Allow",
                            "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
                            "Resource": "*",
                        },
                    ],
                }
            ),
        )
        events = spoke.client("events")
        events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        bus = f"arn:aws:events:us-east-1:{HUB}:event-bus/governance"
        events.put_targets(Rule=RULE, Targets=[{"Id": "hub", "Arn": bus}])
    count = 0
    for index in range(versions):
        account = accounts[index % len(accounts)]
        sagemaker = admin_session(account).client("sagemaker")
        group = f"g{index // (4 * len(accounts))}"
        existing = [
            g["ModelPackageGroupName"]
            for g in sagemaker.list_model_package_groups(MaxResults=100)["ModelPackageGroupSummaryList"]
        ]
        if group not in existing:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn = sagemaker.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)[
            "ModelPackageArn"
        ]
        count += 1
        if lost_every and count % lost_every == 0:
            continue  # its event was lost
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        detail = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in described.items()
            if k != "ResponseMetadata"
        }
        link_new_version(
            {"detail-type": "SageMaker Model Package State Change", "account": account, "detail": detail},
            sagemaker=hub_sagemaker,
            ram=hub.client("ram"),
            dynamodb=dynamodb,
            settings=linker,
        )
    settings = ReconcilerSettings(
        hub_account=HUB,
        region="us-east-1",
        partition="aws",
        link_table="card-links",
        ledger_table="ledger",
        evidence_bucket="evidence",
        topic_arn=topic,
        reader_role_name=READER,
        spoke_accounts=accounts,
        forwarding_rule_name=RULE,
        hub_bus_arn=f"arn:aws:events:us-east-1:{HUB}:event-bus/governance",
        grace_seconds=0,
    )
    return hub, settings, accounts


def measure(versions: int, lost_every: int) -> dict[str, Any]:
    with mock_aws():
        hub, settings, accounts = build(versions, lost_every)
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        clients = {name: hub.client(name) for name in ("sagemaker", "dynamodb", "s3", "sns", "sqs", "sts")}
        for client in clients.values():
            client.meta.events.register("before-call", count)
        registry_of = registries(clients, settings)

        def counted_registry(account: str) -> Any:
            registry = registry_of(account)
            for client in (registry.sagemaker, registry.events):
                if client is not None and not getattr(client, "_counted", False):
                    client.meta.events.register("before-call", count)
                    client._counted = True
            return registry

        dispatch = Counted()
        started = time.perf_counter()
        report = run(
            clients, settings, dispatch, registry_of=counted_registry, now=datetime.now(UTC) + timedelta(seconds=1)
        )
        seconds = time.perf_counter() - started
    return {
        "versions": versions,
        "spokes": len(accounts),
        "calls": calls,
        "seconds": seconds,
        "handed": dispatch.handed,
        "done": len(report.done),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args(argv)
    rows = [(measure(n, 0), measure(n, 10)) for n in args.sizes]
    apis = sorted({api for steady, lost in rows for api in (*steady["calls"], *lost["calls"])})
    print(
        "| API | "
        + " | ".join(f"{s['versions']} versions ({s['spokes']} spokes): converged / 10% lost" for s, _ in rows)
        + " |"
    )
    print("|---|" + "---|" * len(rows))
    for api in apis:
        print(f"| {api} | " + " | ".join(f"{s['calls'][api]} / {lost['calls'][api]}" for s, lost in rows) + " |")
    print(
        "| **all calls** | "
        + " | ".join(f"{sum(s['calls'].values())} / {sum(lost['calls'].values())}" for s, lost in rows)
        + " |"
    )
    print(
        "| calls per version | "
        + " | ".join(
            f"{sum(s['calls'].values()) / s['versions']:.2f} / {sum(lost['calls'].values()) / lost['versions']:.2f}"
            for s, lost in rows
        )
        + " |"
    )
    print(
        "| handed to functions | "
        + " | ".join(f"{dict(s['handed']) or '-'} / {dict(lost['handed'])}" for s, lost in rows)
        + " |"
    )
    walls = (f"{s['seconds']:.1f} / {lost['seconds']:.1f}" for s, lost in rows)
    print("| wall s (emulator) | " + " | ".join(walls) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
