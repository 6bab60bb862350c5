"""Exactly one review notice per reviewed version, under faults on every AWS call the workflow makes:
each call is first throttled, then performed with its answer lost, then answered; every event is
delivered twice, in a shuffled order."""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import Counter
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from tests.conftest import ROOT
from tests.test_workflow import Governance, edit

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow import handler as workflow_handler
from card_workflow.ledger import verify_table
from card_workflow.notices import NOTICE_CLIENT_CONFIG
from shared.runtime import RETRIES


class Faults:
    """The network in front of the emulator: for every distinct request of a marked client (a retry
    resends the same body) it is throttled, then performed with its answer lost, then answered.

    It wraps moto's request handler rather than adding a before-send hook beside it: botocore runs
    every before-send hook, so a throttle answered beside moto would still be performed by moto.
    """

    MARK = "x-fault-injection"

    def __init__(self, original: Any) -> None:
        self.original = original
        self.attempts: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def mark(self, request: Any, **kwargs: Any) -> None:
        request.headers[self.MARK] = "on"

    def __call__(self, stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if self.MARK not in request.headers:
            return self.original(stubber, event_name, request, **kwargs)
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        key = hashlib.sha256(request.url.encode() + body).hexdigest()
        self.attempts[key] += 1
        attempt = self.attempts[key]
        if attempt == 1:
            self.injected["throttled"] += 1
            return throttled(request)
        if attempt == 2:
            self.injected["answer lost"] += 1
            self.original(stubber, event_name, request, **kwargs)
            raise ConnectionClosedError(endpoint_url=request.url)
        del self.attempts[key]  # the next identical call meets the same faults
        return self.original(stubber, event_name, request, **kwargs)


def throttled(request: Any) -> AWSResponse:
    if "sns." in request.url:  # the query protocol answers in XML
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            "</Error><RequestId>throttled</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, MockRawResponse(body))
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, MockRawResponse(body))


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


def test_one_review_notice_per_version_under_throttling_lost_answers_duplicates_and_reordering(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = [f"{group}-111111111111-v1" for group in ("churn", "fraud", "upsell")]
    for group in ("churn", "fraud", "upsell"):
        gov.register(gov.hub, group)
    for card in cards:
        gov.hub.client("sagemaker").update_model_card(ModelCardName=card, ModelCardStatus="PendingReview")
        edit(gov, card, {"business_details": {"business_problem": f"{card} changed"}})  # v2, still in review
    events = gov.hub_events()
    reviewed = {(e["detail"]["ModelCardName"], e["detail"]["ModelCardVersion"]) for e in events}
    reviewed = {
        (c, v)
        for c, v in reviewed
        if any(
            e["detail"]["ModelCardStatus"] == "PendingReview"
            and (e["detail"]["ModelCardName"], e["detail"]["ModelCardVersion"]) == (c, v)
            for e in events
        )
    }
    assert len(reviewed) == 6

    faults = Faults(BotocoreStubber.__call__)

    def through_faults(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        return faults(stubber, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", through_faults)
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # backoff without waiting

    def lambda_clients() -> dict[str, Any]:
        """The clients the Lambda makes (make_clients), in the hub account, behind the faults. A
        new set per invocation: botocore's retry quota is per client and never refills when every
        call fails twice, as a long-lived one would under these faults."""
        clients = {
            name: gov.hub.client(name, config=NOTICE_CLIENT_CONFIG if name == "sns" else RETRIES)
            for name in workflow_handler.SERVICES
        }
        for client in clients.values():
            client.meta.events.register_first("before-send", faults.mark)
        return clients

    deliveries = [*events, *json.loads(json.dumps(events))]
    random.Random(7).shuffle(deliveries)
    # When botocore gives up (its retry quota drains under faults on every call), the invocation
    # fails and Lambda delivers the event again later: here, at the end of the queue.
    outcomes, failed = [], 0
    while deliveries:
        event = deliveries.pop(0)
        try:
            outcomes.append(workflow_handler.handler(event, clients=lambda_clients())["outcome"])
        except Exception:
            failed += 1
            deliveries.append(event)
            assert failed < 200, "the workflow never got through"

    assert faults.injected["throttled"] > 100 and faults.injected["answer lost"] > 100
    assert not [o for o in outcomes if o.startswith("dead-lettered")]
    notices = [n for n in gov.notices_received() if n["Subject"].endswith("awaits review")]
    subjects = Counter(n["Subject"] for n in notices)
    expected = {f"Model card {card} v{version} awaits review" for card, version in reviewed}
    assert set(subjects) == expected  # none missing
    assert max(subjects.values()) == 1  # none twice
    assert sum("answer was lost" in o for o in outcomes) == 6  # every publish lost its answer
    assert verify_table(gov.dynamodb, "ledger").broken == ()


def test_the_faults_would_duplicate_a_notice_sent_with_botocores_own_retry(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the notice client's single attempt is for: botocore resends a Publish whose answer was lost."""
    faults = Faults(BotocoreStubber.__call__)

    def through_faults(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        return faults(stubber, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", through_faults)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    retrying = gov.hub.client("sns", config=RETRIES)
    retrying.meta.events.register_first("before-send", faults.mark)
    topic = workflow_handler.settings_from_environment().topic_arn
    retrying.publish(TopicArn=topic, Subject="s", Message="m")
    assert len(gov.notices_received()) == 2
