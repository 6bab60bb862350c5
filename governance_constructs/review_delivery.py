"""Review decisions to the spoke that owns the card: a request for changes (its comment) and a
suspension reach the spoke's default event bus.

EventBridge delivers to another account's bus through a rule whose target is that bus: "For
another account to send events to your account, that external account must have an EventBridge
rule with your account's event bus as a target", and the receiving bus's resource-based policy must
allow `events:PutEvents` (EventBridge User Guide, "Permissions for event buses in Amazon
EventBridge"; CloudFormation Template Reference, `AWS::Events::EventBusPolicy`). With a role on the
target, the policy names that role (the guide recommends a role whenever the target is a bus). So:

- hub: the workflow puts the decision on the hub's own default bus (source `model-card-governance`,
  detail-type `Model Card Review Decision`, `detail.account` the owning spoke); one rule per
  configured spoke account matches its own account and targets that spoke's default bus with the
  delivery role (`ReviewDecisionDelivery`);
- spoke: the default bus admits exactly that role, for exactly that source and detail-type
  (`ReviewDecisionInbox`).

Spokes configured by OU have no known account at synthesis: they get no rule (docs/review-and-approval.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

REVIEW_SOURCE = "model-card-governance"
REVIEW_DECISION = "Model Card Review Decision"


def default_bus_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"


class ReviewDecisionDelivery(Construct):
    """Hub side: `publisher` may put review decisions on the hub's default bus; a rule per spoke
    account forwards that account's decisions to its default bus with `self.role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        spoke_accounts: Sequence[str],
        publisher: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        for account in spoke_accounts:
            if not (account.isdigit() and len(account) == 12):
                raise ValueError(f"ReviewDecisionDelivery: spoke account {account!r} is not a 12-digit account ID")
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Delivers model card review decisions to the owning spoke's default event bus",
        )
        self.rules: list[events.Rule] = []
        for account in spoke_accounts:
            rule = events.Rule(
                self,
                f"To{account}",
                description=f"Model card review decisions for spoke {account}, to its default bus",
                event_pattern=events.EventPattern(
                    source=[REVIEW_SOURCE], detail_type=[REVIEW_DECISION], detail={"account": [account]}
                ),
            )
            bus = events.EventBus.from_event_bus_arn(
                self, f"Bus{account}", default_bus_arn(stack.partition, stack.region, account)
            )
            rule.add_target(targets.EventBus(bus, role=self.role))
            self.rules.append(rule)
        # events:source is a condition key of PutEvents (Service Authorization Reference, Amazon
        # EventBridge): the workflow puts only its own kind of event on the hub's bus.
        publisher.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[default_bus_arn(stack.partition, stack.region, stack.account)],
                conditions={"StringEquals": {"events:source": REVIEW_SOURCE}},
            )
        )


class ReviewDecisionInbox(Construct):
    """Spoke side: the default bus admits the hub's delivery role, for review decisions only."""

    def __init__(self, scope: Construct, construct_id: str, *, hub_role_arn: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.policy = events.CfnEventBusPolicy(
            self,
            "Policy",
            event_bus_name="default",
            statement_id="ModelCardReviewDecisions",
            statement={
                "Effect": "Allow",
                "Principal": {"AWS": hub_role_arn},
                "Action": "events:PutEvents",
                "Resource": default_bus_arn(stack.partition, stack.region, stack.account),
                "Condition": {"StringEquals": {"events:source": REVIEW_SOURCE, "events:detail-type": REVIEW_DECISION}},
            },
        )
