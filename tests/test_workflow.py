"""The approval workflow against the emulator: ledger, review notice, approval authority, evidence,
approval sync, gate. Attack tests act as spoke principals and as hub principals who are not
approvers, calling what their shares and policies allow."""

from __future__ import annotations

import copy
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.accounts import create_approval_sync_role, create_ledger_table, session_for
from tests.conftest import ROOT, load_event

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link.card_linker import LinkerSettings, link_new_version
from card_workflow import attribution, workflow
from card_workflow import handler as workflow_handler
from card_workflow.anchors import ANCHOR_PREFIX
from card_workflow.ledger import ledger_entries, verify_table

from emulator import cloudtrail

HUB = "111111111111"
SPOKE = "222222222222"
OTHER_SPOKE = "444444444444"
READER = "333333333333"
REVIEWER_ROLE = f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"
EDIT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"
INFERENCE = load_event("model-package-state-change")["detail"]["InferenceSpecification"]


def assume(account: str, role: str, session_name: str, source_identity: str = "") -> Any:
    """A session in `role` of `account`, the way a person assumes it: the role trusts the account
    and may review cards and set their status, as the hub stack's reviewer role. With
    `source_identity` the session names that person, as the reviewer role's trust policy demands."""
    from emulator.sessions import role_session

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }
        ],
    }
    cards = {
        "Effect": "Allow",
        "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions", "sagemaker:UpdateModelCard"],
        "Resource": f"arn:aws:sagemaker:us-east-1:{account}:model-card/*",
    }
    iam = session_for(account).client("iam")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=role, PolicyName="cards", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [cards]})
    )
    extra = {"SourceIdentity": source_identity} if source_identity else {}
    return role_session(account, role, session_name=session_name, **extra)


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


DECISIONS_FUNCTION = f"arn:aws:lambda:us-east-1:{HUB}:function:model-card-governance-decisions"


def decision_endpoint(clients: dict[str, Any]) -> Any:
    """The hub's decision function behind its function URL (AuthType AWS_IAM), with the resource
    policy the hub stack gives it: the reviewer role may invoke it through the URL."""
    from emulator import function_urls

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": REVIEWER_ROLE},
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": DECISIONS_FUNCTION,
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": REVIEWER_ROLE},
                "Action": "lambda:InvokeFunction",
                "Resource": DECISIONS_FUNCTION,
                "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
            },
        ],
    }
    return function_urls.register(
        DECISIONS_FUNCTION, lambda event: workflow_handler.decide(event, clients=clients), policy=policy
    )


def call_url(function_url: Any, session: Any, payload: dict[str, Any]) -> tuple[int, Any]:
    """POST `payload` to the function URL signed with `session`'s credentials, as scripts/review does."""
    from card_workflow.review_cli import signed

    from emulator import function_urls

    url = "https://decisionsurl0000.lambda-url.us-east-1.on.aws/"
    headers, body = signed(session, url, "us-east-1", payload)
    status, _, answer = function_urls.invoke(function_url, "POST", url, headers, body)
    return status, json.loads(answer)


