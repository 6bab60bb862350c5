"""The weekly report as config/example.json deploys it: the function, under its own role, writes its
files into the evidence bucket's reports/ prefix, which the bucket policy keeps for it alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sandbox.run import Sandbox, sandbox_for
from tests.test_sandbox import endpoint  # noqa: F401 - the local run's emulator server

# What EventBridge Scheduler-style rules deliver: a "Scheduled Event" (EventBridge User Guide,
# "Creating a rule that runs on a schedule"); the function reads only its id.
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111111111111",
    "time": "2026-11-30T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:111111111111:rule/weekly"],
    "detail": {},
}


@pytest.fixture
def walked(synthesized: Any, example_config: Any, endpoint: str) -> Sandbox:  # noqa: F811
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    sandbox = sandbox_for(Path(synthesized.directory), endpoint, example_config, out=lambda line: None)
    assert all(result.ok for result in sandbox.run())
    return sandbox


def put_refused(client: Any, bucket: str, key: str) -> str:
    with pytest.raises(ClientError) as error:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
    code: str = error.value.response["Error"]["Code"]
    return code


def test_the_weekly_report_lands_under_reports_and_nobody_else_writes_there(walked: Sandbox) -> None:
    from emulator.sessions import service_role_session

    hub = walked.hub
    [report] = [f for f in hub.functions.values() if f.handler.startswith("governance_report.")]
    [workflow_role] = {
        f.role_arn
        for f in hub.functions.values()
        if f.role_arn.endswith(":role/model-card-governance-approval-workflow")
    }
    bucket = report.environment["EVIDENCE_BUCKET"]

    outcome = walked.invoke(report, SCHEDULED)["outcome"]
    prefix = f"reports/{datetime.now(UTC).date().isoformat()}/"
    assert outcome.startswith(f"s3://{bucket}/{prefix}: ")
    s3 = hub.client("s3")
    written = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"])
    assert written == [f"{prefix}report.csv", f"{prefix}report.html", f"{prefix}report.json"]
    assert s3.head_object(Bucket=bucket, Key=f"{prefix}report.json")["ObjectLockMode"] == "COMPLIANCE"

    def s3_of(role_arn: str) -> Any:
        return service_role_session(role_arn).client("s3", endpoint_url=walked.endpoint)

    spoke = next(iter(walked.spokes.values())).client("s3")
    # Not the hub's administrator, not the workflow, not a spoke: reports/ is the report's alone...
    for writer in (s3, s3_of(workflow_role), spoke):
        assert put_refused(writer, bucket, f"{prefix}report.html") == "AccessDenied"
    # ...the report writes no evidence, and nothing lands outside the two prefixes.
    assert put_refused(s3_of(report.role_arn), bucket, "evidence/forged/v1/approval.json") == "AccessDenied"
    for writer in (s3_of(report.role_arn), s3_of(workflow_role)):
        assert put_refused(writer, bucket, "elsewhere/note.txt") == "AccessDenied"
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]) == written
    assert s3.list_objects_v2(Bucket=bucket, Prefix="elsewhere/").get("KeyCount", 0) == 0
