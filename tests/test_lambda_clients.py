"""Hub Lambdas build their AWS clients once per execution environment, not once per invocation."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link import handler as auto_link_handler
from card_workflow import handler as workflow_handler
from shared import runtime

HUB = "111111111111"


@pytest.fixture
def fresh_environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A new execution environment (no default session), counting every client boto3 builds.

    Permission evaluation is off: these tests count clients, and the handlers' rights are tested
    where they act (test_auto_link, test_workflow).
    """
    from emulator.permissions import enforcement

    built: list[str] = []
    original = boto3.session.Session.client

    def counting_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        built.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", counting_client)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with enforcement(False):
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="dlq")["QueueUrl"]
    built.clear()
    for name, value in {
        "CARD_KEY_ARN": f"arn:aws:kms:us-east-1:{HUB}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "INDEX_TABLE": "card-index",
        "LINK_TABLE": "card-links",
        "DEAD_LETTER_QUEUE_URL": queue,
        "LEDGER_TABLE": "ledger",
        "TOPIC_ARN": f"arn:aws:sns:us-east-1:{HUB}:review",
        "EVIDENCE_BUCKET": "evidence",
        "FOLLOW_UP_QUEUE_URL": queue,
        "APPROVAL_ROLE_NAME": "approval-sync",
        "HUB_ACCOUNT": HUB,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with enforcement(False):
        yield built
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def malformed_package_event(n: int) -> dict[str, Any]:
    return {"id": f"event-{n}", "detail-type": "SageMaker Model Package State Change", "detail": {}}


def test_auto_link_builds_each_client_once_across_warm_invocations(fresh_environment: list[str]) -> None:
    for n in range(3):
        assert auto_link_handler.handler(malformed_package_event(n))["action"] == "dead-lettered"
    assert sorted(fresh_environment) == sorted(auto_link_handler.SERVICES)


def test_workflow_builds_each_client_once_across_warm_invocations(fresh_environment: list[str]) -> None:
    for n in range(3):
        workflow_handler.handler({"id": f"event-{n}", "detail-type": "SageMaker Model Card State Change"})
        workflow_handler.follow_exports({"Records": [{"messageId": f"m{n}", "body": json.dumps({})}]})
    assert sorted(fresh_environment) == sorted(workflow_handler.SERVICES)


def test_a_new_default_session_gets_new_clients(fresh_environment: list[str]) -> None:
    first = runtime.aws_clients(["sqs"])["sqs"]
    assert runtime.aws_clients(["sqs"])["sqs"] is first
    boto3.DEFAULT_SESSION = None  # what a fresh process, or the sandbox standing in for one, starts with
    assert runtime.aws_clients(["sqs"])["sqs"] is not first
    assert fresh_environment == ["sqs", "sqs"]


def test_cached_clients_keep_the_standard_retry_mode(fresh_environment: list[str]) -> None:
    client = runtime.aws_clients(["sagemaker"])["sagemaker"]
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
