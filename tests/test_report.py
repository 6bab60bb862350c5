"""The governance report against the emulator, after a lifecycle that breaks each rule once."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.accounts import session_for
from tests.conftest import ROOT, load_event
from tests.test_workflow import HUB, SPOKE, Governance, edit

sys.path.insert(0, str(ROOT / "lambdas"))

from governance_report import cli
from governance_report.render import csv_text, html_page, json_text
from governance_report.run import produce_report
from governance_report.sources import ReportSettings

OTHER_SPOKE = "333333333333"
REGISTRY_ROLE = "model-card-governance-registry-reader"
AUDITOR_ROLE = "model-card-governance-auditor"
REPORT_ROLE = "model-card-governance-report"
# Card content is written by spoke teams; the page must show this as text.
ATTACK = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'


def settings(**overrides: Any) -> ReportSettings:
    values: dict[str, Any] = {
        "hub_account": HUB,
        "region": "us-east-1",
        "ledger_table": "ledger",
        "link_table": "card-links",
        "evidence_bucket": "evidence-bucket",
        "spoke_accounts": (SPOKE, OTHER_SPOKE),
        "registry_role_name": REGISTRY_ROLE,
        "pending_review_days": 14,
    }
    values.update(overrides)
    return ReportSettings(**values)


def create_role(session: Any, name: str, trust: dict[str, Any], statements: list[dict[str, Any]]) -> str:
    iam = session.client("iam")
    arn: str = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="report", PolicyDocument=json.dumps(policy))
    return arn


def create_report_roles(gov: Governance, spokes: tuple[str, ...] = (SPOKE, OTHER_SPOKE)) -> None:
    """The roles the stacks give the report, with the statements tests/test_report_stacks.py pins:
    the hub's auditor and weekly-report roles, and each spoke's registry reader trusting only them."""
    hub_root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
    lambda_trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    registry_reads: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:ListEndpoints", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"],
            "Resource": "*",
        },
        *(
            {
                "Effect": "Allow",
                "Action": f"sagemaker:{action}",
                "Resource": f"arn:aws:sagemaker:us-east-1:{{}}:{kind}/*",
            }
            for action, kind in (
                ("DescribeEndpoint", "endpoint"),
                ("DescribeEndpointConfig", "endpoint-config"),
                ("DescribeModel", "model"),
            )
        ),
    ]

    def in_account(account: str) -> list[dict[str, Any]]:
        return [{**s, "Resource": s["Resource"].format(account)} for s in registry_reads]

    tables = [f"arn:aws:dynamodb:us-east-1:{HUB}:table/{name}" for name in ("ledger", "card-links")]
    reads: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": tables},
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::evidence-bucket",
        },
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::evidence-bucket/evidence/*", "arn:aws:s3:::evidence-bucket/reports/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersion", "s3:ListBucketVersions"],
            "Resource": ["arn:aws:s3:::evidence-bucket", "arn:aws:s3:::evidence-bucket/evidence/_anchors/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"],
            "Resource": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*",
        },
        {"Effect": "Allow", "Action": "sagemaker:ListModelCards", "Resource": "*"},
        *in_account(HUB),
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [f"arn:aws:iam::{a}:role/{REGISTRY_ROLE}" for a in spokes],
        },
    ]
    readers = [
        create_role(gov.hub, AUDITOR_ROLE, hub_root, reads),
        create_role(
            gov.hub,
            REPORT_ROLE,
            lambda_trust,
            [
                *reads,
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::evidence-bucket/reports/*"},
                {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            ],
        ),
    ]
    for account in spokes:
        trust = {**hub_root, "Condition": {"ArnEquals": {"aws:PrincipalArn": readers}}}
        create_role(session_for(account), REGISTRY_ROLE, trust, in_account(account))


def auditor() -> Any:
    """The hub's auditor role, assumed by the hub's administrator."""
    from emulator.sessions import role_session

    return role_session(HUB, AUDITOR_ROLE)


def deploy(session: Any, endpoint: str, package_arn: str) -> None:
    """Serve a package version from an endpoint, as a spoke team would."""
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{endpoint}-model",
        ExecutionRoleArn=f"arn:aws:iam::{package_arn.split(':')[4]}:role/inference",
        PrimaryContainer={"ModelPackageName": package_arn},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": f"{endpoint}-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")


def approve(gov: Governance, card: str) -> None:
    gov.run(gov.set_status(card, "PendingReview"))
    gov.run(gov.set_status(card, "Approved"))
    gov.notices_received()


@pytest.fixture(scope="module")
def lifecycle() -> Iterator[Governance]:
    """Spoke 222222222222 registers four churn versions, spoke 333333333333 one fraud version:
    v1 reviewed, approved with evidence and deployed (clean); v2's package approved by hand while
    its card is a draft (the gate has not run yet); v3 waiting in review and already deployed; v4
    approved, its PDF export not yet recorded; fraud v1 never got a card (though churn-222222222222-v2's content
    claims it).

    Built once for the module: every test here only reads it (the weekly report writes under
    reports/, which no report reads)."""
    from moto import mock_aws

    from emulator import install
    from emulator.permissions import enforcement

    install()
    with mock_aws(), enforcement(True), pytest.MonkeyPatch.context() as monkeypatch:
        gov = Governance(monkeypatch)
        create_report_roles(gov)
        yield run_lifecycle(gov)


def run_lifecycle(gov: Governance) -> Governance:
    packages = [gov.register(gov.spoke, "churn") for _ in range(4)]
    edit(
        gov,
        "churn-222222222222-v1",
        {"intended_uses": {"risk_rating": "High", "purpose_of_model": "Rank customers by churn"}},
    )
    # What a spoke team with edit access may write: markup, and a claim that this card governs
    # another account's package. The page shows the first as text; the report ignores the second.
    claim = {"model_package_arn": f"arn:aws:sagemaker:us-east-1:{OTHER_SPOKE}:model-package/fraud/1"}
    edit(gov, "churn-222222222222-v2", {"intended_uses": {"purpose_of_model": ATTACK}, "model_package_details": claim})
    edit(gov, "churn-222222222222-v3", {"intended_uses": {"risk_rating": "Medium"}})
    gov.run(gov.hub_events())
    approve(gov, "churn-222222222222-v1")
    gov.follow_exports()
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=packages[1], ModelApprovalStatus="Approved")
    gov.run(gov.set_status("churn-222222222222-v3", "PendingReview"))
    # The spoke team approves v3 itself, card and package: the hub reverts both (the card's
    # status event comes back as PendingReview; the package goes back to PendingManualApproval).
    gov.run(gov.set_status("churn-222222222222-v3", "Approved", by=gov.spoke))
    gov.run(gov.hub_events())
    gov.spoke.client("sagemaker").update_model_package(ModelPackageArn=packages[2], ModelApprovalStatus="Approved")
    gov.run([package_approved(packages[2])])
    approve(gov, "churn-222222222222-v4")
    deploy(gov.spoke, "churn-prod", packages[0])
    deploy(gov.spoke, "churn-canary", packages[2])
    other = session_for(OTHER_SPOKE).client("sagemaker")
    other.create_model_package_group(ModelPackageGroupName="fraud")
    other.create_model_package(ModelPackageGroupName="fraud", ModelApprovalStatus="PendingManualApproval")
    gov.notices_received()
    return gov


def package_approved(arn: str) -> dict[str, Any]:
    """The state change SageMaker sends when a package's approval status is set to Approved."""
    event = copy.deepcopy(load_event("model-package-state-change"))
    group, version = arn.rsplit("/", 2)[-2:]
    event.update(account=arn.split(":")[4], region="us-east-1", resources=[arn])
    event["detail"].update(
        ModelPackageGroupName=group,
        ModelPackageVersion=int(version),
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        UpdatedModelPackageFields=["ModelApprovalStatus"],
        # The package's own CreationTime, as SageMaker's event carries it: with the ARN, its identity.
        CreationTime=session_for(arn.split(":")[4])
        .client("sagemaker")
        .describe_model_package(ModelPackageName=arn)["CreationTime"]
        .isoformat(),
    )
    return event


