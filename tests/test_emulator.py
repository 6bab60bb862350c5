"""The emulator's contract: each test is what AWS does, called exactly as product code calls it.

If a later moto release does one of these by itself, its extension is removed and the test stays.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts import session_for
from tests.conftest import load_event

HUB = "111111111111"
SPOKE = "222222222222"
OTHER = "444444444444"
EDIT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"
EXPORT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCardsAllowExport"
CONTENT = {"model_overview": {"model_owner": "churn-team", "problem_type": "churn"}}
INFERENCE = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = caught.value.response["Error"]["Code"]
    return code


def capture_default_bus(session: Any) -> tuple[Any, str]:
    """A rule on the account's default bus sending every SageMaker event to a queue."""
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="sagemaker-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = session.client("events")
    events.put_rule(Name="all-sagemaker", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="all-sagemaker", Targets=[{"Id": "q", "Arn": arn}])
    return sqs, url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return found


def create_card(sagemaker: Any, name: str = "churn", status: str = "Draft") -> str:
    arn: str = sagemaker.create_model_card(ModelCardName=name, Content=json.dumps(CONTENT), ModelCardStatus=status)[
        "ModelCardArn"
    ]
    return arn


def share_card(hub: Any, card_arn: str, permission: str, principal: str = SPOKE, accept: bool = True) -> str:
    share: str = hub.client("ram").create_resource_share(
        name="cards", principals=[principal], resourceArns=[card_arn], permissionArns=[permission]
    )["resourceShare"]["resourceShareArn"]
    if accept:
        ram = session_for(principal).client("ram")
        for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
            ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    return share


# 1. SageMaker emits its state change events -----------------------------------------------------


def test_card_create_and_update_emit_model_card_state_change(aws: None) -> None:
    hub = session_for(HUB)
    sqs, url = capture_default_bus(hub)
    sagemaker = hub.client("sagemaker")
    arn = create_card(sagemaker)
    sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="PendingReview")
    sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps({"model_overview": {"model_owner": "b"}}))
    events = drain(sqs, url)
    sample = load_event("model-card-state-change")
    assert [e["detail-type"] for e in events] == ["SageMaker Model Card State Change"] * 3
    for event in events:
        assert set(sample) - {"id", "time", "version"} <= set(event)
        assert set(sample["detail"]) <= set(event["detail"]), set(sample["detail"]) - set(event["detail"])
        assert event["resources"] == [arn]
        assert event["account"] == HUB
        # The sample names a Studio user profile; an IAM caller outside Studio has none, and a card
        # carries no IamIdentity (tests/test_emulator_contracts.py).
        assert event["detail"]["LastModifiedBy"] == {}
    assert [(e["detail"]["ModelCardVersion"], e["detail"]["ModelCardStatus"]) for e in events] == [
        (1, "Draft"),
        (1, "PendingReview"),
        (2, "PendingReview"),
    ]


def test_package_create_and_update_emit_model_package_state_change(aws: None) -> None:
    hub = session_for(HUB)
    sqs, url = capture_default_bus(hub)
    sagemaker = hub.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    sample = load_event("model-package-state-change")["detail"]
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification=INFERENCE,
        ModelApprovalStatus="PendingManualApproval",
        MetadataProperties=sample["MetadataProperties"],
        ModelMetrics=sample["ModelMetrics"],
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    created, updated = drain(sqs, url)
    assert created["detail-type"] == updated["detail-type"] == "SageMaker Model Package State Change"
    # Every field of AWS's sample except ModelLifeCycle (the package has none) and, on creation,
    # UpdatedModelPackageFields.
    expected = set(sample) - {"ModelLifeCycle", "UpdatedModelPackageFields"}
    assert expected <= set(created["detail"]), expected - set(created["detail"])
    assert "UpdatedModelPackageFields" not in created["detail"]
    assert created["detail"]["ModelPackageVersion"] == 1
    assert created["detail"]["ModelPackageArn"] == arn
    assert updated["detail"]["UpdatedModelPackageFields"] == ["ModelApprovalStatus"]
    assert updated["detail"]["ModelApprovalStatus"] == "Approved"


