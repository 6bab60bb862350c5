"""The organization's guardrail for the spokes: a service control policy that keeps a spoke's own
administrators from silencing the hub or approving their own model packages.

Without it a spoke administrator (AdministratorAccess in the spoke) can disable or retarget the
forwarding rule, or loosen the hub's roles, then set a package Approved: the hub never hears of it
and only a later sweep of the spokes' registries can find it. An SCP is the one control AWS offers
over what an account's own administrators may do (AWS Organizations User Guide, "Service control
policies (SCPs)"): an explicit Deny in an SCP attached to the account or an OU above it wins over
any allow in the account. Facts the policy relies on, from the same guide:

- SCPs do not restrict users or roles of the management account, nor service-linked roles; they
  do restrict every other IAM user and role of a member account, its root user included.
- A policy document is at most 5,120 bytes (Quotas for AWS Organizations); `aws_quotas` checks it.
- Only the management account (or a delegated administrator for Organizations policies) creates
  and attaches SCPs (CloudFormation Template Reference, `AWS::Organizations::Policy`).

Who keeps the right to change what the policy protects: the deploy path only, i.e. the
CloudFormation execution role `cdk deploy` passes (the CDK bootstrap's `cfn-exec-role`) and the
execution role service-managed StackSets create in each target account (`stacksets-exec-*`,
CloudFormation User Guide, "Configure a custom execution role template for StackSets"). Setting a
package `Approved` is kept for the hub's approval-sync role alone: `sagemaker:ModelApprovalStatus`
is a condition key of UpdateModelPackage and CreateModelPackage (Service Authorization Reference,
"Actions, resources, and condition keys for Amazon SageMaker").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import DefaultStackSynthesizer
from aws_cdk import aws_organizations as organizations
from constructs import Construct

# The forwarding rule: every call that could stop, redirect or replace it (EventBridge API
# reference; each action takes the rule's ARN as its resource in the Service Authorization Reference).
RULE_ACTIONS = (
    "events:DisableRule",
    "events:DeleteRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
)
# The hub's roles in a spoke: every call that changes who may assume them or what they may do.
ROLE_ACTIONS = (
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
)
APPROVAL_ACTIONS = ("sagemaker:UpdateModelPackage", "sagemaker:CreateModelPackage")
# service-managed StackSets name their execution role in each target account `stacksets-exec-<hash>`.
STACK_SET_EXECUTION_ROLE = "stacksets-exec-*"


def cdk_execution_role_pattern(partition: str, qualifier: str = DefaultStackSynthesizer.DEFAULT_QUALIFIER) -> str:
    """The CDK bootstrap's CloudFormation execution role in any account and region, as an ARN pattern.

    Read from the synthesizer's own default (`cdk-<qualifier>-cfn-exec-role-<account>-<region>`), so
    the guardrail names the role `cdk deploy` really passes to CloudFormation.
    """
    role = DefaultStackSynthesizer.DEFAULT_CLOUDFORMATION_ROLE_ARN.split(":role/", 1)[1]
    name = role.replace("${Qualifier}", qualifier).replace("${AWS::AccountId}", "*").replace("${AWS::Region}", "*")
    return f"arn:{partition}:iam::*:role/{name}"


def deploy_path_patterns(partition: str) -> list[str]:
    return [cdk_execution_role_pattern(partition), f"arn:{partition}:iam::*:role/{STACK_SET_EXECUTION_ROLE}"]


def guardrail_document(
    *,
    partition: str,
    forwarding_rule_name: str,
    protected_role_names: Sequence[str],
    approval_sync_role_name: str,
    production_stage: str | None = None,
) -> dict[str, Any]:
    """The SCP's statements: three Denies, each with the one principal pattern it spares; a fourth
    when the approval policy names the lifecycle stage an approval sets (`production_stage`)."""
    deploy_path = {"ArnNotLike": {"aws:PrincipalArn": deploy_path_patterns(partition)}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeepRegistryForwarding",
                "Effect": "Deny",
                "Action": list(RULE_ACTIONS),
                "Resource": f"arn:{partition}:events:*:*:rule/{forwarding_rule_name}",
                "Condition": deploy_path,
            },
            {
                "Sid": "KeepHubRoles",
                "Effect": "Deny",
                "Action": list(ROLE_ACTIONS),
                "Resource": [f"arn:{partition}:iam::*:role/{name}" for name in protected_role_names],
                "Condition": deploy_path,
            },
            {
                # StringEquals on a key the request lacks does not match: other package calls pass.
                "Sid": "OnlyTheHubApproves",
                "Effect": "Deny",
                "Action": list(APPROVAL_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"},
                    "ArnNotLike": {"aws:PrincipalArn": f"arn:{partition}:iam::*:role/{approval_sync_role_name}"},
                },
            },
            *(
                [
                    {
                        # `sagemaker:ModelLifeCycle:stage` (String) is a request condition key of
                        # UpdateModelPackage and CreateModelPackage (Service Authorization Reference,
                        # "Actions, resources, and condition keys for Amazon SageMaker AI"; SageMaker
                        # Developer Guide, "Set up Staging Construct Examples"): the stage an approval
                        # sets is the hub's too, whatever stage status goes with it. A request without
                        # a stage lacks the key, and StringEquals on it does not match.
                        "Sid": "OnlyTheHubSetsTheApprovedStage",
                        "Effect": "Deny",
                        "Action": list(APPROVAL_ACTIONS),
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"sagemaker:ModelLifeCycle:stage": production_stage},
                            "ArnNotLike": {
                                "aws:PrincipalArn": f"arn:{partition}:iam::*:role/{approval_sync_role_name}"
                            },
                        },
                    }
                ]
                if production_stage
                else []
            ),
        ],
    }


class GuardrailPolicy(Construct):
    """The guardrail SCP, attached to the spokes' accounts and OUs (`target_ids`).

    `document` is the policy as a JSON object, as CloudFormation recommends for `Content` (a string
    would defeat drift detection).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy_name: str,
        target_ids: Sequence[str],
        partition: str,
        forwarding_rule_name: str,
        protected_role_names: Sequence[str],
        approval_sync_role_name: str,
        production_stage: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not target_ids:
            raise ValueError("GuardrailPolicy: target_ids must name at least one account or OU")
        for target in target_ids:
            if not (target.isdigit() and len(target) == 12) and not target.startswith("ou-"):
                raise ValueError(f"GuardrailPolicy: target {target!r} is neither an account ID nor an OU ID")
        self.document = guardrail_document(
            partition=partition,
            forwarding_rule_name=forwarding_rule_name,
            protected_role_names=protected_role_names,
            approval_sync_role_name=approval_sync_role_name,
            production_stage=production_stage,
        )
        self.policy = organizations.CfnPolicy(
            self,
            "Policy",
            name=policy_name,
            type="SERVICE_CONTROL_POLICY",
            description="Model card governance: spokes keep their forwarding rule and hub roles; the hub approves",
            content=self.document,
            target_ids=list(target_ids),
        )