def ledger_time(gov: Governance, card: str, version: int, status: str) -> str:
    """When the version last took `status`, by the ledger."""
    return max(
        e["ModifiedAt"]
        for e in gov.ledger(card)
        if e["Kind"] == "status" and e["Status"] == status and e["Version"] == str(version)
    )


def ledger_entry(gov: Governance, card: str, kind: str) -> dict[str, str]:
    [entry] = [e for e in gov.ledger(card) if e["Kind"] == kind]
    return entry


def pdf(gov: Governance, card: str, version: int) -> str:
    """Where the emulator's export job of an approved card version puts the PDF: the job is named by
    the approval's nonce, which the ledger records."""
    job = ledger_entry(gov, card, "export-job")["JobArn"].rsplit("/", 1)[-1]
    return f"s3://evidence-bucket/evidence/{card}/v{version}/{card}/{job}/{card}.pdf"


def row(version: int, **values: Any) -> dict[str, Any]:
    """A churn row of spoke 222222222222 as the report writes it; `values` are what differs."""
    base: dict[str, Any] = {
        "account": SPOKE,
        "model_package_group": "churn",
        "model_package_version": version,
        "model_package_arn": f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn/{version}",
        "approval_status": "PendingManualApproval",
        "card_name": f"churn-222222222222-v{version}",
        "card_arn": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/churn-222222222222-v{version}",
        "card_version": 1,
        "card_status": "Draft",
        "risk_rating": "Unknown",
        "purpose": "",
        "approved_by": "",
        "approved_at": "",
        "approved_card_version": None,
        "evidence": [],
        "endpoints": [],
        "findings": [],
        "metric_changes": [],
        # Without an approval_policy section: one person of the approvers, at any rating's tier.
        "tier": "High",
        "decisions": [],
        "missing": ["approvers"],
        "review_due": "",
        "overdue": False,
        "suspended": False,
    }
    base.update(values)
    return base


