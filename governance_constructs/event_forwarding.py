"""Forwarding of a spoke's Model Registry events to the hub's governance bus."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_constructs.aws_facts import MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_SOURCE
from governance_constructs.dead_letters import DeadLetterQueue


def model_package_state_change_pattern() -> events.EventPattern:
    return events.EventPattern(source=[SAGEMAKER_SOURCE], detail_type=[MODEL_PACKAGE_STATE_CHANGE])


class RegistryEventForwarding(Construct):
    """A rule on the default bus that sends `SageMaker Model Package State Change` to the hub.

    EventBridge retries a failed delivery for up to 24 hours (185 attempts); what still fails lands
    in the dead-letter queue with the error in its message attributes. EventBridge delivers with
    a role whose name is fixed (from config): the hub's bus admits that role by name, so its policy
    does not grow with the number of spokes.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, hub_bus_arn: str, role_name: str, rule_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Sends this account's Model Registry events to the model card governance hub",
        )
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", purpose="model package events to the hub")
        self.rule = events.Rule(
            self,
            "Rule",
            # Named (from config) so the organization's guardrail SCP protects it by ARN and the
            # hub's reconciler reads this very rule's state and targets.
            rule_name=rule_name,
            description="Forward Model Registry events to the model card governance hub",
            event_pattern=model_package_state_change_pattern(),
        )
        self.rule.add_target(
            targets.EventBus(
                events.EventBus.from_event_bus_arn(self, "HubBus", hub_bus_arn),
                dead_letter_queue=self.dead_letters.queue,
                role=self.role,
            )
        )
        # The EventBus target has no retry props in the L2; set the policy on the rule's target.
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override(
            "Targets.0.RetryPolicy", {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        )