# 2. Model cards: ARN as name, update semantics, validation ------------------------------------------


def test_card_arn_is_accepted_where_aws_takes_name_or_arn(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    arn = create_card(sagemaker)
    assert sagemaker.describe_model_card(ModelCardName=arn)["ModelCardName"] == "churn"
    sagemaker.update_model_card(ModelCardName=arn, Content=json.dumps({"business_details": {"business_problem": "x"}}))
    versions = sagemaker.list_model_card_versions(ModelCardName=arn)["ModelCardVersionSummaryList"]
    assert [v["ModelCardVersion"] for v in versions] == [1, 2]
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_model_card(ModelCardName=arn)  # Delete takes a name only
    assert error_code(caught) == "ValidationException"


def test_content_and_status_together_are_refused(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps(CONTENT), ModelCardStatus="Approved")
    assert error_code(caught) == "ValidationException"
    assert sagemaker.describe_model_card(ModelCardName="churn")["ModelCardVersion"] == 1


def test_status_only_update_keeps_version_and_content(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="PendingReview")
    card = sagemaker.describe_model_card(ModelCardName="churn")
    assert (card["ModelCardVersion"], card["ModelCardStatus"]) == (1, "PendingReview")
    assert json.loads(card["Content"]) == CONTENT


def test_content_update_makes_a_version_and_keeps_status(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker, status="PendingReview")
    new = {"model_overview": {"model_owner": "new-owner"}}
    sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps(new))
    card = sagemaker.describe_model_card(ModelCardName="churn")
    assert (card["ModelCardVersion"], card["ModelCardStatus"]) == (2, "PendingReview")
    assert json.loads(sagemaker.describe_model_card(ModelCardName="churn", ModelCardVersion=1)["Content"]) == CONTENT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"model_overview": {}, "risk": "High"}, "content: Additional properties are not allowed ('risk' was"),
        ({"intended_uses": {"risk_rating": "Severe"}}, "content.intended_uses.risk_rating: 'Severe' is not one of"),
        ({"evaluation_details": {}}, "content.evaluation_details: {} is not of type 'array'"),
        ({"additional_information": {"custom_details": {"x": "y" * 100_001}}}, "exceeds the maximum of 100000"),
    ],
)
def test_content_must_follow_the_schema(aws: None, content: dict[str, Any], message: str) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model_card(ModelCardName="bad", Content=json.dumps(content), ModelCardStatus="Draft")
    assert error_code(caught) == "ValidationException"
    assert message in str(caught.value)


def test_status_must_be_one_of_four(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="Published")
    assert error_code(caught) == "ValidationException"


def test_archived_card_refuses_content(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="Archived")
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps(CONTENT))
    assert error_code(caught) == "ValidationException"


# 3. Export jobs ----------------------------------------------------------------------------------