def decided(gov: Governance, card: str, version: int) -> list[str]:
    """The report's `decisions` of a version: each approving person and when they decided."""
    entries = [e for e in gov.ledger(card) if e["Kind"] == "decision" and e["Version"] == str(version)]
    return [f"{e['Person']} ({datetime.fromisoformat(e['DecidedAt']).isoformat()})" for e in entries]


def test_report_after_a_lifecycle_flags_each_rule(lifecycle: Governance) -> None:
    gov = lifecycle
    now = datetime.now(UTC) + timedelta(days=15)
    progress: list[str] = []
    report = produce_report(auditor(), settings(), now=now, progress=progress.append)
    data = json.loads(json_text(report))

    pending_since = ledger_time(gov, "churn-222222222222-v3", 2, "PendingReview")
    card = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card"
    package = f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn"
    # The spoke's write is recorded only in the spoke's CloudTrail: the hub cannot name its caller.
    refused = ledger_entry(gov, "churn-222222222222-v3", "approval-refused")
    assert refused["Principal"].startswith("unknown to the hub (no CloudTrail record in the hub account")
    # The person the reviewer session names, then the session that carried the approval.
    reviewer = f"alice@example.com (arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/alice@example.com)"
    assert data["findings"] == [
        {
            "rule": "approved-package-without-approved-card",
            "account": SPOKE,
            "subject": f"{package}/2",
            "message": f"churn v2 in {SPOKE} is Approved; churn-222222222222-v2 v2 is Draft",
        },
        {
            "rule": "deployed-not-approved",
            "account": SPOKE,
            "subject": f"{package}/3",
            "message": f"churn v3 in {SPOKE} is PendingManualApproval; serves churn-canary",
        },
        {
            "rule": "approval-reverted",
            "account": SPOKE,
            "subject": f"{card}/churn-222222222222-v3",
            "message": f"churn-222222222222-v3 v2 set Approved by {refused['Principal']}; "
            f"refused ({refused['Reason']})",
        },
        {
            "rule": "approval-reverted",
            "account": SPOKE,
            "subject": f"{card}/churn-222222222222-v3",
            "message": f"churn-222222222222-v3: package {package}/3 set Approved by hand; reverted "
            "(model card churn-222222222222-v3 is PendingReview)",
        },
        {
            "rule": "version-without-card",
            "account": OTHER_SPOKE,
            "subject": f"arn:aws:sagemaker:us-east-1:{OTHER_SPOKE}:model-package/fraud/1",
            "message": f"fraud v1 in {OTHER_SPOKE} has no card",
        },
        {
            "rule": "approved-without-evidence-pdf",
            "account": SPOKE,
            "subject": f"{card}/churn-222222222222-v4",
            "message": "churn-222222222222-v4 v1 is Approved; the ledger records no PDF of it in the evidence bucket",
        },
        {
            "rule": "review-overdue",
            "account": SPOKE,
            "subject": f"{card}/churn-222222222222-v3",
            "message": f"churn-222222222222-v3 v2 in PendingReview since {pending_since} (15 days)",
        },
    ]
    evidence = "s3://evidence-bucket/evidence"
    assert data["rows"] == [
        row(
            1,
            approval_status="Approved",
            card_version=2,
            card_status="Approved",
            risk_rating="High",
            purpose="Rank customers by churn",
            approved_by=reviewer,
            approved_at=ledger_time(gov, "churn-222222222222-v1", 2, "Approved"),
            approved_card_version=2,
            evidence=[
                f"{evidence}/churn-222222222222-v1/v2/approval.json",
                pdf(gov, "churn-222222222222-v1", 2),
            ],
            endpoints=["churn-prod"],
            decisions=decided(gov, "churn-222222222222-v1", 2),
            missing=[],
        ),
        row(
            2,
            approval_status="Approved",
            card_version=2,
            purpose=ATTACK,
            findings=["approved-package-without-approved-card"],
        ),
        row(
            3,
            card_version=2,
            card_status="PendingReview",
            risk_rating="Medium",
            # Rated Medium, but the model's latest approval (v4's card, unrated: Unknown) is a floor:
            # a version is never reviewed below the model's last approved rating.
            tier="High",
            endpoints=["churn-canary"],
            findings=["deployed-not-approved", "approval-reverted", "review-overdue"],
        ),
        row(
            4,
            approval_status="Approved",
            card_status="Approved",
            approved_by=reviewer,
            approved_at=ledger_time(gov, "churn-222222222222-v4", 1, "Approved"),
            approved_card_version=1,
            # The export wrote its PDF, but the follow-up that records it in the ledger has not run.
            evidence=[
                f"{evidence}/churn-222222222222-v4/v1/approval.json",
                pdf(gov, "churn-222222222222-v4", 1),
            ],
            findings=["approved-without-evidence-pdf"],
            decisions=decided(gov, "churn-222222222222-v4", 1),
            missing=[],
        ),
        row(
            1,
            account=OTHER_SPOKE,
            model_package_group="fraud",
            model_package_arn=f"arn:aws:sagemaker:us-east-1:{OTHER_SPOKE}:model-package/fraud/1",
            card_name="",
            card_arn="",
            card_version=None,
            card_status="",
            risk_rating="",
            findings=["version-without-card"],
            tier="",
            missing=[],
        ),
    ]
    assert data["summary"] == {
        "findings": {
            "approved-package-without-approved-card": 1,
            "deployed-not-approved": 1,
            "approval-reverted": 2,
            "version-without-card": 1,
            "approved-without-evidence-pdf": 1,
            "review-overdue": 1,
        },
        "card_status": {"Approved": 2, "Draft": 1, "PendingReview": 1, "no card": 1},
        "risk_rating": {"High": 1, "Medium": 1, "Unknown": 2, "no card": 1},
        "approval_status": {"Approved": 3, "PendingManualApproval": 2},
        "account": {SPOKE: 4, OTHER_SPOKE: 1},
        "tier": {"High": 4},
        "approval_policy": {"partially approved": 0, "overdue": 0, "suspended": 0},
    }
    assert data["accounts"] == [HUB, SPOKE, OTHER_SPOKE]
    assert f"account {SPOKE}: 1 groups, 4 versions, 2 deployed" in progress

    # The CSV has the same rows; the page shows every finding and every row.
    parsed = list(csv.DictReader(io.StringIO(csv_text(report))))
    assert [(r["account"], r["model_package_group"], r["model_package_version"], r["findings"]) for r in parsed] == [
        (SPOKE, "churn", "1", ""),
        (SPOKE, "churn", "2", "approved-package-without-approved-card"),
        (SPOKE, "churn", "3", "deployed-not-approved approval-reverted review-overdue"),
        (SPOKE, "churn", "4", "approved-without-evidence-pdf"),
        (OTHER_SPOKE, "fraud", "1", "version-without-card"),
    ]
    page = html_page(report)
    assert page.count('<tr class="finding">') == 7
    assert page.count('<tr class="version') == 5