class Governance:
    """Hub (and one spoke) in the emulator, wired as the stacks wire them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hub, self.spoke = session_for(HUB), session_for(SPOKE)
        create_approval_sync_role(self.spoke, HUB)
        self.sagemaker = self.hub.client("sagemaker")
        self.dynamodb = self.hub.client("dynamodb")
        self.sqs = self.hub.client("sqs")
        self.s3 = self.hub.client("s3")
        create_ledger_table(self.dynamodb, "ledger")
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
        self.recheck, _ = queue(self.hub, "approval-recheck")
        monkeypatch.setenv("APPROVERS", json.dumps([REVIEWER_ROLE]))
        monkeypatch.setenv("NAMED_ROLES", json.dumps([REVIEWER_ROLE]))
        monkeypatch.setenv("RECHECK_QUEUE_URL", self.recheck)
        # The emulator's CloudTrail has every record at once; a test that wants "not there yet"
        # holds delivery back and sets a later deadline.
        monkeypatch.setenv("ATTRIBUTION_DEADLINE_SECONDS", "0")
        monkeypatch.setenv("RECHECK_DELAY_SECONDS", "0")
        self.clients = {name: self.hub.client(name) for name in workflow_handler.SERVICES}
        # Named after the person, as the hub stack's trust policy demands of every reviewer session.
        self.reviewer = assume(
            HUB, "model-card-governance-reviewer", "alice@example.com", source_identity="alice@example.com"
        )
        self.decision_url = decision_endpoint(self.clients)
        shares = self.share_cards()
        self.linker = LinkerSettings(
            card_key_arn="", share_arns=shares, index_table="card-index", link_table="card-links"
        )

    def share_cards(self) -> list[str]:
        """Edit share with both spokes, read-only share with the reader; invitations accepted."""
        ram = self.hub.client("ram")
        read = ram.create_permission(
            name="cards-read",
            resourceType="sagemaker:ModelCard",
            policyTemplate=json.dumps(
                {"Effect": "Allow", "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"]}
            ),
        )["permission"]["arn"]
        shares = [
            ram.create_resource_share(name=name, principals=principals, permissionArns=[permission])["resourceShare"][
                "resourceShareArn"
            ]
            for name, principals, permission in (("edit", [SPOKE, OTHER_SPOKE], EDIT), ("read", [READER], read))
        ]
        for account in (SPOKE, OTHER_SPOKE, READER):
            spoke_ram = session_for(account).client("ram")
            for invitation in spoke_ram.get_resource_share_invitations()["resourceShareInvitations"]:
                spoke_ram.accept_resource_share_invitation(
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
                )
        return shares

    def card_arn(self, card: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{card}"

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
        # The package's own CreationTime: with its ARN, the package's identity (shared.card_links).
        created = sagemaker.describe_model_package(ModelPackageName=arn)["CreationTime"]
        event["detail"].update(
            ModelPackageGroupName=group,
            ModelPackageVersion=version,
            ModelPackageArn=arn,
            CreationTime=created.isoformat(),
        )
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

    def decide(
        self, card: str, version: int | None = None, by: Any = None, comment: str = "Reviewed"
    ) -> tuple[int, Any]:
        """An approver's decision through the decision endpoint (the function URL), signed with `by`'s
        credentials (default: the reviewer) for the card's current version unless `version` names one."""
        version = version or self.status_of(card)[0]
        payload = {"card": card, "version": version, "decision": "approve", "comment": comment}
        return call_url(self.decision_url, by or self.reviewer, payload)

    def set_status(self, card: str, status: str, by: Any = None) -> list[dict[str, Any]]:
        """`by` sets the status (a spoke addresses the card by ARN); an approval without `by` is the
        reviewer's decision on the current version, through the decision endpoint."""
        self.hub_events()  # earlier events are not this change's
        if status == "Approved" and by is None:
            answer = self.decide(card)
            assert answer[0] == 200, answer
            return self.hub_events()
        who = by or (self.reviewer if status == "Approved" else self.hub)
        name = card if who in (self.hub, self.reviewer) else self.card_arn(card)
        who.client("sagemaker").update_model_card(ModelCardName=name, ModelCardStatus=status)
        return self.hub_events()

    def ledger(self, card: str) -> list[dict[str, str]]:
        return ledger_entries(self.dynamodb, "ledger", self.card_arn(card))

    def status_of(self, card: str) -> tuple[int, str]:
        described = self.sagemaker.describe_model_card(ModelCardName=card)
        return described["ModelCardVersion"], described["ModelCardStatus"]

    def evidence(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket="evidence-bucket").get("Contents", [])
        return [o["Key"] for o in listed if not o["Key"].startswith(ANCHOR_PREFIX)]

    def run_rechecks(self) -> list[str]:
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in drain(self.sqs, self.recheck)]
        result = workflow_handler.handler({"Records": records}, clients=self.clients)
        assert result == {"batchItemFailures": []}
        return [json.loads(r["body"])["card_name"] for r in records]

    def notices_received(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.sqs, self.notices)]

    def follow_exports(self) -> list[str]:
        """The fallback looks the follow-up queue holds; returns the cards they name."""
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in drain(self.sqs, self.follow_up)]
        result = workflow_handler.follow_exports({"Records": records}, clients=self.clients)
        assert result == {"batchItemFailures": []}
        return [json.loads(r["body"])["card_name"] for r in records]

    def export_events(self) -> list[dict[str, Any]]:
        return self.hub_events("SageMaker Model Card Export Job State Change")

    def follow(self, events: list[dict[str, Any]]) -> list[str]:
        """Deliver export job events to the follower, as the hub's rule does."""
        return [workflow_handler.follow_exports(e, clients=self.clients)["outcome"] for e in events]


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


