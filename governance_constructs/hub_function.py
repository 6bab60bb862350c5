"""A hub Lambda with what every one of them needs: own role, log group, DLQ, alarms, retries."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from governance_constructs.dead_letters import DeadLetterQueue, alarm_on_any
from governance_constructs.nag import checkov_skip

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
# The newest Python runtime this aws-cdk-lib offers (cdk-nag AwsSolutions-L1 flags older ones).
RUNTIME = lambda_.Runtime.PYTHON_3_14


class HubFunction(Construct):
    """A Lambda from `lambdas/<name>/` with its own role (no AWS-managed policy), log group,
    dead-letter queue for failed asynchronous invocations, and an error alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: str,
        description: str,
        environment: Mapping[str, str],
        entry: str = "handler",
        role_name: str | None = None,
        timeout_seconds: int = 60,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (LAMBDAS / source / "handler.py").is_file():
            raise ValueError(f"HubFunction: lambdas/{source}/handler.py does not exist")
        # One asset for every hub function: lambdas/ holds each handler package and the shared code.
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", purpose=description)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler=f"{source}.handler.{entry}",
            code=lambda_.Code.from_asset(str(LAMBDAS), exclude=["__pycache__", "*.pyc"]),
            description=description,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            environment={**environment, "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue.queue_url},
            dead_letter_queue=self.dead_letters.queue,
            retry_attempts=2,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                # The L2's log group ARN ends in ":*", i.e. the group's log streams.
                resources=[self.log_group.log_group_arn],
            )
        )
        self.dead_letters.queue.grant_send_messages(self.role)
        # The function must wait for its role's policy, not for the role itself, which its Role
        # property already references (cfn-lint W3005 flags the redundant DependsOn).
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert isinstance(policy, iam.Policy)
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_override("DependsOn", [Stack.of(self).get_logical_id(policy.node.default_child)])  # type: ignore[arg-type]
        checkov_skip(
            self.log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest. The handlers log event IDs, outcomes and "
            "error messages, never card content; the card key would make reading a function's log "
            "need the key that decrypts every model card and evidence object, and a key of its own "
            "costs $1 a month for nothing confidential.",
        )
        checkov_skip(
            cfn_function,
            "CKV_AWS_117",
            "The function calls only AWS service APIs and reaches nothing on a private network; in a "
            "VPC it would need a NAT gateway or an interface endpoint for each service it calls, a "
            "standing cost for no resource that needs isolating.",
        )
        checkov_skip(
            cfn_function,
            "CKV_AWS_115",
            "Reserved concurrency is taken from the account's pool, and Lambda refuses it when less than "
            "100 would stay unreserved, so the hub would not deploy in an account with a low concurrency "
            "quota (new accounts may start at 10). The function runs only on this hub's own rules, "
            "schedule and queues, as often as model cards and packages change, so there is no runaway "
            "to cap, and a throttled invocation waits (Lambda's asynchronous queue, SQS) rather than fails.",
        )
        checkov_skip(
            cfn_function,
            "CKV_AWS_173",
            "The environment holds resource names, ARNs, queue URLs and settings, no secret; Lambda "
            "encrypts it at rest with its AWS managed key. A customer-managed key would add a key "
            "grant to Lambda for values that are also in this template.",
        )
        self.errors = alarm_on_any(
            self, "ErrorAlarm", f"Lambda errors: {description}", self.function.metric_errors(period=Duration.minutes(5))
        )

    def on(self, rule: events.Rule) -> None:
        """Make the function a target of `rule`; EventBridge retries for a day, then dead-letters."""
        rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            )
        )
