"""sagemaker 3.x (sagemaker-core resources): ModelCard.get of a shared card by its ARN, at a version (0: the latest)."""

import json
import sys

import boto3
from sagemaker.core.resources import ModelCard
from sdk_outcome import report

arn, version = sys.argv[1], int(sys.argv[2])


def load() -> dict[str, object]:
    extra = {"model_card_version": version} if version else {}
    card = ModelCard.get(model_card_name=arn, session=boto3.Session(), **extra)
    content = json.loads(card.content)
    business = content.get("business_details", {}).get("business_problem")
    creator = content.get("model_package_details", {}).get("created_by", {}).get("user_profile_name")
    return {
        "name": card.model_card_name,
        "version": card.model_card_version,
        "status": card.model_card_status,
        "business_problem": business,
        "created_by": creator,
    }


report(load)
