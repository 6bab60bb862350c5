"""The Lambda that gives every new model package version its own card, and the rules that feed it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.event_forwarding import model_package_state_change_pattern
from governance_constructs.hub_function import HubFunction
from governance_constructs.nag import acknowledge, nag_arn
from governance_constructs.spoke_principals import spoke_role_statements


class AutoLinker(Construct):
    """Receives `SageMaker Model Package State Change` from the hub's default bus (registries in the
    hub) and from the governance bus (registries in spokes) and links a card to each new version."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        governance_bus: events.IEventBus,
        share_arns: Sequence[str],
        owner_share_prefix: str | None,
        carry_over: Sequence[str],
        carry_over_from: str,
        template_cards: Mapping[str, str],
        role_name: str | None = None,
        registry_reader_role_name: str | None = None,
        spokes: Sequence[Spoke] = (),
        organization: Organization | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.index = dynamodb.Table(
            self,
            "CardIndex",
            partition_key=dynamodb.Attribute(name="Group", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Which package each card governs (lambdas/shared/card_links.py): written here when a card
        # is created, read by the approval workflow and gate. No spoke policy names this table.
        self.links = dynamodb.Table(
            self,
            "CardLinks",
            partition_key=dynamodb.Attribute(name="CardName", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        environment = {
            "CARD_KEY_ARN": key.key_arn,
            "SHARE_ARNS": ",".join(share_arns),
            "INDEX_TABLE": self.index.table_name,
            "LINK_TABLE": self.links.table_name,
            "CARRY_OVER": ",".join(carry_over),
            "CARRY_OVER_FROM": carry_over_from,
            "TEMPLATE_CARDS": json.dumps(dict(template_cards), sort_keys=True),
        }
        if owner_share_prefix:
            environment["OWNER_SHARE_PREFIX"] = owner_share_prefix
        reads_reports = registry_reader_role_name is not None and any(s.account for s in spokes)
        if reads_reports:
            assert registry_reader_role_name is not None
            environment |= {
                "READER_ROLE_NAME": registry_reader_role_name,
                "HUB_ACCOUNT": stack.account,
                "PARTITION": stack.partition,
            }
        self.handler = HubFunction(
            self,
            "Handler",
            source="auto_link",
            description="Links a cloned model card to every new model package version",
            environment=environment,
            role_name=role_name,
        )
        role = self.handler.role
        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelCard", "sagemaker:DescribeModelCard", "sagemaker:AddTags"],
                resources=[cards],
            )
        )
        shares = stack.format_arn(service="ram", resource="resource-share", resource_name="*")
        # The linker adds cards to shares and never a principal: who sees a card is the stack's choice.
        cards_only: dict[str, Any] = {"Null": {"ram:Principal": "true"}}
        if owner_share_prefix:
            # Owner shares are many (one per editing account spoke) and their ARNs end in an ID RAM
            # makes; the grant is held to this account's shares with this app's names.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ram:AssociateResourceShare"],
                    resources=[shares],
                    conditions={**cards_only, "StringLike": {"ram:ResourceShareName": f"{owner_share_prefix}*"}},
                )
            )
            role.add_to_policy(iam.PolicyStatement(actions=["ram:GetResourceShares"], resources=["*"]))
        elif share_arns:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ram:AssociateResourceShare"], resources=list(share_arns), conditions=cards_only
                )
            )
        self.index.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        self.links.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        # CreateModelCard with a key: SageMaker creates a grant for itself (the CloudFormation handler
        # of AWS::SageMaker::ModelCard lists kms:CreateGrant); only grants for an AWS resource.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        any_reader: str | None = None
        if reads_reports and registry_reader_role_name is not None:
            # A new version's evaluation reports are read in its spoke, through the reader role.
            statements, any_reader = spoke_role_statements(
                registry_reader_role_name, spokes, organization, stack.partition
            )
            for statement in statements:
                role.add_to_policy(statement)
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        if any_reader is not None:
            # On the role: with many spokes the CDK moves statements into OverflowPolicy managed policies.
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, any_reader)}]",
                "Spoke accounts under OUs are not known at synth (accounts join and leave OUs); each statement "
                "names the registry-reader role and requires the role's account to be a configured spoke "
                "account (aws:ResourceAccount) or under a configured OU (aws:ResourceOrgPaths).",
            )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, cards)}]",
            "Each new package version gets a card whose name is made at run time from the group and "
            "version; the grant is held to model cards of this account and region.",
        )
        if owner_share_prefix:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, shares)}]",
                "An owner share exists per editing account spoke and RAM assigns its ARN's ID at deploy; "
                "the grant is held to resource shares of this account and region.",
            )
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ram:GetResourceShares has no resource-level permission (Service Authorization Reference, "
                "AWS RAM); it only reads the hub's own shares, to find an account's owner share by name.",
            )
        self.rules = []
        for rule_id, bus in (("DefaultBusRule", None), ("GovernanceBusRule", governance_bus)):
            rule = events.Rule(
                self,
                rule_id,
                description="New model package versions, to the auto-linker",
                event_bus=bus,
                event_pattern=model_package_state_change_pattern(),
            )
            self.handler.on(rule)
            self.rules.append(rule)