def past_the_second() -> None:
    """Wait until a call made now is provably after the card's last status change at CloudTrail's
    whole-second eventTime (attribution.provably_after): the second before its record starts later.
    Only tests of the CloudTrail path need it; decisions name their version."""
    time.sleep(2 - datetime.now(UTC).microsecond / 1_000_000)


def edit(gov: Governance, card: str, change: dict[str, Any], by: Any = None) -> None:
    who = by or gov.hub
    name = card if who in (gov.hub, gov.reviewer) else gov.card_arn(card)
    sagemaker = who.client("sagemaker")
    content = json.loads(sagemaker.describe_model_card(ModelCardName=name)["Content"])
    content.update(change)
    sagemaker.update_model_card(ModelCardName=name, Content=json.dumps(content))


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
    assert described["ApprovalDescription"] == (
        f"Approved with model card churn-111111111111-v1 v2 by "
        f"arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/alice@example.com"
    )
    # The gate sees the workflow's own approval and lets it stand.
    gate = gov.run(gov.hub_events("SageMaker Model Package State Change"))
    assert gate == [f"package {package} approved by the workflow with card churn-111111111111-v1 v2: approval stands"]

    assert gov.follow_exports() == ["churn-111111111111-v1"]
    listed = sorted(o["Key"] for o in gov.s3.list_objects_v2(Bucket="evidence-bucket")["Contents"])
    keys = [k for k in listed if not k.startswith(ANCHOR_PREFIX)]
    # Each workflow event that appended anchored the card's chain head; the export follower's last
    # entry (the PDF) waits for the card's next workflow event.
    anchored = [k for k in listed if k.startswith(f"{ANCHOR_PREFIX}churn-111111111111-v1/")]
    assert gov.ledger("churn-111111111111-v1")[-1]["Kind"] == "evidence-pdf"
    assert anchored[-1].endswith(f"{len(gov.ledger('churn-111111111111-v1')) - 1:010d}.json")
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
        ("notice-claim", ""),
        ("notice-sent", ""),
        ("decision", ""),
        ("status", "Approved"),
        ("approval-effective", ""),
        ("export-job", ""),
        ("package-approved", ""),
        ("evidence-pdf", ""),
        ("status", "Archived"),
    ]
    effective = next(e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "approval-effective")
    assert effective["Principal"] == REVIEWER_ROLE
    assert effective["Caller"] == f"arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/alice@example.com"
    assert effective["Person"] == "alice@example.com"
    assert verify_table(gov.dynamodb, "ledger").broken == ()
    # The job's name is the approval's nonce, recorded before the job was asked for; the PDF is its.
    [job] = [e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "export-job"]
    nonce_job = rf"{gov.card_arn('churn-111111111111-v1')}/export-job/approved-v2-[0-9a-f]{{32}}"
    assert re.fullmatch(nonce_job, job["JobArn"])
    [pdf] = [e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "evidence-pdf"]
    assert pdf["JobArn"] == job["JobArn"] and pdf["Via"] == "check"
    assert pdf["Detail"] == f"s3://evidence-bucket/{keys[1]}" and job["JobArn"].rsplit("/", 1)[-1] in keys[1]