def test_export_job_writes_a_pdf_and_completes(aws: None) -> None:
    hub = session_for(HUB)
    sagemaker, s3 = hub.client("sagemaker"), hub.client("s3")
    s3.create_bucket(Bucket="evidence-bucket")
    create_card(sagemaker)
    sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps({"model_overview": {"model_owner": "b"}}))
    arn = sagemaker.create_model_card_export_job(
        ModelCardName="churn",
        ModelCardVersion=1,
        ModelCardExportJobName="churn-v1",
        OutputConfig={"S3OutputPath": "s3://evidence-bucket/exports/churn/1"},
    )["ModelCardExportJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/churn/export-job/churn-v1"
    job = sagemaker.describe_model_card_export_job(ModelCardExportJobArn=arn)
    assert (job["Status"], job["ModelCardVersion"]) == ("Completed", 1)
    artifact = job["ExportArtifacts"]["S3ExportArtifacts"]
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    assert key.startswith("exports/churn/1/")
    pdf = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    listed = sagemaker.list_model_card_export_jobs(ModelCardName="churn")["ModelCardExportJobSummaries"]
    assert [j["ModelCardExportJobArn"] for j in listed] == [arn]


def test_export_job_to_a_missing_bucket_fails_with_a_reason(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    arn = sagemaker.create_model_card_export_job(
        ModelCardName="churn", ModelCardExportJobName="j1", OutputConfig={"S3OutputPath": "s3://no-such-bucket/x"}
    )["ModelCardExportJobArn"]
    job = sagemaker.describe_model_card_export_job(ModelCardExportJobArn=arn)
    assert job["Status"] == "Failed"
    assert "s3://no-such-bucket/x" in job["FailureReason"]


# 4. RAM for model cards --------------------------------------------------------------------------


def test_model_cards_are_shareable_with_managed_and_customer_permissions(aws: None) -> None:
    hub = session_for(HUB)
    ram = hub.client("ram")
    card = create_card(hub.client("sagemaker"))
    permission = ram.create_permission(
        name="cards-read",
        resourceType="sagemaker:ModelCard",
        policyTemplate=json.dumps(
            {"Effect": "Allow", "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"]}
        ),
    )["permission"]["arn"]
    for arn in (EDIT, EXPORT, permission):
        ram.create_resource_share(name="s", principals=[SPOKE], resourceArns=[card], permissionArns=[arn])
    with pytest.raises(ClientError) as caught:
        ram.create_resource_share(
            name="s", principals=[SPOKE], resourceArns=[card], permissionArns=["arn:aws:ram::aws:permission/Nope"]
        )
    assert error_code(caught) == "UnknownResourceException"


def test_external_principals_need_the_share_to_allow_them(aws: None) -> None:
    hub = session_for(HUB)
    card = create_card(hub.client("sagemaker"))
    with pytest.raises(ClientError) as caught:
        hub.client("ram").create_resource_share(
            name="s", principals=[SPOKE], resourceArns=[card], permissionArns=[EDIT], allowExternalPrincipals=False
        )
    assert error_code(caught) == "OperationNotPermittedException"


def test_associate_invite_accept_and_list_for_other_accounts(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    sagemaker = hub.client("sagemaker")
    first, second = create_card(sagemaker, "churn"), create_card(sagemaker, "churn-v2")
    share = hub.client("ram").create_resource_share(name="s", resourceArns=[first], permissionArns=[EDIT])
    share_arn = share["resourceShare"]["resourceShareArn"]
    hub.client("ram").associate_resource_share(resourceShareArn=share_arn, principals=[SPOKE], resourceArns=[second])

    ram = spoke.client("ram")
    assert ram.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard")["resources"] == []
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert (invitation["status"], invitation["senderAccountId"]) == ("PENDING", HUB)
    ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])

    listed = ram.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard")["resources"]
    assert sorted(r["arn"] for r in listed) == [first, second]
    assert {r["type"] for r in listed} == {"sagemaker:ModelCard"}
    assert [
        s["resourceShareArn"] for s in ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    ] == [share_arn]
    hub.client("ram").disassociate_resource_share(resourceShareArn=share_arn, resourceArns=[second])
    listed = ram.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard")["resources"]
    assert [r["arn"] for r in listed] == [first]


