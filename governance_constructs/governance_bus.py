"""The hub's governance event bus, which accepts events only from the spokes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.aws_facts import MODEL_CARD_STATE_CHANGE, MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_SOURCE
from governance_constructs.spoke_principals import merge_conditions, spoke_grantees

# The only events a spoke's forwarding rule has reason to send (EventBridge User Guide, example
# policy "Send events to a custom bus in a different account": events:source, events:detail-type).
ACCEPTED_EVENTS = {
    "ForAllValues:StringEquals": {"events:source": [SAGEMAKER_SOURCE]},
    "StringEquals": {"events:detail-type": [MODEL_PACKAGE_STATE_CHANGE, MODEL_CARD_STATE_CHANGE]},
}


class GovernanceEventBus(Construct):
    """A custom bus the spokes forward their Model Registry events to; it accepts only SageMaker's
    model package and model card state changes.

    The name is fixed (from config) because each spoke's forwarding rule targets it by ARN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus_name: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        for index, grantee in enumerate(spoke_grantees(spokes, organization)):
            statement = iam.PolicyStatement(
                sid=f"SpokesPutEvents{index}",
                principals=list(grantee.principals),
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
                conditions=merge_conditions(grantee.conditions, ACCEPTED_EVENTS),
            )
            # The L1 with a whole statement: the L2 helper goes through a deprecated property.
            events.CfnEventBusPolicy(
                self,
                f"Policy{index}",
                event_bus_name=self.bus.event_bus_name,
                statement_id=f"SpokesPutEvents{index}",
                statement=statement.to_statement_json(),
            )
