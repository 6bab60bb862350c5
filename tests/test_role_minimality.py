"""Each product role's policy, as synthesized, is sufficient and minimal on the emulator.

Sufficient: a short lifecycle passes with every Lambda under its own role from the template and
the hub reaching spokes only through their roles. Minimal: with any one statement of a role's
policy removed, the same lifecycle stops at the step that needs it, with AccessDenied naming an
action of that statement.

The lifecycle is the smallest run that uses every statement: a spoke and the hub itself (a hub with
a registry of its own) each register a version; an event no handler can process is dead-lettered;
both cards go to review; a spoke user's approval is refused once its CloudTrail record is past
waiting for (the recheck queue); a reviewer decides on both through the decision endpoint, which
approves the packages (the spoke's through its approval-sync role) and starts the PDF exports, whose
state change events and follow-up look find them still rendering, and whose completion events record
them; both versions
are deployed and the weekly report reads every registry (the spokes' through their registry-reader
roles).

The stacks are synthesized from config/local.json with the weekly report on and provisioned once
for the module (sandbox.provision, through the sandbox); each case removes statements from roles
in the emulator, runs the lifecycle under fresh group names and puts the statements back.

Every statement is an Allow, so removing statements can only take permissions away: a run that
passes without a set of statements passes without any one of them. Two groups use that, so that
no run is repeated that proves nothing new:
- the statements only a part of AWS the emulator does not run needs are removed together, once;
- the statements only the report needs are removed together for one run of the steps before the
  report (none of them is needed there); each is then removed alone for a run of the report step
  on that shared state. The report only reads, and writes its own week's objects, so the report
  step can run again on the same state, which a positive run with every statement shows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sandbox import run as sandbox_run
from sandbox.provision import REGION, Deployed, Function
from sandbox.run import INFERENCE, Sandbox, drain
from tests.conftest import ROOT, load_event
from tests.test_report import deploy

HUB, SPOKE = "111111111111", "222222222222"
PREFIX = "model-card-governance"
HANDLERS = {
    "auto_link.handler.handler": "auto-link",
    "card_workflow.handler.handler": "workflow",
    "card_workflow.handler.follow_exports": "export-follower",
    "card_workflow.handler.decide": "decisions",
    "governance_report.handler.handler": "weekly-report",
    "reconciler.handler.handler": "reconciler",
}
SPOKE_ROLES = {"approval-sync": f"{PREFIX}-approval-sync", "registry-reader": f"{PREFIX}-registry-reader"}

# Steps of the lifecycle, in order.
SPOKE_REGISTERS = "a spoke registers a version"
HUB_REGISTERS = "the hub registers a version"
DEAD_LETTERS = "events no handler can process are dead-lettered"
REVIEW = "both cards go to review"
SPOKE_APPROVES = "a spoke user's approval is refused"
REVIEWER_APPROVES = "a reviewer approves both cards"
EXPORTS = "the PDF exports are followed"
SWEEP = "the daily review sweep looks at the effective approvals"
REPORT = "the weekly report reads every registry"

LAMBDA_LOGS = (
    "Lambda writes the function's logs with its execution role (Lambda developer guide, 'Lambda "
    "execution role': CreateLogStream and PutLogEvents); the handlers never call CloudWatch Logs "
    "and the emulator runs no Lambda service that would."
)
ASYNC_DEAD_LETTERS = (
    "Lambda sends a failed asynchronous invocation to the function's dead-letter queue with the "
    "execution role (Lambda developer guide, 'Dead-letter queues': the role needs sqs:SendMessage); "
    "this handler never sends there itself, and the emulator runs no Lambda service."
)
LEDGER_KEY = (
    "The ledger table and the follow-up queue are encrypted with the card key: DynamoDB (PutItem, "
    "Query) and SQS (SendMessage, and Lambda's ReceiveMessage for the event source) use it for the "
    "caller, which the emulator does not evaluate (docs/emulator.md, 'Not evaluated'); the follower calls "
    "nothing else that uses the key."
)

POLICY_ONLY = (
    "Used only under an approval_policy section, which the lifecycle's config has none of: notices of "
    "partial approvals, rejections and suspensions (sns:Publish) and the hint that makes the workflow "
    "act on a suspension (the recheck queue); tests/test_approval_tiers.py runs both on the emulator."
)

DEAD_LETTERS_AND_HINTS = (
    "Two queues in one statement: the function's dead-letter queue, which Lambda sends a failed "
    "asynchronous invocation to with the execution role (Lambda developer guide, 'Dead-letter queues'; "
    "the emulator runs no Lambda service), and the workflow's recheck queue, which the handler sends a "
    "suspension's hint to, only under an approval_policy with an incident group, which the lifecycle's "
    "config has none of; tests/test_approval_tiers.py sends one on the emulator."
)

SPOKE_TOLD = (
    "Puts a request for changes or a suspension of the spoke's card on the spoke's own default bus "
    "(card_workflow.reviews.tell_spoke); the lifecycle's reviewer approves and requests no changes. "
    "tests/test_approval_tiers.py delivers one to a spoke's bus on the emulator."
)

RECONCILER_ONLY = (
    "Only the reconciler uses it, and the sandbox cannot run the reconciler's run end to end: it hands "
    "work to the auto-linker and the workflow with lambda:InvokeFunction, and the emulator runs no "
    "Lambda service (docs/emulator.md). tests/test_reconciler.py runs the same reads and writes "
    "against the emulator with the hub's administrator."
)

# Every statement of every role, in the order the template writes them: its actions and the step
# that needs it, or, for a statement only a part of AWS the emulator does not run or evaluate
# uses, the reason. A statement added to a construct fails test_every_statement_is_listed until it
# is listed here.
STATEMENTS: dict[str, list[tuple[tuple[str, ...], str | None, str]]] = {
    "auto-link": [
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), DEAD_LETTERS, ""),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (("sagemaker:AddTags", "sagemaker:CreateModelCard", "sagemaker:DescribeModelCard"), SPOKE_REGISTERS, ""),
        (("ram:AssociateResourceShare",), SPOKE_REGISTERS, ""),
        (("ram:GetResourceShares",), SPOKE_REGISTERS, ""),
        (("dynamodb:GetItem", "dynamodb:UpdateItem"), SPOKE_REGISTERS, ""),
        (("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"), SPOKE_REGISTERS, ""),
        (("kms:CreateGrant",), SPOKE_REGISTERS, ""),
        (("sts:AssumeRole",), SPOKE_REGISTERS, ""),  # the spoke's reader role, for its reports
    ],
    "workflow": [
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), DEAD_LETTERS, ""),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (
            (
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ),
            SPOKE_REGISTERS,  # Lambda polls its event source all along
            "",
        ),
        (("kms:Decrypt", "kms:GenerateDataKey"), SPOKE_REGISTERS, ""),  # DescribeModelCard; the queues' key
        (("dynamodb:PutItem", "dynamodb:Query"), SPOKE_REGISTERS, ""),  # the new card's Draft
        (("dynamodb:Query",), SWEEP, ""),  # the ledger's sparse index of effective approvals, for the review sweep
        (("dynamodb:GetItem", "dynamodb:UpdateItem"), REVIEW, ""),  # the link table: what was imported
        (
            ("sagemaker:CreateModelCardExportJob", "sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"),
            SPOKE_REGISTERS,
            "",
        ),
        (("sagemaker:DescribeModelPackage",), REVIEWER_APPROVES, ""),
        (("cloudtrail:LookupEvents",), SPOKE_APPROVES, ""),
        (("sagemaker:UpdateModelPackage",), REVIEWER_APPROVES, ""),
        (("s3:GetObject", "s3:PutObject"), SPOKE_REGISTERS, ""),  # the ledger's first anchor, then evidence
        (("s3:ListBucket",), REVIEWER_APPROVES, ""),
        (("sts:AssumeRole",), REVIEWER_APPROVES, ""),
        (("sns:Publish",), REVIEW, ""),
    ],
    "export-follower": [
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), EXPORTS, ""),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (
            (
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ),
            SPOKE_REGISTERS,  # Lambda polls its event source all along
            "",
        ),
        (("kms:Decrypt", "kms:GenerateDataKey"), None, LEDGER_KEY),
        (("dynamodb:PutItem", "dynamodb:Query"), EXPORTS, ""),
        (("sagemaker:DescribeModelCardExportJob",), EXPORTS, ""),
    ],
    "decisions": [
        # The CDK merges the recheck queue (a suspension's hint) into this statement.
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), None, DEAD_LETTERS_AND_HINTS),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (("dynamodb:PutItem", "dynamodb:Query"), REVIEWER_APPROVES, ""),  # the decision, on the card's chain
        (("dynamodb:GetItem",), REVIEWER_APPROVES, ""),  # the card's link, its model's last approved rating
        (("sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"), REVIEWER_APPROVES, ""),
        (("kms:Decrypt", "kms:GenerateDataKey"), None, LEDGER_KEY),
        (("sns:Publish",), None, POLICY_ONLY),
    ],
    "weekly-report": [
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), None, ASYNC_DEAD_LETTERS),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (("dynamodb:Query", "dynamodb:Scan"), REPORT, ""),
        (("dynamodb:Scan",), REPORT, ""),
        (("kms:Decrypt", "kms:GenerateDataKey"), REPORT, ""),
        (("s3:ListBucket",), REPORT, ""),
        (("s3:GetObject",), REPORT, ""),
        (("s3:GetObjectVersion", "s3:ListBucketVersions"), REPORT, ""),  # the ledger's anchors
        (("sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"), REPORT, ""),
        (
            (
                "sagemaker:ListEndpoints",
                "sagemaker:ListModelCards",
                "sagemaker:ListModelPackageGroups",
                "sagemaker:ListModelPackages",
            ),
            REPORT,
            "",
        ),
        (("sagemaker:DescribeEndpoint",), REPORT, ""),
        (("sagemaker:DescribeEndpointConfig",), REPORT, ""),
        (("sagemaker:DescribeModel",), REPORT, ""),
        (("sts:AssumeRole",), REPORT, ""),
        (("s3:PutObject",), REPORT, ""),
        (("sns:Publish",), REPORT, ""),
    ],
    "approval-sync": [
        (("sagemaker:DescribeModelPackage",), REVIEWER_APPROVES, ""),
        (("sagemaker:UpdateModelPackage",), REVIEWER_APPROVES, ""),
        (("events:PutEvents",), None, SPOKE_TOLD),
    ],
    "registry-reader": [
        (("sagemaker:ListEndpoints", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"), REPORT, ""),
        (("sagemaker:DescribeEndpoint",), REPORT, ""),
        (("sagemaker:DescribeEndpointConfig",), REPORT, ""),
        (("sagemaker:DescribeModel",), REPORT, ""),
        (("sagemaker:DescribeModelPackage",), None, RECONCILER_ONLY),
        (("events:DescribeRule", "events:ListTargetsByRule"), None, RECONCILER_ONLY),
        (("s3:GetObject",), SPOKE_REGISTERS, ""),  # the auto-linker reads the version's reports
    ],
    "reconciler": [
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), None, RECONCILER_ONLY),
        (("logs:CreateLogStream", "logs:PutLogEvents"), None, LAMBDA_LOGS),
        (
            ("sagemaker:ListModelCards", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"),
            None,
            RECONCILER_ONLY,
        ),
        (("sagemaker:DescribeModelCard",), None, RECONCILER_ONLY),
        (("sagemaker:DescribeModelPackage",), None, RECONCILER_ONLY),
        (("dynamodb:Scan", "dynamodb:UpdateItem"), None, RECONCILER_ONLY),
        (("dynamodb:PutItem", "dynamodb:Query"), None, RECONCILER_ONLY),
        (("s3:GetObject",), None, RECONCILER_ONLY),
        (("s3:ListBucket",), None, RECONCILER_ONLY),
        (("sns:Publish",), None, RECONCILER_ONLY),
        (("kms:Decrypt", "kms:GenerateDataKey"), None, RECONCILER_ONLY),
        (("lambda:InvokeFunction",), None, RECONCILER_ONLY),
        (("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"), None, RECONCILER_ONLY),
        (("sts:AssumeRole",), None, RECONCILER_ONLY),
    ],
}


def every_statement() -> list[tuple[str, int, str | None]]:
    """(role, statement index, the step that needs it or None) for every statement of STATEMENTS."""
    return [
        (role, index, step) for role, statements in STATEMENTS.items() for index, (_, step, _) in enumerate(statements)
    ]


def cases(needed_at: Callable[[str | None], bool]) -> list[Any]:
    return [
        pytest.param(role, index, id=f"{role}-{index}-{'+'.join(a.split(':')[1] for a in STATEMENTS[role][index][0])}")
        for role, index, step in every_statement()
        if needed_at(step)
    ]


class StepFailed(AssertionError):
    pass


# --- The deployed product, once per module ----------------------------------------------------------


@dataclass
class World:
    sandbox: Sandbox
    roles: dict[str, tuple[Deployed, str]]  # role key -> (its account's deployment, role name)
    poller_sessions: dict[str, Any] = field(default_factory=dict)
    runs: int = 0

    def policy(self, role: str) -> tuple[str, dict[str, Any]]:
        deployed, name = self.roles[role]
        iam = deployed.client("iam")
        (policy_name,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        return policy_name, document if isinstance(document, dict) else json.loads(document)

    @contextmanager
    def without(self, removed: Sequence[tuple[str, int]]) -> Iterator[None]:
        """The roles' policies without the (role, statement index) pairs `removed`, for the duration."""
        kept: dict[str, tuple[str, dict[str, Any]]] = {}
        for role in dict.fromkeys(role for role, _ in removed):
            deployed, name = self.roles[role]
            policy_name, document = self.policy(role)
            kept[role] = (policy_name, document)
            gone = {index for r, index in removed if r == role}
            left = [s for i, s in enumerate(document["Statement"]) if i not in gone]
            iam = deployed.client("iam")
            if left:
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps({**document, "Statement": left})
                )
            else:  # IAM refuses a policy without statements
                iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        try:
            yield
        finally:
            for role, (policy_name, document) in kept.items():
                deployed, name = self.roles[role]
                deployed.client("iam").put_role_policy(
                    RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/local.json with the weekly report, the config in which every role has its use, and
    without its approval policy: the lifecycle has one reviewer deciding alone (the policy's
    statements are run by tests/test_approval_tiers.py, see the reasons below)."""
    from aws_cdk import App

    from app import build_app
    from governance_config import load_config

    raw = json.loads((ROOT / "config" / "local.json").read_text())
    raw["report"] = {"weekly": True}
    raw.pop("approval_policy", None)
    config_file = tmp_path_factory.mktemp("config") / "minimality.json"
    config_file.write_text(json.dumps(raw))
    outdir = tmp_path_factory.mktemp("minimality-cdk.out")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    build_app(load_config(config_file), App(outdir=str(outdir), context=context)).synth()
    return outdir


@pytest.fixture(scope="module")
def world(assembly: Path) -> Iterator[World]:
    from emulator.server import start

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    server, endpoint = start()
    try:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        sandbox = Sandbox(assembly, endpoint, out=lambda line: None)
        roles: dict[str, tuple[Deployed, str]] = {}
        for function in sandbox.hub.functions.values():
            roles[HANDLERS[function.handler]] = (sandbox.hub, function.role_arn.rsplit("/", 1)[-1])
        spoke = next(s for s in sandbox.spokes.values() if s.account == SPOKE)
        roles |= {key: (spoke, name) for key, name in SPOKE_ROLES.items()}
        yield World(sandbox, roles)
    finally:
        server.stop()  # type: ignore[attr-defined]


# --- The lifecycle -------------------------------------------------------------------------------------


class Handlers(logging.Handler):
    """What the handlers log: they report some failures only there (a batch item, a registry)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def sandbox_setting(name: str, value: str) -> Iterator[None]:
    before = sandbox_run.SANDBOX_ENVIRONMENT[name]
    sandbox_run.SANDBOX_ENVIRONMENT[name] = value
    try:
        yield
    finally:
        sandbox_run.SANDBOX_ENVIRONMENT[name] = before


class Lifecycle:
    """One run of the lifecycle under its own group names; as a context manager, it starts from
    empty queues and removes its cards and endpoints at the end."""

    def __init__(self, world: World) -> None:
        world.runs += 1
        self.world, self.sandbox, self.hub = world, world.sandbox, world.sandbox.hub
        self.spoke = next(s for s in self.sandbox.spokes.values() if s.account == SPOKE)
        self.group = f"minimal-{world.runs:03d}"
        self.deployed = False
        self.logged = Handlers()

    def __enter__(self) -> Lifecycle:
        self.purge()
        return self

    def __exit__(self, *_: object) -> None:
        self.clean_up()

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            (SPOKE_REGISTERS, self.spoke_registers),
            (HUB_REGISTERS, self.hub_registers),
            (DEAD_LETTERS, self.dead_letters),
            (REVIEW, self.review),
            (SPOKE_APPROVES, self.spoke_approves),
            (REVIEWER_APPROVES, self.reviewer_approves),
            (EXPORTS, self.exports),
            (SWEEP, self.sweep),
            (REPORT, self.report),
        ]

    def run(self, only: Sequence[str] | None = None) -> tuple[str, BaseException] | None:
        """None when every step (or every step named in `only`, in lifecycle order) passed, else the
        first step that failed and its error."""
        root = logging.getLogger()
        root.addHandler(self.logged)
        try:
            for name, step in self.steps():
                if only is not None and name not in only:
                    continue
                try:
                    step()
                except (ClientError, StepFailed, RuntimeError) as error:
                    return name, error
        finally:
            root.removeHandler(self.logged)
        return None

    def clean_up(self) -> None:
        """Cards and endpoints of this run go (SageMaker deletes neither groups nor packages here),
        so each run's report reads about as much as the first."""
        for deployed in (self.hub, self.spoke):
            sagemaker = deployed.client("sagemaker")
            endpoint = f"{self.group}-endpoint"
            for call, name in (
                (sagemaker.delete_endpoint, {"EndpointName": endpoint}),
                (sagemaker.delete_endpoint_config, {"EndpointConfigName": f"{endpoint}-config"}),
                (sagemaker.delete_model, {"ModelName": f"{endpoint}-model"}),
            ):
                with suppress(ClientError):
                    call(**name)
        from shared.card_names import card_name_for

        sagemaker = self.hub.client("sagemaker")
        for card in (card_name_for(SPOKE, self.group, 1), card_name_for(HUB, self.group, 1)):
            with suppress(ClientError):
                sagemaker.delete_model_card(ModelCardName=card)

    # Delivery: EventBridge invokes each Lambda target (its stand-in queue, drained as the
    # platform); a queue event source is polled with the function's execution role, as Lambda's
    # poller is.

    def invoke(self, function: Function, payload: dict[str, Any]) -> Any:
        start = len(self.logged.lines)
        result = self.sandbox.invoke(function, payload)
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if failures:
            raise StepFailed(f"{function.handler} failed records: {self.logged.lines[start:]}")
        return result

    def poller(self, function: Function) -> Any:
        from emulator.sessions import service_role_session

        if function.logical_id not in self.world.poller_sessions:
            session = service_role_session(function.role_arn, name=f"poller-{function.logical_id}")
            self.world.poller_sessions[function.logical_id] = session
        return self.world.poller_sessions[function.logical_id].client("sqs", endpoint_url=self.sandbox.endpoint)

    def poll(self, queue_id: str) -> bool:
        function = self.hub.functions[self.hub.event_sources[queue_id]]
        sqs = self.poller(function)
        messages = sqs.receive_message(QueueUrl=self.hub.refs[queue_id], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return False
        self.invoke(function, {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]})
        sqs.delete_message_batch(
            QueueUrl=self.hub.refs[queue_id],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        return True

    def pump(self, *, sources: bool = True, hold: str = "") -> None:
        """Deliver until nothing moves; events for the `hold` function stay on its stand-in queue."""
        admin = self.hub.client("sqs")
        for _ in range(50):
            moved = False
            for function in self.hub.functions.values():
                if hold and HANDLERS[function.handler] == hold:
                    continue
                for message in drain(admin, function.queue_url):
                    moved = True
                    self.invoke(function, json.loads(message["Body"]))
            if sources:
                for queue_id in self.hub.event_sources:
                    moved = self.poll(queue_id) or moved
            if not moved:
                return
        raise StepFailed("events kept flowing after 50 rounds")

    def purge(self) -> None:
        """Nothing a failed run left behind reaches this one."""
        sqs = self.hub.client("sqs")
        for url in sqs.list_queues().get("QueueUrls", []):
            drain(sqs, url)

    # Reading state.

    def queue_of(self, function_key: str, attribute: str) -> str:
        function = next(f for f in self.hub.functions.values() if HANDLERS[f.handler] == function_key)
        return function.environment[attribute]

    def card(self, name: str) -> dict[str, Any]:
        described: dict[str, Any] = self.hub.client("sagemaker").describe_model_card(ModelCardName=name)
        return described

    def ledger_kinds(self, card: str) -> list[str]:
        return [e["Kind"] for e in self.sandbox.ledger(card)]

    def package_status(self, deployed: Deployed, arn: str) -> str:
        described = deployed.client("sagemaker").describe_model_package(ModelPackageName=arn)
        status: str = described["ModelApprovalStatus"]
        return status

    # The steps.

    def register(self, deployed: Deployed, metrics: dict[str, Any] | None = None) -> tuple[str, str]:
        from shared.card_names import card_name_for

        sagemaker = deployed.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=self.group)
        arn: str = sagemaker.create_model_package(
            ModelPackageGroupName=self.group,
            InferenceSpecification=INFERENCE,
            ModelApprovalStatus="PendingManualApproval",
            **({"ModelMetrics": metrics} if metrics else {}),
        )["ModelPackageArn"]
        self.pump()
        card = card_name_for(deployed.account, self.group, 1)
        try:
            content = json.loads(self.card(card)["Content"])
        except ClientError as error:
            raise StepFailed(f"no card {card} for {arn}: {error}") from None
        if content.get("model_package_details", {}).get("model_package_arn") != arn:
            raise StepFailed(f"card {card} is not linked to {arn}")
        if metrics and not content.get("evaluation_details"):
            custom = content.get("additional_information", {}).get("custom_details", {})
            raise StepFailed(
                f"card {card} has no evaluation details: {custom.get('not_imported_ModelQuality_Statistics')}"
            )
        return arn, card

    def spoke_registers(self) -> None:
        # The version's model quality report, in a bucket of the spoke: read for its card.
        s3, bucket = self.spoke.client("s3"), f"{self.group}-reports-{SPOKE}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="quality.json", Body=json.dumps(QUALITY_REPORT).encode())
        source = {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/quality.json"}
        metrics = {"ModelQuality": {"Statistics": source}}
        self.spoke_package, self.spoke_card = self.register(self.spoke, metrics)

    def hub_registers(self) -> None:
        self.hub_package, self.hub_card = self.register(self.hub)

    def dead_letters(self) -> None:
        unreadable = {"id": f"{self.group}-unreadable", "source": "aws.sagemaker", "detail": {}}
        for key, detail_type in (
            ("auto-link", "SageMaker Model Package State Change"),
            ("workflow", "SageMaker Model Card State Change"),
        ):
            function = next(f for f in self.hub.functions.values() if HANDLERS[f.handler] == key)
            result = self.invoke(function, {**unreadable, "detail-type": detail_type})
            parked = drain(self.hub.client("sqs"), function.environment["DEAD_LETTER_QUEUE_URL"])
            if not parked or "dead-lettered" not in json.dumps(result):
                raise StepFailed(f"{key} did not dead-letter an unreadable event: {result}")

    def review(self) -> None:
        for card in (self.spoke_card, self.hub_card):
            self.sandbox.set_status(card, "PendingReview")
        self.pump()
        subjects = [n.get("Subject", "") for n in self.sandbox.notices()]
        for card in (self.spoke_card, self.hub_card):
            if f"Model card {card} v1 awaits review" not in subjects:
                raise StepFailed(f"no review notice for {card}: {subjects}")

    def spoke_approves(self) -> None:
        arn = f"arn:aws:sagemaker:{REGION}:{HUB}:model-card/{self.spoke_card}"
        self.sandbox.registry_user.client("sagemaker").update_model_card(ModelCardName=arn, ModelCardStatus="Approved")
        # The hub's CloudTrail never records another account's call: the approval waits for the
        # record (the recheck queue), then, past the deadline, is refused.
        with sandbox_setting("ATTRIBUTION_DEADLINE_SECONDS", "3600"):
            self.pump(sources=False)
        if not waiting(self.hub.client("sqs"), self.queue_of("workflow", "RECHECK_QUEUE_URL")):
            raise StepFailed("the approval was not sent to the recheck queue")
        self.pump()
        status = self.card(self.spoke_card)["ModelCardStatus"]
        if status != "PendingReview" or "approval-refused" not in self.ledger_kinds(self.spoke_card):
            raise StepFailed(f"the spoke's approval was not refused: card {status}")

    def reviewer_approves(self) -> None:
        for card in (self.spoke_card, self.hub_card):
            # The reviewer's decision through the hub's decision endpoint (its function URL).
            start = len(self.logged.lines)
            decided, answer = self.sandbox.decide(card, self.card(card)["ModelCardVersion"], "Reviewed")
            if decided != 200:
                raise StepFailed(f"the decision on {card} was not recorded: {answer} {self.logged.lines[start:]}")
        self.pump(sources=False, hold="export-follower")  # the exports are followed in the next step
        for deployed, arn in ((self.spoke, self.spoke_package), (self.hub, self.hub_package)):
            status = self.package_status(deployed, arn)
            if status != "Approved":
                raise StepFailed(f"package {arn} is {status}, expected Approved")

    def sweep(self) -> None:
        # The scheduled rule's event, as AWS documents it; the sweep reads the ledger (a Query of its
        # sparse index of effective approvals) and, with a review interval configured, acts on them.
        workflow = next(f for f in self.hub.functions.values() if HANDLERS[f.handler] == "workflow")
        outcome = self.invoke(workflow, load_event("scheduled-event"))
        if not str(outcome.get("outcome", "")).startswith("swept"):
            raise StepFailed(f"the sweep did not run: {outcome}")

    def exports(self) -> None:
        from moto.sagemaker.models import sagemaker_backends

        from emulator.export_jobs import export_jobs

        # The emulator renders a PDF at once; SageMaker takes a while, so the job's event may find
        # it still InProgress, and so may the follow-up queue's look, which then looks again.
        jobs = [
            job
            for arn, job in export_jobs(sagemaker_backends[HUB][REGION]).items()
            if job.card_name in (self.spoke_card, self.hub_card)
        ]
        if len(jobs) != 2:
            raise StepFailed(f"expected two export jobs, found {len(jobs)}")
        follower = next(f for f in self.hub.functions.values() if HANDLERS[f.handler] == "export-follower")
        events = [json.loads(m["Body"]) for m in drain(self.hub.client("sqs"), follower.queue_url)]
        if len(events) != 2:
            raise StepFailed(f"expected the two jobs' state change events, found {len(events)}")
        for job in jobs:
            job.status = "InProgress"
        try:
            for event in events:
                self.invoke(follower, event)
            follow_up = next(q for q, f in self.hub.event_sources.items() if "Export" in f)
            if not self.poll(follow_up):
                raise StepFailed("no export job to follow")
        finally:
            for job in jobs:
                job.status = "Completed"
        for event in events:  # the completion events, as SageMaker sends them
            self.invoke(follower, event)
        self.pump()
        for card in (self.spoke_card, self.hub_card):
            pdfs = [e for e in self.sandbox.ledger(card) if e["Kind"] == "evidence-pdf"]
            if [e.get("Via") for e in pdfs] != ["event"]:
                raise StepFailed(f"the ledger of {card} does not record its PDF from the job's event: {pdfs}")

    def report(self) -> None:
        from governance_report import handler as report_handler

        if not self.deployed:
            for deployed, package in ((self.spoke, self.spoke_package), (self.hub, self.hub_package)):
                deploy(deployed, f"{self.group}-endpoint", package)
            self.deployed = True
        function = next(f for f in self.hub.functions.values() if HANDLERS[f.handler] == "weekly-report")
        start = len(self.logged.lines)
        day = next(REPORT_DAYS)

        class ReportDay(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> ReportDay:
                return cls.fromtimestamp(day.timestamp(), tz)

        # Each run writes its own week's report: the bucket's Object Lock keeps the earlier ones.
        original = report_handler.__dict__["datetime"]
        setattr(report_handler, "datetime", ReportDay)  # noqa: B010 - the module imports datetime unexported
        try:
            outcome = self.invoke(function, {"id": self.group, "detail-type": "Scheduled Event", "detail": {}})
        finally:
            setattr(report_handler, "datetime", original)  # noqa: B010
            # The report goes on past a registry it cannot read (and says so): that comes first.
            unread = [line for line in self.logged.lines[start:] if "cannot read the registry" in line]
            if unread:
                raise StepFailed("; ".join(unread))  # the registry's denial is the first failure
        if "already written" in outcome["outcome"] or "findings" not in outcome["outcome"]:
            raise StepFailed(f"no report written: {outcome}")
        notices = [n.get("Subject", "") for n in self.sandbox.notices()]
        if not any(s.startswith("Model card governance report") for s in notices):
            raise StepFailed(f"reviewers were not told of the report's findings: {notices}")
        for account in (SPOKE, HUB):
            read = rf"account {account}: \d+ groups, \d+ versions, [1-9]\d* deployed"
            if not any(re.fullmatch(read, line) for line in self.logged.lines[start:]):
                raise StepFailed(f"the report did not read the deployments of {account}")


def waiting(sqs: Any, url: str) -> int:
    """Messages on the queue, counted without receiving them (they stay for their poller)."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


QUALITY_REPORT = {"regression_metrics": {"rmse": {"value": 0.61, "standard_deviation": 0.003}}}
REPORT_DAYS = iter(datetime(2030, 1, 7, 6, tzinfo=UTC) + timedelta(weeks=n) for n in range(1000))


def error_text(error: BaseException) -> str:
    """The error and what caused it (a refused notice names the AccessDenied it came from)."""
    texts, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return " | ".join(texts)


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return sorted([actions] if isinstance(actions, str) else actions)


# --- The tests -----------------------------------------------------------------------------------------


def test_every_statement_is_listed(world: World) -> None:
    for role in STATEMENTS:
        _, document = world.policy(role)
        assert [tuple(actions_of(s)) for s in document["Statement"]] == [a for a, _, _ in STATEMENTS[role]], role
        # The grouped runs below rest on this: without a Deny, removing statements only takes away.
        assert {s["Effect"] for s in document["Statement"]} == {"Allow"}, role
    assert set(STATEMENTS) == set(world.roles)


def test_the_lifecycle_passes_with_every_role_as_synthesized(world: World) -> None:
    with Lifecycle(world) as lifecycle:
        failed = lifecycle.run()
    assert failed is None, f"{failed[0]}: {error_text(failed[1])}" if failed else ""


@pytest.mark.parametrize(("role", "index"), cases(lambda step: step not in (None, REPORT)))
def test_each_statement_is_needed(world: World, role: str, index: int) -> None:
    with world.without([(role, index)]), Lifecycle(world) as lifecycle:
        failed = lifecycle.run()
    assert_stopped_for_want_of(role, index, failed)


def test_statements_only_aws_itself_uses_are_not_needed_by_the_lifecycle(world: World) -> None:
    # Only a part of AWS the emulator does not run uses them (see each one's reason): the run passes
    # without all of them at once, so without any one. Should the emulator come to need one, this
    # fails and the statement is listed with its step instead.
    unused = [(role, index) for role, index, step in every_statement() if step is None]
    assert unused
    assert all(STATEMENTS[role][index][2] for role, index in unused)
    with world.without(unused), Lifecycle(world) as lifecycle:
        failed = lifecycle.run()
    assert failed is None, f"needed after all: {failed[0]}: {error_text(failed[1])}" if failed else ""


@pytest.fixture(scope="module")
def ready_to_report(world: World) -> Iterator[tuple[Lifecycle, tuple[str, BaseException] | None]]:
    """The steps before the report, run once without every statement only the report needs."""
    lifecycle = Lifecycle(world)
    with lifecycle:
        with world.without([(role, index) for role, index, step in every_statement() if step == REPORT]):
            failed = lifecycle.run([name for name, _ in lifecycle.steps() if name != REPORT])
        yield lifecycle, failed


def test_the_report_needs_none_of_its_statements_before_and_runs_again_on_the_same_state(
    ready_to_report: tuple[Lifecycle, tuple[str, BaseException] | None],
) -> None:
    lifecycle, failed_before = ready_to_report
    assert failed_before is None, f"{failed_before[0]}: {error_text(failed_before[1])}" if failed_before else ""
    for _ in range(2):
        failed = lifecycle.run([REPORT])
        assert failed is None, f"{failed[0]}: {error_text(failed[1])}" if failed else ""


@pytest.mark.parametrize(("role", "index"), cases(lambda step: step == REPORT))
def test_each_statement_the_report_needs_is_needed(
    world: World, ready_to_report: tuple[Lifecycle, tuple[str, BaseException] | None], role: str, index: int
) -> None:
    lifecycle, failed_before = ready_to_report
    assert failed_before is None, "the steps before the report failed (see the test above)"
    with world.without([(role, index)]):
        failed = lifecycle.run([REPORT])
    assert_stopped_for_want_of(role, index, failed)


def assert_stopped_for_want_of(role: str, index: int, failed: tuple[str, BaseException] | None) -> None:
    """The run stopped at the statement's step, with an AccessDenied for want of that statement."""
    actions, step, _ = STATEMENTS[role][index]
    assert failed is not None, f"{role}[{index}] {actions}: the lifecycle passed without it"
    failed_step, error = failed
    text = error_text(error)
    assert failed_step == step, f"{role}[{index}] failed at {failed_step!r}, expected {step!r}: {text}"
    if "HeadObject operation: Forbidden" in text:
        # A HEAD answer has no body, so S3's 403 names no action; HeadObject needs s3:GetObject,
        # and s3:ListBucket for a missing key to answer 404 rather than 403.
        assert {"s3:GetObject", "s3:ListBucket"} & set(actions), text
        return
    named = re.findall(r"not authorized to perform: ([\w:*-]+) on resource: \S+ because ([\w -]+)", text)
    assert named, f"{role}[{index}]: not an AccessDenied: {text}"
    # The denial is for want of the removed statement, not a deny somewhere else.
    assert any(a in actions and "no identity-based policy allows" in why for a, why in named), (
        f"{role}[{index}] {actions}: the denial is {named}: {text}"
    )
