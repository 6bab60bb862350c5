"""CloudTrail management events for the SageMaker calls the product governs, and LookupEvents.

AWS records every SageMaker management call with the caller's identity in CloudTrail event history
(90 days, no trail needed) and serves it through `LookupEvents`; with a logging trail in the
account, the same record also reaches the default event bus as `AWS API Call via CloudTrail`
("Working with CloudTrail event history"; CloudTrail API reference, LookupEvents; EventBridge User
Guide, "AWS service events delivered via AWS CloudTrail"). moto recorded nothing and has no
LookupEvents.

Where: each record is kept in the caller's account and region only. A spoke's call on a hub card
(through RAM) is therefore in the spoke's history, not the hub's: AWS documents cross-account
recording for some services, not for SageMaker model cards, and the stricter reading is the one the
hub cannot see.

Delay: AWS delivers records "within an average of about 5 minutes of an API call; this time is not
guaranteed". Here they are visible at once, unless a test holds delivery back (`hold_delivery`).
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.cloudtrail.models import cloudtrail_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError
from moto.events.models import events_backends
from moto.iam.models import iam_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sts.models import sts_backends

# The write calls on cards and packages this product governs (botocore operation names).
RECORDED_OPERATIONS = (
    "CreateModelCard",
    "UpdateModelCard",
    "DeleteModelCard",
    "CreateModelCardExportJob",
    "CreateModelPackage",
    "UpdateModelPackage",
)
# Refusals recorded as well: AWS records a call its authorization denies, with the error
# ("CloudTrail record contents": errorCode, errorMessage). Here: the governed SageMaker writes, and
# the calls on forwarding rules and roles that the organization's guardrail SCP denies.
RECORDED_REFUSALS = (
    *(f"sagemaker:{operation}" for operation in RECORDED_OPERATIONS),
    "events:DisableRule",
    "events:DeleteRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)
# The error code CloudTrail records for a refused authorization. AWS's pages show "AccessDenied" for
# IAM-denied calls; for SageMaker they do not say, and the API answers AccessDeniedException. The
# emulator records "AccessDenied" for every refusal (docs/emulator.md, "Where AWS's docs are silent").
REFUSAL_ERROR_CODE = "AccessDenied"
# CloudTrail replaces the value of a parameter the service marks sensitive (botocore: ModelCardContent
# has "sensitive": true) and keeps the key.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
EVENT_SOURCE = "sagemaker.amazonaws.com"
LOOKUP_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
MAX_RESULTS = 50


class InvalidLookupAttributesException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidLookupAttributesException", message)


class InvalidTimeRangeException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidTimeRangeException", message)


class InvalidMaxResultsException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidMaxResultsException", message)


class InvalidNextTokenException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidNextTokenException", message)


@dataclass
class Record:
    """One management event, as LookupEvents returns it, plus when it becomes visible."""

    event: dict[str, Any]
    username: str
    resources: list[dict[str, str]]
    visible: bool = True

    @property
    def time(self) -> datetime:
        return datetime.strptime(self.event["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def lookup_entry(self) -> dict[str, Any]:
        return {
            "EventId": self.event["eventID"],
            "EventName": self.event["eventName"],
            "ReadOnly": "false",
            "AccessKeyId": self.event["userIdentity"].get("accessKeyId", ""),
            "EventTime": self.time.timestamp(),
            "EventSource": self.event["eventSource"],
            "Username": self.username,
            "Resources": self.resources,
            "CloudTrailEvent": json.dumps(self.event),
        }

    def matches(self, key: str, value: str) -> bool:
        found = {
            "EventId": [self.event["eventID"]],
            "EventName": [self.event["eventName"]],
            "ReadOnly": ["false"],
            "Username": [self.username],
            "ResourceType": [r["ResourceType"] for r in self.resources],
            "ResourceName": [r["ResourceName"] for r in self.resources],
            "EventSource": [self.event["eventSource"]],
            "AccessKeyId": [self.event["userIdentity"].get("accessKeyId", "")],
        }[key]
        return value in found


_held = False


@contextmanager
def hold_delivery() -> Iterator[None]:
    """Calls made inside the block are recorded but not yet visible to LookupEvents, as when
    CloudTrail has not delivered them; they appear when the block ends."""
    global _held
    _held = True
    try:
        yield
    finally:
        _held = False
        for backend_records in _all_records():
            for record in backend_records:
                record.visible = True


def records(account: str, region: str) -> list[Record]:
    """The event history of one account and region, kept on moto's backend (reset with it)."""
    backend = cloudtrail_backends[account][region]
    if not hasattr(backend, "management_events"):
        setattr(backend, "management_events", [])  # noqa: B010 - an attribute moto does not declare
    found: list[Record] = getattr(backend, "management_events")  # noqa: B009
    return found


