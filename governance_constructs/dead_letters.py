"""A dead-letter queue with a depth alarm: what cannot be processed is kept, and someone is told."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from governance_constructs.nag import acknowledge, checkov_skip


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
        checkov_skip(
            self.queue,
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled), which this check does not "
            "read (it looks for KmsMasterKeyId). EventBridge writes here as events.amazonaws.com, which "
            "the AWS managed key alias/aws/sqs cannot admit; a customer-managed key would make the last "
            "resort depend on that key (disabled or mis-granted, EventBridge drops what it cannot "
            "dead-letter) and cost $1 a month in each spoke account, for event envelopes (names, ARNs, "
            "statuses) that carry no card content.",
        )
        self.alarm = alarm_on_any(
            self,
            "DepthAlarm",
            f"Events that could not be delivered: {purpose}",
            self.queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
        )


def alarm_on_any(scope: Construct, construct_id: str, description: str, metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
    """An alarm that fires on the first occurrence in a five-minute period (nothing here is noise)."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
