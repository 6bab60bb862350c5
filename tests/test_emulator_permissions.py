"""The emulator's way in and its permission evaluation, each as AWS does it.

The way in follows AWS Organizations: the management account's administrator assumes
OrganizationAccountAccessRole in any account; nothing else is allowed by default.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.permissions import enforcement
from emulator.sessions import management_session

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
