"""sagemaker 2.x: ModelCard.load of a shared card by its ARN, at a version (0: the latest)."""

import sys

import boto3
from sagemaker.model_card import ModelCard
from sagemaker.session import Session
from sdk_outcome import report

arn, version = sys.argv[1], int(sys.argv[2])


def load() -> dict[str, object]:
    session = Session(boto_session=boto3.Session())
    card = ModelCard.load(name=arn, version=version or None, sagemaker_session=session)
    business = card.business_details.business_problem if card.business_details else None
    details = card.model_package_details
    creator = details.created_by.user_profile_name if details and details.created_by else None
    return {
        "name": card.name,
        "version": card.version,
        "status": card.status,
        "business_problem": business,
        "created_by": creator,
    }


report(load)
