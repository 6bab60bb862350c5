"""The reconciler against the emulator: after a fault burst, a name squat, a group deleted and
created again, and a silenced spoke, one run converges and a second run writes nothing. Events are
delivered once (as AWS may), each through a Lambda-like async invocation: two retries, then the
function's dead-letter queue."""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.config import Config

from tests.accounts import create_approval_sync_role, session_for
from tests.conftest import ROOT, load_event
from tests.test_workflow import HUB, INFERENCE, OTHER_SPOKE, SPOKE, Governance, drain, queue

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link import handler as auto_link_handler
from card_workflow import handler as workflow_handler
from card_workflow.ledger import ledger_entries
from reconciler import handler as reconciler_handler
from reconciler.reconcile import ReconcilerSettings, RunReport
from shared.card_links import card_link, package_plan

from emulator.faults import inject_faults
from emulator.sessions import account_trust

READER_ROLE = "model-card-governance-registry-reader"
FORWARDING_RULE = "model-card-governance-registry-forwarding"
HUB_BUS = f"arn:aws:events:us-east-1:{HUB}:event-bus/model-card-governance"
WRITES = ("Create", "Update", "Put", "Delete", "Send", "Publish", "Associate", "Start", "Add", "Invoke")


def create_reader_role(session: Any, account: str) -> None:
    """The spoke stack's registry-reader role: lists and describes the registry, reads the forwarding rule."""
    statements = [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeModelPackage",
            "Resource": f"arn:aws:sagemaker:us-east-1:{account}:model-package/*/*",
        },
        {
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
            "Resource": f"arn:aws:events:us-east-1:{account}:rule/{FORWARDING_RULE}",
        },
    ]
    iam = session.client("iam")
    iam.create_role(RoleName=READER_ROLE, AssumeRolePolicyDocument=json.dumps(account_trust(HUB)))
    iam.put_role_policy(
        RoleName=READER_ROLE,
        PolicyName="reads",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def forward(session: Any) -> None:
    """The spoke stack's forwarding rule, enabled, its target the hub's bus."""
    events = session.client("events")
    events.put_rule(
        Name=FORWARDING_RULE,
        EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}),
    )
    events.put_targets(
        Rule=FORWARDING_RULE,
        Targets=[{"Id": "hub", "Arn": HUB_BUS, "RoleArn": f"arn:aws:iam::{SPOKE}:role/forwarding"}],
    )


class InProcess:
    """The reconciler's dispatch, with the functions run in this process as the hub's administrator
    (as the Governance harness runs them)."""

    def __init__(
        self,
        gov: Governance,
        monkeypatch: pytest.MonkeyPatch,
        dead_letters: Mapping[str, str],
        linker_clients: dict[str, Any],
    ) -> None:
        self.gov, self.monkeypatch, self.dead_letters = gov, monkeypatch, dead_letters
        self.linker_clients = linker_clients
        self.calls: list[tuple[str, str]] = []

    def link(self, event: Mapping[str, Any]) -> Any:
        self.calls.append(("link", event["detail"]["ModelPackageArn"]))
        return self.redrive("auto_link", event)

    def gate(self, event: Mapping[str, Any]) -> Any:
        self.calls.append(("gate", event["detail"]["ModelPackageArn"]))
        return self.redrive("card_workflow", event)

    def card_event(self, event: Mapping[str, Any]) -> Any:
        self.calls.append(("card_event", event["detail"]["ModelCardName"]))
        return self.redrive("card_workflow", event)

    def recheck(self, card_name: str) -> Any:
        self.calls.append(("recheck", card_name))
        records = [{"messageId": "reconciler", "body": json.dumps({"card_name": card_name})}]
        self.monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", self.dead_letters["card_workflow"])
        return workflow_handler.handler({"Records": records}, clients=self.gov.clients)

    def redrive(self, function: str, event: Mapping[str, Any]) -> Any:
        self.monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", self.dead_letters[function])
        if function == "auto_link":
            return auto_link_handler.handler(dict(event), clients=self.linker_clients)
        return workflow_handler.handler(dict(event), clients=self.gov.clients)


