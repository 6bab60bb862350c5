"""Attacks by spoke principals and hub insiders on the hub as the synthesized templates deploy it
(config/local.json): every resource, policy and role comes from the templates, the emulator
evaluates IAM, bucket, queue and key policies, and the hub's functions run with their own roles.

Spoke 222222222222 may edit and export its own cards; spoke 333333333333 only reads. A hub developer
holds a policy like AWS's PowerUserAccess (everything but IAM, Organizations and Account).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from emulator.sessions import account_trust
from sandbox.provision import Deployed, Function
from sandbox.run import Sandbox, sandbox_for
from tests.test_sandbox import endpoint  # noqa: F401 - a fixture shared with the local run (local_assembly is in conftest)

EDITOR, READER = "222222222222", "333333333333"


@pytest.fixture
def deployed(local_assembly: Path, endpoint: str) -> Sandbox:  # noqa: F811
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return Sandbox(local_assembly, endpoint, out=lambda line: None)


@pytest.fixture
def deployed_in_organization(synthesized: Any, example_config: Any, endpoint: str) -> Sandbox:  # noqa: F811
    """config/example.json deployed: its spokes in an organization, so the card key has `*` statements."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return sandbox_for(Path(synthesized.directory), endpoint, example_config, out=lambda line: None)


def card_user(sandbox: Sandbox, account: str) -> Deployed:
    """A person in `account` working through the spoke stack's role for shared cards."""
    from emulator.sessions import role_session

    spoke = next(s for s in sandbox.spokes.values() if s.account == account)
    role = next(logical_id for logical_id, p in spoke.resources("AWS::IAM::Role") if "ManagedPolicyArns" in p)
    session = role_session(account, spoke.refs[role], sandbox.endpoint)
    return Deployed(spoke.stack, account, session, sandbox.endpoint, spoke.template)


# AWS's PowerUserAccess allows every action but IAM, Organizations and Account ("NotAction"), so it
# leaves SQS, DynamoDB, KMS, Lambda and sts:AssumeRole in (AWS managed policy reference).
POWER_USER_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}],
}


def hub_developer(sandbox: Sandbox) -> boto3.Session:
    """A person in the hub with PowerUserAccess, in a role the hub's administrator made for them."""
    from emulator.sessions import role_session

    account = sandbox.hub.account
    trust = account_trust(account)
    iam = sandbox.hub.client("iam")
    iam.create_role(RoleName="developer", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="developer", PolicyName="PowerUserAccess", PolicyDocument=json.dumps(POWER_USER_ACCESS)
    )
    return role_session(account, "developer", sandbox.endpoint, session_name="dev")


def workflow_function(sandbox: Sandbox, entry: str = "handler") -> Function:
    return next(f for f in sandbox.hub.functions.values() if f.handler == f"card_workflow.handler.{entry}")


def bucket_of(hub: Deployed, name_part: str) -> str:
    return next(hub.refs[i] for i, p in hub.resources("AWS::S3::Bucket") if name_part in p.get("BucketName", ""))