def test_spoke_package_is_approved_through_the_spoke_role(gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "PendingReview"))
    [outcome] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Approved"))
    assert f"package {package} set Approved" in outcome
    spoke_view = gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)
    assert spoke_view["ModelApprovalStatus"] == "Approved"
    monkeypatch.setenv("ARCHIVED_REJECTS_PACKAGE", "true")
    # An archive rejects the package only when an approver made it (tests/test_spoke_attacks.py).
    [archived] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Archived", by=gov.reviewer))
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
    gov.run(gov.hub_events())  # not an approval: set back to PendingReview
    gov.run(gov.hub_events())  # which sends v3 to review
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
    assert len(gov.follow_exports()) == 2  # both deliveries look at the one job
    assert [e["Kind"] for e in gov.ledger("churn-111111111111-v1")].count("export-job") == 1
    statuses = [e["Status"] for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "status"]
    assert statuses == ["Draft", "PendingReview", "Approved"]


def test_out_of_order_event_is_recorded_without_acting(gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRIBUTION_DEADLINE_SECONDS", "3600")
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    [review] = gov.set_status("churn-111111111111-v1", "PendingReview")
    past_the_second()
    [approved] = gov.set_status("churn-111111111111-v1", "Approved", by=gov.reviewer)  # the CloudTrail path
    # The approval arrives first: the ledger does not show the version in review yet.
    [early] = gov.run([approved])
    assert early.endswith("version 1 has not been PendingReview; looking again later")
    [late] = gov.run([review])
    assert late == "recorded=True; stale: the version is now Approved, no step run"
    assert gov.notices_received() == []
    assert gov.run_rechecks() == [approved["detail"]["ModelCardName"]]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"


# --- Approval authority: attacks by spokes and by hub principals who are not approvers ------------


def refusals(gov: Governance, card: str) -> list[dict[str, str]]:
    return [e for e in gov.ledger(card) if e["Kind"] == "approval-refused"]


def assert_nothing_approved(gov: Governance, card: str, package: str, owner: Any) -> None:
    assert gov.status_of(card)[1] == "PendingReview"
    described = owner.client("sagemaker").describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert gov.evidence() == []
    assert not [e for e in gov.ledger(card) if e["Kind"] == "approval-effective"]


def test_a_spoke_cannot_approve_its_own_card(gov: Governance) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "PendingReview", by=gov.spoke))
    gov.notices_received()
    [outcome] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Approved", by=gov.spoke))
    assert "approval refused (no CloudTrail record of this approval in the hub account yet after 0 s)" in outcome
    assert_nothing_approved(gov, "spoke-churn-222222222222-v1", package, gov.spoke)
    [refused] = refusals(gov, "spoke-churn-222222222222-v1")
    assert refused["Principal"].startswith("unknown to the hub (no CloudTrail record in the hub account")
    [notice] = gov.notices_received()
    assert notice["Subject"] == "Approval of model card spoke-churn-222222222222-v1 v1 refused"
    assert "no model package was changed" in notice["Message"]
    # The spoke's call is in the spoke's own CloudTrail history, not in the hub's.
    spoke_history = gov.spoke.client("cloudtrail").lookup_events()["Events"]
    assert [e["EventName"] for e in spoke_history] == ["UpdateModelCard", "UpdateModelCard", "CreateModelPackage"]
    assert not [
        e
        for e in gov.hub.client("cloudtrail").lookup_events()["Events"]
        if json.loads(e["CloudTrailEvent"])["userIdentity"]["accountId"] == SPOKE
    ]


def test_a_spoke_cannot_approve_another_spokes_card(gov: Governance) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "PendingReview"))
    other = session_for(OTHER_SPOKE)
    [outcome] = gov.run(gov.set_status("spoke-churn-222222222222-v1", "Approved", by=other))
    assert "approval refused" in outcome
    assert_nothing_approved(gov, "spoke-churn-222222222222-v1", package, gov.spoke)
    assert len(refusals(gov, "spoke-churn-222222222222-v1")) == 1


