"""The approval workflow against the emulator: ledger, review notice, evidence, approval sync, gate."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest

from tests.accounts import create_approval_sync_role, session_for
from tests.conftest import ROOT, load_event

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link.card_linker import LinkerSettings, link_new_version
from card_workflow import handler as workflow_handler
from card_workflow import workflow

HUB = "111111111111"
SPOKE = "222222222222"
INFERENCE = load_event("model-package-state-change")["detail"]["InferenceSpecification"]


def queue(session: Any, name: str) -> tuple[str, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        found += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


class Governance:
    """Hub (and one spoke) in the emulator, wired as the stacks wire them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hub, self.spoke = session_for(HUB), session_for(SPOKE)
        create_approval_sync_role(self.spoke, HUB)
        self.sagemaker = self.hub.client("sagemaker")
        self.dynamodb = self.hub.client("dynamodb")
        self.sqs = self.hub.client("sqs")
        self.s3 = self.hub.client("s3")
        self.dynamodb.create_table(
            TableName="ledger",
            KeySchema=[
                {"AttributeName": "CardArn", "KeyType": "HASH"},
                {"AttributeName": "EntryKey", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "CardArn", "AttributeType": "S"},
                {"AttributeName": "EntryKey", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dynamodb.create_table(
            TableName="card-links",
            KeySchema=[{"AttributeName": "CardName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "CardName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dynamodb.create_table(
            TableName="card-index",
            KeySchema=[{"AttributeName": "Group", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Group", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.s3.create_bucket(Bucket="evidence-bucket")
        sns = self.hub.client("sns")
        topic = sns.create_topic(Name="reviewers")["TopicArn"]
        self.notices, notices_arn = queue(self.hub, "reviewer-inbox")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=notices_arn, Attributes={"RawMessageDelivery": "false"})
        self.follow_up, _ = queue(self.hub, "export-follow-up")
        self.dlq, _ = queue(self.hub, "workflow-dlq")
        # Every SageMaker event on the hub's default bus, for the test to hand to the handlers.
        self.events_queue, events_arn = queue(self.hub, "hub-events")
        events = self.hub.client("events")
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": events_arn}])
        for name, value in {
            "LEDGER_TABLE": "ledger",
            "TOPIC_ARN": topic,
            "EVIDENCE_BUCKET": "evidence-bucket",
            "FOLLOW_UP_QUEUE_URL": self.follow_up,
            "APPROVAL_ROLE_NAME": "model-card-governance-approval-sync",
            "HUB_ACCOUNT": HUB,
            "LINK_TABLE": "card-links",
            "DEAD_LETTER_QUEUE_URL": self.dlq,
            "FOLLOW_UP_DELAY_SECONDS": "0",  # the emulator's SQS honours delays in real time
        }.items():
            monkeypatch.setenv(name, value)
        self.clients = {name: self.hub.client(name) for name in workflow_handler.SERVICES}
        self.linker = LinkerSettings(card_key_arn="", share_arns=[], index_table="card-index", link_table="card-links")

    def register(self, session: Any, group: str) -> str:
        """Register the next version of `group` in `session`'s account and link its card."""
        sagemaker = session.client("sagemaker")
        groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        if group not in [g["ModelPackageGroupName"] for g in groups]:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn: str = sagemaker.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
        )["ModelPackageArn"]
        version = int(arn.rsplit("/", 1)[-1])
        event = copy.deepcopy(load_event("model-package-state-change"))
        event["account"] = arn.split(":")[4]
        event["detail"].update(ModelPackageGroupName=group, ModelPackageVersion=version, ModelPackageArn=arn)
        del event["detail"]["UpdatedModelPackageFields"]
        link_new_version(
            event,
            sagemaker=self.sagemaker,
            ram=self.hub.client("ram"),
            dynamodb=self.dynamodb,
            settings=self.linker,
        )
        return arn

    def hub_events(self, detail_type: str = "SageMaker Model Card State Change") -> list[dict[str, Any]]:
        events = [json.loads(m["Body"]) for m in drain(self.sqs, self.events_queue)]
        return [e for e in events if e["detail-type"] == detail_type]

    def run(self, events: list[dict[str, Any]]) -> list[str]:
        return [workflow_handler.handler(e, clients=self.clients)["outcome"] for e in events]

    def set_status(self, card: str, status: str) -> list[dict[str, Any]]:
        self.hub_events()  # earlier events are not this change's
        self.sagemaker.update_model_card(ModelCardName=card, ModelCardStatus=status)
        return self.hub_events()

    def ledger(self, card: str) -> list[dict[str, str]]:
        arn = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{card}"
        return list(workflow.ledger_entries(self.dynamodb, "ledger", arn))

    def notices_received(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.sqs, self.notices)]

    def follow_exports(self) -> list[str]:
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in drain(self.sqs, self.follow_up)]
        result = workflow_handler.follow_exports({"Records": records}, clients=self.clients)
        assert result == {"batchItemFailures": []}
        return [json.loads(r["body"])["export_job_arn"] for r in records]


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


def edit(gov: Governance, card: str, change: dict[str, Any]) -> None:
    content = json.loads(gov.sagemaker.describe_model_card(ModelCardName=card)["Content"])
    content.update(change)
    gov.sagemaker.update_model_card(ModelCardName=card, Content=json.dumps(content))


def test_whole_sequence_for_a_hub_package(gov: Governance) -> None:
    package = gov.register(gov.hub, "churn")
    edit(gov, "churn-111111111111-v1", {"business_details": {"business_problem": "Retail churn"}})
    drafts = gov.hub_events()
    assert [e["detail"]["ModelCardStatus"] for e in drafts] == ["Draft", "Draft"]
    assert gov.run(drafts) == ["recorded=True", "recorded=True"]

    assert gov.run(gov.set_status("churn-111111111111-v1", "PendingReview")) == ["recorded=True; review notice sent"]
    [notice] = gov.notices_received()
    assert notice["Subject"] == "Model card churn-111111111111-v1 v2 awaits review"
    assert "Changes compared with nothing (first version of a new card)" in notice["Message"]
    assert "+ business_details.business_problem: Retail churn" in notice["Message"]
    assert "#/model-cards/churn-111111111111-v1" in notice["Message"]

    [outcome] = gov.run(gov.set_status("churn-111111111111-v1", "Approved"))
    assert "export approved-v2-" in outcome and f"package {package} set Approved" in outcome
    described = gov.sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"].startswith("Approved with model card churn-111111111111-v1 v2 by ")
    # The gate sees the workflow's own approval and lets it stand.
    gate = gov.run(gov.hub_events("SageMaker Model Package State Change"))
    assert gate == ["card churn-111111111111-v1 is Approved: approval stands"]

    [job] = gov.follow_exports()
    keys = sorted(o["Key"] for o in gov.s3.list_objects_v2(Bucket="evidence-bucket")["Contents"])
    assert keys[0] == "evidence/churn-111111111111-v1/v2/approval.json"
    assert keys[1].startswith("evidence/churn-111111111111-v1/v2/") and keys[1].endswith(".pdf")
    snapshot = json.loads(gov.s3.get_object(Bucket="evidence-bucket", Key=keys[0])["Body"].read())
    assert snapshot["content"]["business_details"] == {"business_problem": "Retail churn"}
    assert [e["Status"] for e in snapshot["ledger"] if e["Kind"] == "status"] == [
        "Draft",
        "Draft",
        "PendingReview",
        "Approved",
    ]

    assert gov.run(gov.set_status("churn-111111111111-v1", "Archived")) == ["recorded=True"]
    kinds = [(e["Kind"], e.get("Status", "")) for e in gov.ledger("churn-111111111111-v1")]
    assert kinds == [
        ("status", "Draft"),
        ("status", "Draft"),
        ("status", "PendingReview"),
        ("review-notice", ""),
        ("status", "Approved"),
        ("evidence-pdf", ""),
        ("status", "Archived"),
    ]
    assert job.endswith("/export-job/" + workflow.export_job_name("churn-111111111111-v1", 2))


def test_spoke_package_is_approved_through_the_spoke_role(gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "PendingReview"))
    [outcome] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Approved"))
    assert f"package {package} set Approved" in outcome
    spoke_view = gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)
    assert spoke_view["ModelApprovalStatus"] == "Approved"
    monkeypatch.setenv("ARCHIVED_REJECTS_PACKAGE", "true")
    [archived] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Archived"))
    assert f"package {package} set Rejected" in archived
    assert (
        gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]
        == "Rejected"
    )


def test_review_notice_diffs_against_the_source_then_the_last_approved_version(gov: Governance) -> None:
    gov.register(gov.hub, "churn")
    edit(
        gov,
        "churn-111111111111-v1",
        {"business_details": {"business_problem": "Retail churn", "line_of_business": "Retail"}},
    )
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    gov.run(gov.set_status("churn-111111111111-v1", "Approved"))
    gov.notices_received()

    gov.register(gov.hub, "churn")  # v2's card is cloned from churn-111111111111-v1 v2
    edit(
        gov,
        "churn-111111111111-v2",
        {"business_details": {"business_problem": "Retail and SME churn", "line_of_business": "Retail"}},
    )
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v2", "PendingReview"))
    [notice] = gov.notices_received()
    message = notice["Message"]
    assert "Changes compared with churn-111111111111-v1 v2 (the card this one was cloned from)" in message
    assert "~ business_details.business_problem: Retail churn -> Retail and SME churn" in message
    assert "line_of_business" not in message  # unchanged fields are not listed

    gov.run(gov.set_status("churn-111111111111-v2", "Approved"))
    edit(gov, "churn-111111111111-v2", {"intended_uses": {"risk_rating": "High"}})  # a new version, still Approved
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v2", "PendingReview"))
    notices = gov.notices_received()
    assert "Changes compared with churn-111111111111-v2 v2 (last approved)" in notices[-1]["Message"]
    assert "+ intended_uses.risk_rating: High" in notices[-1]["Message"]


def test_duplicate_events_write_one_entry_and_send_one_notice(gov: Governance) -> None:
    gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    [review] = gov.set_status("churn-111111111111-v1", "PendingReview")
    assert gov.run([review, copy.deepcopy(review)]) == [
        "recorded=True; review notice sent",
        "recorded=False; review notice already sent",
    ]
    assert len(gov.notices_received()) == 1
    [approved] = gov.set_status("churn-111111111111-v1", "Approved")
    gov.run([approved, copy.deepcopy(approved)])
    keys = [o["Key"] for o in gov.s3.list_objects_v2(Bucket="evidence-bucket").get("Contents", [])]
    assert len([k for k in keys if k.endswith("approval.json")]) == 1  # one snapshot
    assert len([k for k in keys if k.endswith(".pdf")]) == 1  # one export job
    assert len(gov.follow_exports()) == 2  # both deliveries follow the one job
    statuses = [e["Status"] for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "status"]
    assert statuses == ["Draft", "PendingReview", "Approved"]


def test_out_of_order_event_is_recorded_without_acting(gov: Governance) -> None:
    gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    [review] = gov.set_status("churn-111111111111-v1", "PendingReview")
    [approved] = gov.set_status("churn-111111111111-v1", "Approved")
    gov.run([approved])
    [late] = gov.run([review])
    assert late == "recorded=True; stale: the version is now Approved, no step run"
    assert gov.notices_received() == []


def test_gate_reverts_a_manual_approval_without_an_approved_card(gov: Governance) -> None:
    package = gov.register(gov.hub, "churn")
    gov.hub_events()
    gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    [manual] = gov.hub_events("SageMaker Model Package State Change")
    assert gov.run([manual]) == [f"reverted {package}: model card churn-111111111111-v1 is Draft"]
    described = gov.sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert "approve the model card first" in described["ApprovalDescription"]
    [notice] = gov.notices_received()
    assert notice["Subject"] == "Approval of churn v1 reverted"
    # The revert is itself a package event; the gate lets it pass, so nothing loops.
    assert gov.run(gov.hub_events("SageMaker Model Package State Change")) == ["not an approval"]


def test_gate_reverts_approval_of_a_package_that_has_no_card(gov: Governance) -> None:
    sagemaker = gov.sagemaker
    sagemaker.create_model_package_group(ModelPackageGroupName="nocard")
    package = sagemaker.create_model_package(
        ModelPackageGroupName="nocard", InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved"
    )["ModelPackageArn"]
    [created] = gov.hub_events("SageMaker Model Package State Change")
    assert gov.run([created]) == [f"reverted {package}: model card nocard-111111111111-v1 is missing"]


def test_verbatim_sample_for_a_card_that_does_not_exist_is_recorded_and_dropped(gov: Governance) -> None:
    sample = load_event("model-card-state-change")
    [outcome] = gov.run([sample])
    assert outcome.startswith("dropped: model card example-card")
    [entry] = list(workflow.ledger_entries(gov.dynamodb, "ledger", sample["resources"][0]))
    assert (entry["Status"], entry["ModifiedBy"], entry["EventId"]) == ("Draft", "user", sample["id"])


def test_malformed_card_event_goes_to_the_dlq(gov: Governance) -> None:
    sample = load_event("model-card-state-change")
    sample["detail"]["ModelCardStatus"] = "Published"
    assert gov.run([sample]) == ["dead-lettered"]
    [parked] = drain(gov.sqs, gov.dlq)
    assert "detail.ModelCardStatus is 'Published'" in parked["MessageAttributes"]["Reason"]["StringValue"]


def test_diff_lists_added_removed_and_changed_fields() -> None:
    before = {"a": {"b": "1", "c": [1, 2]}, "gone": "x"}
    after = {"a": {"b": "2", "c": [1, 2]}, "new": {"d": True}}
    assert workflow.diff_content(before, after) == ["~ a.b: 1 -> 2", "- gone: x", "+ new.d: true"]
