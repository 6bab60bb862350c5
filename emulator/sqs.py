"""SQS at a cost per call that does not grow with the queue, AWS's semantics kept.

AWS answers SendMessage and ReceiveMessage at the same cost whatever a queue holds. moto 5.2.5
keeps a queue's messages in one list and walks it on every call: SendMessage reads
`Queue.attributes`, which counts the whole list three times (ApproximateNumberOfMessages,
...Delayed, ...NotVisible), only to learn ContentBasedDeduplication; ReceiveMessage lists every
visible message, then recomputes every attribute once per message it returns (its retention
check); DeleteMessage and ChangeMessageVisibility walk the list for the receipt handle; a FIFO send
walks it for a duplicate. Here each queue keeps an index beside moto's own `Message` objects:

- each message is in one state: ready (visible, not delayed), delayed, or in flight (received,
  visibility timeout running); a heap per state orders them by send order (ready), by the end of
  the delay or by the end of the visibility timeout, so a call first moves what the clock freed;
- the three ApproximateNumberOfMessages* attributes are the sizes of those states;
- receipt handles, FIFO deduplication IDs and message groups in flight are dictionaries.

What stays as moto had it (and as AWS documents it, "Amazon SQS Developer Guide"): messages are
received in send order (FIFO: in order within a group, and not from a group with a message in
flight); a receive sets a new receipt handle, counts the receive and hides the message for the
visibility timeout (0 leaves it visible); DelaySeconds hides a message until its delay ends;
once a message has been received maxReceiveCount times, the next receive that reaches it moves it
to the redrive policy's dead-letter queue; a receipt handle, old or new, deletes its message or
changes its visibility; deleting again is not an error.

Where moto differed from AWS, AWS's behaviour:
- "Amazon SQS automatically deletes messages left in a queue longer than the retention period"
  (DeleteMessage). moto marked such a message received and returned nothing. In a dead-letter queue
  a standard queue's message keeps its original enqueue time; a FIFO queue's restarts ("Setting up
  dead-letter queue retention").
- "If a message with a particular MessageDeduplicationId is sent successfully, any messages sent
  with the same MessageDeduplicationId are accepted successfully but aren't delivered during the
  5-minute deduplication interval" (SendMessage), whether or not the first one is still in the
  queue (deleted, purged); per message group when DeduplicationScope is messageGroup. moto compared only with the
  messages still in the queue, across groups. A move to the dead-letter queue is not a send and is
  never deduplicated.
- "Messages that belong to the same message group are always processed one by one, in a strict
  order relative to the message group" (FIFO queue key terms); one receive returns as many of a
  group as it can. moto freed groups as it met their messages, so a redelivery could give a
  group's second message before its first, and hold back a free group's later messages.

`moto_queues()` restores moto's own list-walking queues for a block, to measure what the index saves.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Message, Queue, SQSBackend, sqs_backends

READY, DELAYED, IN_FLIGHT = "ready", "delayed", "in flight"
MAXIMUM_VISIBILITY_MILLISECONDS = 43200 * 1000  # "the maximum is 12 hours" (ChangeMessageVisibility)
INDEX = "_emulator_sqs_index"


def _now() -> float:
    # moto's own clock, looked up at each call so that messages and index always agree on the time.
    return float(sqs_models.unix_time_millis())  # type: ignore[attr-defined]


def _seconds() -> float:
    return float(sqs_models.unix_time())  # type: ignore[attr-defined]


class _Place:
    """Where a message stands in its queue; `version` tells current heap entries from stale ones."""

    __slots__ = ("enqueued", "sequence", "state", "version")

    def __init__(self, sequence: int, enqueued: float) -> None:
        self.sequence = sequence
        self.enqueued = enqueued  # what retention counts from
        self.state = ""
        self.version = -1


Entry = tuple[float, int, int, Message]  # (when, sequence, version, message)


class QueueIndex:
    def __init__(self) -> None:
        self.sequence = itertools.count()
        self.versions = itertools.count()
        self.places: dict[Message, _Place] = {}  # insertion order is send order
        self.heaps: dict[str, list[Entry]] = {READY: [], DELAYED: [], IN_FLIGHT: []}
        self.counts: Counter[str] = Counter()
        self.in_flight: set[Message] = set()
        self.groups_in_flight: Counter[str] = Counter()
        self.expiry: list[tuple[float, int, Message]] = []
        self.handles: dict[str, Message] = {}
        self.deduplicated: dict[tuple[str | None, str], float] = {}
        self.deduplication_order: deque[tuple[float, tuple[str | None, str]]] = deque()

    # --- States -----------------------------------------------------------------------------------

    def insert(self, message: Message, enqueued: float, now: float) -> None:
        place = _Place(next(self.sequence), enqueued)
        self.places[message] = place
        heapq.heappush(self.expiry, (enqueued, place.sequence, message))
        self._tidy()
        for handle in message.all_receipt_handles:
            if handle is not None:
                self.handles[handle] = message
        self.settle(message, now)

    def settle(self, message: Message, now: float) -> None:
        """Put a message in the state its own times give it, as moto's `visible`/`delayed` read them."""
        place = self.places[message]
        if message.delayed_until > now:
            self._move(message, place, DELAYED, message.delayed_until)
        elif message.visible_at >= now:  # moto: visible once now > visible_at
            self._move(message, place, IN_FLIGHT, message.visible_at)
        else:
            self._move(message, place, READY, float(place.sequence))

    def _move(self, message: Message, place: _Place, state: str, when: float) -> None:
        self._leave(message, place)
        place.state, place.version = state, next(self.versions)
        self.counts[state] += 1
        if state == IN_FLIGHT:
            self.in_flight.add(message)
            if message.group_id is not None:
                self.groups_in_flight[message.group_id] += 1
        heapq.heappush(self.heaps[state], (when, place.sequence, place.version, message))
        self._tidy(state)

    def _tidy(self, *states: str) -> None:
        """Drop stale heap entries once they outnumber the current ones, so that a deleted message
        is freed and no heap grows with the messages a queue has ever had."""
        for state in states or tuple(self.heaps):
            heap = self.heaps[state]
            if len(heap) > 2 * self.counts[state] + 1024:
                self.heaps[state] = [e for e in heap if self._current(e)]
                heapq.heapify(self.heaps[state])
        if len(self.expiry) > 2 * len(self.places) + 1024:
            self.expiry = [e for e in self.expiry if (p := self.places.get(e[2])) is not None and p.sequence == e[1]]
            heapq.heapify(self.expiry)

    def _leave(self, message: Message, place: _Place) -> None:
        if not place.state:
            return
        self.counts[place.state] -= 1
        if place.state == IN_FLIGHT:
            self.in_flight.discard(message)
            if message.group_id is not None:
                self.groups_in_flight[message.group_id] -= 1
                if not self.groups_in_flight[message.group_id]:
                    del self.groups_in_flight[message.group_id]

    def _current(self, entry: Entry) -> bool:
        place = self.places.get(entry[3])
        return place is not None and place.version == entry[2]

    def remove(self, message: Message) -> _Place:
        place = self.places.pop(message)
        self._leave(message, place)
        for handle in message.all_receipt_handles:
            if handle is not None and self.handles.get(handle) is message:
                del self.handles[handle]
        self._tidy()
        return place

    def advance(self, queue: Queue, now: float) -> None:
        """Apply what the clock did since the last call: delays and visibility timeouts that ended,
        messages past the retention period, deduplication intervals that closed."""
        delayed, in_flight = self.heaps[DELAYED], self.heaps[IN_FLIGHT]
        while delayed and delayed[0][0] <= now:  # moto: delayed while now < delayed_until
            self._release(heapq.heappop(delayed))
        while in_flight and in_flight[0][0] < now:  # moto: visible once now > visible_at
            self._release(heapq.heappop(in_flight))
        retention = int(queue.message_retention_period) * 1000  # type: ignore[attr-defined]
        while self.expiry and self.expiry[0][0] + retention <= now:
            _, sequence, message = heapq.heappop(self.expiry)
            place = self.places.get(message)
            if place is not None and place.sequence == sequence:
                self.remove(message)
        interval = DEDUPLICATION_TIME_IN_SECONDS * 1000
        while self.deduplication_order and self.deduplication_order[0][0] + interval <= now:
            sent, key = self.deduplication_order.popleft()
            if self.deduplicated.get(key) == sent:
                del self.deduplicated[key]

    def _release(self, entry: Entry) -> None:
        if self._current(entry):
            self._move(entry[3], self.places[entry[3]], READY, float(entry[1]))

    def next_ready(self) -> Message | None:
        heap = self.heaps[READY]
        while heap:
            entry = heapq.heappop(heap)
            if self._current(entry):
                return entry[3]
        return None

    def put_back(self, message: Message) -> None:
        place = self.places[message]
        self._move(message, place, READY, float(place.sequence))

    # --- FIFO deduplication ------------------------------------------------------------------------

    def duplicate(self, queue: Queue, message: Message) -> bool:
        """True when the message repeats one accepted within the deduplication interval; else it is
        recorded as accepted."""
        if message.deduplication_id is None:
            return False
        by_group = getattr(queue, "deduplication_scope", "queue") == "messageGroup"
        key = (message.group_id if by_group else None, message.deduplication_id)
        sent = float(message.sent_timestamp or 0)
        accepted = self.deduplicated.get(key)
        if accepted is not None and (sent - accepted) / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
            return True
        self.deduplicated[key] = sent
        self.deduplication_order.append((sent, key))
        return False


