"""Attacks by spoke principals on the hub as the synthesized templates deploy it (config/local.json):
every resource, policy and role comes from the templates, the emulator evaluates IAM, bucket and
key policies, and the hub's functions run with their own roles.

Spoke 222222222222 may edit and export its own cards; spoke 333333333333 only reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sandbox.provision import Deployed
from sandbox.run import Sandbox
from tests.test_sandbox import endpoint  # noqa: F401 - a fixture shared with the local run (local_assembly is in conftest)

EDITOR, READER = "222222222222", "333333333333"


@pytest.fixture
def deployed(local_assembly: Path, endpoint: str) -> Sandbox:  # noqa: F811
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return Sandbox(local_assembly, endpoint, out=lambda line: None)


def card_user(sandbox: Sandbox, account: str) -> Deployed:
    """A person in `account` working through the spoke stack's role for shared cards."""
    from emulator.sessions import role_session

    spoke = next(s for s in sandbox.spokes.values() if s.account == account)
    role = next(logical_id for logical_id, p in spoke.resources("AWS::IAM::Role") if "ManagedPolicyArns" in p)
    session = role_session(account, spoke.refs[role], sandbox.endpoint)
    return Deployed(spoke.stack, account, session, sandbox.endpoint, spoke.template)


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
