"""The emulator's SQS queues keep SQS's semantics: counts, visibility, delays, redrive, FIFO.

Each contract that moto 5.2.5 already met runs twice: on the emulator's indexed queues and on
moto's own (`emulator.sqs.moto_queues`), so the index is shown to change the cost and nothing else.
Where moto differed from AWS (retention, deduplication after a delete), only the emulator's queue
is tested. Time is moto's SQS clock, moved by the test, so nothing sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.utils import unix_time_millis
from moto.sqs import models as sqs_models

from emulator import sqs as emulator_sqs

ACCOUNT = "111111111111"


class Clock:
    """moto's SQS clock, in milliseconds; each reading is a microsecond after the one before, as a
    real clock moves between two calls."""

    def __init__(self, start: float) -> None:
        self.ms = start

    def millis(self, _: Any = None) -> float:
        self.ms += 0.001
        return self.ms

    def seconds(self, _: Any = None) -> float:
        return self.millis() / 1000

    def advance(self, seconds: float) -> None:
        self.ms += seconds * 1000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock(unix_time_millis())
    monkeypatch.setattr(sqs_models, "unix_time_millis", moved.millis)
    monkeypatch.setattr(sqs_models, "unix_time", moved.seconds)
    return moved


@pytest.fixture(params=["emulator", "moto"])
def queues(request: pytest.FixtureRequest, aws: None) -> Iterator[str]:
    if request.param == "moto":
        with emulator_sqs.moto_queues():
            yield request.param
    else:
        yield request.param


@pytest.fixture
def sqs(admin_of: Any) -> Any:
    return admin_of(ACCOUNT).client("sqs")


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed), as GetQueueAttributes reports them."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, in_flight, delayed = (int(attributes[name]) for name in names)
    return visible, in_flight, delayed


def receive(sqs: Any, url: str, count: int = 1, **extra: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, WaitTimeSeconds=0, AttributeNames=["All"], **extra
    ).get("Messages", [])
    return messages


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


def test_counts_follow_delays_and_visibility_timeouts(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="counted", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    for body in ("later-1", "later-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=60)
    assert counts(sqs, url) == (3, 0, 2)

    assert bodies(receive(sqs, url, 2)) == ["a", "b"]
    assert counts(sqs, url) == (1, 2, 2)

    clock.advance(31)  # the visibility timeout ended: a and b are back
    assert counts(sqs, url) == (3, 0, 2)
    clock.advance(30)  # the delay ended
    assert counts(sqs, url) == (5, 0, 0)


def test_a_received_message_is_hidden_for_its_visibility_timeout_then_comes_back(
    queues: str, sqs: Any, clock: Clock
) -> None:
    url = sqs.create_queue(QueueName="hidden")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="first")
    sqs.send_message(QueueUrl=url, MessageBody="second")

    [first] = receive(sqs, url, VisibilityTimeout=10)
    assert first["Body"] == "first" and first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert bodies(receive(sqs, url, 10, VisibilityTimeout=10)) == ["second"]
    assert receive(sqs, url, 10) == []

    clock.advance(11)
    again = receive(sqs, url, 10, VisibilityTimeout=10)
    # Back in send order, each with a new receipt handle and its receives counted.
    assert bodies(again) == ["first", "second"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "2"]
    assert again[0]["ReceiptHandle"] != first["ReceiptHandle"]


def test_visibility_timeout_zero_leaves_a_message_visible_but_not_twice_in_one_receive(
    queues: str, sqs: Any, clock: Clock
) -> None:
    url = sqs.create_queue(QueueName="zero")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="only")
    assert bodies(receive(sqs, url, 10, VisibilityTimeout=0)) == ["only"]
    assert counts(sqs, url) == (1, 0, 0)
    [again] = receive(sqs, url, 10, VisibilityTimeout=0)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_message_visibility_hides_or_releases_a_received_message(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="changed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    [message] = receive(sqs, url, VisibilityTimeout=300)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    [released] = receive(sqs, url, VisibilityTimeout=300)
    assert released["Body"] == "m" and counts(sqs, url) == (0, 1, 0)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=released["ReceiptHandle"], VisibilityTimeout=600)
    clock.advance(301)  # the receive's 300 s no longer count: the change set 600 s
    assert receive(sqs, url) == []
    clock.advance(300)
    assert bodies(receive(sqs, url)) == ["m"]

    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="not-a-handle", VisibilityTimeout=0)
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_delete_removes_the_message_and_deleting_again_is_no_error(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="deleted")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    sqs.send_message(QueueUrl=url, MessageBody="gone")
    received = receive(sqs, url, 10, VisibilityTimeout=5)
    gone = next(m for m in received if m["Body"] == "gone")

    sqs.delete_message(QueueUrl=url, ReceiptHandle=gone["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=gone["ReceiptHandle"])
    assert counts(sqs, url) == (0, 1, 0)
    clock.advance(6)
    assert bodies(receive(sqs, url, 10)) == ["kept"]

    with pytest.raises(ClientError) as caught:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_delay_seconds_of_the_message_or_the_queue_holds_a_message_back(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="delayed", Attributes={"DelaySeconds": "20"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="own-delay", DelaySeconds=5)
    sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)

    assert bodies(receive(sqs, url, 10)) == ["no-delay"]
    clock.advance(6)
    assert bodies(receive(sqs, url, 10)) == ["own-delay"]
    clock.advance(15)
    assert bodies(receive(sqs, url, 10)) == ["queue-delay"]


def test_after_max_receive_count_receives_the_next_receive_moves_it_to_the_dead_letter_queue(
    queues: str, sqs: Any, clock: Clock
) -> None:
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.send_message(QueueUrl=url, MessageBody="fine", DelaySeconds=30)

    for receives in ("1", "2"):
        [message] = receive(sqs, url, 10, VisibilityTimeout=10)
        assert (message["Body"], message["Attributes"]["ApproximateReceiveCount"]) == ("poison", receives)
        clock.advance(11)

    assert receive(sqs, url, 10) == []  # the third receive reached it: moved, not delivered
    assert counts(sqs, url) == (0, 0, 1)
    assert counts(sqs, dead_letters) == (1, 0, 0)
    assert bodies(receive(sqs, dead_letters)) == ["poison"]
    clock.advance(20)
    assert bodies(receive(sqs, url)) == ["fine"]


def test_max_number_of_messages_bounds_a_receive(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="bounded")["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)])
    assert bodies(receive(sqs, url, 10)) == [str(i) for i in range(10)]
    assert bodies(receive(sqs, url, 3)) == ["10", "11", "12"]
    assert counts(sqs, url) == (17, 13, 0)


def test_purge_empties_the_queue(queues: str, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="purged")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b", DelaySeconds=10)
    receive(sqs, url)
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)
    sqs.send_message(QueueUrl=url, MessageBody="c")
    assert bodies(receive(sqs, url, 10)) == ["c"]


def fifo_queue(sqs: Any, name: str, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"]
    return url


def test_fifo_keeps_order_within_a_group_and_holds_a_group_while_it_has_a_message_in_flight(
    queues: str, sqs: Any, clock: Clock
) -> None:
    url = fifo_queue(sqs, "ordered.fifo")
    for body, group in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)

    assert bodies(receive(sqs, url, 1, VisibilityTimeout=10)) == ["a1"]
    assert bodies(receive(sqs, url, 10, VisibilityTimeout=10)) == ["b1"]  # group a waits for a1
    clock.advance(11)
    assert bodies(receive(sqs, url, 2, VisibilityTimeout=10)) == ["a1", "a2"]
    assert bodies(receive(sqs, url, 10, VisibilityTimeout=10)) == ["b1"]  # a3 waits for a1 and a2


def test_fifo_drops_a_duplicate_sent_within_five_minutes(queues: str, sqs: Any, clock: Clock) -> None:
    url = fifo_queue(sqs, "deduplicated.fifo", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="x")
    sqs.send_message(QueueUrl=url, MessageBody="other again", MessageGroupId="g", MessageDeduplicationId="x")
    assert bodies(receive(sqs, url, 10)) == ["same", "other"]


# --- Where moto differed from AWS: the emulator's queues only ------------------------------------------


def test_a_duplicate_is_dropped_within_five_minutes_even_after_the_first_was_deleted(
    aws: None, sqs: Any, clock: Clock
) -> None:
    url = fifo_queue(sqs, "deleted-first.fifo")
    sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    [message] = receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    sqs.send_message(QueueUrl=url, MessageBody="twice", MessageGroupId="g", MessageDeduplicationId="d")
    assert counts(sqs, url) == (0, 0, 0)
    clock.advance(301)
    sqs.send_message(QueueUrl=url, MessageBody="after the interval", MessageGroupId="g", MessageDeduplicationId="d")
    assert bodies(receive(sqs, url)) == ["after the interval"]


def test_a_purge_does_not_end_the_deduplication_interval(aws: None, sqs: Any, clock: Clock) -> None:
    url = fifo_queue(sqs, "purged.fifo")
    sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d")
    assert counts(sqs, url) == (0, 0, 0)


def test_deduplication_scope_message_group_deduplicates_within_a_group_only(aws: None, sqs: Any, clock: Clock) -> None:
    url = fifo_queue(sqs, "per-group.fifo", DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    for group in ("a", "b", "a"):
        sqs.send_message(QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="d")
    assert bodies(receive(sqs, url, 10)) == ["a", "b"]


def test_fifo_redelivers_each_group_in_order(aws: None, sqs: Any, clock: Clock) -> None:
    # "Messages that belong to the same message group are always processed one by one, in a strict
    # order"; moto 5.2.5 gave a2 before a1 on the redelivery and held back a3 in one receive.
    url = fifo_queue(sqs, "redelivered.fifo")
    for body, group in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    assert bodies(receive(sqs, url, 2, VisibilityTimeout=10)) == ["a1", "a2"]
    clock.advance(11)
    assert bodies(receive(sqs, url, 10, VisibilityTimeout=10)) == ["a1", "a2", "b1", "a3"]


def test_messages_past_the_retention_period_are_deleted(aws: None, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="retained", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    receive(sqs, url, VisibilityTimeout=5)
    clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    clock.advance(31)
    assert counts(sqs, url) == (1, 0, 0)
    assert bodies(receive(sqs, url, 10)) == ["young"]


def test_a_standard_dead_letter_queue_counts_retention_from_the_original_send(
    aws: None, sqs: Any, clock: Clock
) -> None:
    dead_letters = sqs.create_queue(QueueName="short-lived", Attributes={"MessageRetentionPeriod": "120"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName="long-lived", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    receive(sqs, url, VisibilityTimeout=100)
    clock.advance(101)
    assert receive(sqs, url) == []  # moved at about 101 s
    assert counts(sqs, dead_letters) == (1, 0, 0)
    clock.advance(20)  # 121 s after the send: past the dead-letter queue's 120 s
    assert counts(sqs, dead_letters) == (0, 0, 0)


def test_counts_and_order_hold_at_ten_thousand_messages(aws: None, sqs: Any, clock: Clock) -> None:
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    backend = sqs_models.sqs_backends[ACCOUNT]["us-east-1"]
    for number in range(10_000):
        backend.send_message("deep", str(number), delay_seconds=60 if number % 10 == 9 else None)
    assert counts(sqs, url) == (9_000, 0, 1_000)
    assert bodies(receive(sqs, url, 10)) == [str(n) for n in range(11) if n != 9]
    assert counts(sqs, url) == (8_990, 10, 1_000)


def test_a_long_poll_returns_a_message_sent_while_it_waits(aws: None, sqs: Any) -> None:
    url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    sender = threading.Timer(0.3, lambda: sqs_models.sqs_backends[ACCOUNT]["us-east-1"].send_message("polled", "late"))
    sender.start()
    try:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    finally:
        sender.join()
    assert bodies(messages) == ["late"]


def test_moto_queues_switches_the_index_off_for_a_block_only(aws: None, sqs: Any) -> None:
    with emulator_sqs.moto_queues():
        assert not emulator_sqs.installed()
        url = sqs.create_queue(QueueName="plain")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
        assert "_messages" in sqs_models.sqs_backends[ACCOUNT]["us-east-1"].queues["plain"].__dict__
    assert emulator_sqs.installed()
    url = sqs.create_queue(QueueName="indexed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert emulator_sqs.index_of(sqs_models.sqs_backends[ACCOUNT]["us-east-1"].queues["indexed"]).counts["ready"] == 1


def test_deleted_messages_leave_the_index(aws: None, sqs: Any) -> None:
    sqs.create_queue(QueueName="churned")
    backend = sqs_models.sqs_backends[ACCOUNT]["us-east-1"]
    for number in range(3_000):
        backend.send_message("churned", str(number))
    while received := backend.receive_message("churned", 10, 0, 30):
        for message in received:
            assert message.receipt_handle is not None
            backend.delete_message("churned", message.receipt_handle)
    index = emulator_sqs.index_of(backend.queues["churned"])
    assert not index.places and not index.handles and sum(index.counts.values()) == 0
    # Stale heap entries are dropped once they outnumber the messages, so deleted messages are freed.
    assert len(index.expiry) <= 1_025
    assert all(len(heap) <= 1_025 for heap in index.heaps.values())
