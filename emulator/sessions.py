"""How a person, a test or the sandbox becomes someone in the emulator, the way AWS Organizations does it.

    management_session()            the management account's administrator (the printed keys)
    admin_session(account)          administrator of any account, through OrganizationAccountAccessRole
    role_session(account, role)     a role of an account, by AssumeRole (its trust policy decides)

Pass `endpoint` for the server; leave it out in-process (`mock_aws`).
"""

from __future__ import annotations

import boto3
import botocore.loaders
import botocore.session

from emulator.organizations import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, access_role_arn

REGION = "us-east-1"
# Service models are parsed once per loader; sessions share one, so a new session costs no parsing.
_LOADER = botocore.loaders.create_loader()


def _session(access_key: str, secret: str, token: str | None = None) -> boto3.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=REGION,
        botocore_session=core,
    )


def account_trust(account: str) -> dict[str, object]:
    """A trust policy that leaves to `account`'s IAM who may assume the role (the account root
    as principal), as an administrator writes one for a role of people in that account."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
        ],
    }


def environment_session() -> boto3.Session:
    """A session whose credentials come from the environment when it first needs them, as the
    default session of a Lambda function's process does; it shares the parsed service models."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core)


def management_session(endpoint: str | None = None) -> boto3.Session:
    del endpoint  # the keys are the same in-process and on the server
    return _session(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY)


def assume(via: boto3.Session, role_arn: str, endpoint: str | None = None, **extra: str) -> boto3.Session:
    """A session for `role_arn`, assumed with `via`'s credentials (AccessDenied unless the role trusts it)."""
    sts = via.client("sts", endpoint_url=endpoint, region_name=REGION)
    granted = sts.assume_role(RoleArn=role_arn, RoleSessionName=extra.pop("session_name", "emulator"), **extra)
    credentials = granted["Credentials"]
    return _session(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


def admin_session(account: str, endpoint: str | None = None) -> boto3.Session:
    """Administrator of `account`: the management account's administrator in its access role."""
    return assume(management_session(), access_role_arn(account), endpoint, session_name="admin")


def role_session(
    account: str, role_name: str, endpoint: str | None = None, *, via: boto3.Session | None = None, **extra: str
) -> boto3.Session:
    """Role `role_name` of `account`, assumed by `via` (default: the account's administrator)."""
    caller = via if via is not None else admin_session(account, endpoint)
    return assume(caller, f"arn:aws:iam::{account}:role/{role_name}", endpoint, **extra)


def service_role_session(role_arn: str, service: str = "lambda.amazonaws.com", name: str = "function") -> boto3.Session:
    """The role a service runs code with (a Lambda's execution role), as that service assumes it.
    In-process only: the emulator checks the role's trust policy names `service`."""
    from emulator.permissions import assume_role_for_service

    return _session(*assume_role_for_service(role_arn, service, name))
