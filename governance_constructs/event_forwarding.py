"""Forwarding of a spoke's Model Registry events to the hub's governance bus."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from governance_constructs.aws_facts import MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_SOURCE
from governance_constructs.nag import acknowledge


def model_package_state_change_pattern() -> events.EventPattern:
    return events.EventPattern(source=[SAGEMAKER_SOURCE], detail_type=[MODEL_PACKAGE_STATE_CHANGE])


class DeadLetterQueue(Construct):
    """An encrypted, TLS-only queue that keeps undeliverable events for 14 days, with a depth alarm."""

    def __init__(self, scope: Construct, construct_id: str, *, purpose: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of an EventBridge target or a Lambda; cdk-nag "
            "recognises a DLQ only through an SQS redrive policy, and a DLQ of a DLQ would only move the problem.",
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "DepthAlarm",
            alarm_description=f"Events that could not be delivered: {purpose}",
            metric=self.queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


class RegistryEventForwarding(Construct):
    """A rule on the default bus that sends `SageMaker Model Package State Change` to the hub.

    EventBridge retries a failed delivery for up to 24 hours (185 attempts); what still fails lands
    in the dead-letter queue with the error in its message attributes.
    """

    def __init__(self, scope: Construct, construct_id: str, *, hub_bus_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", purpose="model package events to the hub")
        self.rule = events.Rule(
            self,
            "Rule",
            description="Forward Model Registry events to the model card governance hub",
            event_pattern=model_package_state_change_pattern(),
        )
        self.rule.add_target(
            targets.EventBus(
                events.EventBus.from_event_bus_arn(self, "HubBus", hub_bus_arn),
                dead_letter_queue=self.dead_letters.queue,
            )
        )
        # The EventBus target has no retry props in the L2; set the policy on the rule's target.
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override(
            "Targets.0.RetryPolicy", {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        )
