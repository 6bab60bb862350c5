"""The hub's governance event bus, which accepts events only from the spokes' forwarding role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.aws_facts import MODEL_CARD_STATE_CHANGE, MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_SOURCE
from governance_constructs.spoke_principals import merge_conditions, organization_grantee

# The only events a spoke's forwarding rule has reason to send (EventBridge User Guide, example
# policy "Send events to a custom bus in a different account": events:source, events:detail-type).
ACCEPTED_EVENTS = {
    "ForAllValues:StringEquals": {"events:source": [SAGEMAKER_SOURCE]},
    "StringEquals": {"events:detail-type": [MODEL_PACKAGE_STATE_CHANGE, MODEL_CARD_STATE_CHANGE]},
}


class GovernanceEventBus(Construct):
    """A custom bus the spokes forward their Model Registry events to; it accepts only SageMaker's
    model package and model card state changes.

    The name is fixed (from config) because each spoke's forwarding rule targets it by ARN. The
    policy is one statement whose size does not depend on the number of spokes inside an
    organization: any principal of the organization (`aws:PrincipalOrgID`) that is the spokes'
    forwarding role, whose name is fixed (`aws:PrincipalArn`). Both are global condition keys,
    present in every signed request (IAM User Guide, "AWS global condition context keys"); the
    EventBridge entry of the Service Authorization Reference lists only service keys for
    PutEvents. A bus policy holds at most 10,240 characters (EventBridge quotas). Outside an
    organization the statement lists the spoke accounts, the only way AWS offers there.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus_name: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        forwarding_role_arn_pattern: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        # The bus's own Policy property, not an AWS::Events::EventBusPolicy resource: cdk-nag reads
        # that resource's deprecated `principal` property, so synth would warn (and fail under
        # JSII_DEPRECATED=fail). The ARN is built from the name: the bus cannot GetAtt itself.
        self.policy: iam.PolicyDocument | None = None
        grantee = organization_grantee(spokes, organization, principal_arn=forwarding_role_arn_pattern)
        if grantee is None:
            return
        statement = iam.PolicyStatement(
            sid="SpokesPutEvents",
            principals=list(grantee.principals),
            actions=["events:PutEvents"],
            resources=[Stack.of(self).format_arn(service="events", resource="event-bus", resource_name=bus_name)],
            conditions=merge_conditions(grantee.conditions, ACCEPTED_EVENTS),
        )
        self.policy = iam.PolicyDocument(statements=[statement])
        cfn_bus = self.bus.node.default_child
        assert isinstance(cfn_bus, events.CfnEventBus)
        cfn_bus.policy = self.policy.to_json()
