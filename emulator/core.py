"""What every extension needs: AWS-shaped errors, timestamps as AWS prints them, and who is calling."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.sts.models import sts_backends


class ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceNotFound(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFound", message)


class AccessDeniedException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


def now() -> datetime:
    # moto keeps naive UTC datetimes; mixing in aware ones breaks its own sorting.
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: Any) -> Any:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


# --- Who is calling -------------------------------------------------------------------------------


def caller_of(response: Any) -> tuple[str, str]:
    """The caller's account and principal ARN, as STS would report them."""
    account: str = response.current_account
    _, arn, _ = sts_backends[account]["global"].get_caller_identity(response.get_access_key(), response.region)
    return account, arn


def user_context(arn: str, region: str) -> dict[str, str]:
    # SageMaker reports the Studio user profile; an API caller outside Studio is recorded here by
    # its principal, in the same three fields the sample event has.
    return {"DomainId": region, "UserProfileArn": arn, "UserProfileName": arn.rsplit("/", 1)[-1]}


def result(payload: dict[str, Any]) -> ActionResult:
    """A handler's answer, serialized by moto as the service's protocol demands."""
    return ActionResult(payload)


def body(answer: Any) -> str:
    """The JSON body of an ActionResult, as the response serializer would send it."""
    payload = getattr(answer, "result", None)
    if isinstance(payload, dict):
        return json.dumps(iso(payload))
    return str(answer)