def index_of(queue: Queue) -> QueueIndex:
    index: QueueIndex | None = queue.__dict__.get(INDEX)
    if index is None:
        # A queue made before install() keeps moto's list; its messages join the index as they stand.
        index = queue.__dict__[INDEX] = QueueIndex()
        now = _now()
        for message in queue.__dict__.pop("_messages", []):
            index.insert(message, float(message.sent_timestamp or now), now)
    return index


def _counted(state: str) -> property:
    def count(self: Queue) -> int:
        with self._messages_lock:
            index = index_of(self)
            index.advance(self, _now())
            return index.counts[state]

    return property(count)


# --- Queue -------------------------------------------------------------------------------------------


def _get_messages(self: Queue) -> list[Message]:
    with self._messages_lock:
        index = index_of(self)
        index.advance(self, _now())
        return list(index.places)


def _set_messages(self: Queue, messages: list[Message]) -> None:
    # moto assigns a list when it makes the queue and when it purges it: both start an empty index.
    # A purge deletes messages, not what was sent: the deduplication interval still runs.
    before: QueueIndex | None = self.__dict__.get(INDEX)
    index = self.__dict__[INDEX] = QueueIndex()
    if before is not None:
        index.deduplicated, index.deduplication_order = before.deduplicated, before.deduplication_order
    now = _now()
    for message in messages:
        index.insert(message, float(message.sent_timestamp or now), now)