def refused(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    code: str = error.value.response["Error"]["Code"]
    return code


def test_a_spoke_cannot_write_the_evidence_bucket_and_exports_only_under_its_own_account(
    deployed: Sandbox,
) -> None:
    evidence, exports = bucket_of(deployed.hub, "-evidence-"), bucket_of(deployed.hub, "-exports-")
    s3 = card_user(deployed, EDITOR).client("s3")
    assert refused(lambda: s3.put_object(Bucket=evidence, Key="exports/forged.pdf", Body=b"x")) == "AccessDenied"
    assert refused(lambda: s3.put_object(Bucket=evidence, Key="evidence/x/v1/approval.json", Body=b"{}")) == (
        "AccessDenied"
    )
    # Not even the hub's administrator writes evidence: only the approval workflow's role does.
    hub_admin = deployed.hub.client("s3")
    assert refused(lambda: hub_admin.put_object(Bucket=evidence, Key="evidence/x/v1/a.json", Body=b"{}")) == (
        "AccessDenied"
    )
    assert deployed.hub.client("s3").list_objects_v2(Bucket=evidence).get("KeyCount", 0) == 0

    s3.put_object(Bucket=exports, Key=f"exports/{EDITOR}/churn.pdf", Body=b"%PDF-1.4")
    assert s3.get_object(Bucket=exports, Key=f"exports/{EDITOR}/churn.pdf")["Body"].read() == b"%PDF-1.4"
    assert refused(lambda: s3.put_object(Bucket=exports, Key=f"exports/{READER}/x.pdf", Body=b"x")) == "AccessDenied"
    reader = card_user(deployed, READER).client("s3")
    assert refused(lambda: reader.put_object(Bucket=exports, Key=f"exports/{READER}/x.pdf", Body=b"x")) == (
        "AccessDenied"
    )


def test_spokes_edit_only_their_own_cards_through_the_deployed_policies(deployed: Sandbox) -> None:
    deployed.register(1)  # the editing spoke registers customer-churn v1
    deployed.pump()
    own = deployed.card_of(1)
    own_arn = f"arn:aws:sagemaker:us-east-1:{deployed.hub.account}:model-card/{own}"
    template = "arn:aws:sagemaker:us-east-1:111111111111:model-card/customer-churn"
    editor = card_user(deployed, EDITOR).client("sagemaker")
    reader = card_user(deployed, READER).client("sagemaker")

    content = json.loads(editor.describe_model_card(ModelCardName=own_arn)["Content"])
    content["business_details"] = {"business_problem": "Edited by its owner"}
    editor.update_model_card(ModelCardName=own_arn, Content=json.dumps(content))
    assert deployed.content(own)["business_details"]["business_problem"] == "Edited by its owner"

    before = {
        arn: deployed.hub.client("sagemaker").describe_model_card(ModelCardName=arn) for arn in (own_arn, template)
    }
    for client, arn in ((reader, own_arn), (reader, template), (editor, template)):
        assert client.describe_model_card(ModelCardName=arn)["ModelCardArn"] == arn
        assert refused(lambda c=client, a=arn: c.update_model_card(ModelCardName=a, Content="{}")) == (
            "AccessDeniedException"
        )
        assert refused(lambda c=client, a=arn: c.update_model_card(ModelCardName=a, ModelCardStatus="Approved")) == (
            "AccessDeniedException"
        )
    after = {arn: deployed.hub.client("sagemaker").describe_model_card(ModelCardName=arn) for arn in before}
    for arn in before:
        assert (after[arn]["ModelCardVersion"], after[arn]["ModelCardStatus"]) == (
            before[arn]["ModelCardVersion"],
            before[arn]["ModelCardStatus"],
        )


def test_the_governance_bus_refuses_what_a_spoke_makes_up(deployed: Sandbox) -> None:
    bus = next(deployed.hub.attrs[(i, "Arn")] for i, _ in deployed.hub.resources("AWS::Events::EventBus"))
    spoke = next(s for s in deployed.spokes.values() if s.account == EDITOR)
    entry = {
        "EventBusName": bus,
        "Source": "com.example.registry",
        "DetailType": "SageMaker Model Package State Change",
        "Detail": json.dumps({"ModelPackageGroupName": "churn", "ModelPackageVersion": 1}),
    }
    events = spoke.client("events")
    assert refused(lambda: events.put_events(Entries=[entry])) == "AccessDeniedException"
    other_type = {**entry, "DetailType": "Anything Else"}
    assert refused(lambda: events.put_events(Entries=[other_type])) == "AccessDeniedException"


def test_a_hub_developer_cannot_feed_the_workflow_and_a_hint_approves_nothing(deployed: Sandbox) -> None:
    from emulator.sessions import service_role_session

    deployed.step_register_v1()
    deployed.step_review()
    deployed.step_approve()  # card A: reviewed and approved by the reviewer role
    deployed.step_register_v2()  # card B: a Draft nobody approved
    card_a, card_b = deployed.card_of(1), deployed.card_of(2)
    workflow = workflow_function(deployed)
    recheck, follow_up = workflow.environment["RECHECK_QUEUE_URL"], workflow.environment["FOLLOW_UP_QUEUE_URL"]
    arn_b = f"arn:aws:sagemaker:us-east-1:{deployed.hub.account}:model-card/{card_b}"
    approval_a = next(e for e in deployed.ledger(card_a) if e["Kind"] == "status" and e["Status"] == "Approved")
    # The forged events of the reported attack: card A's approved change, naming card B's ARN.
    forged = [
        {
            "id": f"forged-{status}",
            "detail-type": "SageMaker Model Card State Change",
            "source": "aws.sagemaker",
            "account": deployed.hub.account,
            "region": "us-east-1",
            "resources": [arn_b],
            "detail": {
                "ModelCardName": card_a,
                "ModelCardVersion": 1,
                "ModelCardStatus": status,
                "LastModifiedTime": modified_at,
            },
        }
        for status, modified_at in (("PendingReview", "2020-01-01T00:00:00Z"), ("Approved", approval_a["ModifiedAt"]))
    ]
    ledger_b = deployed.ledger(card_b)

    developer = hub_developer(deployed).client("sqs", endpoint_url=deployed.endpoint)
    for url in (recheck, follow_up):
        for body in ({"event": forged[1]}, {"card_name": card_b}):
            assert refused(lambda u=url, b=body: developer.send_message(QueueUrl=u, MessageBody=json.dumps(b))) == (
                "AccessDenied"
            )

    # Even what the workflow's own role puts there, or a direct Invoke with made-up events, is a
    # hint: card B is not Approved in SageMaker, and its ledger records no approval to recheck.
    own = service_role_session(workflow.role_arn).client("sqs", endpoint_url=deployed.endpoint)
    for body in (
        {"card_name": card_b},
        {"event": forged[1]},
        {"event": {**forged[1], "detail": {"ModelCardName": card_b}}},
    ):
        own.send_message(QueueUrl=recheck, MessageBody=json.dumps(body))
    for event in forged:
        deployed.invoke(workflow, event)
    deployed.pump()

    kinds_b = [e["Kind"] for e in deployed.ledger(card_b)]
    assert deployed.ledger(card_b) == ledger_b and "approval-effective" not in kinds_b
    assert deployed.card(card_b)["ModelCardStatus"] == "Draft"  # type: ignore[index]
    assert deployed.package_status(deployed.package_v2) == "PendingManualApproval"


def test_a_hub_developer_cannot_write_the_ledger_or_lift_its_policy(deployed: Sandbox) -> None:
    from card_workflow.ledger import append_entry

    deployed.step_register_v1()
    card = deployed.card_of(1)
    card_arn = f"arn:aws:sagemaker:us-east-1:{deployed.hub.account}:model-card/{card}"
    table_id = next(i for i, p in deployed.hub.resources("AWS::DynamoDB::Table") if len(p["KeySchema"]) == 2)
    table, table_arn = deployed.hub.refs[table_id], deployed.hub.attrs[(table_id, "Arn")]
    before = deployed.ledger(card)
    dynamodb = hub_developer(deployed).client("dynamodb", endpoint_url=deployed.endpoint)
    # The ledger's own code appends a correctly chained item (a transaction of a Put and the head).
    approval = {"Kind": "approval-effective", "Version": "1", "Principal": "arn:aws:iam::111111111111:role/x"}
    item = {"CardArn": {"S": card_arn}, "EntryKey": {"S": "00000001#forged"}, "Kind": {"S": "approval-effective"}}
    attempts = [
        lambda: append_entry(dynamodb, table, card_arn, "00000001#forged#approval-effective", approval),
        lambda: dynamodb.put_item(TableName=table, Item=item),
        lambda: dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]}),
        lambda: dynamodb.delete_item(
            TableName=table, Key={"CardArn": {"S": card_arn}, "EntryKey": {"S": before[0]["EntryKey"]}}
        ),
        lambda: dynamodb.delete_resource_policy(ResourceArn=table_arn),
        lambda: dynamodb.put_resource_policy(ResourceArn=table_arn, Policy=json.dumps(POWER_USER_ACCESS)),
    ]
    for attempt in attempts:
        assert refused(attempt) == "AccessDeniedException"
    assert deployed.ledger(card) == before
    # The workflow itself still appends (the approval in step_approve goes through the ledger).
    deployed.step_review()
    deployed.step_approve()