def _all_records() -> Iterator[list[Record]]:
    for account in list(cloudtrail_backends.keys()):
        for region in list(cloudtrail_backends[account].keys()):
            backend = cloudtrail_backends[account][region]
            if hasattr(backend, "management_events"):
                yield getattr(backend, "management_events")  # noqa: B009


# --- Who called ---------------------------------------------------------------------------------


def user_identity(access_key: str, account: str) -> tuple[dict[str, Any], str]:
    """CloudTrail's userIdentity for the request's access key, and LookupEvents' Username.

    An assumed role's session is reported with its issuer (the role) and, when the session has
    one, its source identity in `sessionContext.sourceIdentity` (CloudTrail User Guide,
    "CloudTrail userIdentity element"); a session chained from one with a source identity keeps it
    (IAM User Guide, "Monitor and control actions taken with assumed roles"). An IAM user is
    reported by name; a key moto does not know stands for the account's root, as the emulator's
    default credentials do.
    """
    from emulator.permissions import source_identity_of

    sts = sts_backends[account]["global"]
    assumed = sts.get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        role_name = assumed.role_arn.rsplit("/", 1)[-1]
        role_id = assumed.user_id.split(":", 1)[0]
        role_account = assumed.role_arn.split(":")[4]
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": assumed.role_arn,
                "accountId": role_account,
                "userName": role_name,
            },
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
        }
        source = source_identity_of(access_key)
        if source:
            context["sourceIdentity"] = source
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{assumed.session_name}",
            "arn": assumed.arn,
            "accountId": role_account,
            "accessKeyId": access_key,
            "sessionContext": context,
        }, assumed.session_name
    for partition in iam_backends[account]:
        user = iam_backends[account][partition].get_user_from_access_key_id(access_key)
        if user is not None:
            return {
                "type": "IAMUser",
                "principalId": user.id,
                "arn": user.arn,
                "accountId": account,
                "accessKeyId": access_key,
                "userName": user.name,
            }, user.name
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": access_key,
    }, "root"


# --- Recording ----------------------------------------------------------------------------------


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


@functools.cache
def _sagemaker_model() -> Any:
    from botocore.session import get_session

    return get_session().get_service_model("sagemaker")


