"""Who owns a card, and what a spoke can do about cards that are not its own (against the emulator).

The hub is wired as the hub stack wires it: a read-only share with every spoke, an owner share for
each account spoke that may edit, a link table only hub functions write. Each attack is made by a
spoke principal with the plain API; each must fail and leave everything as it was.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts import allow_put_events, create_approval_sync_role, session_for
from tests.conftest import ROOT, load_event
from tests.test_workflow import REVIEWER_ROLE, assume, call_url, decision_endpoint

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link.card_linker import LinkerSettings, link_new_version
from card_workflow import handler as workflow_handler
from card_workflow.anchors import ANCHOR_PREFIX
from card_workflow.ledger import ledger_entries
from shared.card_links import card_link

HUB = "111111111111"
OWNER_A = "222222222222"  # edit-export
OWNER_B = "333333333333"  # edit
READER = "444444444444"  # read
PREFIX = "mcg-cards-"
EDIT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"
EXPORT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCardsAllowExport"
INFERENCE = load_event("model-package-state-change")["detail"]["InferenceSpecification"]
CARD_EVENT = "SageMaker Model Card State Change"
PACKAGE_EVENT = "SageMaker Model Package State Change"


def table(dynamodb: Any, name: str, *keys: str) -> None:
    schema = [{"AttributeName": k, "KeyType": kind} for k, kind in zip(keys, ("HASH", "RANGE"), strict=False)]
    dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def queue(session: Any, name: str) -> tuple[str, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


class Estate:
    """A hub and three spokes: A and B may edit their own cards, the reader only reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hub = session_for(HUB)
        self.spokes = {account: session_for(account) for account in (OWNER_A, OWNER_B, READER)}
        for spoke in self.spokes.values():
            create_approval_sync_role(spoke, HUB)
        self.sagemaker = self.hub.client("sagemaker")
        self.dynamodb = self.hub.client("dynamodb")
        self.sqs = self.hub.client("sqs")
        table(self.dynamodb, "ledger", "CardArn", "EntryKey")
        table(self.dynamodb, "card-index", "Group")
        table(self.dynamodb, "card-links", "CardName")
        self.hub.client("s3").create_bucket(Bucket="evidence-bucket")
        sns = self.hub.client("sns")
        topic = sns.create_topic(Name="reviewers")["TopicArn"]
        self.inbox, inbox_arn = queue(self.hub, "reviewer-inbox")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        self.events, events_arn = queue(self.hub, "hub-events")
        events = self.hub.client("events")
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": events_arn}])
        follow_up, _ = queue(self.hub, "follow-up")
        dlq, _ = queue(self.hub, "dlq")
        for name, value in {
            "LEDGER_TABLE": "ledger",
            "LINK_TABLE": "card-links",
            "TOPIC_ARN": topic,
            "EVIDENCE_BUCKET": "evidence-bucket",
            "FOLLOW_UP_QUEUE_URL": follow_up,
            "APPROVAL_ROLE_NAME": "model-card-governance-approval-sync",
            "HUB_ACCOUNT": HUB,
            "DEAD_LETTER_QUEUE_URL": dlq,
            "FOLLOW_UP_DELAY_SECONDS": "0",
            "APPROVERS": json.dumps([REVIEWER_ROLE]),
            "RECHECK_QUEUE_URL": queue(self.hub, "recheck")[0],
            # A spoke's edit is in the spoke's CloudTrail only; decide at once rather than wait.
            "ATTRIBUTION_DEADLINE_SECONDS": "0",
        }.items():
            monkeypatch.setenv(name, value)
        self.clients = {name: self.hub.client(name) for name in workflow_handler.SERVICES}
        self.reviewer_session = assume(HUB, "model-card-governance-reviewer", "reviewer")
        self.reviewer = self.reviewer_session.client("sagemaker")
        self.decision_url = decision_endpoint(self.clients)

        ram = self.hub.client("ram")
        read = ram.create_permission(
            name="mcg-cards-read",
            resourceType="sagemaker:ModelCard",
            policyTemplate=json.dumps(
                {"Effect": "Allow", "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"]}
            ),
        )["permission"]["arn"]
        read_share = ram.create_resource_share(
            name=f"{PREFIX}read", principals=[OWNER_A, OWNER_B, READER], permissionArns=[read]
        )["resourceShare"]["resourceShareArn"]
        for account, permission in ((OWNER_A, EXPORT), (OWNER_B, EDIT)):
            ram.create_resource_share(name=f"{PREFIX}{account}", principals=[account], permissionArns=[permission])
        allow_put_events(self.hub, "default", list(self.spokes))
        for session in self.spokes.values():
            # Each spoke forwards its registry's events to the hub, as the spoke stack's rule does.
            spoke_events = session.client("events")
            spoke_events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
            spoke_events.put_targets(
                Rule="forward", Targets=[{"Id": "hub", "Arn": f"arn:aws:events:us-east-1:{HUB}:event-bus/default"}]
            )
        for session in self.spokes.values():  # outside an organization each spoke accepts once
            spoke_ram = session.client("ram")
            for invitation in spoke_ram.get_resource_share_invitations()["resourceShareInvitations"]:
                spoke_ram.accept_resource_share_invitation(
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
                )
        self.linker = LinkerSettings(
            card_key_arn="",
            share_arns=[read_share],
            index_table="card-index",
            link_table="card-links",
            owner_share_prefix=PREFIX,
        )

    def register(self, account: str, group: str) -> tuple[str, str]:
        """A spoke (or the hub) registers the next version of `group`; the hub links its card."""
        sagemaker = (self.hub if account == HUB else self.spokes[account]).client("sagemaker")
        if group not in [
            g["ModelPackageGroupName"] for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ]:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn: str = sagemaker.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
        )["ModelPackageArn"]
        event = copy.deepcopy(load_event("model-package-state-change"))
        event["account"] = account
        created = sagemaker.describe_model_package(ModelPackageName=arn)["CreationTime"]
        event["detail"].update(
            ModelPackageGroupName=group,
            ModelPackageVersion=int(arn.rsplit("/", 1)[-1]),
            ModelPackageArn=arn,
            CreationTime=created.isoformat(),
        )
        del event["detail"]["UpdatedModelPackageFields"]
        result = link_new_version(
            event, sagemaker=self.sagemaker, ram=self.hub.client("ram"), dynamodb=self.dynamodb, settings=self.linker
        )
        assert result.card_name is not None
        return arn, result.card_name

    def card_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{name}"

    def content(self, name: str) -> dict[str, Any]:
        described: dict[str, Any] = json.loads(self.sagemaker.describe_model_card(ModelCardName=name)["Content"])
        return described

    def spoke_edits(self, account: str, card: str, change: dict[str, Any]) -> None:
        sagemaker = self.spokes[account].client("sagemaker")
        content = json.loads(sagemaker.describe_model_card(ModelCardName=self.card_arn(card))["Content"])
        content.update(change)
        sagemaker.update_model_card(ModelCardName=self.card_arn(card), Content=json.dumps(content))

    def hub_events(self, detail_type: str = CARD_EVENT) -> list[dict[str, Any]]:
        events = [json.loads(m["Body"]) for m in drain(self.sqs, self.events)]
        return [e for e in events if e["detail-type"] == detail_type]

    def run(self, events: list[dict[str, Any]]) -> list[str]:
        return [workflow_handler.handler(e, clients=self.clients)["outcome"] for e in events]

    def review_and_approve(self, card: str) -> list[str]:
        """The hub's reviewer takes the card through review to approval; the workflow runs."""
        self.run(self.hub_events())
        self.sagemaker.update_model_card(ModelCardName=card, ModelCardStatus="PendingReview")
        self.run(self.hub_events())
        # The reviewer's decision on the current version, through the hub's decision endpoint.
        version = self.sagemaker.describe_model_card(ModelCardName=card)["ModelCardVersion"]
        payload = {"card": card, "version": version, "decision": "approve", "comment": "Reviewed"}
        status, answer = call_url(self.decision_url, self.reviewer_session, payload)
        assert status == 200, answer
        return self.run(self.hub_events())

    def package_status(self, arn: str) -> str:
        account = arn.split(":")[4]
        session = self.hub if account == HUB else self.spokes[account]
        status: str = session.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        return status

    def notices(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.sqs, self.inbox)]