def test_a_review_inside_the_limit_is_not_overdue(lifecycle: Governance) -> None:
    report = produce_report(auditor(), settings(), now=datetime.now(UTC) + timedelta(days=13))
    assert "review-overdue" not in [f.rule for f in report.findings]


def test_approvals_count_only_from_configured_approvers(lifecycle: Governance) -> None:
    report = produce_report(auditor(), settings(approvers=("model-risk-officer",)), now=datetime.now(UTC))
    flagged = {(f.rule, f.subject.rsplit("/", 2)[-2] + "/" + f.subject.rsplit("/", 1)[-1]) for f in report.findings}
    # The reviewer role approved v1 and v4; it is not one of these approvers, so neither counts.
    assert ("approved-package-without-approved-card", "churn/1") in flagged
    assert ("approved-package-without-approved-card", "churn/4") in flagged
    assert report.rows[0].approved_by == ""


def test_an_account_that_cannot_be_read_is_flagged_and_hides_no_other(lifecycle: Governance) -> None:
    """An account with no registry-reader role (its spoke stack is not deployed yet)."""
    unknown = "444444444444"
    report = produce_report(
        auditor(), settings(spoke_accounts=(SPOKE, OTHER_SPOKE, unknown)), now=datetime.now(UTC) + timedelta(days=15)
    )
    [unreadable] = [f for f in report.findings if f.rule == "registry-unreadable"]
    assert (unreadable.account, unreadable.subject) == (unknown, unknown)
    assert unreadable.message.startswith(
        f"cannot read the registry of {unknown}: An error occurred (AccessDenied) when calling the AssumeRole operation"
    )
    assert report.findings[0] == unreadable
    assert [(r.account, r.model_package_version) for r in report.rows] == [
        (SPOKE, 1),
        (SPOKE, 2),
        (SPOKE, 3),
        (SPOKE, 4),
        (OTHER_SPOKE, 1),
    ]


