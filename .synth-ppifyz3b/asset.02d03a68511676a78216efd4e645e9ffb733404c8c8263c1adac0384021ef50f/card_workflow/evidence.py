"""The approved version's PDF: export jobs nobody else can name first, and evidence only of what the
hub verified.

An export job's name is the approval's own random nonce, recorded in the ledger before
CreateModelCardExportJob is called: an account that may export the card (an edit-export spoke) can
derive nothing from the card's name and version, so it cannot take the name first, and a retry of
the same approval reads the nonce back and asks for the same job (a ConflictException on it is the
hub's own earlier call). The ledger's `export-job` entry is what is followed; a job is recorded as
evidence only when DescribeModelCardExportJob shows the hub's card, the approved version and the
evidence prefix, and its PDF under that prefix.

Two paths wake the follower: SageMaker's `SageMaker Model Card Export Job State Change` event, and a
delayed queue message for an event that never comes (EventBridge delivers best effort). Both only
name a card; what is recorded comes from the ledger and SageMaker.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from card_workflow.ledger import append_entry, get_entry, ledger_entries

MODEL_CARD_EXPORT_JOB_STATE_CHANGE = "SageMaker Model Card Export Job State Change"
SAGEMAKER_SOURCE = "aws.sagemaker"
EXPORT_JOB_ARN = re.compile(
    r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):"
    r"model-card/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/export-job/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})$"
)
# What follows an `export-job` entry's change key once the job is settled, one way or the other.
SETTLED_KINDS = ("evidence-pdf", "evidence-refused", "evidence-export-failed")


def new_job_name(version: int) -> str:
    """128 random bits: no one can create the job before the hub, nor find it by trying names."""
    return f"approved-v{version}-{secrets.token_hex(16)}"


@dataclass(frozen=True)
class ExpectedExport:
    """What the hub asked for, as its ledger recorded it before asking."""

    entry_key: str  # the approval's change key: `<key>#export-job`, `<key>#evidence-pdf`...
    job_arn: str
    card_name: str
    card_arn: str
    version: int
    output_path: str

    @property
    def artifact_prefix(self) -> str:
        return self.output_path.rstrip("/") + "/"


def expected_export(entry: Mapping[str, str]) -> ExpectedExport | None:
    """The export an `export-job` entry records; None for an entry that does not hold one."""
    match = EXPORT_JOB_ARN.match(entry.get("JobArn", ""))
    version = entry.get("Version", "")
    if entry.get("Kind") != "export-job" or not match or not version.isdigit():
        return None
    card_arn = entry["JobArn"].split("/export-job/")[0]
    return ExpectedExport(
        entry["EntryKey"].removesuffix("#export-job"),
        entry["JobArn"],
        match.group(4),
        card_arn,
        int(version),
        entry.get("OutputPath", ""),
    )


@dataclass(frozen=True)
class ExportVerdict:
    outcome: str  # "completed", "in-progress", "failed" or "refused"
    artifact: str = ""
    reasons: tuple[str, ...] = ()


def judge_export(job: Mapping[str, Any], expected: ExpectedExport) -> ExportVerdict:
    """What DescribeModelCardExportJob says of the hub's job, checked field by field; anything that is
    not exactly what the hub asked for is refused, and a status the hub does not know is too."""
    wrong: list[str] = []
    arn = job.get("ModelCardExportJobArn")
    if arn != expected.job_arn:
        wrong.append(f"job ARN {arn!r}, expected {expected.job_arn!r}")
    card_arn = arn.split("/export-job/")[0] if isinstance(arn, str) else None
    if card_arn != expected.card_arn:
        wrong.append(f"card ARN {card_arn!r}, expected {expected.card_arn!r}")
    if job.get("ModelCardName") != expected.card_name:
        wrong.append(f"card {job.get('ModelCardName')!r}, expected {expected.card_name!r}")
    version = job.get("ModelCardVersion")
    if isinstance(version, bool) or version != expected.version:
        wrong.append(f"card version {version!r}, expected {expected.version}")
    output = job.get("OutputConfig")
    path = output.get("S3OutputPath") if isinstance(output, Mapping) else None
    if not isinstance(path, str) or path.rstrip("/") != expected.output_path.rstrip("/") or not expected.output_path:
        wrong.append(f"output {path!r}, expected {expected.output_path!r}")
    if wrong:
        return ExportVerdict("refused", reasons=tuple(wrong))
    status = job.get("Status")
    if status == "InProgress":
        return ExportVerdict("in-progress")
    if status == "Failed":
        return ExportVerdict("failed", reasons=(str(job.get("FailureReason") or "no reason given"),))
    if status != "Completed":
        return ExportVerdict("refused", reasons=(f"status {status!r}",))
    artifacts = job.get("ExportArtifacts")
    artifact = artifacts.get("S3ExportArtifacts") if isinstance(artifacts, Mapping) else None
    if (
        not isinstance(artifact, str)
        or not artifact.startswith(expected.artifact_prefix)
        or "/../" in artifact
        or not artifact.endswith(".pdf")
    ):
        return ExportVerdict("refused", reasons=(f"PDF {artifact!r} is not under {expected.artifact_prefix}",))
    return ExportVerdict("completed", artifact=artifact)


def pending_exports(entries: Sequence[Mapping[str, str]]) -> list[ExpectedExport]:
    """The card's recorded export jobs that are neither recorded as evidence nor refused yet."""
    settled = {e["EntryKey"].rsplit("#", 1)[0] for e in entries if e.get("Kind") in SETTLED_KINDS}
    expected = [expected_export(e) for e in entries if e.get("Kind") == "export-job"]
    return [x for x in expected if x is not None and x.entry_key not in settled]


