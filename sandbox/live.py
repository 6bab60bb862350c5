"""Keeps the hub's Lambdas running against the emulator, as Lambda runs them, until stopped.

Each Lambda of the hub template is stood in by a queue that its rules deliver to (see
sandbox.provision). The loop takes every delivery from there and invokes the real handler, as
Lambda's asynchronous invocation does, and polls every queue event source mapping as Lambda's SQS
poller does. A failure behaves as it does in Lambda for that invocation type:

- asynchronous (EventBridge targets): a handler that raises is run again MaximumRetryAttempts times
  (the template's EventInvokeConfig; 2 when absent), then the event goes to the function's
  dead-letter queue with Lambda's RequestID, ErrorCode and ErrorMessage attributes. Lambda waits
  about one and then two minutes between attempts; the loop waits RETRY_DELAYS seconds.
- SQS event sources: records reported in `batchItemFailures` (every record, when the handler
  raises) stay on the queue and come back after the visibility timeout (LOCAL_VISIBILITY_TIMEOUT
  here, the queue's own in AWS); on the receive after the queue's maxReceiveCount, SQS moves them to
  the redrive policy's dead-letter queue (the emulator's SQS does that, as AWS does).

Every handler run prints one line: time, function, event, outcome (a tail of the function logs).
"""

from __future__ import annotations

import heapq
import itertools
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.function_urls import serve as serve_function_url
from sandbox.outputs import publish
from sandbox.personas import Persona, assume_in_emulator, describe, personas, write_config
from sandbox.provision import REGION, Deployed, Function

if TYPE_CHECKING:
    from sandbox.run import Sandbox

Invoke = Callable[[Function, dict[str, Any]], Any]

RETRY_DELAYS = (1.0, 2.0)
LOCAL_VISIBILITY_TIMEOUT = 2
DEFAULT_ASYNC_RETRIES = 2  # Lambda's default MaximumRetryAttempts for asynchronous invocation
LONG_POLL_SECONDS = 1  # how long a receive waits for a message; also how soon stop() is noticed


@dataclass(frozen=True)
class AsyncTarget:
    """A function invoked asynchronously (EventBridge rule targets), with its failure settings."""

    function: Function
    name: str
    max_retries: int
    dead_letter_url: str | None


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping: the queue, its function and the queue's redrive settings."""

    function: Function
    name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    reports_item_failures: bool
    max_receives: int | None
    dead_letter_name: str | None


@dataclass(order=True)
class PendingRetry:
    due: float
    sequence: int
    target: AsyncTarget = field(compare=False)
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempts: int = field(compare=False)


def function_name(function: Function) -> str:
    """`auto_link.handler.handler` -> `auto_link`; `card_workflow.handler.follow_exports` -> its attribute."""
    module, _, attribute = function.handler.rpartition(".")
    package = module.split(".")[0]
    return package if attribute == "handler" else f"{package}.{attribute}"


def describe_event(event: Any) -> str:
    if not isinstance(event, dict):
        return f"malformed event (a {type(event).__name__}, not an object)"
    kind = str(event.get("detail-type", "event without detail-type"))
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return f"{kind} (detail is not an object)"
    if "ModelCardName" in detail:
        return (
            f"{kind}: {detail.get('ModelCardName')} v{detail.get('ModelCardVersion')} {detail.get('ModelCardStatus')}"
        )
    if "ModelPackageGroupName" in detail:
        return (
            f"{kind}: {detail.get('ModelPackageGroupName')}/{detail.get('ModelPackageVersion')} "
            f"{detail.get('ModelApprovalStatus')} in {event.get('account')}"
        )
    return kind


