"""The Lambda that gives every new model package version its own card, and the rules that feed it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from governance_constructs.event_forwarding import model_package_state_change_pattern
from governance_constructs.hub_function import HubFunction
from governance_constructs.nag import acknowledge, nag_arn


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
        carry_over: Sequence[str],
        template_cards: Mapping[str, str],
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
        self.handler = HubFunction(
            self,
            "Handler",
            source="auto_link",
            description="Links a cloned model card to every new model package version",
            environment={
                "CARD_KEY_ARN": key.key_arn,
                "SHARE_ARNS": ",".join(share_arns),
                "INDEX_TABLE": self.index.table_name,
                "CARRY_OVER": ",".join(carry_over),
                "TEMPLATE_CARDS": json.dumps(dict(template_cards), sort_keys=True),
            },
        )
        role = self.handler.role
        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelCard", "sagemaker:DescribeModelCard", "sagemaker:AddTags"],
                resources=[cards],
            )
        )
        if share_arns:
            role.add_to_policy(iam.PolicyStatement(actions=["ram:AssociateResourceShare"], resources=list(share_arns)))
        self.index.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, cards)}]",
            "Each new package version gets a card whose name is made at run time from the group and "
            "version; the grant is held to model cards of this account and region.",
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
