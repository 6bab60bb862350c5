"""Recompute every card's hash chain in the approval ledger and report the first broken link.

    scripts/verify-ledger --table <LedgerTableName> [--region us-east-1]

Exit 0 when every chain is intact, 1 when a link is broken (one line per card, its first broken
link), 2 when the table cannot be read. Needs dynamodb:Scan on the table and kms:Decrypt on its key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from card_workflow.ledger import verify_table


def main(argv: Sequence[str] | None = None, *, dynamodb: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="verify-ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the ledger table (hub stack output LedgerTableName)")
    parser.add_argument("--region", help="the hub region (default: the AWS CLI's)")
    args = parser.parse_args(argv)
    try:
        report = verify_table(dynamodb or boto3.client("dynamodb", region_name=args.region), args.table)
    except (ClientError, BotoCoreError) as error:
        print(f"verify-ledger: cannot read table {args.table!r}: {error}", file=sys.stderr)
        return 2
    for broken in report.broken:
        print(f"broken: {broken}")
    print(f"{report.cards} cards, {report.entries} entries: {len(report.broken)} broken chains")
    return 1 if report.broken else 0


if __name__ == "__main__":
    sys.exit(main())
