"""sagemaker 2.x: export a shared card to PDF by ARN; the job name is given, since the SDK would make
one from the card's name, and an ARN is no valid job name."""

import sys

import boto3
from sagemaker.model_card import ModelCard
from sagemaker.session import Session
from sdk_outcome import report

arn, output, job = sys.argv[1], sys.argv[2], sys.argv[3]


def export() -> dict[str, object]:
    card = ModelCard.load(name=arn, sagemaker_session=Session(boto_session=boto3.Session()))
    card.name = arn
    return {"pdf": card.export_pdf(s3_output_path=output, export_job_name=job)}


report(export)
