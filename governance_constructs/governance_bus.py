"""The hub's governance event bus, which accepts events only from the spokes' forwarding role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.aws_facts import MODEL_CARD_STATE_CHANGE, MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_SOURCE
from governance_constructs.spoke_principals import exact_spoke_conditions, merge_conditions, organization_grantee

# The only events a spoke's forwarding rule has reason to send (EventBridge User Guide, example
# policy "Send events to a custom bus in a different account": events:source, events:detail-type).
ACCEPTED_EVENTS = {
    "ForAllValues:StringEquals": {"events:source": [SAGEMAKER_SOURCE]},
    "StringEquals": {"events:detail-type": [MODEL_PACKAGE_STATE_CHANGE, MODEL_CARD_STATE_CHANGE]},
}


class GovernanceEventBus(Construct):
    """A custom bus the spokes forward their Model Registry events to; it accepts only SageMaker's
    model package and model card state changes.

    The name is fixed (from config) because each spoke's forwarding rule targets it by ARN. Inside
    an organization the policy admits the spokes' forwarding role, whose name is fixed
    (`aws:PrincipalArn`), in exactly the configured spokes: the account spokes by
    `aws:PrincipalAccount`, the OU spokes by `aws:PrincipalOrgPaths` (one statement each). A member
    account that is no spoke is refused even when it creates a role of that name. These are global
    condition keys, present in every signed request (IAM User Guide, "AWS global condition context
    keys"); the EventBridge entry of the Service Authorization Reference lists only service keys
    for PutEvents. A bus policy holds at most 10,240 characters (EventBridge quotas): it grows by
    one account ID per account spoke and one path per OU spoke, and `aws_quotas` checks it at
    synthesis. Outside an organization the statement lists the spoke accounts as principals.
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
        bus_arn = Stack.of(self).format_arn(service="events", resource="event-bus", resource_name=bus_name)
        forwarding_role = {"ArnLike": {"aws:PrincipalArn": forwarding_role_arn_pattern}}
        statements: list[iam.PolicyStatement] = []
        if organization is not None:
            for index, spokes_condition in enumerate(exact_spoke_conditions(spokes, organization, side="Principal")):
                statements.append(
                    iam.PolicyStatement(
                        sid="SpokesPutEvents" if index == 0 else f"SpokesPutEvents{index}",
                        principals=[iam.AnyPrincipal()],
                        actions=["events:PutEvents"],
                        resources=[bus_arn],
                        conditions=merge_conditions(spokes_condition, forwarding_role, ACCEPTED_EVENTS),
                    )
                )
        else:
            grantee = organization_grantee(spokes, organization, principal_arn=forwarding_role_arn_pattern)
            if grantee is not None:
                statements.append(
                    iam.PolicyStatement(
                        sid="SpokesPutEvents",
                        principals=list(grantee.principals),
                        actions=["events:PutEvents"],
                        resources=[bus_arn],
                        conditions=merge_conditions(grantee.conditions, ACCEPTED_EVENTS),
                    )
                )
        if not statements:
            return
        self.policy = iam.PolicyDocument(statements=statements)
        cfn_bus = self.bus.node.default_child
        assert isinstance(cfn_bus, events.CfnEventBus)
        cfn_bus.policy = self.policy.to_json()