def test_a_hub_principal_who_is_not_an_approver_cannot_approve(gov: Governance) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    gov.notices_received()
    [outcome] = gov.run(gov.set_status("churn-111111111111-v1", "Approved", by=gov.hub))
    assert f"approval refused (arn:aws:iam::{HUB}:role/OrganizationAccountAccessRole is not an approver)" in outcome
    assert_nothing_approved(gov, "churn-111111111111-v1", package, gov.hub)
    [refused] = refusals(gov, "churn-111111111111-v1")
    assert refused["Principal"] == f"arn:aws:sts::{HUB}:assumed-role/OrganizationAccountAccessRole/admin"
    assert refused["CloudTrailEventId"]
    [notice] = gov.notices_received()
    assert f"by: arn:aws:sts::{HUB}:assumed-role/OrganizationAccountAccessRole/admin" in notice["Message"]
    # The revert is itself a PendingReview event of the same version: no second review notice.
    assert gov.run(gov.hub_events()) == ["recorded=True; review notice already sent"]
    # A retried delivery of the refused approval changes nothing more and tells no one again.
    gov.set_status("churn-111111111111-v1", "Approved")  # the reviewer now approves, properly
    assert (
        gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "PendingManualApproval"
    )


def test_the_reviewer_approval_after_a_refused_attempt_takes_effect(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    [attempt] = gov.set_status("churn-111111111111-v1", "Approved", by=gov.hub)
    gov.run([attempt])
    gov.run(gov.hub_events())
    # Calls in one matching window must all be approvers'; the reviewer acts after the window.
    monkeypatch.setattr(attribution, "MATCH_SECONDS", 1)
    time.sleep(2.1)
    [approval] = gov.set_status("churn-111111111111-v1", "Approved")
    assert "approved by arn:aws:sts::" in gov.run([approval])[0]
    assert gov.run([attempt]) == [
        "recorded=False; approval refused (arn:aws:iam::111111111111:role/OrganizationAccountAccessRole is "
        "not an approver); card already moved on; notice already sent"
    ]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    assert gov.status_of("churn-111111111111-v1") == (1, "Approved")


def test_an_edited_approved_card_goes_back_to_review_and_the_gate_holds_the_package(gov: Governance) -> None:
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "PendingReview"))
    gov.run(gov.set_status("spoke-churn-222222222222-v1", "Approved"))
    gov.run(gov.hub_events("SageMaker Model Package State Change"))
    gov.notices_received()
    # The spoke edits the approved card: SageMaker makes version 2, still Approved.
    edit(gov, "spoke-churn-222222222222-v1", {"intended_uses": {"risk_rating": "Low"}}, by=gov.spoke)
    [new_version] = gov.hub_events()
    assert (new_version["detail"]["ModelCardVersion"], new_version["detail"]["ModelCardStatus"]) == (2, "Approved")
    [outcome] = gov.run([new_version])
    # The spoke's write is recorded in the spoke's account only: the hub refuses for want of a record.
    assert "approval refused (no CloudTrail record of the write that made version 2 in the hub yet" in outcome
    assert gov.status_of("spoke-churn-222222222222-v1") == (2, "PendingReview")
    assert [key for key in gov.evidence() if "/v2/" in key] == []
    # The package stays where the reviewed version put it; approving it by hand now is reverted.
    spoke_sagemaker = gov.spoke.client("sagemaker")
    assert spoke_sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    gov.run(gov.hub_events())  # v2 goes to review: reviewers are told
    review = [n for n in gov.notices_received() if n["Subject"].endswith("awaits review")]
    assert [n["Subject"] for n in review] == ["Model card spoke-churn-222222222222-v1 v2 awaits review"]


def test_a_hub_edit_of_an_approved_card_is_refused_from_its_record(gov: Governance) -> None:
    gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    gov.run(gov.set_status("churn-111111111111-v1", "Approved"))
    edit(gov, "churn-111111111111-v1", {"intended_uses": {"risk_rating": "Low"}})
    [outcome] = gov.run(gov.hub_events())
    assert "approval refused (version 2 is a content edit of an approved card" in outcome
    assert gov.status_of("churn-111111111111-v1") == (2, "PendingReview")


