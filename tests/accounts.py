"""Sessions in several emulated accounts: moto keeps separate state per assumed account."""

from __future__ import annotations

import json
from typing import Any

import boto3

from emulator.sessions import account_trust
from sandbox.provision import REGION, session_for

__all__ = [
    "REGION",
    "allow_put_events",
    "create_approval_sync_role",
    "create_ledger_table",
    "session_for",
]


def create_ledger_table(dynamodb: Any, name: str) -> None:
    """The ledger table as the hub stack's ApprovalLedger makes it (tests/test_hub_stack.py pins the
    template's): the card's chain, and the sparse index of effective approvals."""
    from governance_constructs.approval_ledger import EFFECTIVE_INDEX, EFFECTIVE_KEY

    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "CardArn", "KeyType": "HASH"},
            {"AttributeName": "EntryKey", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "CardArn", "AttributeType": "S"},
            {"AttributeName": "EntryKey", "AttributeType": "S"},
            {"AttributeName": EFFECTIVE_KEY, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": EFFECTIVE_INDEX,
                "KeySchema": [{"AttributeName": EFFECTIVE_KEY, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_approval_sync_role(
    spoke: boto3.Session, hub_account: str, name: str = "model-card-governance-approval-sync"
) -> None:
    """The spoke stack's approval-sync role, trusting the hub account: tests that run the workflow
    handler as the hub's administrator assume it the way the workflow role does."""
    account = spoke.client("sts").get_caller_identity()["Account"]
    trust = account_trust(hub_account)
    packages = {
        "Effect": "Allow",
        "Action": ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
        "Resource": f"arn:aws:sagemaker:{REGION}:{account}:model-package/*/*",
    }
    iam = spoke.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    # Review decisions on its own default bus, held to their source and detail-type, as the stack's.
    review_decisions = {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": f"arn:aws:events:{REGION}:{account}:event-bus/default",
        "Condition": {
            "StringEquals": {
                "events:source": "model-card-governance",
                "events:detail-type": "Model Card Review Decision",
            }
        },
    }
    iam.put_role_policy(
        RoleName=name,
        PolicyName="packages",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [packages, review_decisions]}),
    )


def allow_put_events(hub: boto3.Session, bus: str, accounts: list[str]) -> None:
    """A bus policy letting other accounts' rules put events on `bus` (AWS refuses them otherwise)."""
    hub_account = hub.client("sts").get_caller_identity()["Account"]
    statement = {
        "Sid": "OtherAccountsPutEvents",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]},
        "Action": "events:PutEvents",
        "Resource": f"arn:aws:events:{REGION}:{hub_account}:event-bus/{bus}",
    }
    hub.client("events").put_permission(
        EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
