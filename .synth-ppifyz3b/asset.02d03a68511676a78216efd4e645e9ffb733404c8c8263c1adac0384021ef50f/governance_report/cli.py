"""`scripts/report`: the governance report of every account, written to a folder.

Runs with hub credentials (a profile that may assume the hub's auditor role, or the auditor role
itself); spoke registries are read through each spoke's read-only registry role.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from shared.metrics import thresholds_from

from governance_config import ConfigError, load_config
from governance_report.render import write_report
from governance_report.run import produce_report
from governance_report.sources import ReportSettings


class UsageError(Exception):
    """Bad input: one line for the user, no traceback."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/report", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the governance config the stacks were built from")
    parser.add_argument(
        "--outputs",
        type=Path,
        help="the hub stack outputs (`cdk deploy --outputs-file`); or give the names with the options below",
    )
    parser.add_argument("--ledger-table", help="the hub stack output LedgerTableName")
    parser.add_argument("--link-table", help="the hub stack output CardLinkTableName")
    parser.add_argument("--out", type=Path, default=Path("report"), help="folder to write to (default: report)")
    parser.add_argument("--profile", help="AWS profile with hub credentials (e.g. auditor)")
    parser.add_argument(
        "--account", action="append", default=[], help="another account to read (accounts of OU spokes); repeatable"
    )
    parser.add_argument(
        "--approver",
        action="append",
        default=[],
        help="count only approvals by this principal (repeatable; default: the config's reviewer role and approvers)",
    )
    parser.add_argument("--pending-review-days", type=int, help="override the config's report.pending_review_days")
    parser.add_argument("--workers", type=int, default=8, help="describe calls in flight per account (default 8)")
    return parser.parse_args(argv)


def hub_outputs(path: Path) -> dict[str, str]:
    try:
        stacks = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"--outputs: cannot read {path} ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"--outputs: {path} is not JSON ({error.msg} at line {error.lineno})") from None
    if isinstance(stacks, dict):
        for outputs in stacks.values():
            if isinstance(outputs, dict) and "LedgerTableName" in outputs:
                return {k: str(v) for k, v in outputs.items()}
    raise UsageError(f"--outputs: {path} has no stack with a LedgerTableName output (the hub stack's outputs)")


def settings_from(args: argparse.Namespace) -> ReportSettings:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        raise UsageError(error.problems[0]) from None
    outputs = hub_outputs(args.outputs) if args.outputs else {}
    ledger = args.ledger_table or outputs.get("LedgerTableName")
    links = args.link_table or outputs.get("CardLinkTableName")
    if not ledger:
        raise UsageError("--ledger-table: required (or --outputs with the hub stack's LedgerTableName)")
    if not links:
        raise UsageError("--link-table: required (or --outputs with the hub stack's CardLinkTableName)")
    days = config.report.pending_review_days if args.pending_review_days is None else args.pending_review_days
    if not 1 <= days <= 365:
        raise UsageError(f"--pending-review-days: must be 1 to 365 (got {days})")
    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers: must be 1 to 64 (got {args.workers})")
    for account in args.account:
        if not (len(account) == 12 and account.isdigit()):
            raise UsageError(f"--account: is not a 12-digit AWS account ID (got {account!r})")
    return ReportSettings(
        hub_account=config.hub_account,
        region=config.region,
        ledger_table=ledger,
        link_table=links,
        evidence_bucket=outputs.get("EvidenceBucketName", config.evidence_bucket_name),
        spoke_accounts=tuple(dict.fromkeys([*config.spoke_accounts, *args.account])),
        registry_role_name=config.registry_reader_role_name,
        pending_review_days=days,
        metric_thresholds=thresholds_from(json.loads(config.metric_thresholds_json)),
        approvers=tuple(args.approver) or config.approver_arns,
        workers=args.workers,
        partition=config.partition,
    )


def progress(message: str) -> None:
    print(f"report: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    args = parse_args(argv)
    try:
        settings = settings_from(args)
        session = session or boto3.Session(profile_name=args.profile, region_name=settings.region)
        report = produce_report(session, settings, progress=progress)
    except UsageError as error:
        print(f"report error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"report error: cannot read the hub: {error}", file=sys.stderr)
        return 1
    for path in write_report(report, args.out):
        print(path)
    findings = len(report.findings)
    progress(f"{len(report.rows)} versions, {findings} finding{'s' if findings != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
