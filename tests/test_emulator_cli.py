"""A spoke user drives the emulator's server with the real AWS CLI (the `awscli` package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.server import start

HUB = "111111111111"
SPOKE = "222222222222"
AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server, url = start()
    yield url
    server.stop()  # type: ignore[attr-defined]


def credentials_for(endpoint: str, account: str) -> dict[str, str]:
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    granted = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/card-user", RoleSessionName="cli")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": granted["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": granted["SecretAccessKey"],
        "AWS_SESSION_TOKEN": granted["SessionToken"],
    }


def aws_cli(endpoint: str, account: str, *args: str) -> Any:
    env = dict(
        os.environ, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1", **credentials_for(endpoint, account)
    )
    result = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_spoke_lists_and_describes_a_shared_card_by_arn(endpoint: str) -> None:
    hub = boto3.Session(region_name="us-east-1", **{k.lower(): v for k, v in credentials_for(endpoint, HUB).items()})
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

    invitations = aws_cli(endpoint, SPOKE, "ram", "get-resource-share-invitations")["resourceShareInvitations"]
    pending = [i["resourceShareInvitationArn"] for i in invitations if i["status"] == "PENDING"]
    assert len(pending) == 1
    aws_cli(endpoint, SPOKE, "ram", "accept-resource-share-invitation", "--resource-share-invitation-arn", pending[0])

    listed = aws_cli(
        endpoint,
        SPOKE,
        "ram",
        "list-resources",
        "--resource-owner",
        "OTHER-ACCOUNTS",
        "--resource-type",
        "sagemaker:ModelCard",
    )["resources"]
    assert [r["arn"] for r in listed] == [card]
    described = aws_cli(endpoint, SPOKE, "sagemaker", "describe-model-card", "--model-card-name", card)
    assert (described["ModelCardName"], described["ModelCardStatus"]) == ("cli-churn", "Draft")
    versions = aws_cli(endpoint, SPOKE, "sagemaker", "list-model-card-versions", "--model-card-name", card)
    assert [v["ModelCardVersion"] for v in versions["ModelCardVersionSummaryList"]] == [1]
