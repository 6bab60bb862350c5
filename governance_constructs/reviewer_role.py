"""The reviewer role: the hub principal whose `Approved` status takes effect.

Anyone who can set a card's status can write `Approved` (UpdateModelCard has no condition key for
the status); the workflow makes it effective only when CloudTrail shows one of the approvers set it.
This role is always one of them. It trusts the hub account, so the account's administrators decide
who may assume it (an identity policy allowing sts:AssumeRole on this role's ARN).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from governance_constructs.nag import acknowledge, nag_arn


class ReviewerRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, role_name: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.AccountPrincipal(stack.account),
            description="Reviews model cards and approves them (the approval workflow attributes approvals to it)",
        )
        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeModelCard",
                    "sagemaker:ListModelCardVersions",
                    "sagemaker:UpdateModelCard",
                ],
                resources=[cards],
            )
        )
        # Cards are encrypted with the hub key; SageMaker uses it on the reviewer's behalf.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sagemaker.{stack.region}.amazonaws.com"}},
            )
        )
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, cards)}]",
            "Reviewers review every card, and cards are created at run time, one per model version; "
            "the grant is held to this account and region.",
        )