class Hub:
    """The Governance harness with two spokes' registries, reader roles, forwarding rules, the
    functions' dead-letter queues, and the reconciler's settings."""

    def __init__(self, gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gov, self.monkeypatch = gov, monkeypatch
        self.other = session_for(OTHER_SPOKE)
        create_approval_sync_role(self.other, HUB)
        for session, account in ((gov.spoke, SPOKE), (self.other, OTHER_SPOKE)):
            create_reader_role(session, account)
            forward(session)
        self.link_dlq, _ = queue(gov.hub, "auto-link-dlq")
        self.dead_letters = {"auto_link": self.link_dlq, "card_workflow": gov.dlq}
        for name, value in {
            "CARD_KEY_ARN": "",
            "SHARE_ARNS": ",".join(gov.linker.share_arns),
            "INDEX_TABLE": "card-index",
        }.items():
            monkeypatch.setenv(name, value)
        self.linker_clients = {name: gov.hub.client(name) for name in auto_link_handler.SERVICES}
        self.settings = ReconcilerSettings(
            hub_account=HUB,
            region="us-east-1",
            partition="aws",
            link_table="card-links",
            ledger_table="ledger",
            evidence_bucket="evidence-bucket",
            topic_arn=gov.hub.client("sns").list_topics()["Topics"][0]["TopicArn"],
            reader_role_name=READER_ROLE,
            spoke_accounts=(SPOKE, OTHER_SPOKE),
            forwarding_rule_name=FORWARDING_RULE,
            hub_bus_arn=HUB_BUS,
            grace_seconds=0,
            dead_letter_queues={self.link_dlq: "auto_link", gov.dlq: "card_workflow"},
        )
        self.dispatch = InProcess(gov, monkeypatch, self.dead_letters, self.linker_clients)

    def register(self, session: Any, group: str) -> dict[str, Any]:
        """A version registered in `session`'s registry; returns the creation event SageMaker sends."""
        sagemaker = session.client("sagemaker")
        groups = [
            g["ModelPackageGroupName"] for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ]
        if group not in groups:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
        )["ModelPackageArn"]
        created = sagemaker.describe_model_package(ModelPackageName=arn)["CreationTime"]
        event = copy.deepcopy(load_event("model-package-state-change"))
        event["id"] = f"event-{arn}"
        event["account"] = arn.split(":")[4]
        event["resources"] = [arn]
        event["detail"].update(
            ModelPackageGroupName=group,
            ModelPackageVersion=int(arn.rsplit("/", 1)[-1]),
            ModelPackageArn=arn,
            CreationTime=created.isoformat(),
        )
        del event["detail"]["UpdatedModelPackageFields"]
        return event

    def lambda_async(self, function: str, event: dict[str, Any], clients: dict[str, Any]) -> str:
        """Lambda's asynchronous invocation: the first attempt and two retries, then the function's
        dead-letter queue with Lambda's attributes (ErrorCode, ErrorMessage)."""
        self.monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", self.dead_letters[function])
        run: Callable[..., Any] = auto_link_handler.handler if function == "auto_link" else workflow_handler.handler
        error: Exception | None = None
        for _ in range(3):
            try:
                run(copy.deepcopy(event), clients=clients)
                return "done"
            except Exception as failed:  # the Lambda runtime's view: any error is a failed attempt
                error = failed
        self.gov.sqs.send_message(
            QueueUrl=self.dead_letters[function],
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": "req"},
                "ErrorCode": {"DataType": "String", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": f"{type(error).__name__}: {error}"[:1000]},
            },
        )
        return "dead-lettered"

    def reconcile(self, now: datetime | None = None) -> RunReport:
        clients = {name: self.gov.hub.client(name) for name in reconciler_handler.SERVICES}
        return reconciler_handler.run(
            clients, self.settings, self.dispatch, now=now or datetime.now(UTC) + timedelta(seconds=1)
        )

    def own_card(self, package_arn: str) -> str | None:
        """The name of the card the hub made and bound for this package, if it exists."""
        plan = package_plan(self.gov.dynamodb, "card-links", package_arn)
        if plan is None:
            return None
        link = card_link(self.gov.dynamodb, "card-links", plan.card_name)
        return plan.card_name if link is not None and link.card_arn and link.package_arn == package_arn else None

    def package_status(self, session: Any, arn: str) -> str:
        return str(session.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"])


@pytest.fixture
def hub(gov_for_reconciler: Governance, monkeypatch: pytest.MonkeyPatch) -> Hub:
    return Hub(gov_for_reconciler, monkeypatch)


@pytest.fixture
def gov_for_reconciler(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's backoff waits for real; the test's clock need not."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)


def counting_writes(clients: Iterable[Any]) -> list[str]:
    """Record every call that could change state, on each client given."""
    writes: list[str] = []

    def record(model: Any, **_: Any) -> None:
        if model.name.startswith(WRITES):
            writes.append(model.name)

    for client in clients:
        client.meta.events.register("before-call", record)
    return writes


def approve(gov: Governance, card: str, clients: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Review then approval by the reviewer; returns the approval's events, not yet delivered."""
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    return gov.set_status(card, "Approved")


def test_after_a_fault_burst_one_run_converges_and_a_second_run_writes_nothing(hub: Hub, no_backoff: None) -> None:
    gov = hub.gov
    # A function's clients with few retries meet 20% throttling and 5% answers lost after AWS acted.
    few = Config(retries={"mode": "standard", "max_attempts": 2})
    faulty = {name: gov.hub.client(name, config=few) for name in auto_link_handler.SERVICES}
    for name in ("sagemaker", "dynamodb", "ram"):
        inject_faults(faulty[name], throttle=0.2, lose=0.05, seed=7)
    events = [hub.register(session, f"g{i % 3}") for i in range(15) for session in (gov.spoke, hub.other)]
    deliveries = events * 2  # SageMaker may send an event twice, and in any order
    random.Random(3).shuffle(deliveries)
    outcomes = [hub.lambda_async("auto_link", event, faulty) for event in deliveries[: len(deliveries) // 2]]
    # Half the deliveries only: the other copies were lost (single delivery).
    packages = [e["detail"]["ModelPackageArn"] for e in events]
    # Approvals of three linked cards, delivered once to a workflow that meets the same faults.
    linked = [p for p in packages if hub.own_card(p)][:3]
    wf_faulty = {name: gov.hub.client(name, config=few) for name in workflow_handler.SERVICES}
    for name in ("sagemaker", "dynamodb", "s3"):
        inject_faults(wf_faulty[name], throttle=0.3, lose=0.05, seed=11)
    approved_cards = [hub.own_card(p) for p in linked]
    for card in approved_cards:
        assert card is not None
        for event in approve(gov, card):
            outcomes.append(hub.lambda_async("card_workflow", event, wf_faulty))
    # A malformed event someone sent: permanent, kept and reported.
    gov.sqs.send_message(
        QueueUrl=hub.link_dlq,
        MessageBody=json.dumps({"detail-type": "SageMaker Model Package State Change", "detail": {}}),
        MessageAttributes={"Reason": {"DataType": "String", "StringValue": "MalformedEvent: detail is missing"}},
    )
    missing = [p for p in packages if hub.own_card(p) is None]
    assert "dead-lettered" in outcomes and missing, "the burst must leave work undone"

    report = hub.reconcile()
    assert [p for p in packages if hub.own_card(p) is None] == []
    for package, card in zip(linked, approved_cards, strict=True):
        session = gov.spoke if package.split(":")[4] == SPOKE else hub.other
        assert hub.package_status(session, package) == "Approved"
        entries = ledger_entries(gov.dynamodb, "ledger", gov.card_arn(str(card)))
        kinds = {e["Kind"] for e in entries}
        assert {"approval-effective", "export-job"} <= kinds
        prefix = f"evidence/{card}/v1/approval.json"
        assert gov.s3.head_object(Bucket="evidence-bucket", Key=prefix)
    kept = drain(gov.sqs, hub.link_dlq)
    assert [m["MessageAttributes"]["Reason"]["StringValue"] for m in kept] == ["MalformedEvent: detail is missing"]
    assert drain(gov.sqs, gov.dlq) == []
    assert any("dead letter kept" in line and "MalformedEvent" in line for line in report.reported)
    # Every version has its own card, and only one.
    names = [c["ModelCardName"] for c in gov.sagemaker.list_model_cards(MaxResults=100)["ModelCardSummaries"]]
    assert len(names) == len(packages)

    # Converged: a second run writes nothing anywhere.
    gov.sqs.send_message(
        QueueUrl=hub.link_dlq,
        MessageBody=kept[0]["Body"],
        MessageAttributes={"Reason": {"DataType": "String", "StringValue": "MalformedEvent: detail is missing"}},
    )
    watched = [gov.hub.client(name) for name in reconciler_handler.SERVICES]
    writes = counting_writes(watched)
    hub.gov.hub.client = _reuse(watched, hub.gov.hub.client)  # the run's clients are the watched ones
    second = hub.reconcile()
    assert second.done == [] and writes == []
    assert hub.dispatch.calls.count(("link", packages[0])) <= 1


def _reuse(clients: list[Any], make: Callable[..., Any]) -> Callable[..., Any]:
    by_name = {c.meta.service_model.service_name: c for c in clients}

    def client(name: str, **kwargs: Any) -> Any:
        return by_name.get(name) or make(name, **kwargs)

    return client


def squatter(gov: Governance) -> Any:
    """A hub developer who may create model cards (PowerUserAccess allows sagemaker:*)."""
    from emulator.sessions import role_session

    may = {
        "Effect": "Allow",
        "Action": ["sagemaker:CreateModelCard", "sagemaker:UpdateModelCard", "sagemaker:DescribeModelCard"],
        "Resource": "*",
    }
    iam = gov.hub.client("iam")
    iam.create_role(RoleName="squatter", AssumeRolePolicyDocument=json.dumps(account_trust(HUB)))
    iam.put_role_policy(
        RoleName="squatter",
        PolicyName="cards",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [may]}),
    )
    return role_session(HUB, "squatter", session_name="mallory")


def test_a_name_taken_first_gains_the_squatter_nothing(hub: Hub) -> None:
    gov = hub.gov
    mallory = squatter(gov).client("sagemaker")
    name = f"churn-{SPOKE}-v1"
    squat = mallory.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")["ModelCardArn"]
    event = hub.register(gov.spoke, "churn")
    package = event["detail"]["ModelPackageArn"]
    assert hub.lambda_async("auto_link", event, hub.linker_clients) == "done"
    own = hub.own_card(package)
    assert own is not None and own != name and own.startswith(f"{name}-n")
    link = card_link(gov.dynamodb, "card-links", own)
    assert link is not None and link.package_arn == package

    # The squatter approves their card, and the package: neither governs anything.
    gov.run(gov.hub_events())
    mallory.update_model_card(ModelCardName=name, ModelCardStatus="Approved")
    gov.run(gov.hub_events())
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    report = hub.reconcile()
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    assert any(line.startswith(f"alert-squat {squat}") for line in report.done)
    notices = [n["Subject"] for n in gov.notices_received()]
    assert "A model card name was taken before the hub made the card" in notices
    squat_entries = ledger_entries(gov.dynamodb, "ledger", squat)
    assert [e["Kind"] for e in squat_entries if e["Kind"].startswith("reconciler")] == ["reconciler-alert-squat"]

    # The package follows the approval of its own card, and only that.
    for event in approve(gov, own):
        gov.run([event])
    assert hub.package_status(gov.spoke, package) == "Approved"

    # The governance report lists the squat.
    from governance_report.findings import build_report
    from governance_report.sources import HubClients, ReportSettings, read_hub

    settings = ReportSettings(
        hub_account=HUB,
        region="us-east-1",
        spoke_accounts=(),
        registry_role_name=READER_ROLE,
        ledger_table="ledger",
        link_table="card-links",
        evidence_bucket="evidence-bucket",
    )
    records = read_hub(HubClients(gov.sagemaker, gov.dynamodb, gov.s3, gov.hub.client("sts")), settings)
    findings = build_report(records, [], settings, now=datetime.now(UTC)).findings
    assert [f.subject for f in findings if f.rule == "card-name-squatted"] == [squat]


def test_a_group_created_again_gets_fresh_cards_and_inherits_no_approval(hub: Hub) -> None:
    gov = hub.gov
    spoke = gov.spoke.client("sagemaker")
    first = hub.register(gov.spoke, "churn")
    package = first["detail"]["ModelPackageArn"]
    hub.lambda_async("auto_link", first, hub.linker_clients)
    old_card = hub.own_card(package)
    assert old_card is not None
    for event in approve(gov, old_card):
        gov.run([event])
    assert hub.package_status(gov.spoke, package) == "Approved"

    spoke.delete_model_package(ModelPackageName=package)
    spoke.delete_model_package_group(ModelPackageGroupName="churn")
    again = hub.register(gov.spoke, "churn")
    assert again["detail"]["ModelPackageArn"] == package  # the same ARN: version numbering starts at 1 again
    assert again["detail"]["CreationTime"] != first["detail"]["CreationTime"]
    # A late copy of the old package's event changes nothing.
    assert hub.lambda_async("auto_link", again, hub.linker_clients) == "done"
    assert hub.lambda_async("auto_link", first, hub.linker_clients) == "done"
    new_card = hub.own_card(package)
    assert new_card is not None and new_card != old_card
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    # The spoke approves the new v1 by hand: the old card's approval does not cover it.
    spoke.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    hub.reconcile()
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    assert [e["Kind"] for e in ledger_entries(gov.dynamodb, "ledger", package)] == ["reconciler-revert"]


def test_a_card_deleted_and_created_again_inherits_nothing(hub: Hub) -> None:
    gov = hub.gov
    event = hub.register(gov.spoke, "churn")
    package = event["detail"]["ModelPackageArn"]
    hub.lambda_async("auto_link", event, hub.linker_clients)
    card = hub.own_card(package)
    assert card is not None
    for approval in approve(gov, card):
        gov.run([approval])
    assert hub.package_status(gov.spoke, package) == "Approved"
    # Same name, same ARN, a card the hub did not make: the ledger's approval of v1 is not its.
    gov.sagemaker.delete_model_card(ModelCardName=card)
    gov.sagemaker.create_model_card(ModelCardName=card, Content="{}", ModelCardStatus="Approved")
    gov.spoke.client("sagemaker").update_model_package(
        ModelPackageArn=package, ModelApprovalStatus="PendingManualApproval"
    )
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    hub.reconcile()
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"


def test_a_silenced_spoke_is_found_and_its_self_approval_reverted(hub: Hub) -> None:
    gov = hub.gov
    gov.spoke.client("events").disable_rule(Name=FORWARDING_RULE)
    event = hub.register(gov.spoke, "churn")  # never delivered: the rule is disabled
    package = event["detail"]["ModelPackageArn"]
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    report = hub.reconcile()
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    assert hub.own_card(package) is not None  # and the version has its card now
    kinds = sorted(line.split(" ")[0] for line in report.done)
    assert kinds == ["alert-forwarding", "alert-silent", "link", "revert"]
    subjects = [n["Subject"] for n in gov.notices_received()]
    assert f"Event forwarding of {SPOKE} is broken" in subjects and f"No events from {SPOKE}" in subjects
    assert any("is DISABLED" in line for line in report.done)
    # Nothing new: the next run writes nothing more.
    assert hub.reconcile().done == []


def test_a_silenced_spokes_deployable_stage_is_found_and_reverted(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The approval policy's on_approval stage is an approval too: set in a silenced spoke on a
    version nobody approved, the reconciler hands it to the gate, which puts back the on_revert stage."""
    from tests.test_approval_tiers import POLICY

    monkeypatch.setenv("APPROVAL_POLICY", json.dumps(POLICY))
    hub.settings = dataclasses_replace(hub.settings, deployable_stage=("Production", "Approved"))
    gov = hub.gov
    gov.spoke.client("events").disable_rule(Name=FORWARDING_RULE)
    package = hub.register(gov.spoke, "churn")["detail"]["ModelPackageArn"]
    sagemaker = gov.spoke.client("sagemaker")
    sagemaker.update_model_package(
        ModelPackageArn=package, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"}
    )
    report = hub.reconcile()
    [revert] = [line for line in report.done if line.startswith("revert")]
    assert "stage Production/Approved, but" in revert
    described = sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert (described["ModelLifeCycle"]["Stage"], described["ModelLifeCycle"]["StageStatus"]) == (
        "Staging",
        "PendingApproval",
    )
    assert any("was set to stage Production/Approved" in n["Message"] for n in gov.notices_received())
    assert [line for line in hub.reconcile().done if line.startswith("revert")] == []


def test_a_crafted_payload_changes_nothing(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler reads no field of its event: a caller allowed to invoke it (a hub developer with
    lambda:InvokeFunction) gets the run the schedule gets, which approves nothing."""
    gov = hub.gov
    event = hub.register(gov.spoke, "churn")
    package = event["detail"]["ModelPackageArn"]
    hub.lambda_async("auto_link", event, hub.linker_clients)
    card = hub.own_card(package)
    for name, value in {
        "HUB_ACCOUNT": HUB,
        "LINK_TABLE": "card-links",
        "LEDGER_TABLE": "ledger",
        "EVIDENCE_BUCKET": "evidence-bucket",
        "TOPIC_ARN": hub.settings.topic_arn,
        "REGISTRY_ROLE_NAME": READER_ROLE,
        "SPOKE_ACCOUNTS": f"{SPOKE},{OTHER_SPOKE}",
        "FORWARDING_RULE_NAME": FORWARDING_RULE,
        "HUB_BUS_ARN": HUB_BUS,
        "AUTO_LINK_FUNCTION": "auto-link",
        "WORKFLOW_FUNCTION": "workflow",
        "RECHECK_QUEUE_URL": gov.recheck,
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    clients = {name: gov.hub.client(name) for name in reconciler_handler.SERVICES}
    writes = counting_writes(clients.values())
    crafted = {
        "detail-type": "SageMaker Model Card State Change",
        "detail": {"ModelCardName": card, "ModelCardStatus": "Approved", "ModelPackageArn": package},
        "approve": [package],
        "Records": [{"body": json.dumps({"card_name": card})}],
    }
    answer = reconciler_handler.handler(crafted, clients=clients)
    assert answer["done"] == [] and writes == []
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    assert gov.status_of(str(card))[1] == "Draft"


def test_an_approval_whose_event_was_lost_is_judged_and_a_spoke_users_is_refused(hub: Hub) -> None:
    """A spoke user (edit share) sets the card Approved and the event is lost: the reconciler hands
    the card's state to the workflow, which judges who set it, refuses it and reverts the card."""
    gov = hub.gov
    event = hub.register(gov.spoke, "churn")
    package = event["detail"]["ModelPackageArn"]
    hub.lambda_async("auto_link", event, hub.linker_clients)
    card = str(hub.own_card(package))
    gov.run(gov.hub_events())
    gov.spoke.client("sagemaker").update_model_card(ModelCardName=gov.card_arn(card), ModelCardStatus="Approved")
    gov.hub_events()  # lost
    report = hub.reconcile()
    assert [line.split(" ")[0] for line in report.done] == ["judge"]
    kinds = [e["Kind"] for e in ledger_entries(gov.dynamodb, "ledger", gov.card_arn(card))]
    assert "approval-refused" in kinds and "approval-effective" not in kinds
    assert gov.status_of(card)[1] == "PendingReview"
    assert hub.package_status(gov.spoke, package) == "PendingManualApproval"
    gov.run(gov.hub_events())  # the revert's own event
    assert hub.reconcile().done == []


def test_the_emulator_deletes_packages_and_groups_as_aws_and_checks_who_may(hub: Hub) -> None:
    from botocore.exceptions import ClientError

    from emulator.sessions import role_session

    spoke = hub.gov.spoke.client("sagemaker")
    first = hub.register(hub.gov.spoke, "fraud")["detail"]["ModelPackageArn"]
    second = hub.register(hub.gov.spoke, "fraud")["detail"]["ModelPackageArn"]
    with pytest.raises(ClientError, match="ConflictException"):
        spoke.delete_model_package_group(ModelPackageGroupName="fraud")  # not empty: the stricter reading
    # A role without sagemaker:DeleteModelPackage is refused, as AWS refuses it.
    iam = hub.gov.spoke.client("iam")
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(account_trust(SPOKE)))
    reads = {"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}
    iam.put_role_policy(
        RoleName="reader", PolicyName="r", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [reads]})
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        role_session(SPOKE, "reader").client("sagemaker").delete_model_package(ModelPackageName=second)
    spoke.delete_model_package(ModelPackageName=second)
    # A deleted version's number is not given again in the same group.
    third = hub.register(hub.gov.spoke, "fraud")["detail"]["ModelPackageArn"]
    assert third.endswith("/3")
    for arn in (first, third):
        spoke.delete_model_package(ModelPackageName=arn)
    spoke.delete_model_package_group(ModelPackageGroupName="fraud")
    assert hub.register(hub.gov.spoke, "fraud")["detail"]["ModelPackageArn"] == first


def test_a_disabled_rule_delivers_nothing_and_faults_come_at_their_rates(hub: Hub) -> None:
    gov = hub.gov
    url, arn = queue(gov.spoke, "seen")
    events = gov.spoke.client("events")
    events.put_rule(Name="watch", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="watch", Targets=[{"Id": "q", "Arn": arn}])
    events.disable_rule(Name="watch")
    hub.register(gov.spoke, "quiet")
    assert drain(gov.spoke.client("sqs"), url) == []
    events.enable_rule(Name="watch")
    hub.register(gov.spoke, "quiet")
    assert len(drain(gov.spoke.client("sqs"), url)) == 1

    client = gov.hub.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 10}))
    faults = inject_faults(client, throttle=0.2, lose=0.05, seed=1)
    import botocore.endpoint

    sleep, botocore.endpoint.time.sleep = botocore.endpoint.time.sleep, lambda seconds: None
    try:
        for index in range(200):
            client.put_item(TableName="card-index", Item={"Group": {"S": f"g{index}"}})
    finally:
        botocore.endpoint.time.sleep = sleep
    assert 0.15 < faults.counts["throttled"] / faults.counts["calls"] < 0.25
    assert 0.02 < faults.counts["lost"] / faults.counts["calls"] < 0.08
    # Every write arrived once, whatever was lost on the way back.
    assert gov.dynamodb.scan(TableName="card-index", Select="COUNT")["Count"] == 200


def test_decide_is_a_table_of_levels_to_actions() -> None:
    """The decision alone, no AWS: what each level calls for, and nothing when all is as it should be."""
    from reconciler.reconcile import Card, Forwarding, Levels, Package, decide
    from shared.card_links import CardLink, PackagePlan

    now = datetime(2030, 1, 1, tzinfo=UTC)
    old = "2029-12-31T00:00:00.000+00:00"
    arn = f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn/1"
    card = Card("churn-222222222222-v1", f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/c", old, "Draft")
    plan = PackagePlan(arn, old, card.name, "ab", old)
    link = CardLink(card.name, arn, SPOKE, "churn", 1, card_arn=card.arn, card_created=old, package_created=old)

    def levels(status: str = "PendingManualApproval", **changes: Any) -> Levels:
        base: dict[str, Any] = {
            "now": now,
            "packages": [Package(SPOKE, "churn", 1, arn, old, status)],
            "plans": {arn: plan},
            "links": {card.name: link},
            "cards": {card.name: card},
            "forwarding": [Forwarding(SPOKE, "ENABLED", True)],
        }
        return Levels(**{**base, **changes})

    settings = ReconcilerSettings(
        hub_account=HUB,
        region="us-east-1",
        partition="aws",
        link_table="l",
        ledger_table="g",
        evidence_bucket="e",
        topic_arn="t",
        reader_role_name=READER_ROLE,
        forwarding_rule_name=FORWARDING_RULE,
    )

    def kinds(found: list[Any]) -> list[str]:
        return sorted(a.kind for a in found)

    assert decide(levels(), settings) == []
    assert kinds(decide(levels(cards={}), settings)) == ["alert-silent", "link"]
    assert kinds(decide(levels("Approved"), settings)) == ["alert-silent", "revert"]
    approved = Card(card.name, card.arn, old, "Approved", 1, effective=True, evidence=False)
    assert kinds(decide(levels("Approved", cards={card.name: approved}), settings)) == ["settle"]
    done = Card(card.name, card.arn, old, "Approved", 1, effective=True, evidence=True)
    assert decide(levels("Approved", cards={card.name: done}), settings) == []
    assert kinds(decide(levels("Rejected", cards={card.name: done}), settings)) == []
    # A card made again under the name (another CreationTime) is not the package's own.
    again = Card(card.name, card.arn, "2030-01-01T00:00:00.000+00:00", "Approved", 1, effective=True, evidence=True)
    assert kinds(decide(levels("Approved", cards={card.name: again}), settings)) == ["alert-silent", "link", "revert"]
    assert kinds(decide(levels(forwarding=[Forwarding(SPOKE, "DISABLED", True)]), settings)) == ["alert-forwarding"]
    # The approval policy's deployable stage is an approval: reverted without an effective one.
    staged = [Package(SPOKE, "churn", 1, arn, old, "PendingManualApproval", ("Production", "Approved"))]
    deployable = dataclasses_replace(settings, deployable_stage=("Production", "Approved"))
    assert kinds(decide(levels(packages=staged), deployable)) == ["alert-silent", "revert"]
    assert decide(levels(packages=staged), settings) == []  # no policy stage: the spoke's own
    assert kinds(decide(levels(packages=staged, cards={card.name: done}), deployable)) == ["settle"]  # no revert
    # A version younger than the grace is the events' to handle.
    young = dataclasses_replace(settings, grace_seconds=10**9)
    assert decide(levels(cards={}), young) == []


def dataclasses_replace(settings: ReconcilerSettings, **changes: Any) -> ReconcilerSettings:
    import dataclasses

    return dataclasses.replace(settings, **changes)


def test_lookup_events_throttled_loses_no_approval_and_lets_no_forged_one_through(hub: Hub, no_backoff: None) -> None:
    """LookupEvents allows 2 requests a second per account and Region (CloudTrail quotas), and a spoke
    that toggles statuses makes the hub call it. With every LookupEvents throttled for a burst, the
    reviewer's approval and a spoke user's forged one both end in the workflow's dead-letter queue:
    neither takes effect meanwhile (fail closed). Once the burst is over, one reconciler run redrives
    them: the reviewer's approval takes effect, the forged one is refused and recorded."""
    gov = hub.gov
    first, second = (hub.register(gov.spoke, "churn") for _ in range(2))
    for event in (first, second):
        hub.lambda_async("auto_link", event, hub.linker_clients)
    legit, forged = (str(hub.own_card(e["detail"]["ModelPackageArn"])) for e in (first, second))
    throttled = {name: gov.hub.client(name) for name in workflow_handler.SERVICES}
    faults = inject_faults(throttled["cloudtrail"], throttle=1.0)
    outcomes = [hub.lambda_async("card_workflow", event, throttled) for event in approve(gov, legit)]
    gov.run(gov.set_status(forged, "PendingReview"))
    spoke_approval = gov.set_status(forged, "Approved", by=gov.spoke)
    outcomes += [hub.lambda_async("card_workflow", event, throttled) for event in spoke_approval]
    assert faults.counts["throttled"] > 0 and outcomes.count("dead-lettered") == 2
    for event in (first, second):
        assert hub.package_status(gov.spoke, event["detail"]["ModelPackageArn"]) == "PendingManualApproval"
    for card in (legit, forged):
        assert "approval-effective" not in {e["Kind"] for e in gov.ledger(card)}

    report = hub.reconcile()
    assert drain(gov.sqs, gov.dlq) == []
    assert any("redrive" in line for line in report.done), report.done
    assert hub.package_status(gov.spoke, first["detail"]["ModelPackageArn"]) == "Approved"
    assert "approval-effective" in {e["Kind"] for e in gov.ledger(legit)}
    refused = [e for e in gov.ledger(forged) if e["Kind"] == "approval-refused"]
    assert len(refused) == 1 and gov.status_of(forged)[1] == "PendingReview"
    assert hub.package_status(gov.spoke, second["detail"]["ModelPackageArn"]) == "PendingManualApproval"