def test_a_changed_ledger_entry_breaks_the_chain(lifecycle: Governance) -> None:
    """Someone with write access to the table (an administrator) rewrites who approved v1."""
    gov = lifecycle
    card_arn = gov.card_arn("churn-222222222222-v1")
    effective = ledger_entry(gov, "churn-222222222222-v1", "approval-effective")
    forged = {**effective, "Caller": f"arn:aws:sts::{HUB}:assumed-role/model-card-governance-reviewer/mallory"}
    gov.dynamodb.put_item(TableName="ledger", Item={k: {"S": v} for k, v in forged.items()})
    try:
        report = produce_report(auditor(), settings(), now=datetime.now(UTC))
    finally:
        gov.dynamodb.put_item(TableName="ledger", Item={k: {"S": v} for k, v in effective.items()})
    [broken] = [f for f in report.findings if f.rule == "ledger-chain-broken"]
    assert (broken.account, broken.subject) == (HUB, card_arn)
    assert broken.message == (
        f"link {int(effective['Seq'])} ({effective['EntryKey']}): the entry's content no longer matches its hash"
    )
    assert report.findings[0] == broken  # listed first
    assert [f.rule for f in produce_report(auditor(), settings(), now=datetime.now(UTC)).findings].count(
        "ledger-chain-broken"
    ) == 0


