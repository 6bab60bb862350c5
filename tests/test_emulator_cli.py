"""A spoke user drives the emulator's server with the real AWS CLI (the `awscli` package), with
permission evaluation on: the user is a role of the spoke that may only read shared cards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.server import start
from emulator.sessions import admin_session, role_session

HUB = "111111111111"
SPOKE = "222222222222"
AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server, url = start()
    yield url
    server.stop()  # type: ignore[attr-defined]


CARD_READER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"],
            "Resource": f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ram:ListResources",
                "ram:GetResourceShareInvitations",
                "ram:AcceptResourceShareInvitation",
            ],
            "Resource": "*",
        },
    ],
}


def card_reader(endpoint: str) -> dict[str, str]:
    """A role of the spoke that reads shared cards, created by the spoke's administrator."""
    iam = admin_session(SPOKE, endpoint).client("iam", endpoint_url=endpoint)
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"}, "Action": "sts:AssumeRole"}
        ]
    }
    iam.create_role(RoleName="card-reader", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="card-reader", PolicyName="read-cards", PolicyDocument=json.dumps(CARD_READER))
    granted = role_session(SPOKE, "card-reader", endpoint).get_credentials()
    assert granted is not None
    return {
        "AWS_ACCESS_KEY_ID": granted.access_key,
        "AWS_SECRET_ACCESS_KEY": granted.secret_key,
        "AWS_SESSION_TOKEN": granted.token or "",
    }


def aws_cli(endpoint: str, credentials: dict[str, str], *args: str) -> Any:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1", **credentials)
    result = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_spoke_lists_and_describes_a_shared_card_by_arn(endpoint: str) -> None:
    hub = admin_session(HUB, endpoint)
    reader = card_reader(endpoint)
    sagemaker = hub.client("sagemaker", endpoint_url=endpoint)
    card = sagemaker.create_model_card(
        ModelCardName="cli-churn",
        Content=json.dumps({"model_overview": {"model_owner": "churn-team"}}),
        ModelCardStatus="Draft",
    )["ModelCardArn"]
    hub.client("ram", endpoint_url=endpoint).create_resource_share(
        name="cli-cards",
        principals=[SPOKE],
        resourceArns=[card],
        permissionArns=["arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"],
    )

    invitations = aws_cli(endpoint, reader, "ram", "get-resource-share-invitations")["resourceShareInvitations"]
    pending = [i["resourceShareInvitationArn"] for i in invitations if i["status"] == "PENDING"]
    assert len(pending) == 1
    aws_cli(endpoint, reader, "ram", "accept-resource-share-invitation", "--resource-share-invitation-arn", pending[0])

    listed = aws_cli(
        endpoint,
        reader,
        "ram",
        "list-resources",
        "--resource-owner",
        "OTHER-ACCOUNTS",
        "--resource-type",
        "sagemaker:ModelCard",
    )["resources"]
    assert [r["arn"] for r in listed] == [card]
    described = aws_cli(endpoint, reader, "sagemaker", "describe-model-card", "--model-card-name", card)
    assert (described["ModelCardName"], described["ModelCardStatus"]) == ("cli-churn", "Draft")
    versions = aws_cli(endpoint, reader, "sagemaker", "list-model-card-versions", "--model-card-name", card)
    assert [v["ModelCardVersion"] for v in versions["ModelCardVersionSummaryList"]] == [1]
    refused = subprocess.run(
        [str(AWS_CLI), "sagemaker", "update-model-card", "--model-card-name", card, "--model-card-status", "Approved"],
        env=dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1", **reader),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr
    assert "because no identity-based policy allows the sagemaker:UpdateModelCard action" in refused.stderr