def hinted_export_card(event: Mapping[str, Any], *, account: str, region: str) -> str | None:
    """The hub card an export job event is about, or None.

    AWS publishes no sample of this event's detail. The only field read is an export job ARN, in
    the envelope's `resources` (the ARNs of the resources involved, included at the service's
    discretion) or in `detail.ModelCardExportJobArn` (DescribeModelCardExportJob's name for it); only
    the card of the hub's own account and region is taken from it. Nothing else of the event counts:
    the job to check, its version and its PDF come from the ledger and SageMaker.
    """
    if event.get("source") != SAGEMAKER_SOURCE or event.get("detail-type") != MODEL_CARD_EXPORT_JOB_STATE_CHANGE:
        return None
    resources = event.get("resources")
    detail = event.get("detail")
    candidates = [r for r in resources if isinstance(r, str)] if isinstance(resources, list) else []
    if isinstance(detail, Mapping) and isinstance(detail.get("ModelCardExportJobArn"), str):
        candidates.append(detail["ModelCardExportJobArn"])
    for candidate in candidates:
        match = EXPORT_JOB_ARN.match(candidate)
        if match and match.group(2) == region and match.group(3) == account:
            return match.group(4)
    return None


# --- Acting on the ledger and SageMaker ----------------------------------------------------------


def record_export_job(
    dynamodb: Any, table: str, card_arn: str, entry_key: str, version: int, output_path: str
) -> ExpectedExport:
    """The approval's export job: the one recorded already (a retried or duplicated delivery), else a
    new nonce, recorded before anyone is asked to create it. Of two deliveries racing here, the
    ledger keeps one entry and both follow it."""
    key = f"{entry_key}#export-job"
    entry = get_entry(dynamodb, table, card_arn, key)
    if entry is None:
        name = new_job_name(version)
        append_entry(
            dynamodb,
            table,
            card_arn,
            key,
            {
                "Kind": "export-job",
                "Version": str(version),
                "JobArn": f"{card_arn}/export-job/{name}",
                "OutputPath": output_path,
            },
        )
        entry = get_entry(dynamodb, table, card_arn, key)
    expected = expected_export(entry or {})
    if expected is None:
        raise RuntimeError(f"the ledger of {card_arn} holds no readable export job at {key}")
    return expected


@dataclass(frozen=True)
class Followed:
    """One look at a card's pending exports: what was done, what is left, what must be told."""

    done: list[str]
    pending: int
    alerts: list[str]


def follow_card_exports(card_arn: str, *, sagemaker: Any, dynamodb: Any, table: str, via: str) -> Followed:
    """Check each pending export job of the card and record what it verifiably is."""
    done: list[str] = []
    alerts: list[str] = []
    pending = 0
    for expected in pending_exports(ledger_entries(dynamodb, table, card_arn)):
        job = sagemaker.describe_model_card_export_job(ModelCardExportJobArn=expected.job_arn)
        verdict = judge_export(job, expected)
        if verdict.outcome == "in-progress":
            pending += 1
            done.append(f"export {expected.job_arn} still InProgress")
            continue
        if verdict.outcome == "completed":
            append_entry(
                dynamodb,
                table,
                card_arn,
                f"{expected.entry_key}#evidence-pdf",
                {
                    "Kind": "evidence-pdf",
                    "Detail": verdict.artifact,
                    "Version": str(expected.version),
                    "JobArn": expected.job_arn,
                    "Via": via,
                },
            )
            done.append(f"export completed: {verdict.artifact}")
            continue
        kind = "evidence-refused" if verdict.outcome == "refused" else "evidence-export-failed"
        reason = "; ".join(verdict.reasons)
        written = append_entry(
            dynamodb,
            table,
            card_arn,
            f"{expected.entry_key}#{kind}",
            {"Kind": kind, "Version": str(expected.version), "JobArn": expected.job_arn, "Reason": reason[:2000]},
        )
        what = "not recorded as evidence" if verdict.outcome == "refused" else "failed"
        message = f"export {expected.job_arn} of {expected.card_name} v{expected.version} {what}: {reason}"
        done.append(message)
        if written:  # told once, by the delivery that recorded it
            alerts.append(message)
    return Followed(done, pending, alerts)
