"""The emulator's way in and its permission evaluation, each as AWS does it.

The way in follows AWS Organizations: the management account's administrator assumes
OrganizationAccountAccessRole in any account; nothing else is allowed by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.permissions import enforcement
from emulator.sessions import management_session
from tests.accounts import session_for

READ_WRITE = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"
HUB = "111111111111"
SPOKE = "222222222222"
TRUST_HUB_ROOT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}],
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def make_role(session: Any, name: str, trust: dict[str, Any], *statements: dict[str, Any]) -> str:
    iam = session.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=policy(*statements))
    return arn


def denied(caught: pytest.ExceptionInfo[ClientError]) -> str:
    error = caught.value.response["Error"]
    assert error["Code"] in ("AccessDenied", "AccessDeniedException"), error
    message: str = error["Message"]
    return message


@pytest.mark.parametrize("account", ["111111111111", "987654321098", "000000000001"])
def test_management_admin_administers_any_account_through_the_access_role(account: str, admin_of: Any) -> None:
    admin = admin_of(account)
    identity = admin.client("sts").get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/admin"
    admin.client("s3").create_bucket(Bucket=f"bucket-of-{account}")
    assert [b["Name"] for b in admin.client("s3").list_buckets()["Buckets"]] == [f"bucket-of-{account}"]


def test_printed_credentials_are_the_management_account_administrator(aws: None) -> None:
    identity = management_session().client("sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/OrganizationAdmin"


def test_a_role_that_does_not_exist_cannot_be_assumed(admin_of: Any, role_of: Any) -> None:
    with pytest.raises(ClientError) as caught:
        role_of(SPOKE, "no-such-role")
    assert denied(caught) == (
        f"User: arn:aws:sts::{SPOKE}:assumed-role/OrganizationAccountAccessRole/admin is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{SPOKE}:role/no-such-role "
        "because no resource-based policy allows the sts:AssumeRole action"
    )


def test_a_role_that_trusts_someone_else_cannot_be_assumed(admin_of: Any, role_of: Any) -> None:
    make_role(admin_of(SPOKE), "hub-only", TRUST_HUB_ROOT, allow("s3:ListAllMyBuckets", "*"))
    with pytest.raises(ClientError) as caught:
        role_of(SPOKE, "hub-only")  # the spoke's own administrator is not the hub
    assert "no resource-based policy allows the sts:AssumeRole action" in denied(caught)
    hub_admin = admin_of(HUB)
    assert role_of(SPOKE, "hub-only", via=hub_admin).client("s3").list_buckets()["Buckets"] == []


def test_trust_policy_conditions_principal_arn_and_external_id(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    make_role(hub, "workflow", TRUST_HUB_ROOT, allow("sts:AssumeRole", f"arn:aws:iam::{SPOKE}:role/*"))
    make_role(hub, "other", TRUST_HUB_ROOT, allow("sts:AssumeRole", f"arn:aws:iam::{SPOKE}:role/*"))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{HUB}:role/workflow"},
                    "StringEquals": {"sts:ExternalId": "governance"},
                },
            }
        ],
    }
    make_role(admin_of(SPOKE), "sync", trust)
    workflow, other = role_of(HUB, "workflow"), role_of(HUB, "other")
    assert role_of(SPOKE, "sync", via=workflow, ExternalId="governance")
    for via, extra in ((workflow, {"ExternalId": "wrong"}), (workflow, {}), (other, {"ExternalId": "governance"})):
        with pytest.raises(ClientError) as caught:
            role_of(SPOKE, "sync", via=via, **extra)
        denied(caught)


def test_identity_policy_names_exact_actions_and_arns(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    hub.client("sqs").create_queue(QueueName="allowed")
    hub.client("sqs").create_queue(QueueName="other")
    make_role(
        hub,
        "sender",
        TRUST_HUB_ROOT,
        allow(["sqs:SendMessage", "sqs:GetQueueUrl"], f"arn:aws:sqs:us-east-1:{HUB}:allowed"),
    )
    sqs = role_of(HUB, "sender").client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="allowed")["QueueUrl"], MessageBody="x")
    with pytest.raises(ClientError) as caught:
        sqs.get_queue_url(QueueName="other")
    assert denied(caught).endswith("because no identity-based policy allows the sqs:GetQueueUrl action")
    with pytest.raises(ClientError):
        sqs.receive_message(QueueUrl=f"https://sqs.us-east-1.amazonaws.com/{HUB}/allowed")


def test_explicit_deny_wins_over_allow(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    make_role(
        hub,
        "mixed",
        TRUST_HUB_ROOT,
        allow("dynamodb:*", "*"),
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
    )
    hub.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb = role_of(HUB, "mixed").client("dynamodb")
    assert dynamodb.describe_table(TableName="t")["Table"]["TableName"] == "t"
    with pytest.raises(ClientError) as caught:
        dynamodb.delete_table(TableName="t")
    assert denied(caught).endswith("with an explicit deny in an identity-based policy")


def test_cross_account_needs_the_resource_policy_too(admin_of: Any) -> None:
    hub, spoke = admin_of(HUB), admin_of(SPOKE)
    hub.client("s3").create_bucket(Bucket="hub-evidence")
    spoke_s3 = spoke.client("s3")
    with pytest.raises(ClientError) as caught:
        spoke_s3.put_object(Bucket="hub-evidence", Key="exports/a.pdf", Body=b"%PDF")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    statement = allow(
        "s3:PutObject", "arn:aws:s3:::hub-evidence/exports/*", Principal={"AWS": f"arn:aws:iam::{SPOKE}:root"}
    )
    hub.client("s3").put_bucket_policy(Bucket="hub-evidence", Policy=policy(statement))
    spoke_s3.put_object(Bucket="hub-evidence", Key="exports/a.pdf", Body=b"%PDF")
    with pytest.raises(ClientError):
        spoke_s3.put_object(Bucket="hub-evidence", Key="evidence/a.json", Body=b"{}")
    assert hub.client("s3").get_object(Bucket="hub-evidence", Key="exports/a.pdf")["Body"].read() == b"%PDF"


def test_enforcement_off_keeps_the_permissive_behaviour(aws: None) -> None:
    with enforcement(False):
        sts = management_session().client("sts")
        granted = sts.assume_role(RoleArn=f"arn:aws:iam::{SPOKE}:role/no-such-role", RoleSessionName="anyone")
        assert granted["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{SPOKE}:assumed-role/no-such-role/")


def test_a_transaction_is_authorized_as_its_item_actions(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    hub.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "K", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "K", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = f"arn:aws:dynamodb:us-east-1:{HUB}:table/ledger"
    make_role(hub, "writer", TRUST_HUB_ROOT, allow("dynamodb:PutItem", table))
    make_role(hub, "reader", TRUST_HUB_ROOT, allow("dynamodb:GetItem", table))
    puts = [{"Put": {"TableName": "ledger", "Item": {"K": {"S": key}}}} for key in ("a", "b")]
    role_of(HUB, "writer").client("dynamodb").transact_write_items(TransactItems=puts)
    with pytest.raises(ClientError) as refused:
        role_of(HUB, "reader").client("dynamodb").transact_write_items(
            TransactItems=[{"Put": {"TableName": "ledger", "Item": {"K": {"S": "c"}}}}]
        )
    assert "dynamodb:PutItem on resource: " + table in refused.value.response["Error"]["Message"]


def test_a_query_of_an_index_is_authorized_on_the_index_only_its_items_with_the_key_are_in_it(
    admin_of: Any, role_of: Any
) -> None:
    hub = admin_of(HUB)
    hub.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "K", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "K", "AttributeType": "S"},
            {"AttributeName": "I", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "sparse",
                "KeySchema": [{"AttributeName": "I", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for key, indexed in (("a", True), ("b", False), ("c", True)):
        item = {"K": {"S": key}, **({"I": {"S": "yes"}} if indexed else {})}
        hub.client("dynamodb").put_item(TableName="ledger", Item=item)
    table = f"arn:aws:dynamodb:us-east-1:{HUB}:table/ledger"
    make_role(hub, "table-reader", TRUST_HUB_ROOT, allow(["dynamodb:Query", "dynamodb:Scan"], table))
    make_role(hub, "index-reader", TRUST_HUB_ROOT, allow("dynamodb:Query", f"{table}/index/sparse"))
    query = {
        "TableName": "ledger",
        "IndexName": "sparse",
        "KeyConditionExpression": "I = :v",
        "ExpressionAttributeValues": {":v": {"S": "yes"}},
    }
    found = role_of(HUB, "index-reader").client("dynamodb").query(**query)["Items"]
    assert sorted(i["K"]["S"] for i in found) == ["a", "c"]  # sparse: the item without the key is not in it
    # Query on the table does not reach its index, nor Query on the index the table.
    calls: list[tuple[Callable[[], Any], str]] = [
        (lambda: role_of(HUB, "table-reader").client("dynamodb").query(**query), f"{table}/index/sparse"),
        (lambda: role_of(HUB, "index-reader").client("dynamodb").scan(TableName="ledger"), table),
    ]
    for call, resource in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert f"on resource: {resource} because" in refused.value.response["Error"]["Message"], refused.value


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    hub.client("s3").create_bucket(Bucket="hub-evidence")
    objects = allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::hub-evidence/evidence/*")
    make_role(hub, "reader", TRUST_HUB_ROOT, objects)
    make_role(hub, "lister", TRUST_HUB_ROOT, objects, allow("s3:ListBucket", "arn:aws:s3:::hub-evidence"))
    reader, lister = role_of(HUB, "reader").client("s3"), role_of(HUB, "lister").client("s3")
    with pytest.raises(ClientError) as head:
        reader.head_object(Bucket="hub-evidence", Key="evidence/missing.json")
    assert head.value.response["Error"]["Code"] == "403"
    with pytest.raises(ClientError) as get:
        reader.get_object(Bucket="hub-evidence", Key="evidence/missing.json")
    assert get.value.response["Error"]["Code"] == "AccessDenied"
    assert "s3:ListBucket" in get.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as listed_head:
        lister.head_object(Bucket="hub-evidence", Key="evidence/missing.json")
    assert listed_head.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as listed_get:
        lister.get_object(Bucket="hub-evidence", Key="evidence/missing.json")
    assert listed_get.value.response["Error"]["Code"] == "NoSuchKey"
    reader.put_object(Bucket="hub-evidence", Key="evidence/there.json", Body=b"{}")
    assert reader.head_object(Bucket="hub-evidence", Key="evidence/there.json")["ContentLength"] == 2


def test_a_tls_only_bucket_policy_refuses_plain_http(admin_of: Any) -> None:
    hub = admin_of(HUB)
    hub.client("s3").create_bucket(Bucket="hub-evidence")
    tls_only = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::hub-evidence", "arn:aws:s3:::hub-evidence/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    hub.client("s3").put_bucket_policy(Bucket="hub-evidence", Policy=policy(tls_only))
    hub.client("s3").put_object(Bucket="hub-evidence", Key="a", Body=b"x")
    plain = hub.client("s3", endpoint_url="http://s3.us-east-1.amazonaws.com")
    with pytest.raises(ClientError) as caught:
        plain.put_object(Bucket="hub-evidence", Key="b", Body=b"x")
    assert "with an explicit deny in a resource-based policy" in caught.value.response["Error"]["Message"]


def card_key(hub: Any, *spoke_statements: dict[str, Any]) -> str:
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "kms:*", "Resource": "*"}
    arn: str = hub.client("kms").create_key(Policy=policy(root, *spoke_statements))["KeyMetadata"]["Arn"]
    return arn


def test_creating_a_card_with_a_key_needs_what_cloudformation_lists(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    key = card_key(hub)
    cards = allow("sagemaker:CreateModelCard", f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*")
    make_role(hub, "no-grant", TRUST_HUB_ROOT, cards, allow(["kms:DescribeKey", "kms:GenerateDataKey"], key))
    make_role(
        hub, "linker", TRUST_HUB_ROOT, cards, allow(["kms:DescribeKey", "kms:GenerateDataKey", "kms:CreateGrant"], key)
    )
    card = {"ModelCardName": "churn", "Content": "{}", "ModelCardStatus": "Draft", "SecurityConfig": {"KmsKeyId": key}}
    with pytest.raises(ClientError) as caught:
        role_of(HUB, "no-grant").client("sagemaker").create_model_card(**card)
    assert denied(caught).endswith("because no identity-based policy allows the kms:CreateGrant action")
    assert hub.client("sagemaker").list_model_cards()["ModelCardSummaries"] == []
    role_of(HUB, "linker").client("sagemaker").create_model_card(**card)


def test_a_spoke_reads_an_encrypted_shared_card_only_when_the_key_policy_lets_it(admin_of: Any) -> None:
    hub, spoke = admin_of(HUB), admin_of(SPOKE)
    spoke_use = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:ViaService": "sagemaker.us-east-1.amazonaws.com"},
            "StringLike": {
                "kms:EncryptionContext:aws:sagemaker:model-card-arn": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*"
            },
        },
    }
    arns = {}
    for name, key in (("closed", card_key(hub)), ("open", card_key(hub, spoke_use))):
        arns[name] = hub.client("sagemaker").create_model_card(
            ModelCardName=name, Content="{}", ModelCardStatus="Draft", SecurityConfig={"KmsKeyId": key}
        )["ModelCardArn"]
    hub.client("ram").create_resource_share(
        name="cards", principals=[SPOKE], resourceArns=list(arns.values()), permissionArns=[READ_WRITE]
    )
    ram = spoke.client("ram")
    for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
        ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    sagemaker = spoke.client("sagemaker")
    assert sagemaker.describe_model_card(ModelCardName=arns["open"])["ModelCardName"] == "open"
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model_card(ModelCardName=arns["closed"])
    assert denied(caught).endswith("because no resource-based policy allows the kms:Decrypt action")


def test_a_bus_in_another_account_takes_events_only_its_policy_allows(admin_of: Any) -> None:
    hub, spoke = admin_of(HUB), admin_of(SPOKE)
    hub_events = hub.client("events")
    bus = hub_events.create_event_bus(Name="governance")["EventBusArn"]
    queue = hub.client("sqs").create_queue(QueueName="arrived")["QueueUrl"]
    hub_events.put_rule(Name="all", EventBusName="governance", EventPattern=json.dumps({"source": ["registry"]}))
    hub_events.put_targets(
        Rule="all", EventBusName="governance", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{HUB}:arrived"}]
    )
    spoke_events = spoke.client("events")
    spoke_events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["registry"]}))
    spoke_events.put_targets(Rule="forward", Targets=[{"Id": "hub", "Arn": bus}])
    entry = {"Source": "registry", "DetailType": "x", "Detail": "{}"}
    sqs = hub.client("sqs")

    spoke_events.put_events(Entries=[entry])
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    spoke_root = {"AWS": f"arn:aws:iam::{SPOKE}:root"}
    statement = {
        "Sid": "spokes",
        "Effect": "Allow",
        "Principal": spoke_root,
        "Action": "events:PutEvents",
        "Resource": bus,
    }
    hub_events.put_permission(EventBusName="governance", Policy=policy(statement))
    spoke_events.put_events(Entries=[entry])
    assert len(sqs.receive_message(QueueUrl=queue).get("Messages", [])) == 1


# --- IncludedData: DescribeModelCard and DescribeModelPackage (botocore 1.44) -------------------------
FULL_CONTENT = {
    "model_overview": {"model_id": "m-1", "model_name": "churn", "model_description": "secret", "model_owner": "ds"},
    "intended_uses": {"risk_rating": "High", "purpose_of_model": "secret"},
    "business_details": {"business_problem": "secret"},
    "additional_information": {"custom_details": {"note": "secret"}},
    "model_package_details": {
        "model_package_arn": f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn/1",
        "model_package_group_name": "churn",
        "model_package_version": 1,
        "created_by": {"user_profile_name": "ana"},
    },
}
# The paths MetadataOnly keeps, when present (botocore: DescribeModelCardResponse Content).
METADATA_ONLY = {
    "model_overview": {"model_id": "m-1", "model_name": "churn"},
    "intended_uses": {"risk_rating": "High"},
    "model_package_details": {
        "model_package_arn": f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn/1",
        "model_package_group_name": "churn",
    },
}


def test_metadata_only_returns_the_documented_fields_without_the_card_key(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    key = card_key(hub)
    hub.client("sagemaker").create_model_card(
        ModelCardName="churn",
        Content=json.dumps(FULL_CONTENT),
        ModelCardStatus="Draft",
        SecurityConfig={"KmsKeyId": key},
    )
    describe = allow("sagemaker:DescribeModelCard", f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*")
    make_role(hub, "metadata-reader", TRUST_HUB_ROOT, describe)
    make_role(hub, "content-reader", TRUST_HUB_ROOT, describe, allow("kms:Decrypt", key))
    metadata_reader = role_of(HUB, "metadata-reader").client("sagemaker")
    with pytest.raises(ClientError) as caught:
        metadata_reader.describe_model_card(ModelCardName="churn")  # AllData, the default
    assert denied(caught).endswith("because no identity-based policy allows the kms:Decrypt action")
    with pytest.raises(ClientError) as caught:
        metadata_reader.describe_model_card(ModelCardName="churn", IncludedData="AllData")
    assert denied(caught).endswith("because no identity-based policy allows the kms:Decrypt action")
    card = metadata_reader.describe_model_card(ModelCardName="churn", IncludedData="MetadataOnly")
    assert json.loads(card["Content"]) == METADATA_ONLY
    assert (card["ModelCardStatus"], card["ModelCardVersion"], card["SecurityConfig"]) == (
        "Draft",
        1,
        {"KmsKeyId": key},
    )
    content_reader = role_of(HUB, "content-reader").client("sagemaker")
    for included in ({}, {"IncludedData": "AllData"}):
        assert json.loads(content_reader.describe_model_card(ModelCardName="churn", **included)["Content"]) == (
            FULL_CONTENT
        )


def test_metadata_only_of_a_card_without_those_fields_is_empty_and_a_bad_value_is_refused(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    sagemaker.create_model_card(
        ModelCardName="plain",
        Content=json.dumps({"business_details": {"business_problem": "x"}}),
        ModelCardStatus="Draft",
    )
    assert (
        json.loads(sagemaker.describe_model_card(ModelCardName="plain", IncludedData="MetadataOnly")["Content"]) == {}
    )
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model_card(ModelCardName="plain", IncludedData="Everything")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Member must satisfy enum value set: [AllData, MetadataOnly]" in caught.value.response["Error"]["Message"]


def test_describe_model_package_metadata_only_reduces_only_the_embedded_card(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    # The model package card schema has no model_package_details (ModelPackageModelCard, botocore).
    embedded = {"intended_uses": {"risk_rating": "Low", "purpose_of_model": "secret"}, "model_overview": {}}
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn",
        ModelPackageDescription="kept",
        ModelCard={"ModelCardContent": json.dumps(embedded), "ModelCardStatus": "Draft"},
    )["ModelPackageArn"]
    full = sagemaker.describe_model_package(ModelPackageName=arn)
    assert json.loads(full["ModelCard"]["ModelCardContent"]) == embedded
    reduced = sagemaker.describe_model_package(ModelPackageName=arn, IncludedData="MetadataOnly")
    assert json.loads(reduced["ModelCard"]["ModelCardContent"]) == {"intended_uses": {"risk_rating": "Low"}}
    assert reduced["ModelCard"]["ModelCardStatus"] == "Draft"
    assert reduced["ModelPackageDescription"] == "kept"
    unchanged = ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus")
    assert {k: reduced.get(k) for k in unchanged} == {k: full.get(k) for k in unchanged}


def test_a_table_policy_deny_overrides_a_same_account_iam_allow_also_in_batches(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    table_arn = hub.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    writer = make_role(hub, "writer", TRUST_HUB_ROOT, allow("dynamodb:*", "*"))
    make_role(hub, "other", TRUST_HUB_ROOT, allow("dynamodb:*", "*"))
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["dynamodb:PutItem", "dynamodb:BatchWriteItem"],
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writer}},
    }
    hub.client("dynamodb").put_resource_policy(ResourceArn=table_arn, Policy=policy(deny))
    item = {"k": {"S": "x"}}
    role_of(HUB, "writer").client("dynamodb").put_item(TableName="ledger", Item=item)
    other = role_of(HUB, "other").client("dynamodb")
    calls: list[Callable[[], Any]] = [
        lambda: other.put_item(TableName="ledger", Item=item),
        lambda: other.batch_write_item(RequestItems={"ledger": [{"PutRequest": {"Item": item}}]}),
    ]
    for call in calls:
        with pytest.raises(ClientError) as error:
            call()
        assert "explicit deny in a resource-based policy" in error.value.response["Error"]["Message"]


# --- A KMS key policy on its own, within the key's account ("Key policies", KMS Developer Guide) ----
CARDS_OF_HUB = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*"
DESCRIBE_CARDS = allow("sagemaker:DescribeModelCard", CARDS_OF_HUB)


def key_use(principal: Any, **condition: Any) -> dict[str, Any]:
    """Decrypt through SageMaker for `principal`, as the card key's spoke statements grant it."""
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "sagemaker.us-east-1.amazonaws.com"}, **condition},
    }


