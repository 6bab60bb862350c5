"""sagemaker 3.x: get a shared card by ARN, address it by ARN again (get keeps the bare name), edit it."""

import json
import sys

import boto3
from sagemaker.core.resources import ModelCard
from sdk_outcome import report

arn, problem = sys.argv[1], sys.argv[2]


def update() -> dict[str, object]:
    card = ModelCard.get(model_card_name=arn, session=boto3.Session())
    card.model_card_name = arn
    content = json.loads(card.content)
    content["business_details"] = {"business_problem": problem}
    card.update(content=json.dumps(content))
    return {"updated": card.model_card_arn}


report(update)