def request_parameters(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """AWS's requestParameters: the request's members with lowerCamelCase keys, sensitive ones hidden."""
    shape = _sagemaker_model().operation_model(operation).input_shape

    def convert(value: Any, member: Any) -> Any:
        if member is not None and member.metadata.get("sensitive"):
            return HIDDEN
        if isinstance(value, dict):
            members = getattr(member, "members", {}) if member is not None else {}
            return {_lower_camel(k): convert(v, members.get(k)) for k, v in value.items()}
        if isinstance(value, list):
            item = getattr(member, "member", None) if member is not None else None
            return [convert(v, item) for v in value]
        return value

    return {_lower_camel(k): convert(v, shape.members.get(k)) for k, v in params.items()}


def _resources(
    operation: str, params: dict[str, Any], response: dict[str, Any], account: str, region: str
) -> list[dict[str, str]]:
    if "ModelCard" in operation:
        name = params.get("ModelCardName", "")
        arn = name if name.startswith("arn:") else f"arn:aws:sagemaker:{region}:{account}:model-card/{name}"
        return [{"ResourceType": "AWS::SageMaker::ModelCard", "ResourceName": arn}]
    arn = response.get("ModelPackageArn") or params.get("ModelPackageArn")
    return [{"ResourceType": "AWS::SageMaker::ModelPackage", "ResourceName": arn}] if arn else []


def record_call(
    response: Any, operation: str, params: dict[str, Any], result: dict[str, Any] | None, error: JsonRESTError | None
) -> Record:
    account: str = response.current_account
    region: str = response.region
    responded = None if error else {_lower_camel(k): v for k, v in (result or {}).items()}
    event, username = _api_call(response, EVENT_SOURCE, operation, request_parameters(operation, params), responded)
    if error is not None:
        event["errorCode"] = error.error_type
        event["errorMessage"] = error.message
    record = Record(event, username, _resources(operation, params, result or {}, account, region), visible=not _held)
    records(account, region).append(record)
    _deliver_to_eventbridge(account, region, event)
    return record


def record_refusal(response: Any, action: str, message: str) -> Record:
    """Record a call its authorization refused, in the caller's account and region, with
    errorCode AccessDenied and no response."""
    service, operation = action.split(":", 1)
    if service == "sagemaker":
        params = {k: v for k, v in json.loads(response.body or "{}").items() if v is not None}
        parameters = request_parameters(operation, params)
        resources = _resources(operation, params, {}, response.current_account, response.region)
    else:
        query = getattr(response, "querystring", {}) or {}
        raw = json.loads(response.body or "{}") if service == "events" else {k: v[0] for k, v in query.items()}
        parameters = {_lower_camel(k): v for k, v in raw.items() if k not in ("Action", "Version")}
        resources = []
    event, username = _api_call(response, f"{service}.amazonaws.com", operation, parameters, None)
    event["errorCode"] = REFUSAL_ERROR_CODE
    event["errorMessage"] = message
    record = Record(event, username, resources, visible=not _held)
    records(response.current_account, response.region).append(record)
    return record


def _api_call(
    response: Any, source: str, operation: str, parameters: Any, responded: Any
) -> tuple[dict[str, Any], str]:
    """The CloudTrail record of one API call by the response's caller, and the caller's user name."""
    account: str = response.current_account
    identity, username = user_identity(response.get_access_key(), account)
    event: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": operation,
        "awsRegion": response.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": response.headers.get("User-Agent", ""),
        "requestParameters": parameters,
        "responseElements": responded,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    return event, username


def _deliver_to_eventbridge(account: str, region: str, event: dict[str, Any]) -> None:
    """AWS sends management events to the default bus only when a trail logs them."""
    trails = cloudtrail_backends[account][region].trails.values()
    if not any(trail.status.is_logging for trail in trails):
        return
    events_backends[account][region].put_events(
        [
            {
                "Source": "aws.sagemaker",
                "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(event),
                "Resources": [],
                "EventBusName": "default",
            }
        ]
    )


def _recorded(operation: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: Any) -> Any:
        params = {k: v for k, v in json.loads(self.body or "{}").items() if v is not None}
        try:
            result = handler(self)
        except JsonRESTError as error:
            record_call(self, operation, params, None, error)
            raise
        record_call(self, operation, params, _payload(result), None)
        return result

    call.__name__ = handler.__name__
    return call


def _payload(result: Any) -> dict[str, Any]:
    payload = getattr(result, "result", None)
    if isinstance(payload, dict):
        return payload
    if isinstance(result, str):
        try:
            parsed = json.loads(result)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


# --- LookupEvents ----------------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), tz=UTC)


def lookup_events(self: Any) -> str:
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can only specify one lookup attribute.")
    for attribute in attributes:
        if attribute.get("AttributeKey") not in LOOKUP_KEYS:
            raise InvalidLookupAttributesException(f"{attribute.get('AttributeKey')} is not a valid lookup attribute.")
    start, end = _timestamp(self._get_param("StartTime")), _timestamp(self._get_param("EndTime"))
    if start and end and start > end:
        raise InvalidTimeRangeException("StartTime must be before EndTime.")
    limit = self._get_param("MaxResults") or MAX_RESULTS
    if not 1 <= int(limit) <= MAX_RESULTS:
        raise InvalidMaxResultsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    found = [
        r
        for r in records(self.current_account, self.region)
        if r.visible
        and (start is None or r.time >= start)
        and (end is None or r.time <= end)
        and all(r.matches(a["AttributeKey"], a["AttributeValue"]) for a in attributes)
    ]
    found.reverse()  # newest first, as AWS answers
    offset = 0
    token = self._get_param("NextToken")
    if token:
        try:
            offset = int(base64.b64decode(token).decode())
        except ValueError:
            raise InvalidNextTokenException("Invalid NextToken.") from None
    page = found[offset : offset + int(limit)]
    answer: dict[str, Any] = {"Events": [r.lookup_entry() for r in page]}
    if offset + int(limit) < len(found):
        answer["NextToken"] = base64.b64encode(str(offset + int(limit)).encode()).decode()
    return json.dumps(answer)


_installed = False


def install() -> None:
    """Record the governed SageMaker calls and serve LookupEvents. Call after the model card
    handlers are in place, so the recorded call is the one AWS would answer."""
    global _installed
    if _installed:
        return
    _installed = True
    from botocore import xform_name

    for operation in RECORDED_OPERATIONS:
        name = xform_name(operation)
        setattr(SageMakerResponse, name, _recorded(operation, getattr(SageMakerResponse, name)))
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
