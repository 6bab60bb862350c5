"""boto3 sessions in several emulated accounts: moto keeps separate state per assumed account."""

from __future__ import annotations

import boto3

REGION = "us-east-1"


def session_for(account: str, region: str = REGION) -> boto3.Session:
    """A session whose credentials moto maps to `account` (STS AssumeRole into that account)."""
    sts = boto3.client("sts", region_name=region)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