def test_a_ledger_cut_below_its_anchor_is_reported_truncated(lifecycle: Governance) -> None:
    """An administrator deletes v1's card's newest entries with their links: the chain left
    verifies, the newest anchor the workflow wrote to the evidence bucket is not in it."""
    from card_workflow.anchors import ANCHOR_PREFIX

    gov = lifecycle
    card_arn = gov.card_arn("churn-222222222222-v1")
    query = {"KeyConditionExpression": "CardArn = :a", "ExpressionAttributeValues": {":a": {"S": card_arn}}}
    items = gov.dynamodb.query(TableName="ledger", **query)["Items"]
    listed = gov.s3.list_objects_v2(Bucket="evidence-bucket", Prefix=f"{ANCHOR_PREFIX}churn-222222222222-v1/")
    anchored = int(max(o["Key"] for o in listed["Contents"]).rsplit("/", 1)[-1].removesuffix(".json"))
    links = [i for i in items if i["EntryKey"]["S"] >= f"chain#{anchored:010d}" and i["EntryKey"]["S"] < "chain$"]
    named = {link["Entry"]["S"] for link in links}
    cut = [*links, *(i for i in items if i["EntryKey"]["S"] in named)]
    for item in cut:
        gov.dynamodb.delete_item(TableName="ledger", Key={"CardArn": item["CardArn"], "EntryKey": item["EntryKey"]})
    try:
        report = produce_report(auditor(), settings(), now=datetime.now(UTC))
    finally:
        for item in cut:
            gov.dynamodb.put_item(TableName="ledger", Item=item)
    assert [f.rule for f in report.findings].count("ledger-chain-broken") == 0
    [truncated] = [f for f in report.findings if f.rule == "ledger-truncated"]
    assert (truncated.account, truncated.subject) == (HUB, card_arn)
    [anchored_link] = [i for i in links if i["EntryKey"]["S"] == f"chain#{anchored:010d}"]
    assert truncated.message == (
        f"has {anchored - 1} entries, the evidence bucket anchors entry {anchored} ({anchored_link['Hash']['S']})"
    )
    assert "ledger-truncated" not in [
        f.rule for f in produce_report(auditor(), settings(), now=datetime.now(UTC)).findings
    ]


def test_an_approved_status_counts_only_with_the_workflows_effective_approval(lifecycle: Governance) -> None:
    """The ledger's status entries record what the card said (a spoke's Approved too); only an
    `approval-effective` entry, written after CloudTrail named an approver, makes an approval."""
    gov = lifecycle
    statuses = [e["Status"] for e in gov.ledger("churn-222222222222-v3") if e["Kind"] == "status"]
    assert "Approved" in statuses  # the spoke's attempt is in the ledger...
    report = produce_report(auditor(), settings(), now=datetime.now(UTC))
    [v3] = [r for r in report.rows if r.model_package_version == 3]
    assert (v3.approved_by, v3.approved_card_version, v3.evidence) == ("", None, [])  # ...and counts for nothing


def test_weekly_report_is_published_once_with_a_notice(lifecycle: Governance, monkeypatch: pytest.MonkeyPatch) -> None:
    from governance_report import handler as weekly

    gov = lifecycle
    for name, value in {
        "HUB_ACCOUNT": HUB,
        "LINK_TABLE": "card-links",
        "SPOKE_ACCOUNTS": f"{SPOKE},{OTHER_SPOKE}",
        "REGISTRY_ROLE_NAME": REGISTRY_ROLE,
        "PENDING_REVIEW_DAYS": "14",
    }.items():
        monkeypatch.setenv(name, value)
    now = datetime.now(UTC)
    topic = gov.clients["sns"].list_topics()["Topics"][0]["TopicArn"]
    from emulator.sessions import service_role_session

    # As the function runs: in its own role, which may write only under reports/.
    function = service_role_session(f"arn:aws:iam::{HUB}:role/{REPORT_ROLE}")
    outcome = weekly.publish_report(function, weekly.settings_from_environment(), topic, now)
    prefix = f"reports/{now.date().isoformat()}"
    assert outcome == f"s3://evidence-bucket/{prefix}/: 5 versions, 6 findings"
    keys = sorted(o["Key"] for o in gov.s3.list_objects_v2(Bucket="evidence-bucket", Prefix="reports/")["Contents"])
    assert keys == [f"{prefix}/report.csv", f"{prefix}/report.html", f"{prefix}/report.json"]
    published = json.loads(gov.s3.get_object(Bucket="evidence-bucket", Key=f"{prefix}/report.json")["Body"].read())
    assert [f["rule"] for f in published["findings"]] == [
        "approved-package-without-approved-card",
        "deployed-not-approved",
        "approval-reverted",
        "approval-reverted",
        "version-without-card",
        "approved-without-evidence-pdf",
    ]
    [notice] = gov.notices_received()
    assert notice["Subject"] == "Model card governance report: 6 findings"
    assert f"s3://evidence-bucket/{prefix}/report.html" in notice["Message"]
    assert f"- version-without-card: fraud v1 in {OTHER_SPOKE} has no card" in notice["Message"]

    # The schedule delivered twice: nothing is written again and no second notice goes out.
    again = weekly.publish_report(function, weekly.settings_from_environment(), topic, now)
    assert again == f"s3://evidence-bucket/{prefix}/ already written"
    versions = gov.s3.list_object_versions(Bucket="evidence-bucket", Prefix="reports/").get("Versions", [])
    assert len(versions) == 3
    assert gov.notices_received() == []


