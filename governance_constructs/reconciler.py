"""The reconciler in the hub: a scheduled function that compares every registry with the hub and
closes the gaps lost events leave (lambdas/reconciler/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.approval_ledger import ApprovalLedger
from governance_constructs.evidence_archive import EVIDENCE_PREFIX
from governance_constructs.hub_function import HubFunction
from governance_constructs.nag import acknowledge, nag_arn
from governance_constructs.spoke_principals import spoke_role_statements

# SageMaker's List actions have no resource type: AWS evaluates them against "*" only.
LIST_ACTIONS = ("sagemaker:ListModelCards", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages")


class Reconciler(Construct):
    """Runs every `interval`; reads registries (through the spokes' registry-reader roles), the link
    table, cards, ledger and evidence; hands what is missing to the function that owns it (the
    auto-linker, the workflow and its gate, the recheck queue) and records what it did in the ledger.

    It changes no card, package or evidence itself: its grants are reads, its own ledger entries and
    notices, invoking the two functions, sending to the recheck queue, and the dead-letter queues it
    redrives.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        interval: Duration,
        role_name: str,
        key: kms.IKey,
        ledger: ApprovalLedger,
        card_links: dynamodb.ITable,
        evidence_bucket: s3.IBucket,
        topic: sns.ITopic,
        recheck_queue: sqs.IQueue,
        auto_linker: lambda_.IFunction,
        workflow: lambda_.IFunction,
        dead_letters: Mapping[str, sqs.IQueue],
        registry_reader_role_name: str,
        forwarding_rule_name: str,
        hub_bus_arn: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        deployable_stage: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.function = HubFunction(
            self,
            "Function",
            source="reconciler",
            description="Compares every registry with the hub and closes the gaps lost events leave",
            role_name=role_name,
            # A run at 1,000 versions takes minutes (benchmarks/reconciler.py); the schedule's
            # interval is at least 5 minutes, so runs do not overlap.
            timeout_seconds=900,
            environment={
                "HUB_ACCOUNT": stack.account,
                "PARTITION": stack.partition,
                "LINK_TABLE": card_links.table_name,
                "LEDGER_TABLE": ledger.table.table_name,
                "EVIDENCE_BUCKET": evidence_bucket.bucket_name,
                "TOPIC_ARN": topic.topic_arn,
                "REGISTRY_ROLE_NAME": registry_reader_role_name,
                "SPOKE_ACCOUNTS": "" if organization else ",".join(s.account for s in spokes if s.account),
                "FORWARDING_RULE_NAME": forwarding_rule_name,
                "HUB_BUS_ARN": hub_bus_arn,
                # A version younger than the interval is the events' to handle.
                "GRACE_SECONDS": str(int(interval.to_seconds())),
                # The functions' own dead-letter queues, which the reconciler redrives.
                "AUTO_LINK_DEAD_LETTERS": dead_letters["auto_link"].queue_url,
                "WORKFLOW_DEAD_LETTERS": dead_letters["card_workflow"].queue_url,
                "MAX_REDRIVES": "3",
                "AUTO_LINK_FUNCTION": auto_linker.function_name,
                "WORKFLOW_FUNCTION": workflow.function_name,
                "RECHECK_QUEUE_URL": recheck_queue.queue_url,
                # The approval policy's on_approval stage, `<Stage>/<StageStatus>`: an approval too.
                "DEPLOYABLE_STAGE": deployable_stage,
            },
        )
        role = self.function.role
        role.add_to_policy(iam.PolicyStatement(actions=list(LIST_ACTIONS), resources=["*"]))
        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        packages = stack.format_arn(service="sagemaker", resource="model-package", resource_name="*/*")
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelCard"], resources=[cards]))
        # The hub's own registry: a lost event is made again from the package's description.
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        # Links and plans (Scan); redrive counts (UpdateItem, items `redrive#<event id>`).
        card_links.grant(role, "dynamodb:Scan", "dynamodb:UpdateItem")
        # Its own entries and notices: append-only, as the workflow's (PutItem with a condition, Query).
        ledger.grant(role, "dynamodb:PutItem", "dynamodb:Query")
        evidence = evidence_bucket.arn_for_objects(f"{EVIDENCE_PREFIX}/*")
        # Whether an approval's evidence JSON exists (HeadObject is authorized by s3:GetObject; without
        # s3:ListBucket a missing key answers 403, not 404: S3 API reference, HeadObject).
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[evidence]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[evidence_bucket.bucket_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[auto_linker.function_arn, workflow.function_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                resources=[recheck_queue.queue_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
                resources=[q.queue_arn for q in dead_letters.values()],
            )
        )
        self._grant_registry_readers(role, stack, registry_reader_role_name, spokes, organization)
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ListModelCards, ListModelPackageGroups and ListModelPackages have no resource type in the "
            "Service Authorization Reference; AWS evaluates them against * only. The statement has no other action.",
        )
        for resource in (cards, packages, evidence):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, resource)}]",
                "Cards, package versions and evidence keys are created at run time, one per model version; "
                "the grant is read-only, held to this account and region, and evidence to its prefix.",
            )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="The reconciler: registries against the hub",
            schedule=events.Schedule.rate(interval),
        )
        self.function.on(self.schedule)

    def _grant_registry_readers(
        self,
        role: iam.IRole,
        stack: Stack,
        reader_role_name: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
    ) -> None:
        """As the report's roles: the reader role in exactly the configured spokes
        (`spoke_role_statements`), so an organization member that is no spoke is never read."""
        statements, any_account = spoke_role_statements(reader_role_name, spokes, organization, stack.partition)
        for statement in statements:
            role.add_to_principal_policy(statement)
        if any_account is not None:
            policy = role.node.try_find_child("DefaultPolicy")
            assert policy is not None
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, any_account)}]",
                "Spoke accounts under OUs are not known at synth (accounts join and leave OUs); each "
                "statement names the registry-reader role and requires the role's account to be a configured "
                "spoke account (aws:ResourceAccount) or under a configured OU (aws:ResourceOrgPaths).",
            )
