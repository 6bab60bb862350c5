"""The role in a spoke that the hub's governance report assumes to read this account's registry."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from governance_constructs.nag import acknowledge, nag_arn

# SageMaker's List actions have no resource type: AWS evaluates them against "*" only.
REGISTRY_LIST_ACTIONS = ("sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages", "sagemaker:ListEndpoints")
# What the report calls to learn which package version an endpoint serves.
ENDPOINT_DESCRIBE_ACTIONS = {
    "sagemaker:DescribeEndpoint": "endpoint/*",
    "sagemaker:DescribeEndpointConfig": "endpoint-config/*",
    "sagemaker:DescribeModel": "model/*",
}


def registry_read_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Read-only access to a registry and its deployments, in the stack's account and region."""
    statements = [iam.PolicyStatement(actions=list(REGISTRY_LIST_ACTIONS), resources=["*"])]
    for action, resource in ENDPOINT_DESCRIBE_ACTIONS.items():
        kind, name = resource.split("/")
        statements.append(
            iam.PolicyStatement(
                actions=[action], resources=[stack.format_arn(service="sagemaker", resource=kind, resource_name=name)]
            )
        )
    return statements


def acknowledge_registry_reads(policy: IConstruct, stack: Stack) -> None:
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ListModelPackageGroups, ListModelPackages and ListEndpoints have no resource type in the "
        "Service Authorization Reference; AWS evaluates them against * only. The statement has no other action.",
    )
    for resource in ENDPOINT_DESCRIBE_ACTIONS.values():
        kind, name = resource.split("/")
        arn = stack.format_arn(service="sagemaker", resource=kind, resource_name=name)
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, arn)}]",
            "Endpoints, their configs and models are created at run time by the spoke's team; the "
            "report reads which package each serves, held to Describe in this account and region.",
        )


class RegistryReaderRole(Construct):
    """Trusts only the hub's reading principals (the auditor role, the weekly report function, the
    auto-linker and the reconciler); lists and describes model packages and the endpoints that serve
    them, reads objects of this account's buckets (a package's evaluation reports) and the state and
    targets of this account's forwarding rule, nothing else.

    The name is fixed (from config) because the report builds this role's ARN for any spoke.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        hub_account: str,
        partition: str,
        reader_role_names: Sequence[str],
        forwarding_rule_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not reader_role_names:
            raise ValueError("RegistryReaderRole: reader_role_names must name at least one hub role")
        stack = Stack.of(self)
        readers = [f"arn:{partition}:iam::{hub_account}:role/{name}" for name in reader_role_names]
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Lets the model card governance report read this account's model registry and endpoints",
            assumed_by=iam.AccountPrincipal(hub_account).with_conditions({"ArnEquals": {"aws:PrincipalArn": readers}}),
        )
        for statement in registry_read_statements(stack):
            self.role.add_to_policy(statement)
        packages = stack.format_arn(service="sagemaker", resource="model-package", resource_name="*/*")
        # The reconciler makes a lost creation event again from the package's own description.
        self.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        if forwarding_rule_arn is not None:
            # Whether the account still forwards its events: this one rule's state and targets
            # (DescribeRule and ListTargetsByRule take a rule ARN; Service Authorization Reference,
            # Amazon EventBridge).
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["events:DescribeRule", "events:ListTargetsByRule"], resources=[forwarding_rule_arn]
                )
            )
        # A package's evaluation reports (ModelMetrics S3 URIs), for its card: objects of buckets
        # this account owns, whatever their names (HeadObject is authorized by s3:GetObject).
        # aws:ResourceAccount is the account that owns the bucket for S3 (IAM User Guide, "AWS global
        # condition context keys"; S3 also has s3:ResourceAccount, the same test).
        reports = f"arn:{stack.partition}:s3:::*/*"
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[reports],
                conditions={"StringEquals": {"aws:ResourceAccount": stack.account}},
            )
        )
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge_registry_reads(policy, stack)
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, reports)}]",
            "A model package names its evaluation reports by S3 URI in buckets the spoke's teams choose at "
            "run time; the grant is read-only and held to buckets this account owns (aws:ResourceAccount).",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, packages)}]",
            "Model package versions are registered at run time by data scientists; the grant is read-only "
            "and held to versioned packages of this account and region.",
        )
