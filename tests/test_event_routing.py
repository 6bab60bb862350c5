"""The synthesized rule patterns route AWS's verbatim sample events, through moto's EventBridge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.accounts import allow_put_events, session_for
from tests.conftest import load_event
from tests.stack_names import HUB_STACK, spoke_stack_name

HUB = "111111111111"
SPOKE = "222222222222"


def resources_of(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def as_entry(event: dict[str, Any], bus: str = "default") -> dict[str, Any]:
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
        "EventBusName": bus,
    }


def sagemaker_emits(account: str, *events: dict[str, Any]) -> None:
    """SageMaker puts its events on the account's default bus (a customer's PutEvents may not use
    an `aws.` source, see test_a_customer_cannot_put_events_with_an_aws_source)."""
    from emulator.events import emit_as_service

    for event in events:
        emit_as_service(account, "us-east-1", as_entry(event))


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_spoke_rule_forwards_package_events_to_the_hub_bus(aws: None, templates: dict[str, dict[str, Any]]) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    hub_template = templates[HUB_STACK]
    spoke_rule = resources_of(templates[spoke_stack_name("ml-dev")], "AWS::Events::Rule")[0]

    # The hub's bus, with the policy statements the hub stack gives it.
    hub_events = hub.client("events")
    bus = resources_of(hub_template, "AWS::Events::EventBus")[0]["Name"]
    hub_events.create_event_bus(Name=bus)
    # The example's bus policy requires its organization ID, which no emulated organization has.
    allow_put_events(hub, bus, [SPOKE])
    # A queue on the hub bus stands in for the handler that later issues attach there.
    hub_sqs = hub.client("sqs")
    queue_url = hub_sqs.create_queue(QueueName="arrivals")["QueueUrl"]
    queue_arn = hub_sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    hub_events.put_rule(Name="arrivals", EventBusName=bus, EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    hub_events.put_targets(Rule="arrivals", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])

    # The spoke's forwarding rule, created with its own synthesized pattern and target ARN.
    spoke_events = spoke.client("events")
    spoke_events.put_rule(Name="forward", EventPattern=json.dumps(spoke_rule["EventPattern"]))
    spoke_events.put_targets(Rule="forward", Targets=[{"Id": "hub", "Arn": spoke_rule["Targets"][0]["Arn"]}])

    package_event = load_event("model-package-state-change")
    card_event = load_event("model-card-state-change")
    sagemaker_emits(SPOKE, package_event, card_event)

    arrived = drain(hub_sqs, queue_url)
    assert [e["detail-type"] for e in arrived] == ["SageMaker Model Package State Change"]
    assert arrived[0]["detail"] == package_event["detail"]
    # Forwarded unchanged: the sender's account and the resources survive the hop to the hub.
    assert arrived[0]["account"] == SPOKE
    assert arrived[0]["resources"] == package_event["resources"]


def test_pattern_does_not_match_other_detail_types(aws: None, templates: dict[str, dict[str, Any]]) -> None:
    spoke = session_for(SPOKE)
    pattern = resources_of(templates[spoke_stack_name("ml-prod")], "AWS::Events::Rule")[0]["EventPattern"]
    sqs = spoke.client("sqs")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = spoke.client("events")
    events.put_rule(Name="forward", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="forward", Targets=[{"Id": "q", "Arn": queue_arn}])

    sagemaker_emits(SPOKE, load_event("model-card-state-change"))
    assert drain(sqs, queue_url) == []
    sagemaker_emits(SPOKE, load_event("model-package-state-change"))
    assert len(drain(sqs, queue_url)) == 1


@pytest.mark.parametrize(
    ("description", "routed", "not_routed"),
    [
        ("New model package versions, to the auto-linker", "model-package-state-change", "model-card-state-change"),
        (
            "Model card status changes, to the approval workflow",
            "model-card-state-change",
            "model-package-state-change",
        ),
    ],
)
def test_hub_default_bus_rules_route_only_their_sample(
    aws: None, templates: dict[str, dict[str, Any]], description: str, routed: str, not_routed: str
) -> None:
    hub = session_for(HUB)
    rules = resources_of(templates[HUB_STACK], "AWS::Events::Rule")
    [rule] = [r for r in rules if r.get("Description") == description and "EventBusName" not in r]
    sqs = hub.client("sqs")
    queue_url = sqs.create_queue(QueueName="stand-in")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = hub.client("events")
    events.put_rule(Name="under-test", EventPattern=json.dumps(rule["EventPattern"]))
    events.put_targets(Rule="under-test", Targets=[{"Id": "stand-in", "Arn": queue_arn}])

    sagemaker_emits(HUB, load_event(not_routed))
    assert drain(sqs, queue_url) == []
    sagemaker_emits(HUB, load_event(routed))
    [delivered] = drain(sqs, queue_url)
    assert delivered["detail"] == load_event(routed)["detail"]


def test_a_customer_cannot_put_events_with_an_aws_source(aws: None) -> None:
    """AWS reserves `aws.` sources for its services: PutEvents answers the entry with
    NotAuthorizedForSourceException and delivers nothing of it; the batch's other entries go."""
    hub = session_for(HUB)
    sqs = hub.client("sqs")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = hub.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"detail-type": [{"exists": True}]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue_arn}])
    forged = as_entry(load_event("model-package-state-change"))
    own = {**forged, "Source": "com.example.registry"}

    answer = events.put_events(Entries=[forged, own])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in answer["Entries"][1] and "ErrorCode" not in answer["Entries"][1]
    assert [e["source"] for e in drain(sqs, queue_url)] == ["com.example.registry"]