def write_config(tmp_path: Path, **report: Any) -> Path:
    raw = json.loads((ROOT / "config" / "local.json").read_text())
    if report:
        raw["report"] = report
    path = tmp_path / "governance.json"
    path.write_text(json.dumps(raw))
    return path


def test_cli_writes_the_three_files_and_shows_progress(
    lifecycle: Governance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "ModelCardGovernanceHub": {
                    "LedgerTableName": "ledger",
                    "CardLinkTableName": "card-links",
                    "EvidenceBucketName": "evidence-bucket",
                }
            }
        )
    )
    config = write_config(tmp_path, pending_review_days=30)
    code = cli.main(
        ["--config", str(config), "--outputs", str(outputs), "--out", str(tmp_path / "out")], session=auditor()
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [str(tmp_path / "out" / n) for n in ("report.html", "report.json", "report.csv")]
    assert f"report: account {SPOKE}: 1 groups, 4 versions, 2 deployed" in err.splitlines()
    assert err.splitlines()[-1] == "report: 5 versions, 6 findings"
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["pending_review_days"] == 30


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--ledger-table", "ledger"], "report error: --link-table: required (or --outputs with the hub stack's"),
        (
            ["--ledger-table", "l", "--link-table", "i", "--account", "12345"],
            "report error: --account: is not a 12-digit AWS account ID (got '12345')",
        ),
        (
            ["--ledger-table", "l", "--link-table", "i", "--pending-review-days", "0"],
            "report error: --pending-review-days: must be 1 to 365 (got 0)",
        ),
        (
            ["--outputs", "missing.json"],
            "report error: --outputs: cannot read missing.json (No such file or directory)",
        ),
    ],
)
def test_cli_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], expected: str
) -> None:
    code = cli.main(["--config", str(write_config(tmp_path)), *arguments], session=object())
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(expected), err


def test_cli_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, weekly="yes")
    assert cli.main(["--config", str(config), "--ledger-table", "l", "--link-table", "i"], session=object()) == 2
    err = capsys.readouterr().err
    assert err == f'report error: {config}: report.weekly: must be true or false (got "yes")\n'


