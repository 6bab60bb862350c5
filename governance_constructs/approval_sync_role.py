"""The role in a spoke that the hub's approval workflow assumes to approve that spoke's packages."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_config import LifecycleStage
from governance_constructs.nag import acknowledge, nag_arn
from governance_constructs.package_updates import package_update_statements

# The review decisions the hub puts on the spoke's default bus (card_workflow.reviews.tell_spoke).
REVIEW_SOURCE = "model-card-governance"
REVIEW_DECISION = "Model Card Review Decision"


class ApprovalSyncRole(Construct):
    """Trusts only the hub's approval-workflow role; may describe model packages here and update
    only their approval status and, with it, a lifecycle stage of the approval policy.

    UpdateModelPackage is allowed only when the request sets `ModelApprovalStatus` (the condition
    key sagemaker:ModelApprovalStatus, which the Service Authorization Reference lists for the
    action; StringEquals fails when the request has no status), and either sets no lifecycle stage
    or sets exactly one of `lifecycle_stages` (package_updates: sagemaker:ModelLifeCycle:stage and
    :stageStatus). IAM offers no condition key for the other fields UpdateModelPackage takes
    (inference specification, source URI, model card), so that the hub sends nothing else is held
    by the workflow's code, not by this policy.

    The name is fixed (from config) because the hub builds this role's ARN for any spoke account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        hub_account: str,
        partition: str,
        workflow_role_name: str,
        lifecycle_stages: Sequence[LifecycleStage] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        workflow_role_arn = f"arn:{partition}:iam::{hub_account}:role/{workflow_role_name}"
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Lets the model card governance hub set ModelApprovalStatus on this account's packages",
            assumed_by=iam.AccountPrincipal(hub_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": workflow_role_arn}}
            ),
        )
        packages = stack.format_arn(service="sagemaker", resource="model-package", resource_name="*/*")
        self.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        for statement in package_update_statements(packages, lifecycle_stages):
            self.role.add_to_policy(statement)
        # A request for changes or a suspension of this spoke's card, put on this account's own
        # default bus, where the spoke's rules pick it up: a same-account PutEvents that the identity
        # policy alone allows, so the bus needs no policy for the hub. events:source and
        # events:detail-type are condition keys of PutEvents (Service Authorization Reference,
        # Amazon EventBridge): the hub puts nothing else here.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[stack.format_arn(service="events", resource="event-bus", resource_name="default")],
                conditions={"StringEquals": {"events:source": REVIEW_SOURCE, "events:detail-type": REVIEW_DECISION}},
            )
        )
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, packages)}]",
            "Model package versions are registered at run time by data scientists; the ARN "
            "is held to versioned packages (group/version) of this account and region.",
        )
