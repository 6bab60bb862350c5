"""Lambda function URLs with AuthType AWS_IAM in the emulator, as the Lambda Developer Guide
describes them ("Invoking Lambda function URLs", "Control access to Lambda function URLs"), and the
condition-value policy variables the reviewer role's trust policy uses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from emulator import function_urls
from emulator.sessions import role_session
from tests.accounts import session_for

HUB, SPOKE = "111111111111", "222222222222"
FUNCTION = f"arn:aws:lambda:us-east-1:{HUB}:function:echo"
URL = "https://echo0000.lambda-url.us-east-1.on.aws/path?x=1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}],
}


def role(account: str, name: str, *statements: dict[str, Any]) -> Any:
    iam = session_for(account).client("iam")
    trust = json.loads(json.dumps(TRUST).replace(HUB, account))
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    return role_session(account, name, session_name=f"{name}-session")


def signed(session: Any, service: str = "lambda", body: bytes = b'{"a": 1}') -> dict[str, str]:
    credentials = session.get_credentials().get_frozen_credentials()
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


INVOKE = {"Effect": "Allow", "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"], "Resource": FUNCTION}


@pytest.fixture
def seen(aws: None) -> list[dict[str, Any]]:
    return []


@pytest.fixture
def url(seen: list[dict[str, Any]]) -> function_urls.FunctionUrl:
    def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 201, "headers": {"content-type": "text/plain"}, "body": "made"}

    return function_urls.register(FUNCTION, handler)


def test_a_signed_caller_allowed_by_its_identity_policy_reaches_the_function_with_its_identity(
    url: function_urls.FunctionUrl, seen: list[dict[str, Any]]
) -> None:
    caller = role(HUB, "caller", INVOKE)
    body = b'{"a": 1}'
    assert function_urls.invoke(url, "POST", URL, signed(caller, body=body), body) == (
        201,
        {"content-type": "text/plain"},
        b"made",
    )
    [event] = seen
    identity = event["requestContext"]["authorizer"]["iam"]
    assert identity["userArn"] == f"arn:aws:sts::{HUB}:assumed-role/caller/caller-session"
    assert identity["accountId"] == HUB and identity["userId"].endswith(":caller-session")
    assert (event["version"], event["rawPath"], event["rawQueryString"], event["body"]) == (
        "2.0",
        "/path",
        "x=1",
        '{"a": 1}',
    )


def test_without_permission_a_bad_signature_or_another_service_is_403_and_the_function_does_not_run(
    url: function_urls.FunctionUrl, seen: list[dict[str, Any]]
) -> None:
    forbidden = (403, {"content-type": "application/json"}, b'{"Message":"Forbidden"}')
    only_url = {**INVOKE, "Action": "lambda:InvokeFunctionUrl"}  # URLs since October 2025 need both
    for session in (role(HUB, "nobody"), role(HUB, "half", only_url)):
        assert function_urls.invoke(url, "POST", URL, signed(session), b'{"a": 1}') == forbidden
    caller = role(HUB, "caller", INVOKE)
    assert function_urls.invoke(url, "POST", URL, signed(caller), b'{"a": 2}') == forbidden  # body changed
    assert function_urls.invoke(url, "POST", URL, signed(caller, service="execute-api"), b'{"a": 1}') == forbidden
    assert function_urls.invoke(url, "POST", URL, {}, b"") == forbidden  # unsigned
    assert seen == []


def test_another_account_needs_the_functions_resource_policy_too(seen: list[dict[str, Any]]) -> None:
    spoke = role(SPOKE, "caller", INVOKE)
    url = function_urls.register(FUNCTION, seen.append)
    assert function_urls.invoke(url, "POST", URL, signed(spoke), b'{"a": 1}')[0] == 403
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:role/caller"},
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": FUNCTION,
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:role/caller"},
                "Action": "lambda:InvokeFunction",
                "Resource": FUNCTION,
                "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
            },
        ],
    }
    url = function_urls.register(FUNCTION, lambda event: {"ok": True}, policy=policy)
    assert function_urls.invoke(url, "POST", URL, signed(spoke), b'{"a": 1}') == (
        200,
        {"content-type": "application/json"},
        b'{"ok": true}',
    )


def test_a_trust_policy_can_hold_the_session_name_to_the_source_identity(aws: None) -> None:
    """`${sts:SourceIdentity}` in a condition value, as the reviewer role's trust policy writes it."""
    iam = session_for(HUB).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {
                    "Null": {"sts:SourceIdentity": "false"},
                    "StringEquals": {"sts:RoleSessionName": "${sts:SourceIdentity}"},
                },
            }
        ],
    }
    iam.create_role(RoleName="named", AssumeRolePolicyDocument=json.dumps(trust))
    for name, source in (("ana@example.com", "bob@example.com"), ("ana", "")):
        extra = {"SourceIdentity": source} if source else {}
        with pytest.raises(ClientError, match="AccessDenied"):
            role_session(HUB, "named", session_name=name, **extra)
    session = role_session(HUB, "named", session_name="ana@example.com", SourceIdentity="ana@example.com")
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{HUB}:assumed-role/named/ana@example.com"
