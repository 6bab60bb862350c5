"""The weekly report: the same module as `scripts/report`, written to the evidence bucket under
`reports/<date>/` (Object Lock applies), and a notice to reviewers when there are findings.

Environment (set by the GovernanceReport construct): HUB_ACCOUNT, LEDGER_TABLE, LINK_TABLE,
EVIDENCE_BUCKET, TOPIC_ARN, SPOKE_ACCOUNTS (comma-separated), REGISTRY_ROLE_NAME,
PENDING_REVIEW_DAYS.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from card_workflow.tiers import policy_from_environment
from shared.metrics import thresholds_from
from shared.runtime import RETRIES

from governance_report.render import render_files
from governance_report.run import produce_report
from governance_report.sources import ReportSettings

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
REPORTS_PREFIX = "reports"


def settings_from_environment(environ: Mapping[str, str] = os.environ) -> ReportSettings:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return ReportSettings(
        hub_account=environ["HUB_ACCOUNT"],
        region=region,
        ledger_table=environ["LEDGER_TABLE"],
        link_table=environ["LINK_TABLE"],
        evidence_bucket=environ["EVIDENCE_BUCKET"],
        spoke_accounts=tuple(a for a in environ.get("SPOKE_ACCOUNTS", "").split(",") if a),
        registry_role_name=environ["REGISTRY_ROLE_NAME"],
        pending_review_days=int(environ.get("PENDING_REVIEW_DAYS", "14")),
        metric_thresholds=thresholds_from(json.loads(environ.get("METRIC_THRESHOLDS") or "{}")),
        policy=policy_from_environment(environ.get("APPROVAL_POLICY")),
        partition="aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws",
    )


def publish_report(session: boto3.Session, settings: ReportSettings, topic_arn: str, now: datetime) -> str:
    """Write this week's report once: a second delivery of the schedule finds it and stops, so
    the locked bucket gets no duplicate versions and reviewers no second notice."""
    s3 = session.client("s3", config=RETRIES)
    prefix = f"{REPORTS_PREFIX}/{now.date().isoformat()}"
    try:
        s3.head_object(Bucket=settings.evidence_bucket, Key=f"{prefix}/report.json")
        return f"s3://{settings.evidence_bucket}/{prefix}/ already written"
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    report = produce_report(session, settings, now=now, progress=LOG.info)
    files = render_files(report)
    # JSON last: its presence marks the report complete (see above).
    for name in sorted(files, key=lambda n: n == "report.json"):
        content, media_type = files[name]
        s3.put_object(
            Bucket=settings.evidence_bucket, Key=f"{prefix}/{name}", Body=content.encode(), ContentType=media_type
        )
    where = f"s3://{settings.evidence_bucket}/{prefix}/"
    if report.findings:
        counts = ", ".join(f"{rule}: {count}" for rule, count in report.summary["findings"].items())
        lines = [f"The governance report of {report.generated_at} has {len(report.findings)} findings ({counts}).", ""]
        lines += [f"- {f.rule}: {f.message}" for f in report.findings[:50]]
        if len(report.findings) > 50:
            lines.append(f"... and {len(report.findings) - 50} more")
        lines += ["", f"The report: {where}report.html"]
        session.client("sns", config=RETRIES).publish(
            TopicArn=topic_arn,
            Subject=f"Model card governance report: {len(report.findings)} findings"[:100],
            Message="\n".join(lines),
        )
    return f"{where}: {len(report.rows)} versions, {len(report.findings)} findings"


def handler(event: dict[str, Any], context: Any = None, *, session: boto3.Session | None = None) -> dict[str, Any]:
    outcome = publish_report(
        session or boto3.Session(), settings_from_environment(), os.environ["TOPIC_ARN"], datetime.now(UTC)
    )
    LOG.info(json.dumps({"event_id": event.get("id"), "outcome": outcome}))
    return {"outcome": outcome}
