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
5. acts on the decision. `approve`: evaluates the approval policy (approval_policy.py, through
   tiers.py) on the decisions recorded on exactly this version; only when its tier is met does it
   set the card Approved, otherwise the card stays PendingReview and the ledger (`partial-approval`)
   and the reviewers are told who approved and which groups are missing. UpdateModelCard has no
   version precondition: a version made in between gets the status, and the workflow refuses it,
   since no decision names it. `request-changes`: the card back to Draft (the workflow tells the
   owning spoke). `reject`: the card Archived (the workflow rejects its package when configured
   to). `suspend` / `reinstate` (the policy's incident group only): a ledger entry, the card back to
   PendingReview on suspension, and a hint on the workflow's recheck queue, since only the workflow
   may change packages.

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

from shared.card_links import model_approved_rating
from shared.card_names import CARD_NAME
from shared.runtime import metadata_only

from card_workflow.approval_policy import ApprovalPolicy, Verdict, default_policy, groups_of, suspension_state
from card_workflow.approval_policy import Decision as PolicyDecision
from card_workflow.ledger import append_entry, get_entry, ledger_entries
from card_workflow.notices import send_once
from card_workflow.tiers import VOIDING_KINDS, card_verdict, created_at, package_group, risk_rating

# Review decisions on a version in review (approval_policy.DECISIONS), and the incident group's.
DECISIONS = ("approve", "request-changes", "reject")
INCIDENT_DECISIONS = ("suspend", "reinstate")
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
    # The approval policy (approval_policy.py); None: one person of the approvers.
    policy: ApprovalPolicy | None = None
    # Reviewers' topic (partial approvals, rejections, suspensions) and the workflow's recheck queue
    # (a suspension is acted on by the workflow, which may change packages; the endpoint may not).
    topic_arn: str = ""
    recheck_queue_url: str = ""
    # The hub's links (shared.card_links): the model's last approved rating, for the tier.
    link_table: str = ""

    @property
    def approval_policy(self) -> ApprovalPolicy:
        return self.policy or default_policy(sorted(self.approvers))


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
    if decision not in DECISIONS + INCIDENT_DECISIONS:
        raise Refused(400, f"decision is {decision!r}, not one of {', '.join(DECISIONS + INCIDENT_DECISIONS)}")
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


def caller_groups(caller: Caller, settings: DecisionSettings) -> frozenset[str]:
    """The policy's groups that admit the caller (its principal, and its person where a group names people)."""
    probe = PolicyDecision(0, caller.person, caller.principal, "approve", datetime.now(UTC), caller.arn)
    return groups_of(settings.approval_policy, probe)


def refusal(
    request: DecisionRequest,
    caller: Caller,
    card: Mapping[str, Any],
    settings: DecisionSettings,
    *,
    suspended: bool = False,
) -> Refused | None:
    """Why this decision cannot be taken (403: not the caller's to take; 409: not now), or None."""
    if caller.account != settings.hub_account:
        return Refused(403, f"{caller.arn} is not a principal of the hub account")
    policy = settings.approval_policy
    if request.decision in INCIDENT_DECISIONS:
        if not policy.incident_group or policy.incident_group not in caller_groups(caller, settings):
            return Refused(403, f"{caller.person} is not in the incident group ({policy.incident_group or 'none'})")
    elif caller.principal not in settings.approvers and not caller_groups(caller, settings):
        return Refused(403, f"{caller.principal} is not an approver")
    current, status = card.get("ModelCardVersion"), card.get("ModelCardStatus")
    if current != request.version:
        return Refused(
            409, f"version {current} is current, you decided on {request.version}: decide again on version {current}"
        )
    if request.decision == "suspend" and suspended:
        return Refused(409, f"version {current} is suspended already")
    if request.decision == "reinstate" and not suspended:
        return Refused(409, f"version {current} is not suspended")
    if request.decision in DECISIONS and suspended:
        return Refused(409, f"version {current} is suspended: the incident group reinstates it before it is decided on")
    if request.decision in DECISIONS and status != "PendingReview":
        return Refused(
            409,
            f"version {current} is {status}, not PendingReview: only a version in review can be decided on",
        )
    return None


# --- Acting ------------------------------------------------------------------------------------------


def card_arn_of(settings: DecisionSettings, name: str) -> str:
    region = settings.region
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return f"arn:{partition}:sagemaker:{settings.region}:{settings.hub_account}:model-card/{name}"


def describe(sagemaker: Any, name: str, version: int | None = None) -> dict[str, Any] | None:
    """The card's metadata (MetadataOnly keeps its status, version and intended_uses.risk_rating)."""
    extra = {"ModelCardVersion": version} if version is not None else {}
    try:
        card: dict[str, Any] = sagemaker.describe_model_card(
            ModelCardName=name, **extra, **metadata_only(sagemaker, "DescribeModelCard")
        )
    except sagemaker.exceptions.ResourceNotFound:
        return None
    return card


def content_of(card: Mapping[str, Any]) -> Mapping[str, Any]:
    """The card's content as JSON; empty when unreadable (no rating: the strictest tier)."""
    content = card.get("Content")
    try:
        parsed = json.loads(content) if isinstance(content, str) else {}
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def rating_of(card: Mapping[str, Any]) -> str | None:
    return risk_rating(content_of(card))


def policy_verdict(
    sagemaker: Any,
    dynamodb: Any,
    entries: list[dict[str, str]],
    card: Mapping[str, Any],
    settings: DecisionSettings,
) -> Verdict:
    """The approval policy's verdict on the card's current version, from the ledger (tiers.card_verdict)."""
    name = str(card["ModelCardName"])
    content = content_of(card)
    return card_verdict(
        settings.approval_policy,
        entries,
        card_name=name,
        version=int(card["ModelCardVersion"]),
        rating=risk_rating(content),
        group=package_group(content),
        card_created=card.get("CreationTime"),
        describe_rating=lambda version: rating_of(describe(sagemaker, name, version) or {}),
        model_rating=model_approved_rating(dynamodb, settings.link_table, name),
    )


STATUS_AFTER = {"request-changes": "Draft", "reject": "Archived"}


def handle_decision(
    event: Mapping[str, Any],
    *,
    sagemaker: Any,
    dynamodb: Any,
    settings: DecisionSettings,
    sns: Any = None,
    sqs: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record an approver's decision and act on it (the card's status), or refuse; the function URL's answer.

    approve: the card is set Approved once the approval policy's tier is met by the decisions on
    exactly this version; before that the card stays PendingReview and the reviewers are told who
    approved and who is still needed. request-changes: the card goes back to Draft (the workflow
    delivers the comment to the spoke that owns the card). reject: the card is Archived (the
    workflow rejects its package when configured to). suspend / reinstate (the incident group): the
    card's suspension, which the workflow acts on (packages back to a non-deployable status).
    """
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
    entries = ledger_entries(dynamodb, settings.ledger_table, card_arn)
    is_suspended = suspension_state(settings.approval_policy, entries).suspended
    refused = refusal(request, caller, card, settings, suspended=is_suspended)
    if request.decision in INCIDENT_DECISIONS:
        decision_key = f"{request.version:08d}#{request.decision}#{request_id}"
    else:
        # One person's decision of one kind on one version is one entry, however often it is sent;
        # after a suspension or an expired review (whose earlier decisions no longer count) anew.
        voided = sum(1 for e in entries if e.get("Kind") in VOIDING_KINDS and e.get("Version") == str(request.version))
        decision_key = f"{request.version:08d}#decision#{caller.person}#{request.decision}"
        decision_key += f"#{voided}" if voided else ""
    retried = request.decision in DECISIONS and _already_decided(
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
    at = now.isoformat(timespec="microseconds")
    if request.decision in INCIDENT_DECISIONS:
        return _incident(
            request, caller, card_arn, decision_key, at, request_id, dynamodb, sns, sqs, sagemaker, settings
        )
    groups = sorted(caller_groups(caller, settings))
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
            "Groups": ",".join(groups),
            "Comment": request.comment,
            "CardCreatedAt": created_at(card.get("CreationTime")) or "",
            "DecidedAt": at,
            "RequestId": request_id,
        },
    )
    # Read again just before acting: the narrower the gap, the rarer a version nobody decided on
    # gets the status (and is refused by the workflow when it does).
    latest = describe(sagemaker, request.card_name) or {}
    if latest.get("ModelCardVersion") != request.version:
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
    body: dict[str, Any] = {
        "outcome": "recorded" if recorded else "already recorded",
        "card": request.card_name,
        "version": request.version,
        "decision": request.decision,
        "person": caller.person,
    }
    in_review = latest.get("ModelCardStatus") == "PendingReview"
    if request.decision in STATUS_AFTER:
        if in_review:
            # A status-only update: this version's status changes in place, no new version.
            sagemaker.update_model_card(ModelCardName=request.card_name, ModelCardStatus=STATUS_AFTER[request.decision])
        body["status"] = STATUS_AFTER[request.decision]
        if request.decision == "reject":
            _tell(
                dynamodb,
                sns,
                settings,
                card_arn,
                request.version,
                f"{request.version:08d}#rejected-notice#{caller.person}",
                f"Model card {request.card_name} v{request.version} rejected",
                f"{caller.person} rejected model card {request.card_name} v{request.version}: {request.comment}\n"
                "The card is Archived.",
            )
        return answer(200, body)
    entries = ledger_entries(dynamodb, settings.ledger_table, card_arn)
    verdict = policy_verdict(sagemaker, dynamodb, entries, latest, settings)
    body["policy"] = verdict.text
    if not verdict.effective:
        # The ledger says how far the approval got; the card stays in review and no package changes.
        append_entry(
            dynamodb,
            settings.ledger_table,
            card_arn,
            f"{request.version:08d}#partial-approval#{verdict.approved}#{caller.person}",
            {
                "Kind": "partial-approval",
                "Version": str(request.version),
                "Tier": verdict.rating,
                "Detail": verdict.text,
            },
        )
        _tell(
            dynamodb,
            sns,
            settings,
            card_arn,
            request.version,
            f"{request.version:08d}#partial-approval-notice#{verdict.approved}#{caller.person}",
            f"Model card {request.card_name} v{request.version}: {verdict.approved} of {verdict.needed} approvals",
            f"Model card {request.card_name} v{request.version} ({verdict.rating} tier): {verdict.text}.\n"
            "It stays PendingReview; no model package changed.",
        )
        body["status"] = "PendingReview: the approval policy is not met yet"
        return answer(200, body)
    if in_review:
        sagemaker.update_model_card(ModelCardName=request.card_name, ModelCardStatus="Approved")
    body["status"] = "Approved; the workflow makes it effective once it has checked who wrote the version"
    return answer(200, body)


def _incident(
    request: DecisionRequest,
    caller: Caller,
    card_arn: str,
    key: str,
    at: str,
    request_id: str,
    dynamodb: Any,
    sns: Any,
    sqs: Any,
    sagemaker: Any,
    settings: DecisionSettings,
) -> dict[str, Any]:
    """Record a suspension or its lifting; the workflow, hinted through its recheck queue, acts on it."""
    append_entry(
        dynamodb,
        settings.ledger_table,
        card_arn,
        key,
        {
            "Kind": request.decision,
            "Version": str(request.version),
            "Person": caller.person,
            "Principal": caller.principal,
            "Caller": caller.arn,
            "Reason": request.comment,
            "At": at,
            "RequestId": request_id,
        },
    )
    if request.decision == "suspend":
        # Back to review: the gate then refuses any Approved status of the package, and a new
        # approval under the tier (made after this entry) is what lifts the suspension for good.
        latest = describe(sagemaker, request.card_name) or {}
        if latest.get("ModelCardVersion") == request.version and latest.get("ModelCardStatus") == "Approved":
            sagemaker.update_model_card(ModelCardName=request.card_name, ModelCardStatus="PendingReview")
    if sqs is not None and settings.recheck_queue_url:
        sqs.send_message(QueueUrl=settings.recheck_queue_url, MessageBody=json.dumps({"card_name": request.card_name}))
    verb = "suspended" if request.decision == "suspend" else "reinstated"
    after = (
        "Its model package is set back to PendingManualApproval; decisions made before now no longer count."
        if request.decision == "suspend"
        else "It needs a new approval under its tier before its package is approved again."
    )
    _tell(
        dynamodb,
        sns,
        settings,
        card_arn,
        request.version,
        f"{key}#notice",
        f"Model card {request.card_name} v{request.version} {verb}",
        f"{caller.person} {verb} model card {request.card_name} v{request.version}: {request.comment}\n{after}",
    )
    return answer(
        200,
        {
            "outcome": "recorded",
            "card": request.card_name,
            "version": request.version,
            "decision": request.decision,
            "person": caller.person,
            "status": verb,
        },
    )


def _tell(
    dynamodb: Any,
    sns: Any,
    settings: DecisionSettings,
    card_arn: str,
    version: int,
    key: str,
    subject: str,
    message: str,
) -> None:
    if sns is None or not settings.topic_arn:
        return
    send_once(
        dynamodb,
        sns,
        table=settings.ledger_table,
        topic_arn=settings.topic_arn,
        card_arn=card_arn,
        key=key,
        subject=subject,
        message=message,
        version=version,
    )


def _already_decided(
    card: Mapping[str, Any],
    request: DecisionRequest,
    dynamodb: Any,
    settings: DecisionSettings,
    card_arn: str,
    decision_key: str,
) -> bool:
    """A retried request whose first attempt was recorded and set the status: answered as recorded."""
    after = {"approve": "Approved", **STATUS_AFTER}[request.decision]
    if card.get("ModelCardVersion") != request.version or card.get("ModelCardStatus") != after:
        return False
    return get_entry(dynamodb, settings.ledger_table, card_arn, decision_key) is not None
