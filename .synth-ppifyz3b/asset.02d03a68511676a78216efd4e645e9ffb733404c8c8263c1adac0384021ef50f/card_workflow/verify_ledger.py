"""Recompute every card's hash chain in the approval ledger and report the first broken link.

    scripts/verify-ledger --table <LedgerTableName> [--bucket <EvidenceBucketName>] [--region us-east-1]

With --bucket it also compares each card's chain with the heads the workflow anchored in the
evidence bucket (anchors.py): a chain that ends before its newest anchor, or is gone, was truncated.
Exit 0 when every chain is intact, 1 when a link is broken or a chain truncated (one line per card),
2 when the table or the anchors cannot be read. Needs dynamodb:Scan on the table, kms:Decrypt on its
key and, with --bucket, s3:ListBucketVersions on the bucket and s3:GetObjectVersion on its evidence/_anchors/.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from card_workflow.anchors import read_anchors, truncations
from card_workflow.ledger import scan_table, verify_items


def main(argv: Sequence[str] | None = None, *, dynamodb: Any = None, s3: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="verify-ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the ledger table (hub stack output LedgerTableName)")
    parser.add_argument(
        "--bucket", help="the evidence bucket holding the anchors (hub stack output EvidenceBucketName)"
    )
    parser.add_argument("--region", help="the hub region (default: the AWS CLI's)")
    args = parser.parse_args(argv)
    try:
        items = list(scan_table(dynamodb or boto3.client("dynamodb", region_name=args.region), args.table))
    except (ClientError, BotoCoreError) as error:
        print(f"verify-ledger: cannot read table {args.table!r}: {error}", file=sys.stderr)
        return 2
    anchors = {}
    if args.bucket:
        try:
            anchors = read_anchors(s3 or boto3.client("s3", region_name=args.region), args.bucket)
        except (ClientError, BotoCoreError) as error:
            print(f"verify-ledger: cannot read the anchors in {args.bucket!r}: {error}", file=sys.stderr)
            return 2
    report = verify_items(items)
    by_card: dict[str, list[dict[str, str]]] = defaultdict(list)
    for item in items:
        by_card[item["CardArn"]].append(item)
    truncated = truncations(by_card, anchors)
    for broken in report.broken:
        print(f"broken: {broken}")
    for cut in truncated:
        print(f"truncated: {cut}")
    summary = f"{report.cards} cards, {report.entries} entries: {len(report.broken)} broken chains"
    if args.bucket:
        summary += f", {len(anchors)} anchored, {len(truncated)} truncated"
    print(summary)
    return 1 if report.broken or truncated else 0


if __name__ == "__main__":
    sys.exit(main())
