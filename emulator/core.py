"""What every extension needs: AWS-shaped errors, timestamps as AWS prints them, and who is calling."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.sts.models import sts_backends

T = TypeVar("T")


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


def user_context(response: Any, *, iam_identity: bool) -> dict[str, Any]:
    """botocore's UserContext for the caller: what SageMaker reports as CreatedBy/LastModifiedBy.

    UserProfileArn, UserProfileName and DomainId name a Studio user profile; the emulator has no
    Studio, so a caller never has one. IamIdentity names the IAM principal, and botocore says its
    details "are associated with model package groups, model packages, project entities, hubs, and
    hub content only": model cards pass iam_identity=False and name nobody.
    """
    if not iam_identity:
        return {}
    account: str = response.current_account
    sts = sts_backends[account]["global"]
    principal_id, arn, _ = sts.get_caller_identity(response.get_access_key(), response.region)
    # SourceIdentity is set only by an AssumeRole that passed one; moto's STS keeps none.
    return {"IamIdentity": {"Arn": arn, "PrincipalId": principal_id}}


# --- Pages ----------------------------------------------------------------------------------------


def page(
    items: list[T],
    max_results: Any,
    token: Any,
    *,
    default: int,
    maximum: int,
    invalid_token: Callable[[str], Exception],
    invalid_max: Callable[[str], Exception],
    field: str = "maxResults",
) -> tuple[list[T], str | None]:
    """One page of `items` and the token for the next (None on the last page).

    The token is opaque to callers, as AWS's are; one the emulator did not hand out is refused.
    """
    size = default if max_results is None else max_results
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= maximum:
        raise invalid_max(f"{field} must be between 1 and {maximum}, not {max_results!r}.")
    start = 0 if token is None else _token_offset(str(token))
    if start is None:
        raise invalid_token(f"The pagination token {token!r} is not valid.")
    end = start + size
    following = base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{end}".encode()).decode() if end < len(items) else None
    return items[start:end], following


_TOKEN_PREFIX = "emulator-page:"


def _token_offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    offset = text.removeprefix(_TOKEN_PREFIX)
    return int(offset) if text.startswith(_TOKEN_PREFIX) and offset.isdigit() else None


def result(payload: dict[str, Any]) -> ActionResult:
    """A handler's answer, serialized by moto as the service's protocol demands."""
    return ActionResult(payload)


def body(answer: Any) -> str:
    """The JSON body of an ActionResult, as the response serializer would send it."""
    payload = getattr(answer, "result", None)
    if isinstance(payload, dict):
        return json.dumps(iso(payload))
    return str(answer)