def test_an_edit_export_spoke_cannot_squat_or_swap_the_evidence_pdf(deployed: Sandbox) -> None:
    """Export job names were derivable (`approved-v<N>-<16 hex of sha256(card)>`): the spoke took
    the name first, the workflow met ConflictException, followed the spoke's job and recorded its
    v1 PDF in the spoke's exports prefix. The spoke, allowed CreateModelCardExportJob on its own
    cards by its RAM permission, now takes every name it can derive before the approval, and starts
    jobs on the card while it is being approved (whose events reach the hub's bus: the jobs are the
    hub's); the approved version's PDF still lands in the evidence bucket, and the ledger records
    exactly that PDF."""
    import hashlib

    deployed.step_register_v1()
    deployed.step_review()  # the card is at v2, PendingReview
    card = deployed.card_of(1)
    card_arn = f"arn:aws:sagemaker:us-east-1:{deployed.hub.account}:model-card/{card}"
    evidence, exports = bucket_of(deployed.hub, "-evidence-"), bucket_of(deployed.hub, "-exports-")
    spoke = card_user(deployed, EDITOR).client("sagemaker")
    digest = hashlib.sha256(card.encode()).hexdigest()
    derivable = [f"approved-v{n}-{digest[:width]}" for n in (1, 2, 3) for width in (8, 16, 32)]
    derivable += [f"approved-v{n}" for n in (1, 2, 3)]
    own_prefix = f"s3://{exports}/exports/{EDITOR}"

    def export(name: str, version: int) -> str:
        arn: str = spoke.create_model_card_export_job(
            ModelCardName=card_arn,
            ModelCardVersion=version,
            ModelCardExportJobName=name,
            OutputConfig={"S3OutputPath": own_prefix},
        )["ModelCardExportJobArn"]
        return arn

    squatted = [export(name, 1) for name in derivable]
    status, answer = deployed.decide(card, deployed.current_version(card), "Reviewed")  # the reviewer's decision
    assert status == 200, answer
    during = [export(f"during-approval-v{version}", version) for version in (1, 2)]
    deployed.pump()

    ledger = deployed.ledger(card)
    [job] = [e for e in ledger if e["Kind"] == "export-job"]
    [pdf] = [e for e in ledger if e["Kind"] == "evidence-pdf"]
    assert job["JobArn"] not in squatted + during
    assert job["JobArn"].rsplit("/", 1)[-1].startswith("approved-v2-") and job["Version"] == "2"
    assert (pdf["JobArn"], pdf["Version"], pdf["Via"]) == (job["JobArn"], "2", "event")
    assert [e["Kind"] for e in ledger if e["Kind"].startswith("evidence-") and e["Kind"] != "evidence-pdf"] == []
    listed = deployed.hub.client("s3").list_objects_v2(Bucket=evidence, Prefix=f"evidence/{card}/")
    pdfs = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".pdf")]
    assert [f"s3://{evidence}/{key}" for key in pdfs] == [pdf["Detail"]]
    assert pdfs[0].startswith(f"evidence/{card}/v2/")
    described = deployed.hub.client("sagemaker").describe_model_card_export_job(ModelCardExportJobArn=pdf["JobArn"])
    assert (described["ModelCardVersion"], described["Status"]) == (2, "Completed")
    # The spoke's jobs ran into its own exports prefix, and the hub sees each attempt: the jobs on
    # its cards are its own, listed beside the workflow's.
    hub_jobs = deployed.hub.client("sagemaker").list_model_card_export_jobs(ModelCardName=card)
    arns = {j["ModelCardExportJobArn"] for j in hub_jobs["ModelCardExportJobSummaries"]}
    assert arns == {*squatted, *during, job["JobArn"]}
    mine = deployed.hub.client("s3").list_objects_v2(Bucket=exports, Prefix=f"exports/{EDITOR}/")
    assert mine.get("KeyCount") == len(squatted) + len(during)