def brief(result: Any, limit: int = 240) -> str:
    text = json.dumps(result, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class LiveLoop:
    """Delivers to the hub's handlers until stop(): one long-polling thread per delivery source,
    one more for the asynchronous retries; handlers run one at a time (they share os.environ)."""

    def __init__(
        self,
        hub: Deployed,
        invoke: Invoke,
        *,
        log: Callable[[str], None] = print,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT,
    ) -> None:
        self.hub = hub
        self.invoke_handler = invoke
        self.log = log
        self.retry_delays = retry_delays
        self.visibility_timeout = visibility_timeout
        self.sqs = hub.client("sqs")
        self.targets = async_targets(hub)
        self.sources = queue_sources(hub)
        self.retries: list[PendingRetry] = []
        self.retry_due = threading.Condition()
        self.sequence = itertools.count()
        self.one_at_a_time = threading.Lock()
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []
        self.runs = 0

    # --- running -------------------------------------------------------------------------------------

    def start(self) -> None:
        work: list[tuple[str, Callable[[], None]]] = [
            *((f"async {t.name}", lambda t=t: self.poll_async(t)) for t in self.targets),
            *((f"sqs {s.name}", lambda s=s: self.poll_queue(s)) for s in self.sources),
            ("async retries", self.run_retries),
        ]
        for name, body in work:
            thread = threading.Thread(target=self.keep_going, args=(name, body), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopped.set()
        with self.retry_due:
            self.retry_due.notify_all()
        for thread in self.threads:
            thread.join(timeout=LONG_POLL_SECONDS + 30)

    def keep_going(self, name: str, body: Callable[[], None]) -> None:
        while not self.stopped.is_set():
            try:
                body()
            except Exception as error:  # the emulator refused a call: keep serving every handler
                self.say(name, "-", f"poll failed, trying again: {error_text(error)}")
                self.stopped.wait(1)

    def invoke(self, function: Function, event: Any) -> Any:
        with self.one_at_a_time:
            self.runs += 1
            return self.invoke_handler(function, event)

    def receive(self, url: str, count: int, visibility_timeout: int | None = None) -> list[dict[str, Any]]:
        extra = {} if visibility_timeout is None else {"VisibilityTimeout": visibility_timeout}
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=LONG_POLL_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            **extra,
        ).get("Messages", [])
        return messages

    def poll_async(self, target: AsyncTarget) -> None:
        for message in self.receive(target.function.queue_url, 10):
            # Lambda accepted the asynchronous invocation: from here on, retries are Lambda's.
            self.sqs.delete_message(QueueUrl=target.function.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.run_async(target, parse_delivery(message["Body"]), str(uuid.uuid4()), attempts=0)

    def poll_queue(self, source: QueueSource) -> None:
        messages = self.receive(source.queue_url, source.batch_size, self.visibility_timeout)
        if messages:
            self.run_batch(source, messages)

    def run_retries(self) -> None:
        with self.retry_due:
            while not self.stopped.is_set() and (not self.retries or self.retries[0].due > time.monotonic()):
                wait = self.retries[0].due - time.monotonic() if self.retries else None
                self.retry_due.wait(timeout=wait)
            if self.stopped.is_set():
                return
            retry = heapq.heappop(self.retries)
        self.run_async(retry.target, retry.event, retry.request_id, attempts=retry.attempts)

    # --- asynchronous invocation ---------------------------------------------------------------------

    def run_async(self, target: AsyncTarget, event: Any, request_id: str, *, attempts: int) -> None:
        attempt = attempts + 1
        label = describe_event(event)
        try:
            result = self.invoke(target.function, event)
        except Exception as error:
            self.failed_async(target, event, request_id, attempt, label, error)
            return
        retried = f" (attempt {attempt})" if attempt > 1 else ""
        parked = isinstance(result, dict) and "dead-lettered" in (result.get("action"), result.get("outcome"))
        if parked and target.dead_letter_url is not None:
            where = queue_name(target.dead_letter_url)
            self.say(target.name, label, f"rejected{retried}: the handler parked it in {where}: {result.get('reason')}")
        else:
            self.say(target.name, label, f"ok{retried}: {brief(result)}")

    def failed_async(
        self, target: AsyncTarget, event: Any, request_id: str, attempt: int, label: str, error: Exception
    ) -> None:
        if attempt <= target.max_retries:
            delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
            with self.retry_due:
                heapq.heappush(
                    self.retries,
                    PendingRetry(time.monotonic() + delay, next(self.sequence), target, event, request_id, attempt),
                )
                self.retry_due.notify_all()
            self.say(
                target.name,
                label,
                f"FAILED (attempt {attempt} of {target.max_retries + 1}): {error_text(error)}; retry in {delay:g}s",
            )
            return
        if target.dead_letter_url is None:
            where = "dropped (the function has no dead-letter queue)"
        else:
            self.sqs.send_message(
                QueueUrl=target.dead_letter_url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": error_text(error)[:1024]},
                },
            )
            where = f"sent to dead-letter queue {queue_name(target.dead_letter_url)}"
        self.say(
            target.name, label, f"FAILED (attempt {attempt} of {target.max_retries + 1}): {error_text(error)}; {where}"
        )

    # --- SQS event sources ---------------------------------------------------------------------------

    def run_batch(self, source: QueueSource, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(source, message) for message in messages]
        label = f"SQS batch of {len(records)} from {queue_name(source.queue_url)}"
        try:
            result = self.invoke(source.function, {"Records": records})
            failed = failed_items(result, records) if source.reports_item_failures else set()
            cause = f"{len(failed)} of {len(records)} records reported failed" if failed else ""
        except Exception as error:
            result, failed, cause = None, {r["messageId"] for r in records}, f"handler raised {error_text(error)}"
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if not failed:
            self.say(source.name, label, f"ok: {brief(result)}")
            return
        receives = max(
            int(m["Attributes"].get("ApproximateReceiveCount", "1")) for m in messages if m["MessageId"] in failed
        )
        if source.max_receives is not None and receives >= source.max_receives:
            where = f"received {receives} times: SQS moves them to {source.dead_letter_name} (redrive policy)"
        elif source.max_receives is not None:
            where = f"back on the queue in {self.visibility_timeout}s (receive {receives} of {source.max_receives})"
        else:
            where = f"back on the queue in {self.visibility_timeout}s (no redrive policy: retried until they expire)"
        self.say(source.name, label, f"FAILED: {cause}; {where}")

    def say(self, function: str, event: str, outcome: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        self.log(f"{stamp}  {function:<28}  {event}  ->  {outcome}")


def parse_delivery(body: str) -> Any:
    """EventBridge delivers JSON; anything else is passed on as the string it is."""
    try:
        return json.loads(body)
    except ValueError:
        return body


def sqs_record(source: QueueSource, message: dict[str, Any]) -> dict[str, Any]:
    """One record of the event Lambda's SQS poller builds."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": REGION,
    }


def failed_items(result: Any, records: list[dict[str, Any]]) -> set[str]:
    """The message IDs to keep; an unknown or empty itemIdentifier fails the whole batch, as in Lambda."""
    every = {r["messageId"] for r in records}
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    if not isinstance(failures, list):
        return every
    named = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    return every if any(n not in every for n in named) else {str(n) for n in named}


def async_targets(hub: Deployed) -> list[AsyncTarget]:
    retries = {
        props["FunctionName"]["Ref"]: int(props.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        for _, props in hub.resources("AWS::Lambda::EventInvokeConfig")
        if isinstance(props.get("FunctionName"), dict) and "Ref" in props["FunctionName"]
    }
    targets = []
    for logical_id, props in hub.resources("AWS::Lambda::Function"):
        dead_letter = props.get("DeadLetterConfig", {}).get("TargetArn")
        targets.append(
            AsyncTarget(
                function=hub.functions[logical_id],
                name=function_name(hub.functions[logical_id]),
                max_retries=retries.get(logical_id, DEFAULT_ASYNC_RETRIES),
                dead_letter_url=hub.refs[dead_letter["Fn::GetAtt"][0]] if dead_letter else None,
            )
        )
    return targets


def queue_sources(hub: Deployed) -> list[QueueSource]:
    queues = dict(hub.resources("AWS::SQS::Queue"))
    sources = []
    for _, props in hub.resources("AWS::Lambda::EventSourceMapping"):
        queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
        function = hub.functions[props["FunctionName"]["Ref"]]
        redrive = queues.get(queue_id, {}).get("RedrivePolicy")
        sources.append(
            QueueSource(
                function=function,
                name=function_name(function),
                queue_url=hub.refs[queue_id],
                queue_arn=hub.attrs[(queue_id, "Arn")],
                batch_size=min(int(props.get("BatchSize", 10)), 10),
                reports_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                max_receives=int(redrive["maxReceiveCount"]) if redrive else None,
                dead_letter_name=str(hub.resolve(redrive["deadLetterTargetArn"])).rsplit(":", 1)[-1]
                if redrive
                else None,
            )
        )
    return sources


# --- The kept session: outputs, personas, banner, then the loop until Ctrl-C or SIGTERM -------------

AWS_CLI = ".venv/bin/aws"


def serve(sandbox: Sandbox, state_dir: Path, *, notes: list[str], out: Callable[[str], None] = print) -> None:
    """Publish the outputs, write the personas' config, print how to use them, then run until stopped."""
    stacks = [sandbox.hub, *sandbox.spokes.values()]
    # The function URLs answer on 127.0.0.1, and the outputs say where (the hub's DecisionUrl).
    servers = []
    for logical_id, props in sandbox.hub.resources("AWS::Lambda::Url"):
        function_url = sandbox.function_urls[props["TargetFunctionArn"]["Fn::GetAtt"][0]]
        servers.append(serve_function_url(function_url))
        sandbox.hub.attrs[(logical_id, "FunctionUrl")] = function_url.url
    outputs = publish(stacks, state_dir / "outputs.json")
    found, persona_notes = personas(
        sandbox.hub,
        sandbox.spokes,
        outputs,
        assume_in_emulator(sandbox.endpoint),
        sandbox.admin_role_arn,
        inbox=sandbox.inbox,
    )
    config_file = (state_dir / "aws-config").resolve()
    write_config(config_file, found, sandbox.endpoint)
    # A person's steps are seconds apart, as SageMaker's events come: the follow-up queue's look at
    # an export job comes a few seconds after its event, as it comes 15 minutes after it deployed.
    sandbox.live_environment["FOLLOW_UP_DELAY_SECONDS"] = "5"
    loop = LiveLoop(sandbox.hub, sandbox.invoke, log=out)
    for line in banner(sandbox, found, config_file, state_dir / "outputs.json", [*notes, *persona_notes]):
        out(line)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    loop.start()
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        loop.stop()
        for server in servers:
            server.shutdown()
        out(f"stopped after {loop.runs} handler runs")


def banner(
    sandbox: Sandbox, found: list[Persona], config_file: Path, outputs_file: Path, notes: list[str]
) -> list[str]:
    registry, reader = sandbox.registry, sandbox.reader
    registry_name = next(n for n, s in sandbox.spokes.items() if s is registry)
    reader_name = next(n for n, s in sandbox.spokes.items() if s is reader)
    hub = sandbox.hub.stack
    return [
        "",
        "The product keeps running: every event reaches its handler, one line per run below. Ctrl-C stops it.",
        f"Stack outputs: {outputs_file} (cdk deploy --outputs-file format) and `aws cloudformation describe-stacks`.",
        f"Personas (profiles of {config_file}):",
        *(f"    {line}" for line in describe(found)),
        *(f"    note: {note}" for note in notes),
        "",
        "In another shell:",
        "",
        f"export AWS_CONFIG_FILE={config_file}",
        "",
        "then try (docs/try-it-yourself.md has the whole walk):",
        f"    {AWS_CLI} --profile {registry_name} sagemaker create-model-package-group \\",
        "        --model-package-group-name fraud",
        f"    {AWS_CLI} --profile {registry_name} sagemaker create-model-package --model-package-group-name fraud \\",
        "        --inference-specification file://sandbox/inference-specification.json",
        f"    {AWS_CLI} --profile {reader_name} ram list-resources --resource-owner OTHER-ACCOUNTS \\",
        "        --resource-type sagemaker:ModelCard --query 'resources[].arn'",
        f"    {AWS_CLI} --profile reviewer sqs receive-message --queue-url {sandbox.inbox[0]}",
        f"    {AWS_CLI} --profile hub-admin cloudformation describe-stacks --stack-name {hub} \\",
        "        --query 'Stacks[0].Outputs'",
        "",
    ]
