"""sagemaker 3.x: export a shared card to PDF by ARN with ModelCardExportJob."""

import sys

import boto3
from sagemaker.core.resources import ModelCardExportJob
from sagemaker.core.shapes import ModelCardExportOutputConfig
from sdk_outcome import report

arn, output, job = sys.argv[1], sys.argv[2], sys.argv[3]


def export() -> dict[str, object]:
    created = ModelCardExportJob.create(
        model_card_name=arn,
        model_card_export_job_name=job,
        output_config=ModelCardExportOutputConfig(s3_output_path=output),
        session=boto3.Session(),
    )
    created.wait(poll=1, timeout=60)
    return {"status": created.status, "pdf": created.export_artifacts.s3_export_artifacts}


report(export)