def _get_pending(self: Queue) -> set[Message]:
    return index_of(self).in_flight


def _set_pending(self: Queue, messages: set[Message]) -> None:
    if messages:
        raise ValueError("the in-flight messages follow from the queue's index; they cannot be assigned")


def _ready_messages(self: Queue) -> list[Message]:
    with self._messages_lock:
        index = index_of(self)
        index.advance(self, _now())
        return [m for m, place in index.places.items() if place.state == READY]


def _pending_message_groups(self: Queue) -> set[str]:
    return set(index_of(self).groups_in_flight)


def _add_message(self: Queue, message: Message) -> None:
    if self.fifo_queue and (getattr(self, "content_based_deduplication", False) or message.deduplication_id):
        with self._messages_lock:
            index = index_of(self)
            index.advance(self, _now())
            if index.duplicate(self, message):
                return
    _enqueue(self, message, float(message.sent_timestamp or _now()))


def _enqueue(queue: Queue, message: Message, enqueued: float) -> None:
    with queue._messages_lock:
        index = index_of(queue)
        now = _now()
        index.advance(queue, now)
        index.insert(message, enqueued, now)
        queue._messages_lock.notify_all()
    _feed_event_source_mappings(queue)


def _feed_event_source_mappings(queue: Queue) -> None:
    # As moto's add_message does: moto's own Lambda polls the queue on each new message.
    for arn, mapping in queue.lambda_event_source_mappings.items():
        if not mapping.enabled:
            continue
        backend = sqs_backends[queue.account_id][queue.region]
        messages = backend.receive_message(
            queue.name,
            mapping.batch_size,
            queue.receive_message_wait_time_seconds,  # type: ignore[attr-defined]
            queue.visibility_timeout,  # type: ignore[attr-defined]
        )
        from moto.awslambda.utils import get_backend

        if get_backend(queue.account_id, queue.region).send_sqs_batch(arn, messages, queue.queue_arn):
            for message in messages:
                backend.delete_message(queue.name, message.receipt_handle)  # type: ignore[arg-type]
        else:
            for message in messages:
                backend.change_message_visibility(queue.name, message.receipt_handle, visibility_timeout=0)  # type: ignore[arg-type]


def _delete_message(self: Queue, receipt_handle: str) -> None:
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            return
        index = index_of(self)
        index.advance(self, _now())
        message = index.handles.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
        index.remove(message)


def _wait_for_messages(self: Queue, timeout: int) -> None:
    def ready() -> bool:
        index = index_of(self)
        index.advance(self, _now())
        return index.counts[READY] > 0

    with self._messages_lock:
        self._messages_lock.wait_for(ready, timeout=timeout)