def encrypted_card(hub: Any, name: str, key: str) -> None:
    hub.client("sagemaker").create_model_card(
        ModelCardName=name, Content=json.dumps(FULL_CONTENT), ModelCardStatus="Draft", SecurityConfig={"KmsKeyId": key}
    )


def test_a_key_policy_statement_for_star_lets_the_key_account_use_the_key_without_iam(
    admin_of: Any, role_of: Any
) -> None:
    hub = admin_of(HUB)
    make_role(hub, "describer", TRUST_HUB_ROOT, DESCRIBE_CARDS)
    encrypted_card(hub, "delegated", card_key(hub))
    encrypted_card(hub, "open", card_key(hub, key_use({"AWS": "*"})))
    encrypted_card(hub, "string-star", card_key(hub, key_use("*")))
    describer = role_of(HUB, "describer").client("sagemaker")
    with pytest.raises(ClientError) as caught:
        describer.describe_model_card(ModelCardName="delegated")  # the root statement delegates to IAM
    assert denied(caught).endswith("because no identity-based policy allows the kms:Decrypt action")
    for name in ("open", "string-star"):
        assert json.loads(describer.describe_model_card(ModelCardName=name)["Content"]) == FULL_CONTENT


def test_a_key_policy_statement_naming_the_role_is_enough_and_its_conditions_still_hold(
    admin_of: Any, role_of: Any
) -> None:
    hub = admin_of(HUB)
    describer = make_role(hub, "describer", TRUST_HUB_ROOT, DESCRIBE_CARDS)
    make_role(hub, "other", TRUST_HUB_ROOT, DESCRIBE_CARDS)
    encrypted_card(hub, "named", card_key(hub, key_use({"AWS": describer})))
    not_hub = {"StringNotEquals": {"aws:PrincipalAccount": HUB}}
    encrypted_card(hub, "spokes-only", card_key(hub, key_use({"AWS": "*"}, **not_hub)))
    assert role_of(HUB, "describer").client("sagemaker").describe_model_card(ModelCardName="named")
    for role, card in (("other", "named"), ("describer", "spokes-only")):
        with pytest.raises(ClientError) as caught:
            role_of(HUB, role).client("sagemaker").describe_model_card(ModelCardName=card)
        assert denied(caught).endswith("because no identity-based policy allows the kms:Decrypt action")


