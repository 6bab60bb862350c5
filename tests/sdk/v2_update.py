"""sagemaker 2.x: load a shared card by ARN, address it by ARN again (load keeps the bare name), edit it."""

import sys

import boto3
from sagemaker.model_card import BusinessDetails, ModelCard
from sagemaker.session import Session
from sdk_outcome import report

arn, problem = sys.argv[1], sys.argv[2]


def update() -> dict[str, object]:
    card = ModelCard.load(name=arn, sagemaker_session=Session(boto_session=boto3.Session()))
    card.name = arn
    card.business_details = BusinessDetails(business_problem=problem)
    answer = card.update()
    return {"updated": sorted(answer)}


report(update)
