"""Lambda function URLs with AuthType AWS_IAM, as the Lambda Developer Guide describes them.

"Invoking Lambda function URLs": with `AWS_IAM` every HTTP request is signed with Signature Version
4 for the service `lambda`; Lambda passes the function a payload format 2.0 event whose
`requestContext.authorizer.iam` names the caller (`accessKey`, `accountId`, `callerId`,
`principalOrgId`, `userArn`, `userId`), and turns the function's answer into the HTTP response.
"Control access to Lambda function URLs": the caller needs `lambda:InvokeFunctionUrl` (and, for
URLs created since October 2025, `lambda:InvokeFunction`); within the function's account its
identity-based policy or the function's resource-based policy suffices, across accounts both must
allow; the condition key `lambda:FunctionUrlAuthType` carries the URL's AuthType. A request that
fails is answered 403 `{"Message":"Forbidden"}` and the function does not run.

Here the signature is checked against the credentials the emulator issued (moto's IAMRequest, as
for every other API call), and the permission with the emulator's policy evaluation
(emulator.permissions, resource policies registered with `set_function_policy`). `invoke` serves
one request in-process; `serve` answers on 127.0.0.1 for clients outside the process. AWS's docs do
not give the body of a 403 for a bad signature; the emulator answers the same Forbidden message.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from moto.core.exceptions import InvalidClientTokenIdError, SignatureDoesNotMatchError
from moto.iam.access_control import AssumedRoleAccessKey, IAMRequest
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

from emulator.organizations import organization_of
from emulator.permissions import (
    evaluate,
    global_context,
    identity_statements,
    principal_of,
    set_function_policy,
    source_identity_of,
)

Handler = Callable[[dict[str, Any]], Any]
ACTIONS = ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction")
FORBIDDEN = (403, {"content-type": "application/json"}, b'{"Message":"Forbidden"}')
# A function that raised. AWS's docs do not give the answer's body; the emulator's choice.
FAILED = (502, {"content-type": "application/json"}, b'{"Message":"Internal Server Error"}')


@dataclass
class FunctionUrl:
    function_arn: str
    handler: Handler
    auth_type: str = "AWS_IAM"
    url: str = ""  # set by `serve`

    @property
    def account(self) -> str:
        return self.function_arn.split(":")[4]


def register(function_arn: str, handler: Handler, *, policy: Mapping[str, Any] | None = None) -> FunctionUrl:
    """A function URL (AuthType AWS_IAM) for `handler`, with the function's resource-based policy."""
    set_function_policy(function_arn, policy)
    return FunctionUrl(function_arn, handler)


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def authenticate(function_url: FunctionUrl, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
    """The caller's moto access key when the request is signed for `lambda` with credentials the
    emulator issued and the caller may invoke the URL; None otherwise (answered 403)."""
    authorization = _header(headers, "Authorization")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "Credential=" not in authorization:
        return None
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) != 5 or scope[3] != "lambda":
        return None
    # moto reads the session token under this exact name.
    named = {("X-Amz-Security-Token" if k.lower() == "x-amz-security-token" else k): v for k, v in headers.items()}
    try:
        request = IAMRequest(
            account_id=get_account_id_from(scope[0]),
            method=method,
            path=path,
            data={},
            body=body,
            headers=named,
            action="InvokeFunctionUrl",
        )
        request.check_signature()
    except (SignatureDoesNotMatchError, InvalidClientTokenIdError, KeyError):
        return None
    return request._access_key


def authorized(function_url: FunctionUrl, access_key: Any, url: str) -> bool:
    account = access_key.account_id
    principal = principal_of(access_key, account)
    identity = identity_statements(access_key)
    context = {
        **global_context(principal, url),
        "lambda:FunctionUrlAuthType": function_url.auth_type,
        "lambda:InvokedViaFunctionUrl": "true",
    }
    inherited = source_identity_of(getattr(access_key, "_access_key_id", "") or "")
    if inherited is not None:
        context["aws:SourceIdentity"] = inherited
    return all(
        evaluate("lambda", action, function_url.function_arn, principal, identity, context) is None
        for action in ACTIONS
    )


def iam_context(access_key: Any) -> dict[str, Any]:
    """requestContext.authorizer.iam as Lambda writes it for the signed caller."""
    account = access_key.account_id
    principal = principal_of(access_key, account)
    arn = principal.arn
    if isinstance(access_key, AssumedRoleAccessKey):
        session = sts_backends[account]["global"].get_assumed_role_from_access_key(access_key._access_key_id)
        user_id = session.user_id if session else arn.rsplit("/", 1)[-1]
    else:
        user_id = iam_backends[account][access_key.partition].get_user(access_key._owner_user_name).id
    organization = organization_of(account)
    return {
        "accessKey": access_key._access_key_id,
        "accountId": account,
        "callerId": user_id,
        "cognitoIdentity": None,
        "principalOrgId": organization[0] if organization else None,
        "userArn": arn,
        "userId": user_id,
    }


def event_for(
    function_url: FunctionUrl, method: str, url: str, headers: Mapping[str, str], body: bytes, access_key: Any
) -> dict[str, Any]:
    parts = urlsplit(url)
    now = datetime.now(UTC)
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": function_url.account,  # the function owner's, as for an API Gateway HTTP API
            "apiId": function_url.function_arn.rsplit(":", 1)[-1].lower(),
            "authorizer": {"iam": iam_context(access_key)},
            "domainName": parts.netloc,
            "domainPrefix": parts.netloc.split(".")[0],
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": _header(headers, "User-Agent"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def response_of(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Lambda's reading of the function's answer: an object with statusCode is the response;
    anything else is a 200 with the answer as its JSON body ("Invoking Lambda function URLs",
    response payload format)."""
    if isinstance(result, Mapping) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), {str(k): str(v) for k, v in (result.get("headers") or {}).items()}, raw
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


def invoke(
    function_url: FunctionUrl, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to the function URL: (status, headers, body)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _header(headers, "Host"):
        headers = {**headers, "Host": parts.netloc}  # what every HTTP/1.1 client sends
    access_key = authenticate(function_url, method, path, headers, body)
    if access_key is None or not authorized(function_url, access_key, url):
        return FORBIDDEN
    try:
        result = function_url.handler(event_for(function_url, method, url, headers, body, access_key))
    except Exception:  # a function error: the caller gets no detail of it
        return FAILED
    return response_of(result)


def serve(function_url: FunctionUrl, port: int = 0) -> ThreadingHTTPServer:
    """Answer the function URL on http://127.0.0.1:<port>/ in a thread; sets `function_url.url`."""

    class Request(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
            status, headers, payload = invoke(function_url, self.command, url, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the sandbox prints each handler run itself

    server = ThreadingHTTPServer(("127.0.0.1", port), Request)
    function_url.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
