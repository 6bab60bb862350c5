"""A model card declared in config, created by CloudFormation in the hub."""

from __future__ import annotations

import re

from aws_cdk import CfnTag, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from governance_config import CARD_NAME_PATTERN, RISK_RATINGS, DeclaredCard


class DeclaredModelCard(Construct):
    """A Draft card for a business problem, encrypted with the hub key and retained on delete.

    The name and key of an AWS::SageMaker::ModelCard are replacement properties: changing either
    would delete the card and its version history, so both come from config and stay stable.
    """

    def __init__(self, scope: Construct, construct_id: str, *, card: DeclaredCard, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        if not CARD_NAME_PATTERN.match(card.name):
            raise ValueError(f"DeclaredModelCard: card name {card.name!r} breaks {CARD_NAME_PATTERN.pattern}")
        if card.risk_rating not in RISK_RATINGS:
            raise ValueError(f"DeclaredModelCard: risk_rating {card.risk_rating!r} is not one of {RISK_RATINGS}")
        self.card_name = card.name
        self.card = sagemaker.CfnModelCard(
            self,
            "Card",
            model_card_name=card.name,
            model_card_status="Draft",
            content=sagemaker.CfnModelCard.ContentProperty(
                model_overview=sagemaker.CfnModelCard.ModelOverviewProperty(
                    model_owner=card.owner, problem_type=card.problem_type
                ),
                intended_uses=sagemaker.CfnModelCard.IntendedUsesProperty(
                    intended_uses=card.intended_uses,
                    purpose_of_model=card.purpose,
                    risk_rating=card.risk_rating,
                ),
            ),
            security_config=sagemaker.CfnModelCard.SecurityConfigProperty(kms_key_id=key.key_arn),
            tags=[CfnTag(key="model-card-governance:declared", value="true")],
        )
        self.card.apply_removal_policy(RemovalPolicy.RETAIN)
        self.card_arn = self.card.attr_model_card_arn


def card_construct_id(name: str) -> str:
    """A stable construct ID for a card name (dashes dropped, words capitalised)."""
    return "Card" + "".join(part[:1].upper() + part[1:] for part in re.split(r"-+", name))