def test_an_explicit_deny_in_the_key_policy_or_in_iam_wins_over_a_key_policy_allow(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    describer = make_role(hub, "describer", TRUST_HUB_ROOT, DESCRIBE_CARDS)
    make_role(
        hub, "refused", TRUST_HUB_ROOT, DESCRIBE_CARDS, {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    )
    deny_describer = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": describer}},
    }
    encrypted_card(hub, "open", card_key(hub, key_use({"AWS": "*"}), deny_describer))
    cases = (("describer", "a resource-based policy"), ("refused", "an identity-based policy"))
    for role, where in cases:
        with pytest.raises(ClientError) as caught:
            role_of(HUB, role).client("sagemaker").describe_model_card(ModelCardName="open")
        assert denied(caught).endswith(f"with an explicit deny in {where}")


def test_across_accounts_a_key_policy_statement_for_star_still_needs_the_callers_iam(
    admin_of: Any, role_of: Any
) -> None:
    hub, spoke = admin_of(HUB), admin_of(SPOKE)
    arn = hub.client("sagemaker").create_model_card(
        ModelCardName="shared",
        Content="{}",
        ModelCardStatus="Draft",
        SecurityConfig={"KmsKeyId": card_key(hub, key_use({"AWS": "*"}))},
    )["ModelCardArn"]
    hub.client("ram").create_resource_share(
        name="cards", principals=[SPOKE], resourceArns=[arn], permissionArns=[READ_WRITE]
    )
    ram = spoke.client("ram")
    for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
        ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    trust_spoke_root = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    make_role(spoke, "describer", trust_spoke_root, allow("sagemaker:DescribeModelCard", arn))
    with pytest.raises(ClientError) as caught:
        role_of(SPOKE, "describer").client("sagemaker").describe_model_card(ModelCardName=arn)
    assert denied(caught).endswith("because no identity-based policy allows the kms:Decrypt action")


# --- Source identity ("Monitor and control actions taken with assumed roles", IAM User Guide) -------
def test_a_trust_policy_can_require_a_source_identity_and_setting_one_needs_set_source_identity(
    admin_of: Any, role_of: Any
) -> None:
    hub = admin_of(HUB)
    person = make_role(hub, "person", TRUST_HUB_ROOT, allow(["sts:AssumeRole", "sts:SetSourceIdentity"], "*"))
    make_role(hub, "assume-only", TRUST_HUB_ROOT, allow("sts:AssumeRole", "*"))
    admitted = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Condition": {"ArnLike": {"aws:PrincipalArn": person}, "Null": {"sts:SourceIdentity": "false"}},
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [{**admitted, "Action": "sts:AssumeRole"}, {**admitted, "Action": "sts:SetSourceIdentity"}],
    }
    make_role(hub, "approver", trust, allow("s3:ListAllMyBuckets", "*"))
    make_role(
        hub, "approver-without-set", {"Version": "2012-10-17", "Statement": [{**admitted, "Action": "sts:AssumeRole"}]}
    )
    via = role_of(HUB, "person")
    with pytest.raises(ClientError) as caught:
        role_of(HUB, "approver", via=via)  # no source identity
    assert "no resource-based policy allows the sts:AssumeRole action" in denied(caught)
    with pytest.raises(ClientError) as caught:
        role_of(HUB, "approver-without-set", via=via, SourceIdentity="ana@example.com")
    assert "sts:SetSourceIdentity" in denied(caught)
    with pytest.raises(ClientError) as caught:
        role_of(HUB, "approver", via=role_of(HUB, "assume-only"), SourceIdentity="ana@example.com")
    assert "no resource-based policy allows the sts:AssumeRole action" in denied(caught)
    approver = role_of(HUB, "approver", via=via, SourceIdentity="ana@example.com")
    assert approver.client("s3").list_buckets()["Buckets"] == []


