"""The reviewer role: the hub principal whose `Approved` status takes effect.

Anyone who can set a card's status can write `Approved` (UpdateModelCard has no condition key for
the status); the workflow makes it effective only when CloudTrail shows one of the approvers set it.
This role is always one of them, so who may assume it decides who approves. Trusting the whole hub
account would let any hub principal whose policies allow sts:AssumeRole (PowerUserAccess does) approve
their own edit, and separation of duties would compare roles, not people. The trust policy therefore
admits only the configured `reviewer_principals` (`aws:PrincipalArn`, with ArnLike so that IAM
Identity Center's permission-set roles, whose names end in a unique suffix, can be named with `*`),
and only with a source identity set (`sts:SourceIdentity` not null): it persists through role
chaining and appears in CloudTrail's userIdentity, so every approver session names a person ("Monitor
and control actions taken with assumed roles", IAM User Guide). Setting it needs sts:SetSourceIdentity
in the trust policy too. The session name must equal the source identity, so that the decision
endpoint, which sees the session's ARN but not its source identity, names the same person. With no
reviewer principals configured nobody may assume the role.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from governance_constructs.nag import acknowledge, nag_arn


class ReviewerRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        key: kms.IKey,
        reviewer_principals: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        hub = iam.AccountPrincipal(stack.account)
        if reviewer_principals:
            conditions = {
                "ArnLike": {"aws:PrincipalArn": list(reviewer_principals)},
                "Null": {"sts:SourceIdentity": "false"},
                # The session is named after the person too: a Lambda function URL's event carries
                # the caller's ARN (and so the session name) but no source identity, and the
                # decision endpoint names the person by it (lambdas/card_workflow/decisions.py).
                # Service-specific keys serve as policy variables in requests that have them
                # ("IAM policy elements: Variables and tags"); sts:RoleSessionName and
                # sts:SourceIdentity are AssumeRole's ("IAM and AWS STS condition context keys").
                "StringEquals": {"sts:RoleSessionName": "${sts:SourceIdentity}"},
            }
        else:
            # aws:PrincipalArn is in every request by an IAM principal (IAM User Guide, global condition
            # keys), so this condition never holds: fail closed until reviewers are configured.
            conditions = {"Null": {"aws:PrincipalArn": "true"}}
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=hub.with_conditions(conditions),
            description="Reviews model cards and approves them (the approval workflow attributes approvals to it)",
        )
        if reviewer_principals:
            self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(actions=["sts:SetSourceIdentity"], principals=[hub], conditions=conditions)
            )
        else:
            Annotations.of(self).add_warning_v2(
                "governance:no-reviewer-principals",
                "reviewer_principals is empty: nobody can assume the reviewer role, so no approval takes "
                "effect until the config names the hub principals who review",
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
