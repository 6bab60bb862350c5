"""Benchmark: what the daily review sweep reads from the ledger as it grows, against the emulator.

    .venv/bin/python benchmarks/review_sweep.py [--cards 100 1000] [--entries 20] [--approved 0.3]

A ledger of `cards` cards, each with `entries` entries, of which a share `approved` holds one
`approval-effective` entry (the workflow's items, written as the workflow writes them: the ledger's
sparse index key on that entry alone). The sweep (card_workflow.reviews.sweep_reviews) runs once at
a time when nothing is due, so it only reads. Printed per size: DynamoDB calls by API, items the
sweep read, items a Scan of the whole table would have read (the sweep before the index), and wall
time. Calls are counted with botocore's `after-call` event; items from each answer's `Count`.
DynamoDB bills a Scan by the size of every item it reads, a Query by the items it returns (DynamoDB
Developer Guide, "Read consumption for Query and Scan"), so items read is the cost's measure here.
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
from emulator.sessions import admin_session  # noqa: E402

install()

from card_workflow.approval_policy import ApprovalPolicy  # noqa: E402
from card_workflow.ledger import EFFECTIVE_KEY, EFFECTIVE_VALUE  # noqa: E402
from card_workflow.reviews import sweep_reviews  # noqa: E402

from tests.accounts import create_ledger_table  # noqa: E402

HUB = "111111111111"
TABLE = "ledger"
POLICY = {
    "groups": {"approvers": {"principals": [f"arn:aws:iam::{HUB}:role/reviewer"]}},
    "tiers": {"High": {"people": 1, "groups": ["approvers"]}},
    "review_interval_days": 365,
    "on_expiry": "revert",
}


class Settings:
    ledger_table = TABLE
    topic_arn = ""
    approval_policy = ApprovalPolicy.from_json(POLICY)


def fill(dynamodb: Any, cards: int, entries: int, approved: float) -> int:
    """Each card's entries (status changes and notices), one approval for the approved share."""
    written = 0
    start = datetime.now(UTC) - timedelta(days=30)
    approved_cards = int(cards * approved)
    for number in range(cards):
        arn = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/churn-222222222222-v{number + 1}"
        for index in range(entries):
            at = (start + timedelta(minutes=index)).isoformat(timespec="microseconds")
            item = {"CardArn": {"S": arn}, "EntryKey": {"S": f"00000001#{at}#{index:04d}"}, "Kind": {"S": "status"}}
            item |= {"Version": {"S": "1"}, "Status": {"S": "Draft"}, "ModifiedAt": {"S": at}}
            if index == entries - 1 and number < approved_cards:
                item |= {"Kind": {"S": "approval-effective"}, "ApprovedAt": {"S": at}}
                item[EFFECTIVE_KEY] = {"S": EFFECTIVE_VALUE}
            dynamodb.put_item(TableName=TABLE, Item=item)
            written += 1
    return written


def measure(cards: int, entries: int, approved: float) -> dict[str, Any]:
    with mock_aws():
        session = admin_session(HUB)
        dynamodb = session.client("dynamodb")
        create_ledger_table(dynamodb, TABLE)
        total = fill(dynamodb, cards, entries, approved)
        calls: Counter[str] = Counter()
        items = Counter[str]()

        def count(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            calls[model.name] += 1
            items[model.name] += int(parsed.get("Count", 0))

        dynamodb.meta.events.register("after-call.dynamodb", count)
        started = time.perf_counter()
        done = sweep_reviews(
            datetime.now(UTC),
            sagemaker=None,
            dynamodb=dynamodb,
            sns=None,
            sts=None,
            settings=Settings(),
        )
        seconds = time.perf_counter() - started
    return {
        "cards": cards,
        "entries": total,
        "approvals": int(cards * approved),
        "swept": len(done),
        "calls": dict(calls),
        "items read": sum(items.values()),
        "a Scan would read": total,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cards", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--approved", type=float, default=0.3)
    parser.add_argument("--json", action="store_true", help="one JSON object per size instead of the table")
    args = parser.parse_args()
    rows = [measure(cards, args.entries, args.approved) for cards in args.cards]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    header = ("cards", "ledger entries", "approvals", "DynamoDB calls", "items read", "a Scan would read", "s")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for row in rows:
        calls = ", ".join(f"{name} {n}" for name, n in sorted(row["calls"].items()))
        values = (row["cards"], row["entries"], row["approvals"], calls, row["items read"], row["a Scan would read"])
        print(" | ".join(str(v) for v in (*values, row["seconds"])))


if __name__ == "__main__":
    main()