def test_the_gate_refuses_a_package_approval_while_the_card_is_approved_but_not_by_an_approver(
    gov: Governance,
) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.set_status("churn-111111111111-v1", "Approved", by=gov.hub)  # not yet processed: the card shows Approved
    gov.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    [manual] = gov.hub_events("SageMaker Model Package State Change")
    assert gov.run([manual]) == [
        f"reverted {package}: model card churn-111111111111-v1 v1 is Approved, but not by an approver"
    ]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )


def test_a_read_spoke_cannot_update_a_card(gov: Governance) -> None:
    gov.register(gov.hub, "churn")
    gov.hub_events()
    reader = session_for(READER).client("sagemaker")
    for change in ({"ModelCardStatus": "Approved"}, {"Content": "{}"}):
        with pytest.raises(reader.exceptions.ClientError) as denied:
            reader.update_model_card(ModelCardName=gov.card_arn("churn-111111111111-v1"), **change)
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert gov.status_of("churn-111111111111-v1") == (1, "Draft")
    assert gov.hub_events() == []


def test_an_approver_may_not_approve_a_version_they_wrote(gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    edit(gov, "churn-111111111111-v1", {"business_details": {"business_problem": "Churn"}}, by=gov.reviewer)
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    [approval] = gov.set_status("churn-111111111111-v1", "Approved")
    [outcome] = gov.run([approval])
    assert "approval refused (alice@example.com wrote version 2 and may not approve it)" in outcome
    assert_nothing_approved(gov, "churn-111111111111-v1", package, gov.hub)
    # With the rule off, the same approver's approval of the same version takes effect.
    monkeypatch.setenv("APPROVER_MAY_NOT_EDIT", "false")
    gov.run(gov.hub_events())
    [again] = gov.set_status("churn-111111111111-v1", "Approved")
    assert "approved by" in gov.run([again])[0]


def developer(gov: Governance, person: str) -> Any:
    """A hub developer's role session naming `person`: it may edit cards and assume the reviewer role."""
    from emulator.sessions import role_session

    may = {
        "Effect": "Allow",
        "Action": [
            "sagemaker:DescribeModelCard",
            "sagemaker:UpdateModelCard",
            "sts:AssumeRole",
            "sts:SetSourceIdentity",
        ],
        "Resource": "*",
    }
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
    }
    iam = gov.hub.client("iam")
    iam.create_role(
        RoleName="developer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )
    iam.put_role_policy(
        RoleName="developer",
        PolicyName="cards",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [may]}),
    )
    return role_session(HUB, "developer", session_name=person.split("@")[0], SourceIdentity=person)


