"""Approvers' decisions, through the hub's decision endpoint: a Lambda function URL with AuthType AWS_IAM.

An `Approved` status says nothing about who set it or which version they looked at (UpdateModelCard
with a status names no version, and a spoke's call on a shared card is recorded in the spoke's
CloudTrail only). A decision does: the approver names the card, the exact version and a comment,
Lambda authenticates the SigV4-signed request and hands the function the caller in
`requestContext.authorizer.iam` (`userArn`, `accountId`, `accessKey`, `userId`; Lambda Developer
Guide, "Invoking Lambda function URLs", request payload format 2.0). The hub then:

1. judges the caller itself: within one account an identity-based policy alone allows invoking a
   function URL (Lambda Developer Guide, "Control access to Lambda function URLs"), so a hub
   developer with PowerUserAccess can call it; only configured approvers decide;
2. names the person. The function URL event carries no source identity, so for the reviewer role
   (a role in `named_roles`) the person is the session name, which the role's trust policy holds
   equal to the session's source identity (`sts:RoleSessionName` = `${sts:SourceIdentity}`; IAM User
   Guide, "IAM and AWS STS condition context keys" and "IAM policy elements: Variables and tags"):
   the same name CloudTrail records for that person's card writes, so separation of duties compares
   one person's name. An IAM user is the user; another approver role's session is the session ARN;
3. checks that the named version is the card's current one and is PendingReview;
4. appends a `decision` entry to the card's ledger chain (card ARN and CreationTime, version,
   decision, person, caller, comment, time), keyed by version and person: one person deciding twice
   is one decision;
5. sets the card Approved itself. UpdateModelCard has no version precondition: a version made in
   between gets the status, and the workflow refuses it, since no decision names it.

A refused request is appended to the card's ledger too (`decision-refused`), when the card exists.
The workflow makes a decided approval effective (workflow.judge): a decision on exactly that version
of that card, made after the version existed, by a person who did not write it.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.card_names import CARD_NAME
from shared.runtime import metadata_only

from card_workflow.ledger import append_entry, get_entry

# `request-changes` and `reject` will be recorded in the same shape; only `approve` acts today.
DECISIONS = ("approve",)
LATER_DECISIONS = ("request-changes", "reject")
MAX_COMMENT = 2000


@dataclass(frozen=True)
class DecisionSettings:
    ledger_table: str
    hub_account: str
    region: str
    # Principals (role or user ARNs of the hub account) whose decisions count.
    approvers: frozenset[str]
    # Approver roles whose session name is the person (their trust policy ties it to the source identity).
    named_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DecisionRequest:
    card_name: str
    version: int
    decision: str
    comment: str


@dataclass(frozen=True)
class Caller:
    arn: str  # the exact caller: the assumed-role session or the IAM user
    account: str
    principal: str  # the configured approver it is, or the caller's role or user ARN
    person: str


class Refused(Exception):
    """A request the hub answers with a refusal; `status` is the HTTP status of the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def answer(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """A function URL response (payload format 2.0): status, JSON headers, body."""
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


# --- What arrives ------------------------------------------------------------------------------------


def request_body(event: Mapping[str, Any]) -> Any:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Refused(400, "the body is not valid base64 text") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise Refused(400, "the body is not JSON") from None


def parse_request(body: Any) -> DecisionRequest:
    if not isinstance(body, Mapping):
        raise Refused(400, "the body is not a JSON object")
    card, version, decision, comment = body.get("card"), body.get("version"), body.get("decision"), body.get("comment")
    if not isinstance(card, str) or not CARD_NAME.match(card):
        raise Refused(400, f"card is missing or not a model card name ({card!r})")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise Refused(400, f"version is missing or not a positive integer ({version!r})")
    if decision in LATER_DECISIONS:
        raise Refused(400, f"decision {decision!r} is not taken yet; only {', '.join(DECISIONS)}")
    if decision not in DECISIONS:
        raise Refused(400, f"decision is {decision!r}, not one of {', '.join(DECISIONS)}")
    if not isinstance(comment, str) or not comment.strip():
        raise Refused(400, "comment is missing: say why")
    if len(comment) > MAX_COMMENT:
        raise Refused(400, f"comment has {len(comment)} characters, at most {MAX_COMMENT}")
    return DecisionRequest(card, version, decision, comment)


def iam_identity(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """requestContext.authorizer.iam: present when the URL's AuthType is AWS_IAM."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    identity = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    if not isinstance(identity, Mapping) or not isinstance(identity.get("userArn"), str):
        raise Refused(403, "the request carries no IAM caller (the function URL must use AuthType AWS_IAM)")
    return identity


def caller_of(identity: Mapping[str, Any], settings: DecisionSettings) -> Caller:
    """Who called, as an approver list names principals, and the person.

    An assumed-role session's ARN names the role without its path; role names are unique in an
    account whatever the path (IAM User Guide, "IAM identifiers"), so the approver is found by name.
    """
    arn = str(identity["userArn"])
    parts = arn.split(":", 5)
    if len(parts) != 6:
        raise Refused(403, f"the caller {arn!r} is not an IAM principal ARN")
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/") and resource.count("/") == 2:
        _, role, session = resource.split("/")
        prefix = f"arn:{partition}:iam::{account}:role/"
        matches = [a for a in settings.approvers if a.startswith(prefix) and a.rsplit("/", 1)[-1] == role]
        principal = matches[0] if matches else f"{prefix}{role}"
        person = session if principal in settings.named_roles else arn
        return Caller(arn, account, principal, person)
    # An IAM user is one person; anyone else (a root or federated user) is named by the ARN alone.
    return Caller(arn, account, arn, arn)


# --- The judgement (no AWS) --------------------------------------------------------------------------


def refusal(
    request: DecisionRequest, caller: Caller, card: Mapping[str, Any], settings: DecisionSettings
) -> Refused | None:
    """Why this decision cannot be taken (403: not the caller's to take; 409: not now), or None."""
    if caller.account != settings.hub_account:
        return Refused(403, f"{caller.arn} is not a principal of the hub account")
    if caller.principal not in settings.approvers:
        return Refused(403, f"{caller.principal} is not an approver")
    current, status = card.get("ModelCardVersion"), card.get("ModelCardStatus")
    if current != request.version:
        return Refused(
            409, f"version {current} is current, you decided on {request.version}: decide again on version {current}"
        )
    if status != "PendingReview":
        return Refused(
            409, f"version {current} is {status}, not PendingReview: only a version in review can be approved"
        )
    return None


# --- Acting ------------------------------------------------------------------------------------------


def card_arn_of(settings: DecisionSettings, name: str) -> str:
    region = settings.region
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return f"arn:{partition}:sagemaker:{settings.region}:{settings.hub_account}:model-card/{name}"


def _when(value: Any) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if isinstance(value, datetime) else ""


def describe(sagemaker: Any, name: str) -> dict[str, Any] | None:
    try:
        card: dict[str, Any] = sagemaker.describe_model_card(
            ModelCardName=name, **metadata_only(sagemaker, "DescribeModelCard")
        )
    except sagemaker.exceptions.ResourceNotFound:
        return None
    return card


def handle_decision(
    event: Mapping[str, Any], *, sagemaker: Any, dynamodb: Any, settings: DecisionSettings, now: datetime | None = None
) -> dict[str, Any]:
    """Record an approver's decision and set the card Approved, or refuse; the function URL's answer."""
    now = now or datetime.now(UTC)
    context = event.get("requestContext")
    request_id = str(context.get("requestId") or "") if isinstance(context, Mapping) else ""
    request_id = request_id or uuid.uuid4().hex
    try:
        identity = iam_identity(event)
        request = parse_request(request_body(event))
    except Refused as bad:
        return answer(bad.status, {"outcome": "refused", "reason": bad.reason})
    caller = caller_of(identity, settings)
    card = describe(sagemaker, request.card_name)
    if card is None:
        return answer(404, {"outcome": "refused", "reason": f"model card {request.card_name} does not exist"})
    card_arn = card_arn_of(settings, request.card_name)
    refused = refusal(request, caller, card, settings)
    decision_key = f"{request.version:08d}#decision#{caller.person}"
    retried = caller.principal in settings.approvers and _already_approved(
        card, request, dynamodb, settings, card_arn, decision_key
    )
    if refused is not None and not retried:
        append_entry(
            dynamodb,
            settings.ledger_table,
            card_arn,
            f"{request.version:08d}#decision-refused#{request_id}",
            {
                "Kind": "decision-refused",
                "Version": str(request.version),
                "Decision": request.decision,
                "Person": caller.person,
                "Principal": caller.principal,
                "Caller": caller.arn,
                "Comment": request.comment,
                "Reason": refused.reason,
                "RequestedAt": now.isoformat(timespec="microseconds"),
                "RequestId": request_id,
            },
        )
        return answer(refused.status, {"outcome": "refused", "card": request.card_name, "reason": refused.reason})
    recorded = append_entry(
        dynamodb,
        settings.ledger_table,
        card_arn,
        decision_key,
        {
            "Kind": "decision",
            "Version": str(request.version),
            "Decision": request.decision,
            "Person": caller.person,
            "Principal": caller.principal,
            "Caller": caller.arn,
            "Comment": request.comment,
            "CardCreatedAt": _when(card.get("CreationTime")),
            "DecidedAt": now.isoformat(timespec="microseconds"),
            "RequestId": request_id,
        },
    )
    # Read again just before acting: the narrower the gap, the rarer a version nobody decided on
    # gets the status (and is refused by the workflow when it does).
    latest = describe(sagemaker, request.card_name) or {}
    if latest.get("ModelCardVersion") == request.version and latest.get("ModelCardStatus") == "PendingReview":
        sagemaker.update_model_card(ModelCardName=request.card_name, ModelCardStatus="Approved")
    elif latest.get("ModelCardVersion") != request.version:
        current = latest.get("ModelCardVersion")
        return answer(
            409,
            {
                "outcome": "refused",
                "card": request.card_name,
                "reason": f"version {current} is current, you decided on {request.version}: decide again on version "
                f"{current} (your decision on {request.version} is recorded and covers only it)",
            },
        )
    return answer(
        200,
        {
            "outcome": "recorded" if recorded else "already recorded",
            "card": request.card_name,
            "version": request.version,
            "decision": request.decision,
            "person": caller.person,
            "status": "Approved; the workflow makes it effective once it has checked who wrote the version",
        },
    )


def _already_approved(
    card: Mapping[str, Any],
    request: DecisionRequest,
    dynamodb: Any,
    settings: DecisionSettings,
    card_arn: str,
    decision_key: str,
) -> bool:
    """A retried request whose first attempt was recorded and set the status: answered as recorded."""
    if card.get("ModelCardVersion") != request.version or card.get("ModelCardStatus") != "Approved":
        return False
    return get_entry(dynamodb, settings.ledger_table, card_arn, decision_key) is not None
