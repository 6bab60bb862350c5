"""Model card export jobs: AWS runs the export, writes a PDF under S3OutputPath and sends the job's
state change event; moto had none."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.sagemaker.models import FakeModelCard, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from emulator.core import ResourceNotFound, ValidationException, caller_of, now, result
from emulator.events import emit_export_job_event
from emulator.permissions import authorize_shared_card, caller_may
from emulator.sagemaker_cards import ENTITY_NAME, card_history, resolve_card, use_card_key

EXPORT_JOB_ARN = re.compile(
    r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-card/([^/]+)/export-job/([^/]+)$"
)


@dataclass
class ExportJob:
    arn: str
    name: str
    card_name: str
    card_version: int
    output_path: str
    status: str
    created: datetime
    artifact: str | None = None
    failure: str | None = None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "ModelCardExportJobName": self.name,
            "ModelCardExportJobArn": self.arn,
            "Status": self.status,
            "ModelCardName": self.card_name,
            "ModelCardVersion": self.card_version,
            "OutputConfig": {"S3OutputPath": self.output_path},
            "CreatedAt": self.created,
            "LastModifiedAt": self.created,
        }
        if self.artifact:
            described["ExportArtifacts"] = {"S3ExportArtifacts": self.artifact}
        if self.failure:
            described["FailureReason"] = self.failure
        return described

    def summary(self) -> dict[str, Any]:
        return {
            k: v for k, v in self.describe().items() if k not in ("OutputConfig", "ExportArtifacts", "FailureReason")
        }


def export_jobs(backend: SageMakerModelBackend) -> dict[str, ExportJob]:
    """The export jobs of one account and region, kept on moto's backend (reset with it)."""
    if not hasattr(backend, "model_card_export_jobs"):
        setattr(backend, "model_card_export_jobs", {})  # noqa: B010 - an attribute moto does not declare
    jobs: dict[str, ExportJob] = getattr(backend, "model_card_export_jobs")  # noqa: B009
    return jobs


def card_pdf(card: FakeModelCard) -> bytes:
    """A small, valid one-page PDF naming the card and version (AWS renders the whole card)."""
    text = f"Model card {card.model_card_name} version {card.model_card_version} ({card.model_card_status})"
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _sm_create_export_job(self: Any) -> Any:
    """AWS runs the export and writes a PDF under S3OutputPath; moto had no export jobs. The job,
    like every job on a shared card, belongs to the card's owner (the hub)."""
    job_name = self._get_param("ModelCardExportJobName")
    if not ENTITY_NAME.match(job_name or ""):
        raise ValidationException(f"Value '{job_name}' at 'modelCardExportJobName' failed to satisfy the constraint.")
    backend, name = resolve_card(self, self._get_param("ModelCardName"), "sagemaker:CreateModelCardExportJob")
    history = card_history(backend, name)
    version = self._get_param("ModelCardVersion") or history[-1].model_card_version
    card = next((c for c in history if c.model_card_version == version), None)
    if card is None:
        raise ResourceNotFound(f"Modelcard with name {name} and version: {version} does not exist")
    use_card_key(card.security_config, card.arn, ["kms:Decrypt"], backend.region_name)
    output = (self._get_param("OutputConfig") or {}).get("S3OutputPath", "")
    match = re.match(r"^s3://([^/]+)/?(.*)$", output)
    if not match:
        raise ValidationException(f"S3OutputPath {output!r} is not an s3:// URI.")
    arn = f"{card.arn}/export-job/{job_name}"
    if arn in export_jobs(backend):
        raise JsonRESTError("ConflictException", f"Export job {job_name} already exists for model card {name}.")
    job = ExportJob(arn, job_name, name, version, output, "InProgress", now())
    bucket, prefix = match.group(1), match.group(2).rstrip("/")
    key = "/".join(p for p in (prefix, name, job_name, f"{name}.pdf") if p)
    # AWS documents neither whose permissions SageMaker writes the PDF with nor a service principal
    # for it; the stricter reading is the caller's own (a forward access session, as SageMaker uses
    # the caller's KMS permissions for the card), so the bucket's policy and the caller's IAM decide,
    # and a spoke cannot have a job write where it may not write itself.
    if not caller_may("s3", "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}"):
        job.status, job.failure = "Failed", f"Could not write to {output}: AccessDenied"
    else:
        try:
            s3_backends[backend.account_id]["aws"].put_object(bucket, key, card_pdf(card))
            job.status, job.artifact = "Completed", f"s3://{bucket}/{key}"
        except Exception as error:  # AWS reports the job Failed with a reason rather than failing the call
            job.status, job.failure = "Failed", f"Could not write to {output}: {type(error).__name__}"
    export_jobs(backend)[arn] = job
    # The job is the card owner's, whoever started it: the event is on the owner's default bus.
    emit_export_job_event(backend.account_id, backend.region_name, job.describe())
    return result({"ModelCardExportJobArn": arn})


def _sm_describe_export_job(self: Any) -> Any:
    arn = self._get_param("ModelCardExportJobArn")
    match = EXPORT_JOB_ARN.match(arn or "")
    if not match:
        raise ValidationException(f"Value '{arn}' at 'modelCardExportJobArn' failed to satisfy the constraint.")
    _, region, owner, _, _ = match.groups()
    jobs = export_jobs(sagemaker_backends[owner][region])
    if arn not in jobs:
        raise ResourceNotFound(f"Model card export job {arn} does not exist")
    caller, caller_arn = caller_of(self)
    if owner != caller:
        card_arn = arn.split("/export-job/")[0]
        authorize_shared_card(owner, region, caller, caller_arn, card_arn, "sagemaker:DescribeModelCardExportJob")
    return result(jobs[arn].describe())


def _sm_list_export_jobs(self: Any) -> Any:
    # ListModelCardExportJobs takes a name only, in the caller's own account.
    name = self._get_param("ModelCardName")
    if not ENTITY_NAME.match(name or ""):
        raise ValidationException(f"Value '{name}' at 'modelCardName' failed to satisfy the constraint.")
    prefix = f"model-card/{name}/export-job/"
    jobs = [job.summary() for arn, job in export_jobs(self.sagemaker_backend).items() if prefix in arn]
    version = self._get_param("ModelCardVersion")
    if version:
        jobs = [j for j in jobs if j["ModelCardVersion"] == version]
    return result({"ModelCardExportJobSummaries": jobs})


def install() -> None:
    handlers: dict[str, Callable[..., Any]] = {
        "create_model_card_export_job": _sm_create_export_job,
        "describe_model_card_export_job": _sm_describe_export_job,
        "list_model_card_export_jobs": _sm_list_export_jobs,
    }
    for name, handler in handlers.items():
        setattr(SageMakerResponse, name, handler)