# --- Backend -------------------------------------------------------------------------------------


def _take(
    backend: SQSBackend, queue: Queue, count: int, visibility_timeout: int, attribute_names: list[str]
) -> tuple[list[Message], list[tuple[Message, float]]]:
    """One pass of ReceiveMessage: up to `count` messages, and those due for the dead-letter queue."""
    received: list[Message] = []
    to_dead_letters: list[tuple[Message, float]] = []
    set_aside: list[Message] = []  # ready, but not for this call; back on the heap after it
    taken: set[Message] = set()
    with queue._messages_lock:
        index = index_of(queue)
        now = _now()
        index.advance(queue, now)
        groups_taken: set[str] = set()  # a group not in flight when the call began stays open to it
        redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
        while len(received) < count and (message := index.next_ready()) is not None:
            if message in taken:  # received with visibility timeout 0: visible again, but not in this call
                set_aside.append(message)
                continue
            group = message.group_id
            if queue.fifo_queue and group and group not in groups_taken and index.groups_in_flight.get(group):
                set_aside.append(message)
                continue
            if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
                to_dead_letters.append((message, index.remove(message).enqueued))
                continue
            message.mark_received(visibility_timeout=visibility_timeout)
            index.handles[message.receipt_handle] = message  # type: ignore[index]
            index.settle(message, _now())
            taken.add(message)
            if group:
                groups_taken.add(group)
            copy = deepcopy(message)  # the stored message keeps every attribute; the answer is filtered
            sqs_models._filter_message_attributes(copy, attribute_names)
            received.append(copy)
        for message in set_aside:
            index.put_back(message)
    return received, to_dead_letters


def _receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    queue = self.get_queue(queue_name)
    polling_end = _seconds() + wait_seconds_timeout
    while True:
        received, to_dead_letters = _take(self, queue, count, visibility_timeout, message_attribute_names or [])
        for message, enqueued in to_dead_letters:
            # FIFO: "the enqueue timestamp resets when the message is moved to a dead-letter queue".
            _enqueue(queue.dead_letter_queue, message, _now() if queue.fifo_queue else enqueued)  # type: ignore[arg-type]
        if received or not wait_seconds_timeout or _seconds() > polling_end:
            return received
        queue.wait_for_messages(1)


def _change_message_visibility(self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        index = index_of(queue)
        index.advance(queue, _now())
        message = index.handles.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid
        until = _now() + int(visibility_timeout) * 1000
        if until - message.sent_timestamp > MAXIMUM_VISIBILITY_MILLISECONDS:  # type: ignore[operator]
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        index.settle(message, _now())


# --- Switch --------------------------------------------------------------------------------------------

_MISSING = object()
_originals: dict[tuple[type, str], Any] = {}


def _patches() -> dict[tuple[type, str], Any]:
    return {
        (Queue, "_messages"): property(_get_messages, _set_messages),
        (Queue, "_pending_messages"): property(_get_pending, _set_pending),
        (Queue, "messages"): property(_ready_messages),
        (Queue, "pending_message_groups"): property(_pending_message_groups),
        (Queue, "approximate_number_of_messages"): _counted(READY),
        (Queue, "approximate_number_of_messages_delayed"): _counted(DELAYED),
        (Queue, "approximate_number_of_messages_not_visible"): _counted(IN_FLIGHT),
        (Queue, "add_message"): _add_message,
        (Queue, "delete_message"): _delete_message,
        (Queue, "wait_for_messages"): _wait_for_messages,
        (SQSBackend, "receive_message"): _receive_message,
        (SQSBackend, "change_message_visibility"): _change_message_visibility,
    }


def installed() -> bool:
    return bool(_originals)


def install() -> None:
    if installed():
        return
    for (cls, name), replacement in _patches().items():
        _originals[(cls, name)] = cls.__dict__.get(name, _MISSING)
        setattr(cls, name, replacement)


def uninstall() -> None:
    """Back to moto's own queues. Queues made while installed are unusable afterwards."""
    for (cls, name), original in _originals.items():
        if original is _MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _originals.clear()


@contextmanager
def moto_queues() -> Iterator[None]:
    """moto's own list-walking queues inside the block, for benchmarks; make fresh queues in it."""
    was = installed()
    uninstall()
    try:
        yield
    finally:
        if was:
            install()


__all__ = ["QueueIndex", "index_of", "install", "installed", "moto_queues", "uninstall"]
