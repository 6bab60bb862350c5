"""The emulator's CloudTrail: what AWS records for the governed SageMaker calls, where, and how
LookupEvents serves it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator import cloudtrail
from emulator.sessions import management_session
from tests.accounts import session_for

HUB = "111111111111"
SPOKE = "222222222222"
EDIT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"
CONTENT = json.dumps({"model_overview": {"model_owner": "churn-team"}})
INFERENCE = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def history(session: Any, **kwargs: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in session.client("cloudtrail").get_paginator("lookup_events").paginate(**kwargs):
        events += page["Events"]
    return events


def record(event: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event["CloudTrailEvent"])
    return parsed


def test_a_card_update_is_recorded_with_the_assumed_role_and_its_issuer(aws: None) -> None:
    hub = session_for(HUB)
    sagemaker = hub.client("sagemaker")
    sagemaker.create_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Draft")
    sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="PendingReview")
    [update, create] = history(hub)
    assert (update["EventName"], create["EventName"]) == ("UpdateModelCard", "CreateModelCard")
    assert update["Username"] == "admin" and update["ReadOnly"] == "false"
    assert update["EventSource"] == "sagemaker.amazonaws.com"
    assert update["Resources"] == [
        {
            "ResourceType": "AWS::SageMaker::ModelCard",
            "ResourceName": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/churn",
        }
    ]
    detail = record(update)
    assert detail["userIdentity"]["type"] == "AssumedRole"
    assert detail["userIdentity"]["arn"] == f"arn:aws:sts::{HUB}:assumed-role/OrganizationAccountAccessRole/admin"
    assert detail["userIdentity"]["accessKeyId"] == update["AccessKeyId"]
    issuer = detail["userIdentity"]["sessionContext"]["sessionIssuer"]
    assert (issuer["type"], issuer["arn"], issuer["userName"]) == (
        "Role",
        f"arn:aws:iam::{HUB}:role/OrganizationAccountAccessRole",
        "OrganizationAccountAccessRole",
    )
    assert detail["requestParameters"] == {"modelCardName": "churn", "modelCardStatus": "PendingReview"}
    assert detail["recipientAccountId"] == HUB and detail["eventType"] == "AwsApiCall"
    # Content is sensitive in SageMaker's model: CloudTrail keeps the key and hides the value.
    assert record(create)["requestParameters"]["content"] == cloudtrail.HIDDEN
    assert record(create)["responseElements"] == {"modelCardArn": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/churn"}


def card_writer_role(session: Any, name: str) -> str:
    """A role of the hub that its account may assume with a source identity, and that writes cards."""
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
    }
    may = {
        "Effect": "Allow",
        "Action": ["sagemaker:*ModelCard", "sts:AssumeRole", "sts:SetSourceIdentity"],
        "Resource": "*",
    }
    iam = session.client("iam")
    arn: str = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="cards", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [may]})
    )
    return arn


def test_a_source_identity_is_recorded_for_the_session_and_the_roles_chained_from_it(aws: None) -> None:
    from emulator.sessions import assume

    hub = session_for(HUB)
    first, second = card_writer_role(hub, "developer"), card_writer_role(hub, "reviewer")
    developer = assume(hub, first, session_name="dev", SourceIdentity="alice@example.com")
    chained = assume(developer, second, session_name="review")  # passes none: the first one's carries on
    anonymous = assume(hub, second, session_name="nobody")
    developer.client("sagemaker").create_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Draft")
    chained.client("sagemaker").update_model_card(ModelCardName="churn", ModelCardStatus="PendingReview")
    anonymous.client("sagemaker").update_model_card(ModelCardName="churn", ModelCardStatus="Draft")
    [by_anonymous, by_chained, by_developer] = [record(e)["userIdentity"] for e in history(hub)]
    assert by_developer["sessionContext"]["sourceIdentity"] == "alice@example.com"
    assert by_developer["arn"] == f"arn:aws:sts::{HUB}:assumed-role/developer/dev"
    assert by_chained["sessionContext"]["sourceIdentity"] == "alice@example.com"
    assert by_chained["sessionContext"]["sessionIssuer"]["arn"] == second
    # AWS leaves the field out of a session that has none.
    assert "sourceIdentity" not in by_anonymous["sessionContext"]


def test_iam_users_are_recorded_as_such(aws: None) -> None:
    admin = management_session()
    iam = admin.client("iam")
    iam.create_user(UserName="carol")
    may_create = {"Effect": "Allow", "Action": "sagemaker:CreateModelCard", "Resource": "*"}
    iam.put_user_policy(
        UserName="carol",
        PolicyName="cards",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [may_create]}),
    )
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1"
    )
    carol.client("sagemaker").create_model_card(ModelCardName="a", Content=CONTENT, ModelCardStatus="Draft")
    admin.client("sagemaker").create_model_card(ModelCardName="b", Content=CONTENT, ModelCardStatus="Draft")
    [by_admin, by_carol] = [record(e)["userIdentity"] for e in history(admin)]
    assert (by_carol["type"], by_carol["userName"]) == ("IAMUser", "carol")
    assert by_carol["arn"].endswith(":user/carol")
    assert (by_admin["type"], by_admin["userName"]) == ("IAMUser", "OrganizationAdmin")


def test_a_spoke_call_on_a_hub_card_is_recorded_in_the_spoke_only(aws: None) -> None:
    hub, spoke = session_for(HUB), session_for(SPOKE)
    card = hub.client("sagemaker").create_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Draft")[
        "ModelCardArn"
    ]
    ram = hub.client("ram")
    ram.create_resource_share(name="edit", principals=[SPOKE], resourceArns=[card], permissionArns=[EDIT])
    spoke_ram = spoke.client("ram")
    for invitation in spoke_ram.get_resource_share_invitations()["resourceShareInvitations"]:
        spoke_ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    spoke.client("sagemaker").update_model_card(ModelCardName=card, ModelCardStatus="Approved")
    [spoke_call] = history(spoke)
    assert record(spoke_call)["requestParameters"] == {"modelCardName": card, "modelCardStatus": "Approved"}
    assert record(spoke_call)["recipientAccountId"] == SPOKE
    assert [e["EventName"] for e in history(hub)] == ["CreateModelCard"]


def test_refused_calls_are_recorded_with_their_error(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    sagemaker.create_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Draft")
    with pytest.raises(ClientError):
        sagemaker.update_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Approved")
    [refused, _] = history(session_for(HUB))
    assert record(refused)["errorCode"] == "ValidationException"
    assert record(refused)["responseElements"] is None


def test_package_writes_are_recorded(aws: None) -> None:
    hub = session_for(HUB)
    sagemaker = hub.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    arn = sagemaker.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=INFERENCE)[
        "ModelPackageArn"
    ]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    names = [e["EventName"] for e in history(hub)]
    assert names == ["UpdateModelPackage", "CreateModelPackage"]  # the group is not a governed write
    assert record(history(hub)[0])["requestParameters"] == {"modelPackageArn": arn, "modelApprovalStatus": "Approved"}


def test_lookup_events_filters_by_attribute_and_time_and_pages(aws: None) -> None:
    hub = session_for(HUB)
    sagemaker = hub.client("sagemaker")
    for index in range(5):
        sagemaker.create_model_card(ModelCardName=f"card{index}", Content=CONTENT, ModelCardStatus="Draft")
    sagemaker.update_model_card(ModelCardName="card0", ModelCardStatus="PendingReview")
    client = hub.client("cloudtrail")
    first = client.lookup_events(MaxResults=2)
    assert len(first["Events"]) == 2 and "NextToken" in first
    assert len(history(hub, PaginationConfig={"PageSize": 2})) == 6
    updates = history(hub, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateModelCard"}])
    assert len(updates) == 1
    by_resource = history(
        hub,
        LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/card0"}
        ],
    )
    assert [e["EventName"] for e in by_resource] == ["UpdateModelCard", "CreateModelCard"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert history(hub, StartTime=later, EndTime=later + timedelta(minutes=1)) == []
    with pytest.raises(ClientError) as two:
        client.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "CreateModelCard"},
                {"AttributeKey": "Username", "AttributeValue": "sandbox"},
            ]
        )
    assert two.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def test_held_records_appear_when_delivered(aws: None) -> None:
    hub = session_for(HUB)
    with cloudtrail.hold_delivery():
        hub.client("sagemaker").create_model_card(ModelCardName="churn", Content=CONTENT, ModelCardStatus="Draft")
        assert history(hub) == []
    assert [e["EventName"] for e in history(hub)] == ["CreateModelCard"]


def test_api_call_events_reach_the_default_bus_only_with_a_logging_trail(aws: None) -> None:
    hub = session_for(HUB)
    sqs = hub.client("sqs")
    url = sqs.create_queue(QueueName="calls")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = hub.client("events")
    events.put_rule(Name="calls", EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}))
    events.put_targets(Rule="calls", Targets=[{"Id": "q", "Arn": arn}])
    sagemaker = hub.client("sagemaker")
    sagemaker.create_model_card(ModelCardName="before", Content=CONTENT, ModelCardStatus="Draft")
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    hub.client("s3").create_bucket(Bucket="trail-logs")
    trails = hub.client("cloudtrail")
    trails.create_trail(Name="management", S3BucketName="trail-logs")
    trails.start_logging(Name="management")
    sagemaker.create_model_card(ModelCardName="after", Content=CONTENT, ModelCardStatus="Draft")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    delivered = json.loads(message["Body"])
    assert (delivered["source"], delivered["detail"]["eventName"]) == ("aws.sagemaker", "CreateModelCard")
    assert delivered["detail"]["requestParameters"]["modelCardName"] == "after"