def test_a_hub_principal_without_a_key_grant_cannot_read_cards_through_the_organization_statements(
    deployed_in_organization: Sandbox,
) -> None:
    from emulator.sessions import role_session

    sandbox = deployed_in_organization
    sandbox.step_register_v1()
    hub, card = sandbox.hub, sandbox.card_of(1)
    card_arn = f"arn:aws:sagemaker:us-east-1:{hub.account}:model-card/{card}"
    trust = account_trust(hub.account)
    describe_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:DescribeModelCard", "Resource": card_arn}],
    }
    iam = hub.client("iam")
    iam.create_role(RoleName="card-browser", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="card-browser", PolicyName="describe", PolicyDocument=json.dumps(describe_only))
    browser = role_session(hub.account, "card-browser", sandbox.endpoint).client(
        "sagemaker", endpoint_url=sandbox.endpoint
    )
    # SageMaker decrypts the content for its caller; the organization statements exclude the hub.
    assert refused(lambda: browser.describe_model_card(ModelCardName=card_arn)) == "AccessDeniedException"

    # The key policy as it was: the organization statements alone let every hub principal decrypt.
    [key_id] = [hub.refs[i] for i, _ in hub.resources("AWS::KMS::Key")]
    kms = hub.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    for statement in policy["Statement"]:
        statement.get("Condition", {}).pop("StringNotEquals", None)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    assert browser.describe_model_card(ModelCardName=card_arn)["ModelCardArn"] == card_arn