# --- The page in a real browser ----------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1250",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Debian's headless Chromium through its ChromeDriver (scripts/setup installs both)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail("chromium and chromedriver are not installed: run scripts/setup")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def visible_rows(driver: Any) -> list[tuple[str, str]]:
    """(group, version) of each row the reader sees, top to bottom."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
    return [
        (cells[1].text, cells[2].text)
        for cells in (r.find_elements(By.TAG_NAME, "td") for r in rows if r.is_displayed())
    ]


def test_the_page_in_headless_chromium(lifecycle: Governance, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    report = produce_report(auditor(), settings(), now=datetime.now(UTC) + timedelta(days=15))
    page = tmp_path / "report.html"
    page.write_text(html_page(report), encoding="utf-8")
    browser.get(page.as_uri())

    summary = browser.find_element(By.CSS_SELECTOR, "#summary h2")
    assert summary.is_displayed() and summary.text == "Summary: 5 model package versions"
    first_finding = browser.find_element(By.CSS_SELECTOR, "tr.finding")
    assert first_finding.is_displayed()
    assert first_finding.text.startswith("approved-package-without-approved-card 222222222222")
    churn_v1 = browser.find_element(By.CSS_SELECTOR, f'tr[data-arn$="{SPOKE}:model-package/churn/1"]')
    assert churn_v1.is_displayed() and "churn-prod" in churn_v1.text and "High" in churn_v1.text
    # The spoke's markup is on the page as text, and none of it ran.
    assert browser.title.startswith("Model card governance report")
    churn_v2 = browser.find_element(By.CSS_SELECTOR, f'tr[data-arn$="{SPOKE}:model-package/churn/2"]')
    assert ATTACK in churn_v2.text

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if target := os.environ.get("REPORT_SCREENSHOT_TO"):
        Path(target).write_bytes(shot.read_bytes())

    start = [("churn", "1"), ("churn", "2"), ("churn", "3"), ("churn", "4"), ("fraud", "1")]
    assert visible_rows(browser) == start
    version = browser.find_element(By.XPATH, "//table[@id='versions']//th[3]/button")
    version.click()
    assert visible_rows(browser) == [("churn", "1"), ("fraud", "1"), ("churn", "2"), ("churn", "3"), ("churn", "4")]
    version.click()
    assert visible_rows(browser) == [("churn", "4"), ("churn", "3"), ("churn", "2"), ("fraud", "1"), ("churn", "1")]
    group = browser.find_element(By.XPATH, "//table[@id='versions']//th[2]/button")
    group.click()
    group.click()
    assert [g for g, _ in visible_rows(browser)] == ["fraud", "churn", "churn", "churn", "churn"]

    search = browser.find_element(By.ID, "filter")
    search.send_keys("churn-canary")
    assert visible_rows(browser) == [("churn", "3")]
    assert browser.find_element(By.ID, "shown").text == "1 of 5 shown"
    search.clear()
    search.send_keys(" ")  # an input event with no words: every row again
    assert len(visible_rows(browser)) == 5
    browser.find_element(By.ID, "flagged-only").click()
    assert sorted(visible_rows(browser)) == [("churn", "2"), ("churn", "3"), ("churn", "4"), ("fraud", "1")]
    browser.find_element(By.ID, "flagged-only").click()


def test_spokes_cannot_use_the_report_roles_and_the_auditor_changes_nothing(lifecycle: Governance) -> None:
    from botocore.exceptions import ClientError

    from emulator.sessions import role_session

    other_spoke = session_for(OTHER_SPOKE)
    # A spoke's administrator tries another spoke's registry reader, and the hub's auditor role.
    for account, role in ((SPOKE, REGISTRY_ROLE), (HUB, AUDITOR_ROLE)):
        with pytest.raises(ClientError, match="AccessDenied"):
            role_session(account, role, via=other_spoke)
    # Even the hub's own administrator is not a report principal of a spoke.
    with pytest.raises(ClientError, match="AccessDenied"):
        role_session(SPOKE, REGISTRY_ROLE, via=session_for(HUB))
    before = lifecycle.ledger("churn-222222222222-v1")
    hub_reader = auditor()
    with pytest.raises(ClientError, match="AccessDenied"):
        hub_reader.client("dynamodb").put_item(
            TableName="ledger", Item={"CardArn": {"S": "x"}, "EntryKey": {"S": "forged"}}
        )
    with pytest.raises(ClientError, match="AccessDenied"):
        hub_reader.client("sagemaker").update_model_card(
            ModelCardName="churn-222222222222-v3", ModelCardStatus="Approved"
        )
    reader = role_session(SPOKE, REGISTRY_ROLE, via=hub_reader)
    with pytest.raises(ClientError, match="AccessDenied"):
        reader.client("sagemaker").update_model_package(
            ModelPackageArn=f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn/3", ModelApprovalStatus="Approved"
        )
    assert lifecycle.ledger("churn-222222222222-v1") == before
    packages = lifecycle.spoke.client("sagemaker").list_model_packages(ModelPackageGroupName="churn")
    assert [p["ModelApprovalStatus"] for p in packages["ModelPackageSummaryList"]] == [
        "Approved",
        "Approved",
        "PendingManualApproval",
        "Approved",
    ]