@pytest.fixture
def estate(aws: None, monkeypatch: pytest.MonkeyPatch) -> Estate:
    return Estate(monkeypatch)


def denied(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    code: str = error.value.response["Error"]["Code"]
    return code


def test_same_group_name_in_two_spokes_gives_two_independent_card_lines(estate: Estate) -> None:
    a1, card_a1 = estate.register(OWNER_A, "churn")
    b1, card_b1 = estate.register(OWNER_B, "churn")
    assert (card_a1, card_b1) == (f"churn-{OWNER_A}-v1", f"churn-{OWNER_B}-v1")
    estate.spoke_edits(OWNER_A, card_a1, {"business_details": {"business_problem": "A's churn"}})
    estate.spoke_edits(OWNER_B, card_b1, {"business_details": {"business_problem": "B's churn"}})

    a2, card_a2 = estate.register(OWNER_A, "churn")
    b2, card_b2 = estate.register(OWNER_B, "churn")
    # Each line clones from its own account's previous card, never from the other spoke's.
    assert estate.content(card_a2)["business_details"] == {"business_problem": "A's churn"}
    assert estate.content(card_b2)["business_details"] == {"business_problem": "B's churn"}
    for card, package in ((card_a1, a1), (card_a2, a2), (card_b1, b1), (card_b2, b2)):
        link = card_link(estate.dynamodb, "card-links", card)
        assert link is not None and link.package_arn == package

    # Approving A's card approves A's package only; B's manual approval is judged on B's own card.
    assert any(f"package {a2} set Approved" in o for o in estate.review_and_approve(card_a2))
    assert (estate.package_status(a2), estate.package_status(b2)) == ("Approved", "PendingManualApproval")
    estate.spokes[OWNER_B].client("sagemaker").update_model_package(ModelPackageArn=b2, ModelApprovalStatus="Approved")
    gate = estate.run(estate.hub_events(PACKAGE_EVENT))
    assert f"reverted {b2}: model card {card_b2} is Draft" in gate
    assert estate.package_status(b2) == "PendingManualApproval"


def test_a_spoke_edits_its_own_cards_and_only_reads_the_others(estate: Estate) -> None:
    _, card_a = estate.register(OWNER_A, "churn")
    _, card_b = estate.register(OWNER_B, "fraud")
    _, card_hub = estate.register(HUB, "pricing")
    estate.spoke_edits(OWNER_A, card_a, {"intended_uses": {"risk_rating": "Low"}})
    assert estate.content(card_a)["intended_uses"] == {"risk_rating": "Low"}

    before = {card: estate.content(card) for card in (card_a, card_b, card_hub)}
    attacks = [
        (OWNER_B, card_a),  # another spoke's card
        (OWNER_A, card_b),
        (OWNER_A, card_hub),  # a hub package's card: read-only for every spoke
        (READER, card_a),  # a read spoke
        (READER, card_hub),
    ]
    for account, card in attacks:
        sagemaker = estate.spokes[account].client("sagemaker")
        arn = estate.card_arn(card)
        assert sagemaker.describe_model_card(ModelCardName=arn)["ModelCardName"] == card  # reading is allowed
        assert denied(lambda s=sagemaker, a=arn: s.update_model_card(ModelCardName=a, Content="{}")) == (
            "AccessDeniedException"
        ), (account, card)
        status = lambda s=sagemaker, a=arn: s.update_model_card(ModelCardName=a, ModelCardStatus="Approved")  # noqa: E731
        assert denied(status) == "AccessDeniedException", (account, card)
    assert {card: estate.content(card) for card in before} == before
    for card in before:
        assert estate.sagemaker.describe_model_card(ModelCardName=card)["ModelCardStatus"] == "Draft"
    # Export is the owner's, at its own level: B may edit but not export, A may not export B's card.
    job = {"ModelCardExportJobName": "x", "OutputConfig": {"S3OutputPath": "s3://somewhere/x"}}
    b_sagemaker = estate.spokes[OWNER_B].client("sagemaker")
    assert denied(lambda: b_sagemaker.create_model_card_export_job(ModelCardName=estate.card_arn(card_b), **job)) == (
        "AccessDeniedException"
    )
    a_sagemaker = estate.spokes[OWNER_A].client("sagemaker")
    assert denied(lambda: a_sagemaker.create_model_card_export_job(ModelCardName=estate.card_arn(card_b), **job)) == (
        "AccessDeniedException"
    )


def test_an_approval_of_content_naming_another_package_is_refused(estate: Estate) -> None:
    """The spoke points its card's content at another account's package, and at the hub's; the
    reviewer approves it. The hub's link says which package the card governs, so the approval fails
    closed: no approval-effective, no evidence, no package changed, the card back in PendingReview,
    the refusal in the ledger with its reason and in the reviewers' notice."""
    victim, _ = estate.register(OWNER_B, "fraud")
    own, card = estate.register(OWNER_A, "churn")
    hub_package, _ = estate.register(HUB, "pricing")
    card_arn = estate.sagemaker.describe_model_card(ModelCardName=card)["ModelCardArn"]
    for round_, target in enumerate((victim, hub_package), start=1):
        estate.spoke_edits(
            OWNER_A, card, {"model_package_details": {"model_package_arn": target, "model_package_version": 1}}
        )
        version = estate.sagemaker.describe_model_card(ModelCardName=card)["ModelCardVersion"]
        outcomes = estate.review_and_approve(card)
        assert any("approval refused (the card's content names model package" in o for o in outcomes), outcomes
        assert [estate.package_status(p) for p in (victim, own, hub_package)] == ["PendingManualApproval"] * 3
        assert estate.sagemaker.describe_model_card(ModelCardName=card)["ModelCardStatus"] == "PendingReview"
        entries = ledger_entries(estate.dynamodb, "ledger", card_arn)
        assert not [e for e in entries if e.get("Kind") == "approval-effective"]
        refused = [e for e in entries if e.get("Kind") == "approval-refused"]
        assert len(refused) == round_ and refused[-1]["Version"] == str(version)
        assert target in refused[-1]["Reason"] and own in refused[-1]["Reason"]
        listed = estate.hub.client("s3").list_objects_v2(Bucket="evidence-bucket").get("Contents", [])
        assert [o["Key"] for o in listed if not o["Key"].startswith(ANCHOR_PREFIX)] == []
        notices = [n for n in estate.notices() if "refused" in n["Subject"]]
        assert len(notices) == 1
        assert target in notices[0]["Message"] and own in notices[0]["Message"]
        assert "no model package was changed and no evidence was written" in notices[0]["Message"]
        link = card_link(estate.dynamodb, "card-links", card)
        assert link is not None and link.package_arn == own and link.approved_card_version is None
        estate.sagemaker.update_model_card(ModelCardName=card, ModelCardStatus="Draft")


def test_a_card_whose_content_agrees_with_the_link_approves_the_linked_package(estate: Estate) -> None:
    own, card = estate.register(OWNER_A, "churn")
    estate.spoke_edits(OWNER_A, card, {"business_details": {"business_problem": "Churn"}})
    outcomes = estate.review_and_approve(card)
    assert any(f"package {own} set Approved" in o for o in outcomes), outcomes
    assert estate.package_status(own) == "Approved"