def test_rejected_invitation_grants_nothing(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    card = create_card(hub.client("sagemaker"))
    share_card(hub, card, EDIT, accept=False)
    ram = spoke.client("ram")
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.reject_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    with pytest.raises(ClientError) as caught:
        ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    assert error_code(caught) == "ResourceShareInvitationAlreadyRejectedException"
    with pytest.raises(ClientError) as denied:
        spoke.client("sagemaker").describe_model_card(ModelCardName=card)
    assert error_code(denied) == "AccessDeniedException"


# 5. Cross-account access to shared cards -----------------------------------------------------------


def test_spoke_without_a_share_is_denied(aws: None) -> None:
    card = create_card(session_for(HUB).client("sagemaker"))
    with pytest.raises(ClientError) as caught:
        session_for(SPOKE).client("sagemaker").describe_model_card(ModelCardName=card)
    assert error_code(caught) == "AccessDeniedException"


def test_read_only_permission_allows_describe_and_versions_not_update(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    card = create_card(hub.client("sagemaker"))
    read = hub.client("ram").create_permission(
        name="cards-read",
        resourceType="sagemaker:ModelCard",
        policyTemplate=json.dumps(
            {"Effect": "Allow", "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"]}
        ),
    )["permission"]["arn"]
    share_card(hub, card, read)
    sagemaker = spoke.client("sagemaker")
    assert sagemaker.describe_model_card(ModelCardName=card)["ModelCardArn"] == card
    assert len(sagemaker.list_model_card_versions(ModelCardName=card)["ModelCardVersionSummaryList"]) == 1
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_card(ModelCardName=card, Content=json.dumps(CONTENT))
    assert error_code(caught) == "AccessDeniedException"


def test_spoke_edit_is_a_new_version_of_the_hub_card(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    card = create_card(hub.client("sagemaker"))
    share_card(hub, card, EDIT)
    spoke.client("sagemaker").update_model_card(
        ModelCardName=card, Content=json.dumps({"model_overview": {"problem_type": "Customer Churn Model"}})
    )
    hub_view = hub.client("sagemaker").describe_model_card(ModelCardName="churn")
    assert hub_view["ModelCardVersion"] == 2
    assert json.loads(hub_view["Content"])["model_overview"]["problem_type"] == "Customer Churn Model"
    assert hub_view["LastModifiedBy"] == {}  # a card does not name the spoke's IAM caller
    with pytest.raises(ClientError) as caught:
        spoke.client("sagemaker").create_model_card_export_job(
            ModelCardName=card, ModelCardExportJobName="j", OutputConfig={"S3OutputPath": "s3://evidence-bucket/x"}
        )
    assert error_code(caught) == "AccessDeniedException"
    with pytest.raises(ClientError):
        session_for(OTHER).client("sagemaker").describe_model_card(ModelCardName=card)


def test_export_permission_lets_a_spoke_export_into_a_hub_owned_job(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    s3 = hub.client("s3")
    s3.create_bucket(Bucket="evidence-bucket")
    # The PDF is written with the caller's permissions: the spoke may write under exports/ only.
    s3.put_bucket_policy(
        Bucket="evidence-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"},
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::evidence-bucket/exports/*",
                    }
                ],
            }
        ),
    )
    card = create_card(hub.client("sagemaker"))
    share_card(hub, card, EXPORT)
    sagemaker = spoke.client("sagemaker")
    arn = sagemaker.create_model_card_export_job(
        ModelCardName=card,
        ModelCardExportJobName="from-spoke",
        OutputConfig={"S3OutputPath": "s3://evidence-bucket/exports"},
    )["ModelCardExportJobArn"]
    assert f":{HUB}:" in arn
    assert sagemaker.describe_model_card_export_job(ModelCardExportJobArn=arn)["Status"] == "Completed"
    outside = sagemaker.create_model_card_export_job(
        ModelCardName=card,
        ModelCardExportJobName="outside",
        OutputConfig={"S3OutputPath": "s3://evidence-bucket/evidence"},
    )["ModelCardExportJobArn"]
    failed = sagemaker.describe_model_card_export_job(ModelCardExportJobArn=outside)
    assert (failed["Status"], failed["FailureReason"]) == (
        "Failed",
        "Could not write to s3://evidence-bucket/evidence: AccessDenied",
    )
    assert s3.list_objects_v2(Bucket="evidence-bucket", Prefix="evidence/").get("KeyCount") == 0


# 6. Model packages -------------------------------------------------------------------------------


def test_package_keeps_its_model_card_and_approval_across_updates(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    card = {"ModelCardContent": json.dumps(CONTENT), "ModelCardStatus": "Draft"}
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification=INFERENCE,
        ModelApprovalStatus="PendingManualApproval",
        ModelCard=card,
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ApprovalDescription="awaiting review")
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"team": "churn"})
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ApprovalDescription"] == "awaiting review"
    assert described["ModelCard"] == card
    assert described["CustomerMetadataProperties"] == {"team": "churn"}