def test_a_source_identity_persists_through_role_chaining(admin_of: Any, role_of: Any) -> None:
    hub = admin_of(HUB)
    make_role(hub, "person", TRUST_HUB_ROOT, allow(["sts:AssumeRole", "sts:SetSourceIdentity"], "*"))
    chained = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:SourceIdentity": "ana@example.com"}},
    }
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}}
    trust_with_source = {
        "Version": "2012-10-17",
        "Statement": [{**root, "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}],
    }
    make_role(hub, "first", trust_with_source, allow("sts:AssumeRole", "*"))
    make_role(hub, "second", {"Version": "2012-10-17", "Statement": [chained]})
    first = role_of(HUB, "first", via=role_of(HUB, "person"), SourceIdentity="ana@example.com")
    assert role_of(HUB, "second", via=first)  # no SourceIdentity passed: the first session's carries on
    with pytest.raises(ClientError):
        role_of(HUB, "second", via=role_of(HUB, "first"))


@pytest.mark.parametrize(
    ("caller", "denied"),
    [
        (("arn:aws:sts::111111111111:assumed-role/writer/s", "arn:aws:iam::111111111111:role/writer"), False),
        (("arn:aws:sts::111111111111:assumed-role/dev/s", "arn:aws:iam::111111111111:role/dev"), True),
        (("arn:aws:iam::222222222222:user/u", "arn:aws:iam::222222222222:user/u"), True),
    ],
)
def test_a_not_principal_deny_denies_everyone_but_those_listed(caller: tuple[str, str], denied: bool) -> None:
    from emulator.policy import Principal, Request, decide, statements_of

    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": "*"},
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": ["arn:aws:iam::111111111111:role/writer"]},
                "Action": "dynamodb:PutItem",
                "Resource": "*",
            },
        ]
    }
    arn, principal_arn = caller
    principal = Principal(arn=arn, account=arn.split(":")[4], principal_arn=principal_arn)
    request = Request("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111111111111:table/ledger", principal)
    assert decide(statements_of(policy), request, resource_policy=True) == (denied, not denied)