def test_only_configured_reviewers_naming_themselves_assume_the_reviewer_role(deployed: Sandbox) -> None:
    from emulator.sessions import assume, role_session
    from sandbox.personas import REVIEWER_PERSON_PATH, REVIEWER_PERSON_ROLE

    reviewer_role = deployed.reviewer_role
    developer = hub_developer(deployed)
    for extra in ({}, {"SourceIdentity": "dev@example.com"}):
        assert refused(lambda e=extra: assume(developer, reviewer_role, deployed.endpoint, **e)) == "AccessDenied"
    person = role_session(deployed.hub.account, REVIEWER_PERSON_PATH[1:] + REVIEWER_PERSON_ROLE, deployed.endpoint)
    assert refused(lambda: assume(person, reviewer_role, deployed.endpoint)) == "AccessDenied"
    # The session must be named after the person it names (the decision endpoint reads the name).
    assert (
        refused(lambda: assume(person, reviewer_role, deployed.endpoint, SourceIdentity="ana@example.com"))
        == "AccessDenied"
    )
    reviewer = assume(
        person, reviewer_role, deployed.endpoint, session_name="ana@example.com", SourceIdentity="ana@example.com"
    )
    identity = reviewer.client("sts", endpoint_url=deployed.endpoint).get_caller_identity()
    assert identity["Arn"].startswith(
        f"arn:aws:sts::{deployed.hub.account}:assumed-role/{reviewer_role.split('/')[-1]}/"
    )


