"""The append-only approval ledger: every card status change, since SageMaker keeps no status history."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import DefaultStackSynthesizer, Fn, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

LEDGER_PARTITION_KEY = "CardArn"
LEDGER_SORT_KEY = "EntryKey"
# Every item write: TransactWriteItems is authorized per item by these same actions (DynamoDB
# Developer Guide, "Using IAM with DynamoDB transactions"), so it needs no statement of its own.
ITEM_WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
POLICY_CHANGES = ("dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy")
# A sparse global secondary index of the effective approvals, which the daily review sweep Queries
# instead of scanning a ledger that only grows. The workflow writes EFFECTIVE_KEY on its
# `approval-effective` entries only (lambdas/card_workflow/ledger.py, same names), and DynamoDB
# indexes an item only when it has the index's key attributes (DynamoDB Developer Guide, "Take
# advantage of sparse indexes": "Global secondary indexes are sparse by default"). KEYS_ONLY: the
# sweep needs the card ARN (a table key, always projected) and reads the card's chain itself.
EFFECTIVE_INDEX = "effective-approvals"
EFFECTIVE_KEY = "EffectiveApproval"


class ApprovalLedger(Construct):
    """DynamoDB table keyed by card ARN and entry, with PITR, deletion protection and the hub key."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=LEDGER_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=LEDGER_SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=EFFECTIVE_INDEX,
            partition_key=dynamodb.Attribute(name=EFFECTIVE_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.effective_index_arn = f"{self.table.table_arn}/index/{EFFECTIVE_INDEX}"

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """`actions` on the table itself. `ITable.grant` adds `<table>/index/*` once the table has an
        index; only the review sweep reads the index, through `grant_effective_index`."""
        return grant_table(self.table, grantee, *actions)

    def grant_effective_index(self, grantee: iam.IGrantable) -> iam.Grant:
        """Query on the sparse index of effective approvals alone: a Query naming an index is
        authorized on the index's ARN, `<table ARN>/index/<name>` (DynamoDB Developer Guide, "IAM
        policy to grant access to a specific DynamoDB table and its indexes")."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:Query"], resource_arns=[self.effective_index_arn]
        )

    def only_written_by(self, writers: Sequence[iam.IRole]) -> None:
        """Deny item writes to every principal but `writers`, and policy changes to every principal
        but the stack's CloudFormation execution role.

        Within one account an identity-based policy alone allows (a hub developer's PowerUserAccess
        allows dynamodb:*), unless a resource-based policy explicitly denies (IAM User Guide, "Policy
        evaluation logic"); a table takes one (CloudFormation `AWS::DynamoDB::Table`
        `ResourcePolicy`). Without the second statement the same developer would delete the policy
        first. Break glass is a deploy of a changed policy: it runs as the execution role, and
        CloudTrail records the PutResourcePolicy. A policy on the table cannot name its own ARN
        while it is created, so `*` (this table) stands for it.
        """
        self.table.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheWorkflowWrites",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(ITEM_WRITES),
                resources=["*"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": [w.role_arn for w in writers]}},
            )
        )
        synthesizer = Stack.of(self).synthesizer
        # The synthesizer's own name for the role (`${AWS::Partition}` left for CloudFormation).
        deployer = (
            Fn.sub(synthesizer.cloud_formation_execution_role_arn)
            if isinstance(synthesizer, DefaultStackSynthesizer)
            else None
        )
        self.table.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyDeploysChangeThisPolicy",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(POLICY_CHANGES),
                resources=["*"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": deployer}} if deployer else None,
            )
        )


def grant_table(table: dynamodb.ITable, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
    """`actions` on exactly the table's ARN, never its indexes (see ApprovalLedger.grant)."""
    return iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[table.table_arn])
