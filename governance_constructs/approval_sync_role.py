"""The role in a spoke that the hub's approval workflow assumes to approve that spoke's packages."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_constructs.nag import acknowledge, nag_arn

# UpdateModelPackage's values of sagemaker:ModelApprovalStatus (API reference, UpdateModelPackage).
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
# The review decisions the hub puts on the spoke's default bus (card_workflow.reviews.tell_spoke).
REVIEW_SOURCE = "model-card-governance"
REVIEW_DECISION = "Model Card Review Decision"


class ApprovalSyncRole(Construct):
    """Trusts only the hub's approval-workflow role; may describe model packages here and update
    only their approval status.

    UpdateModelPackage is allowed only when the request sets `ModelApprovalStatus` (the condition
    key sagemaker:ModelApprovalStatus, which the Service Authorization Reference lists for the
    action; StringEquals fails when the request has no status). IAM offers no condition key for
    the other fields UpdateModelPackage takes (inference specification, source URI, model card),
    so that the hub sends nothing else is held by the workflow's code, not by this policy.

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
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:UpdateModelPackage"],
                resources=[packages],
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": list(APPROVAL_STATUSES)}},
            )
        )
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