def test_a_hub_developer_deleting_a_card_costs_later_versions_nothing(
    deployed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A PowerUserAccess developer may delete a card (DeleteModelCard is theirs by IAM): the next
    version still gets its card, cloned from the highest earlier card that exists, and the deleted
    one is named in the auto-linker's log (the governance report shows its version without a card)."""
    deployed.step_register_v1()
    deployed.step_review()  # v1's card is at version 2, with the spoke's business details
    developer = hub_developer(deployed).client("sagemaker", endpoint_url=deployed.endpoint)
    deployed.register(2)
    deployed.pump()
    developer.delete_model_card(ModelCardName=deployed.card_of(2))
    deployed.register(3)
    outcomes = deployed.pump()
    linked = [json.loads(o.split(": ", 1)[1]) for o in outcomes if o.startswith("auto_link")]
    assert linked == [{"action": "created", "card": deployed.card_of(3), "source": deployed.card_of(1)}]
    warned = [json.loads(r.getMessage()) for r in caplog.records if "clone_sources_deleted" in r.getMessage()]
    assert [w["clone_sources_deleted"] for w in warned] == [[deployed.card_of(2)]]
    v3 = json.loads(deployed.hub.client("sagemaker").describe_model_card(ModelCardName=deployed.card_of(3))["Content"])
    assert v3["model_package_details"]["model_package_arn"].endswith("/customer-churn/3")
    assert (
        v3["business_details"]
        == json.loads(
            deployed.hub.client("sagemaker").describe_model_card(ModelCardName=deployed.card_of(1))["Content"]
        )["business_details"]
    )


def auditor_verifies(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`scripts/verify-ledger --bucket` as the hub stack's auditor role: its exit code and lines."""
    from card_workflow import verify_ledger

    from emulator.sessions import role_session

    hub = sandbox.hub
    auditor_role = next(p["RoleName"] for _, p in hub.resources("AWS::IAM::Role") if "auditor" in p.get("RoleName", ""))
    auditor = role_session(hub.account, auditor_role, sandbox.endpoint)
    table_id = next(i for i, p in hub.resources("AWS::DynamoDB::Table") if len(p["KeySchema"]) == 2)
    argv = ["--table", hub.refs[table_id], "--bucket", bucket_of(hub, "-evidence-"), "--region", "us-east-1"]
    capsys.readouterr()
    code = verify_ledger.main(
        argv,
        dynamodb=auditor.client("dynamodb", endpoint_url=sandbox.endpoint),
        s3=auditor.client("s3", endpoint_url=sandbox.endpoint),
    )
    return code, capsys.readouterr().out.splitlines()


def test_a_hub_administrator_who_lifts_the_ledger_policy_and_truncates_chains_is_caught_by_the_anchors(
    deployed: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Break glass: the administrator deploys the ledger's policy without its write deny (the
    CloudFormation execution role's PutResourcePolicy), then deletes a card's newest items, and
    another card's whole chain. The chains left still verify; the anchors the workflow wrote to the
    evidence bucket, which Object Lock keeps from the administrator too, do not match them."""
    from card_workflow.anchors import ANCHOR_PREFIX

    from emulator.sessions import role_session

    deployed.step_register_v1()
    deployed.step_review()
    deployed.step_approve()  # card 1: registered, reviewed, approved: a long chain
    deployed.step_register_v2()  # card 2: a Draft with a short chain
    cut_card, gone_card = deployed.card_of(1), deployed.card_of(2)
    hub, account = deployed.hub, deployed.hub.account
    assert auditor_verifies(deployed, capsys) == (
        0,
        [
            f"2 cards, {len(deployed.ledger(cut_card)) + len(deployed.ledger(gone_card))} entries: "
            "0 broken chains, 2 anchored, 0 truncated"
        ],
    )

    # The deployer's role, as a bootstrapped account has it; the administrator deploys through it.
    deployer = f"cdk-hnb659fds-cfn-exec-role-{account}-us-east-1"
    trust = account_trust(account)
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    hub.client("iam").create_role(RoleName=deployer, AssumeRolePolicyDocument=json.dumps(trust))
    hub.client("iam").put_role_policy(RoleName=deployer, PolicyName="admin", PolicyDocument=json.dumps(everything))
    table_id = next(i for i, p in hub.resources("AWS::DynamoDB::Table") if len(p["KeySchema"]) == 2)
    table, table_arn = hub.refs[table_id], hub.attrs[(table_id, "Arn")]
    lifted = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "dynamodb:*",
                "Resource": table_arn,
            }
        ],
    }
    deploy = role_session(account, deployer, deployed.endpoint).client("dynamodb", endpoint_url=deployed.endpoint)
    deploy.put_resource_policy(ResourceArn=table_arn, Policy=json.dumps(lifted))

    dynamodb = hub.client("dynamodb")

    def delete(card: str, keep: int) -> int:
        """Delete all but the first `keep` entries of the card (and their links); the entries left."""
        card_arn = f"arn:aws:sagemaker:us-east-1:{account}:model-card/{card}"
        entries = deployed.ledger(card)
        for entry in entries[keep:]:
            for key in (entry["EntryKey"], f"chain#{entry['Seq']}"):
                dynamodb.delete_item(TableName=table, Key={"CardArn": {"S": card_arn}, "EntryKey": {"S": key}})
        return len(entries[:keep])

    # The newest anchor may lag the head by the export follower's entries (anchors.py).
    listed = hub.client("s3").list_objects_v2(Bucket=bucket_of(hub, "-evidence-"), Prefix=f"{ANCHOR_PREFIX}{cut_card}/")
    anchored = int(max(o["Key"] for o in listed["Contents"]).rsplit("/", 1)[-1].removesuffix(".json"))
    assert len(deployed.ledger(cut_card)) - 1 <= anchored <= len(deployed.ledger(cut_card))
    left = delete(cut_card, 3)
    delete(gone_card, 0)
    code, lines = auditor_verifies(deployed, capsys)
    assert code == 1
    arn = f"arn:aws:sagemaker:us-east-1:{account}:model-card/"
    truncated = [line for line in lines if line.startswith("truncated: ")]
    assert len(truncated) == 2, lines
    assert [
        t
        for t in truncated
        if t.startswith(
            f"truncated: {arn}{cut_card} has {left} entries, the evidence bucket anchors entry {anchored} ("
        )
    ]
    assert [
        t
        for t in truncated
        if t.startswith(f"truncated: {arn}{gone_card} has 0 entries,") and t.endswith("the whole chain was deleted")
    ]
    assert lines[-1] == f"1 cards, {left} entries: 0 broken chains, 2 anchored, 2 truncated"

    # The anchors stay: the administrator can neither overwrite nor delete a version of them.
    evidence = bucket_of(hub, "-evidence-")
    s3 = hub.client("s3")
    versions = s3.list_object_versions(Bucket=evidence, Prefix=ANCHOR_PREFIX)["Versions"]
    newest = max(versions, key=lambda v: v["Key"])
    assert refused(lambda: s3.put_object(Bucket=evidence, Key=newest["Key"], Body=b"{}")) == "AccessDenied"
    assert refused(lambda: s3.delete_object(Bucket=evidence, Key=newest["Key"], VersionId=newest["VersionId"])) == (
        "AccessDenied"
    )
    # A delete marker hides every anchor from a plain listing; the versions are still read.
    for version in versions:
        s3.delete_object(Bucket=evidence, Key=version["Key"])
    assert s3.list_objects_v2(Bucket=evidence, Prefix=ANCHOR_PREFIX).get("KeyCount", 0) == 0
    assert auditor_verifies(deployed, capsys) == (code, lines)


def test_only_an_approver_decides_through_the_deployed_decision_endpoint(deployed: Sandbox) -> None:
    """The function URL as the hub template deploys it: a spoke principal is refused by Lambda (its
    resource policy names only the reviewer role), a hub developer with PowerUserAccess reaches the
    function (its identity policy suffices in the hub account) and is refused by it, recorded."""
    from card_workflow.review_cli import signed

    from emulator import function_urls

    deployed.step_register_v1()
    deployed.step_review()  # the card is at v2, PendingReview
    card = deployed.card_of(1)
    (decisions,) = deployed.function_urls.values()
    url = "https://decisions.lambda-url.us-east-1.on.aws/"
    payload = {"card": card, "version": 2, "decision": "approve", "comment": "mine"}

    def call(session: Any) -> tuple[int, Any]:
        headers, body = signed(session, url, "us-east-1", payload)
        status, _, answer = function_urls.invoke(decisions, "POST", url, headers, body)
        return status, json.loads(answer)

    assert call(card_user(deployed, EDITOR).session) == (403, {"Message": "Forbidden"})
    status, answer = call(hub_developer(deployed))
    assert (status, answer["reason"]) == (403, f"arn:aws:iam::{deployed.hub.account}:role/developer is not an approver")
    [refusal] = [e for e in deployed.ledger(card) if e["Kind"] == "decision-refused"]
    assert refusal["Caller"] == f"arn:aws:sts::{deployed.hub.account}:assumed-role/developer/dev"
    assert deployed.hub.client("sagemaker").describe_model_card(ModelCardName=card)["ModelCardStatus"] == (
        "PendingReview"
    )
    assert [e for e in deployed.ledger(card) if e["Kind"] == "decision"] == []
