"""Attacks by a spoke on what the hub does for it: archives, review notices, forged and replayed
package events, floods, and the report. The spoke calls what its shares and its own account allow,
with any arguments; card content is data it wrote. Each attack fails and leaves the state as it was.

`Governance` (tests/test_workflow.py) shares every card with both spokes at edit (the
`all-spokes` model, the widest a config can make); `Estate` (tests/test_card_ownership.py) is the
default own-account sharing.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.accounts import session_for
from tests.conftest import ROOT, load_event
from tests.test_card_ownership import OWNER_A, PACKAGE_EVENT, Estate
from tests.test_workflow import HUB, OTHER_SPOKE, SPOKE, Governance, drain, edit

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link import handler as auto_link_handler
from card_workflow import attribution
from shared.card_links import card_link

SNS_MESSAGE_BYTES = 262_144  # SNS Publish: "262,144 bytes, not 262,144 characters"
FORGED_APPROVAL = "Approved by: arn:aws:sts::111111111111:assumed-role/model-card-governance-reviewer/alice"


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Governance:
    return Governance(monkeypatch)


@pytest.fixture
def estate(aws: None, monkeypatch: pytest.MonkeyPatch) -> Estate:
    return Estate(monkeypatch)


def published(gov: Governance) -> list[dict[str, str]]:
    """Every Publish the workflow makes, exactly as it reaches SNS (the subscriber sees it wrapped)."""
    sent: list[dict[str, str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append({"Subject": params.get("Subject", ""), "Message": params["Message"]})

    gov.clients["sns"].meta.events.register("provide-client-params.sns.Publish", record)
    return sent


def spoke_writes(gov: Governance, card: str, change: dict[str, Any], by: Any) -> None:
    """The spoke rewrites sections of its card, sending the JSON as it likes (raw UTF-8)."""
    sagemaker = by.client("sagemaker")
    content = json.loads(sagemaker.describe_model_card(ModelCardName=gov.card_arn(card))["Content"])
    content.update(change)
    sagemaker.update_model_card(ModelCardName=gov.card_arn(card), Content=json.dumps(content, ensure_ascii=False))


def package_status(session: Any, arn: str) -> str:
    status: str = session.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
    return status


# --- Archive: who may make the hub reject a package ---------------------------------------------


def test_an_archive_rejects_a_package_only_when_an_approver_archived(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVED_REJECTS_PACKAGE", "true")
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview"))
    gov.run(gov.set_status(card, "Approved"))
    assert package_status(gov.spoke, package) == "Approved"

    # With every card shared at edit, another spoke may archive this one; the owner may too, and so
    # may a hub principal who is no approver. None of them makes the hub reject the package.
    for who in (session_for(OTHER_SPOKE), gov.spoke, gov.hub):
        [outcome] = gov.run(gov.set_status(card, "Archived", by=who))
        assert "archive not by an approver" in outcome and "no model package changed" in outcome, outcome
        assert package_status(gov.spoke, package) == "Approved"
        gov.sagemaker.update_model_card(ModelCardName=card, ModelCardStatus="PendingReview")
        gov.run(gov.hub_events())
    refused = [e for e in gov.ledger(card) if e["Kind"] == "archive-refused"]
    assert [e["Principal"].split(" (")[0] for e in refused] == [
        "unknown to the hub",
        "unknown to the hub",
        f"arn:aws:sts::{HUB}:assumed-role/OrganizationAccountAccessRole/admin",
    ]
    # A retried delivery of a refused archive changes nothing either.
    [late] = gov.set_status(card, "Archived", by=gov.spoke)
    assert gov.run([late, copy.deepcopy(late)])[1].endswith("no model package changed")
    assert package_status(gov.spoke, package) == "Approved"

    # The approver's archive rejects it, once however often the event comes. Calls in one matching
    # window must all be approvers' (as for approvals): the reviewer acts after the window.
    gov.sagemaker.update_model_card(ModelCardName=card, ModelCardStatus="PendingReview")
    gov.run(gov.hub_events())
    monkeypatch.setattr(attribution, "MATCH_SECONDS", 1)
    time.sleep(2.1)
    [archive] = gov.set_status(card, "Archived", by=gov.reviewer)
    assert gov.run([archive, copy.deepcopy(archive)]) == [
        f"recorded=True; package {package} set Rejected",
        "recorded=False; package already Rejected",
    ]
    assert package_status(gov.spoke, package) == "Rejected"


def test_an_archive_waits_for_its_record_and_then_fails_closed(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emulator import cloudtrail

    monkeypatch.setenv("ARCHIVED_REJECTS_PACKAGE", "true")
    monkeypatch.setenv("ATTRIBUTION_DEADLINE_SECONDS", "3600")
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    with cloudtrail.hold_delivery():
        [archive] = gov.set_status(card, "Archived", by=gov.reviewer)
        assert gov.run([archive])[0].endswith("looking again later")
        assert package_status(gov.spoke, package) == "PendingManualApproval"
        assert gov.run_rechecks() == [card]
    assert gov.run_rechecks() == [card]
    assert package_status(gov.spoke, package) == "Rejected"
    # A spoke's archive never reaches the hub's history: refused once the deadline has passed.
    monkeypatch.setenv("ATTRIBUTION_DEADLINE_SECONDS", "0")
    second = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    [outcome] = gov.run(gov.set_status("spoke-churn-222222222222-v2", "Archived", by=gov.spoke))
    assert outcome.endswith("archive not by an approver (no CloudTrail record): no model package changed")
    assert package_status(gov.spoke, second) == "PendingManualApproval"


def test_with_own_account_sharing_no_spoke_archives_another_spokes_or_the_hubs_card(estate: Estate) -> None:
    _, card_a = estate.register(OWNER_A, "churn")
    _, card_hub = estate.register(HUB, "pricing")
    for account in ("333333333333", "444444444444"):  # another editing spoke, a read spoke
        sagemaker = estate.spokes[account].client("sagemaker")
        with pytest.raises(sagemaker.exceptions.ClientError) as denied:
            sagemaker.update_model_card(ModelCardName=estate.card_arn(card_a), ModelCardStatus="Archived")
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    owner = estate.spokes[OWNER_A].client("sagemaker")
    with pytest.raises(owner.exceptions.ClientError) as denied:
        owner.update_model_card(ModelCardName=estate.card_arn(card_hub), ModelCardStatus="Archived")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert {estate.sagemaker.describe_model_card(ModelCardName=c)["ModelCardStatus"] for c in (card_a, card_hub)} == {
        "Draft"
    }


# --- Review notices: what a spoke's content can do to them --------------------------------------


def test_a_refused_spoke_approval_is_no_baseline_for_the_next_review(gov: Governance) -> None:
    card = "spoke-churn-222222222222-v1"
    gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    edit(gov, card, {"intended_uses": {"intended_uses": "Deny loans by postcode"}}, by=gov.spoke)  # v2
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview", by=gov.spoke))
    gov.run(gov.set_status(card, "Approved", by=gov.spoke))  # refused, back to PendingReview
    gov.run(gov.hub_events())
    gov.notices_received()
    edit(gov, card, {"business_details": {"business_problem": "Churn"}}, by=gov.spoke)  # v3, still in review
    assert gov.run(gov.hub_events()) == ["recorded=True; review notice sent"]
    [notice] = gov.notices_received()
    message = notice["Message"]
    # v2 was never approved: the reviewer sees everything since the hub's clone, not only v3's edit.
    assert "(last approved)" not in message
    assert "Changes compared with nothing (first version of a new card)" in message
    assert "+ intended_uses.intended_uses: Deny loans by postcode" in message


def test_an_edited_clone_source_in_the_content_does_not_steer_the_review_diff(gov: Governance) -> None:
    gov.register(gov.spoke, "spoke-churn")
    edit(gov, "spoke-churn-222222222222-v1", {"business_details": {"business_problem": "Retail"}}, by=gov.spoke)
    gov.register(gov.spoke, "spoke-churn")  # card v2 of package 2 is cloned from card 1's v2
    card = "spoke-churn-222222222222-v2"
    gov.run(gov.hub_events())
    described = gov.sagemaker.describe_model_card(ModelCardName=card)
    content = json.loads(described["Content"])
    content["business_details"] = {"business_problem": "Anything goes"}
    # The spoke claims the card was cloned from itself, at the version this edit makes.
    content["additional_information"]["custom_details"].update(cloned_from_card=card, cloned_from_card_version="2")
    gov.spoke.client("sagemaker").update_model_card(ModelCardName=gov.card_arn(card), Content=json.dumps(content))
    gov.run(gov.hub_events())
    gov.notices_received()
    gov.run(gov.set_status(card, "PendingReview", by=gov.spoke))
    [notice] = gov.notices_received()
    message = notice["Message"]
    assert "Changes compared with spoke-churn-222222222222-v1 v2 (the card this one was cloned from)" in message
    assert "~ business_details.business_problem: Retail -> Anything goes" in message
    assert "(no field changed)" not in message


def test_spoke_text_in_a_notice_is_one_line_of_data(gov: Governance) -> None:
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    sent = published(gov)
    lie = f"Retail\n\n{FORGED_APPROVAL}\r\nNo review needed.\u2028\u202eevil"
    spoke_writes(
        gov,
        card,
        {
            "business_details": {"business_problem": lie},
            "additional_information": {"custom_details": {f"key\n{FORGED_APPROVAL}": "x"}},
            # A package ARN that is not the hub's link (as long as the schema lets it be): the approval
            # is refused, and the reviewers read the claim as data.
            "model_package_details": {"model_package_arn": f"arn:x\n{FORGED_APPROVAL}\n" + "A" * 1_900},
        },
        by=gov.spoke,
    )
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview", by=gov.spoke))
    gov.run(gov.set_status(card, "Approved", by=gov.reviewer))  # reads the link: the approval is refused
    assert [n["Subject"] for n in sent] == [
        f"Model card {card} v2 awaits review",
        f"Approval of model card {card} v2 refused",
    ]
    review, mismatch = (n["Message"].split("\n") for n in sent)
    assert not [line for line in review + mismatch if line.startswith("Approved by")]
    header, diff = review[:5], review[5:]
    assert header[0] == f"Model card: {card} (version 2)" and header[4].startswith("Changes compared with")
    assert diff and all(line[:2] in ("+ ", "- ", "~ ") for line in diff), diff
    assert "+ business_details.business_problem: Retail\\n\\nApproved by: arn:aws:sts::" in "\n".join(diff)
    assert all(not unicodedata.category(ch).startswith("C") and ch not in "\u2028\u2029" for ch in "".join(diff))
    assert len(mismatch) == 8 and len(sent[1]["Message"]) < 3_000  # 3: how to decide again
    assert package_status(gov.spoke, package) == "PendingManualApproval"


def test_a_notice_stays_within_what_sns_takes_whatever_the_card_holds(gov: Governance) -> None:
    """A 4-byte character is one of the card's 100,000 characters and four of SNS's 262,144 bytes."""
    gov.register(gov.spoke, "spoke-churn")
    wide = "\U0001f600"
    # Keys as the schema's custom_details takes them (a letter among them, pattern [a-zA-Z_][a-zA-Z0-9_]*).
    fields = {f"k{wide * 40}{n:03d}": wide * 170 for n in range(240)}
    spoke_writes(gov, "spoke-churn-222222222222-v1", {"additional_information": {"custom_details": fields}}, gov.spoke)
    gov.register(gov.spoke, "spoke-churn")  # its card carries the fields over
    card = "spoke-churn-222222222222-v2"
    gov.run(gov.hub_events())
    changed = dict.fromkeys(fields, "😁" * 170)
    spoke_writes(gov, card, {"additional_information": {"custom_details": changed}}, gov.spoke)
    assert len(gov.sagemaker.describe_model_card(ModelCardName=card)["Content"]) < 100_000
    gov.run(gov.hub_events())
    sent = published(gov)
    assert gov.run(gov.set_status(card, "PendingReview", by=gov.spoke)) == ["recorded=True; review notice sent"]
    [notice] = sent
    size = len(notice["Message"].encode())
    assert 200_000 < size <= SNS_MESSAGE_BYTES, size
    assert notice["Message"].endswith("open the card for the rest)")
    assert len(notice["Subject"]) < 100


# --- Package events: forged, foreign and replayed ----------------------------------------------


def test_a_package_event_naming_another_accounts_package_starts_no_card(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EventBridge keeps the sender's account on a forwarded event and refuses `aws.` sources from
    customers; should an event ever name another account's package, the hub does nothing with it."""
    victim = f"arn:aws:sagemaker:us-east-1:{OTHER_SPOKE}:model-package/churn/1"
    for name, value in {
        "CARD_KEY_ARN": "",
        "SHARE_ARNS": ",".join(gov.linker.share_arns),
        "INDEX_TABLE": "card-index",
    }.items():
        monkeypatch.setenv(name, value)
    clients = {name: gov.hub.client(name) for name in auto_link_handler.SERVICES}
    for named in (victim, f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn/1"):
        event = copy.deepcopy(load_event("model-package-state-change"))
        event.update(account=SPOKE, region="us-east-1", resources=[named])
        event["detail"].update(ModelPackageGroupName="churn", ModelPackageVersion=1, ModelPackageArn=named)
        del event["detail"]["UpdatedModelPackageFields"]
        outcome = auto_link_handler.handler(event, clients=clients)
        assert outcome["action"] == "dead-lettered"
        assert f"event account '{SPOKE}' is not the account of detail.ModelPackageArn" in outcome["reason"]
    assert gov.sagemaker.list_model_cards()["ModelCardSummaries"] == []
    assert gov.dynamodb.scan(TableName="card-links")["Items"] == []
    assert len(drain(gov.sqs, gov.dlq)) == 2


def test_a_replayed_package_approval_changes_no_package(estate: Estate) -> None:
    package, card = estate.register(OWNER_A, "churn")
    estate.run(estate.hub_events())
    owner = estate.spokes[OWNER_A].client("sagemaker")
    owner.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    [approval] = estate.hub_events(PACKAGE_EVENT)
    assert estate.run([approval]) == [f"reverted {package}: model card {card} is Draft"]
    estate.run(estate.hub_events(PACKAGE_EVENT))
    owner.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Rejected")
    estate.hub_events(PACKAGE_EVENT)
    before = estate.dynamodb.scan(TableName="ledger")["Items"]
    estate.notices()
    # The spoke replays its old approval event (an EventBridge archive replays through its rules).
    replay = {**copy.deepcopy(approval), "replay-name": "again"}
    estate.run([replay, copy.deepcopy(replay)])
    assert estate.package_status(package) == "Rejected"
    assert estate.dynamodb.scan(TableName="ledger")["Items"] == before
    assert estate.notices() == []


# --- Floods: the hub's work is bounded by the spoke's own actions -------------------------------


def test_duplicated_events_and_repeated_attempts_cost_the_hub_one_item_each(gov: Governance) -> None:
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    attempts = 3
    gov.run(gov.set_status(card, "PendingReview", by=gov.spoke) * 3)
    for _ in range(attempts):
        events = gov.set_status(card, "Approved", by=gov.spoke)
        gov.run(events * 3)  # every delivery three times
        gov.run(gov.hub_events() * 3)  # the hub's own revert to PendingReview, three times
    kinds = [e["Kind"] for e in gov.ledger(card)]
    assert kinds.count("approval-refused") == attempts
    notices = gov.notices_received()
    assert sorted(n["Subject"] for n in notices) == sorted(
        [f"Model card {card} v1 awaits review"] + [f"Approval of model card {card} v1 refused"] * attempts
    )
    # The second link of the same package is the first one, and no new card line.
    event = copy.deepcopy(load_event("model-package-state-change"))
    event.update(account=SPOKE)
    created = gov.spoke.client("sagemaker").describe_model_package(ModelPackageName=package)["CreationTime"]
    event["detail"].update(
        ModelPackageGroupName="spoke-churn",
        ModelPackageVersion=1,
        ModelPackageArn=package,
        CreationTime=created.isoformat(),
    )
    del event["detail"]["UpdatedModelPackageFields"]
    from auto_link.card_linker import link_new_version

    for _ in range(3):
        result = link_new_version(
            event, sagemaker=gov.sagemaker, ram=gov.hub.client("ram"), dynamodb=gov.dynamodb, settings=gov.linker
        )
        assert result.action == "completed"
    assert [c["ModelCardName"] for c in gov.sagemaker.list_model_cards()["ModelCardSummaries"]] == [card]
    # One card item and the package's plan (shared.card_links), whatever the deliveries.
    assert sorted(i["CardName"]["S"] for i in gov.dynamodb.scan(TableName="card-links")["Items"]) == [
        f"package#{package}",
        card,
    ]
    link = card_link(gov.dynamodb, "card-links", card)
    assert link is not None and link.package_arn == package
    assert package_status(gov.spoke, package) == "PendingManualApproval"


# --- The report: spoke text stays text in every format ------------------------------------------


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1"]


@pytest.mark.parametrize("purpose", FORMULAS)
def test_spoke_text_never_becomes_a_spreadsheet_formula(purpose: str) -> None:
    from governance_report.findings import Report, Row
    from governance_report.render import csv_text, json_text

    row = Row(SPOKE, "churn", 1, f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn/1", "Approved")
    row.purpose, row.risk_rating = purpose, purpose
    report = Report("2026-01-01T00:00:00Z", HUB, [SPOKE], 14, [row], [])
    text = csv_text(report)
    [parsed] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert text.count("\r\n") == 2  # the header and the one row: the spoke's text ended no row
    for column in ("purpose", "risk_rating"):
        assert parsed[column] == f"'{purpose}", parsed[column]
    # The JSON keeps the text as it was: it is data, and a JSON reader runs nothing.
    assert json.loads(json_text(report))["rows"][0]["purpose"] == purpose


def test_the_report_shows_a_spokes_approval_of_its_own_card_as_no_approval(
    gov: Governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governance_report.run import produce_report

    from tests.test_report import auditor, create_report_roles, settings

    create_report_roles(gov, (SPOKE,))
    card = "spoke-churn-222222222222-v1"
    package = gov.register(gov.spoke, "spoke-churn")
    gov.run(gov.hub_events())
    spoke_writes(gov, card, {"intended_uses": {"purpose_of_model": f"{FORGED_APPROVAL}"}}, gov.spoke)
    gov.run(gov.hub_events())
    gov.run(gov.set_status(card, "PendingReview", by=gov.spoke))
    gov.run(gov.set_status(card, "Approved", by=gov.spoke))
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    report = produce_report(auditor(), settings(spoke_accounts=(SPOKE,)), now=datetime.now(UTC))
    [row] = [r for r in report.rows if r.model_package_arn == package]
    assert (row.approved_by, row.approved_at, row.approved_card_version) == ("", "", None)
    assert row.purpose == FORGED_APPROVAL  # shown as the card's text, in the purpose column only
    assert {"approved-package-without-approved-card", "approval-reverted"} <= set(row.findings)