def test_the_person_who_wrote_a_version_may_not_approve_it_through_the_reviewer_role(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emulator.sessions import role_session

    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    alice = developer(gov, "alice@example.com")
    edit(gov, "churn-111111111111-v1", {"business_details": {"business_problem": "Churn"}}, by=alice)
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    gov.notices_received()
    # Another session in another role, and no source identity passed: the developer session's carries on.
    alice_reviewing = role_session(HUB, "model-card-governance-reviewer", via=alice, session_name="review")
    past_the_second()
    [outcome] = gov.run(gov.set_status("churn-111111111111-v1", "Approved", by=alice_reviewing))
    assert "approval refused (alice@example.com wrote version 2 and may not approve it)" in outcome
    assert_nothing_approved(gov, "churn-111111111111-v1", package, gov.hub)
    [refused] = refusals(gov, "churn-111111111111-v1")
    assert refused["Person"] == "alice@example.com"
    assert refused["Principal"] == (
        f"alice@example.com (arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/review)"
    )
    gov.run(gov.hub_events())
    # Another person in the same role approves the same version; calls in one matching window must
    # all be approvers', so bob acts after alice's window.
    monkeypatch.setattr(attribution, "MATCH_SECONDS", 1)
    time.sleep(2.1)
    bob = role_session(HUB, "model-card-governance-reviewer", session_name="bob", SourceIdentity="bob@example.com")
    [approved] = gov.run(gov.set_status("churn-111111111111-v1", "Approved", by=bob))
    assert f"package {package} set Approved" in approved
    [effective] = [e for e in gov.ledger("churn-111111111111-v1") if e["Kind"] == "approval-effective"]
    assert (effective["Person"], effective["Principal"]) == ("bob@example.com", REVIEWER_ROLE)
    assert effective["Reason"] == (
        f"approved by bob@example.com (arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/bob)"
    )


def test_an_approval_through_the_reviewer_role_without_a_source_identity_is_refused(gov: Governance) -> None:
    from emulator.sessions import role_session

    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    # The stack's trust policy would not admit this session; the test's role does, to see the hub
    # refuse what it cannot name.
    nameless = role_session(HUB, "model-card-governance-reviewer", session_name="nobody")
    [outcome] = gov.run(gov.set_status("churn-111111111111-v1", "Approved", by=nameless))
    caller = f"arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/nobody"
    assert f"approval refused ({caller} has no source identity, so the hub cannot name the person)" in outcome
    assert_nothing_approved(gov, "churn-111111111111-v1", package, gov.hub)
    [refused] = refusals(gov, "churn-111111111111-v1")
    assert (refused["Principal"], refused["Person"]) == (caller, caller)


def test_an_approval_waits_for_its_cloudtrail_record(gov: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRIBUTION_DEADLINE_SECONDS", "3600")
    package = gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status("churn-111111111111-v1", "PendingReview"))
    past_the_second()
    with cloudtrail.hold_delivery():
        # The reviewer's own call, not a decision: the CloudTrail path.
        [approval] = gov.set_status("churn-111111111111-v1", "Approved", by=gov.reviewer)
        [outcome] = gov.run([approval])
        assert outcome.endswith("no CloudTrail record of this approval in the hub account yet; looking again later")
        assert gov.status_of("churn-111111111111-v1") == (1, "Approved")  # not reverted too early
        assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
            "PendingManualApproval"
        )
        assert gov.run_rechecks() == [approval["detail"]["ModelCardName"]]  # still not there: looked for again
    assert gov.run_rechecks() == [approval["detail"]["ModelCardName"]]
    assert gov.sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    assert [e["Kind"] for e in gov.ledger("churn-111111111111-v1")].count("approval-effective") == 1


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
    # Recorded under the hub's own ARN of the card: the sample's account is not the hub's.
    [entry] = list(ledger_entries(gov.dynamodb, "ledger", gov.card_arn("example-card")))
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


def call(caller: str, *, status: str | None = None, content: bool = False, person: str = "") -> attribution.CardCall:
    role = caller.replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]
    return attribution.CardCall("e", "UpdateModelCard", datetime.now(UTC), role, caller, status, content, person)


def test_the_approval_judgement_compares_people_and_refuses_a_nameless_reviewer_session() -> None:
    session = f"arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/"
    dev = f"arn:aws:sts::{HUB}:assumed-role/developer/alice"

    def judge(approval: attribution.CardCall, author: attribution.CardCall) -> attribution.Verdict:
        return attribution.judge_approval(
            [approval],
            approvers=frozenset({REVIEWER_ROLE}),
            version=2,
            reviewed=True,
            author_calls=[author],
            approver_may_not_edit=True,
            new_version=False,
            named_roles=frozenset({REVIEWER_ROLE}),
            previous_change=approval.at - timedelta(seconds=5),
        )

    by_alice = call(dev, content=True, person="alice@example.com")
    assert judge(call(session + "x", status="Approved", person="alice@example.com"), by_alice).outcome == "refused"
    assert judge(call(session + "x", status="Approved", person="bob@example.com"), by_alice).outcome == "effective"
    # Two sessions of one role without a source identity are two sessions, as far as the hub can tell;
    # the reviewer role's are refused outright, since its trust policy admits none.
    nameless = judge(call(session + "x", status="Approved"), call(session + "y", content=True))
    assert nameless.reason == f"{session}x has no source identity, so the hub cannot name the person"
    same_session = judge(call(session + "x", status="Approved", person="a@x"), call(session + "x", content=True))
    # Without a source identity in the author's record the hub compares sessions, and a session is
    # not a person: the limit docs/review-and-approval.md states.
    assert same_session.outcome == "effective"
