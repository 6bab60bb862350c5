"""Who may call what: AWS's policy evaluation logic, on moto's own request authorization.

moto already authenticates each request (SigV4 against the caller's keys) and collects the caller's
identity-based policies once `INITIAL_NO_AUTH_ACTION_COUNT` is reached; it then matched them against
`*`. Here `IAMRequestBase.check_action_permitted` is replaced by AWS's logic ("Policy evaluation
logic", IAM User Guide), for the resources `emulator.resources` resolves:

- an explicit Deny in any applicable policy wins;
- within one account, an identity-based policy or a resource-based policy that names the principal
  itself or `*` (not its account) allows; a KMS key policy too: a statement with `*` whose
  conditions match a principal of the key's account lets it use the key with no IAM policy;
- across accounts, both the caller's identity-based policy and the resource's policy must allow
  (for shared model cards the RAM share stands for the resource policy, as in AWS);
- a KMS key's policy must always allow, directly or by delegating to the account's IAM policies;
- AssumeRole needs a role that exists and whose trust policy allows the caller; one that passes a
  SourceIdentity also needs sts:SetSourceIdentity. The source identity is the request's
  `sts:SourceIdentity`, stays with the session and every session chained from it, and is
  `aws:SourceIdentity` in its requests ("Monitor and control actions taken with assumed roles", IAM
  User Guide).

Resource policies read: S3 bucket policies, KMS key policies, DynamoDB table policies, SQS queue
policies, SNS topic policies, EventBridge bus policies, IAM role trust policies; and the service control
policies of the caller's organization (`scp_refusal`, once SCPs are enabled in its root). Not evaluated:
RCPs, permission boundaries, session policies, ACLs, VPC endpoint policies (docs/emulator.md, "Not evaluated").

Evaluation is on by default; `EMULATOR_PERMISSIONS=off` (or `set_enforcement(False)`) turns it
off, and then every authenticated or unauthenticated call is allowed, as in plain moto.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.core.responses import BaseResponse
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import events_backends
from moto.iam.access_control import AssumedRoleAccessKey, IAMRequestBase, PermissionResult
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.ram.models import ram_backends
from moto.s3.exceptions import MissingKey, S3AccessDeniedError
from moto.s3.models import FakeBucket, s3_backends
from moto.s3.responses import S3Response
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from emulator.core import AccessDeniedException
from emulator.organizations import SERVICE_LINKED_ROLE_PATH, organization_of, scp_path
from emulator.policy import ContextValue, Principal, Request, Statement, decide, statements_of
from emulator.ram import share_actions, share_reaches
from emulator.resources import encryption_context_keys, key_arn, resolve

ENFORCEMENT_VARIABLE = "EMULATOR_PERMISSIONS"
# S3 API names moto records, as the IAM actions AWS authorizes them with.
S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
}
# SQS authorizes a batch with the single-message action ("Amazon SQS API permissions reference").
SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
JSON_SERVICES = {"sagemaker", "kms", "dynamodb", "events", "ram", "logs", "sqs", "lambda"}
TRANSACTIONS = {"dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"}
TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}  # AWS: "No permissions are required", even under a Deny
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CRYPTOGRAPHIC_ACTIONS = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}

_request: ContextVar[Any] = ContextVar("emulator_request")
# The source identity of each role session, by its access key ID; set once, it cannot change.
_source_identities: dict[str, str] = {}


def source_identity_of(access_key_id: str) -> str | None:
    return _source_identities.get(access_key_id)


# --- The switch ----------------------------------------------------------------------------------------


def set_enforcement(on: bool) -> None:
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def enforcing() -> bool:
    return bool(settings.INITIAL_NO_AUTH_ACTION_COUNT == 0)


@contextmanager
def enforcement(on: bool) -> Iterator[None]:
    before = enforcing()
    set_enforcement(on)
    try:
        yield
    finally:
        set_enforcement(before)


# --- Errors in AWS's form ----------------------------------------------------------------------------


class S3AccessDenied(S3AccessDeniedError):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class QueryAccessDenied(AccessDeniedError):
    def __init__(self, message: str) -> None:
        # moto's AccessDeniedError is HTTP 403 with code AccessDenied; only its message is shorter.
        super(AccessDeniedError, self).__init__("AccessDenied", message)


def denied(service: str, message: str) -> Exception:
    if service == "s3":
        return S3AccessDenied(message)
    if service == "sqs":
        return JsonRESTError("AccessDenied", message)
    if service in JSON_SERVICES:
        return AccessDeniedException(message)
    return QueryAccessDenied(message)


def denial_message(principal: Principal, action: str, resource: str, reason: str) -> str:
    return f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} because {reason}"


# --- Policies -------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _parsed(document: str) -> tuple[Statement, ...]:
    return tuple(statements_of(document))


def _document_text(policy: Any) -> str:
    if isinstance(policy, str):
        return policy
    if isinstance(policy, dict):
        document = policy.get("policy_document", policy)
        return document if isinstance(document, str) else json.dumps(document)
    version = next(v for v in policy.versions if v.is_default)
    return str(version.document)


def parsed_policy(policy: Any) -> tuple[Statement, ...]:
    if policy is None or (isinstance(policy, bytes | str) and not policy):
        return ()
    if isinstance(policy, bytes):
        policy = policy.decode()
    return _parsed(_document_text(policy))


def identity_statements(access_key: Any) -> list[Statement]:
    return [s for policy in access_key.collect_policies() for s in parsed_policy(policy)]


def principal_of(access_key: Any, account: str) -> Principal:
    if isinstance(access_key, AssumedRoleAccessKey):
        # aws:PrincipalArn is the role's ARN with its path (IAM Identity Center's roles have one).
        assumed = sts_backends[account]["global"].get_assumed_role_from_access_key(access_key._access_key_id)
        role_arn = assumed.role_arn if assumed else f"arn:aws:iam::{account}:role/{access_key._owner_role_name}"
        return Principal(access_key.arn, account, role_arn)
    return Principal(access_key.arn, account, access_key.arn)


def global_context(principal: Principal, uri: str) -> dict[str, ContextValue]:
    parsed = urlparse(uri)
    # The server speaks plain HTTP on the loopback interface only; it stands in for TLS there.
    secure = parsed.scheme == "https" or (parsed.hostname or "") in LOOPBACK or not parsed.scheme
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.principal_arn,
        "aws:PrincipalAccount": principal.account,
        "aws:SecureTransport": "true" if secure else "false",
        "aws:PrincipalType": "AssumedRole" if ":assumed-role/" in principal.arn else "User",
    }
    organization = organization_of(principal.account)
    if organization is not None:
        context["aws:PrincipalOrgID"], context["aws:PrincipalOrgPaths"] = organization
    return context


def resource_context(service: str, resource: str) -> dict[str, ContextValue]:
    """aws:ResourceAccount, and aws:ResourceOrgID/aws:ResourceOrgPaths when the resource's account is
    in an organization (IAM's global condition keys); none for a request on no particular resource."""
    if resource == "*":
        return {}
    account = resource_account(service, resource, "")
    if not account:
        return {}
    context: dict[str, ContextValue] = {"aws:ResourceAccount": account}
    organization = organization_of(account)
    if organization is not None:
        context["aws:ResourceOrgID"], context["aws:ResourceOrgPaths"] = organization
    return context


# --- Resource-based policies --------------------------------------------------------------------------


@dataclass
class ResourcePolicy:
    account: str
    statements: tuple[Statement, ...]
    required: bool = False  # KMS key policies and trust policies must allow; others may be absent
    exists: bool = True


def resource_account(service: str, arn: str, caller: str) -> str:
    if arn == "*":
        return caller
    if service == "s3":
        bucket = arn.split(":::", 1)[-1].split("/", 1)[0]
        owner = s3_backends.bucket_accounts.get(bucket)
        return owner[1] if owner else caller
    if ":resource-share-invitation/" in arn:
        return caller  # the receiver answers an invitation; the sender's account is in its ARN
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else caller


# Lambda functions' resource-based policies (AddPermission; AWS::Lambda::Permission), by function ARN:
# the emulator runs no Lambda service, so whoever stands one in registers its policy here.
_function_policies: dict[str, tuple[Statement, ...]] = {}


def set_function_policy(function_arn: str, policy: Any) -> None:
    _function_policies[function_arn] = parsed_policy(policy) if policy else ()


def resource_policy(service: str, action: str, arn: str, caller: str) -> ResourcePolicy | None:
    account = resource_account(service, arn, caller)
    parts = arn.split(":", 5)
    region = parts[3] if len(parts) == 6 else ""
    if service == "s3" and arn != "*":
        bucket = arn.split(":::", 1)[-1].split("/", 1)[0]
        found = s3_backends[account]["aws"].buckets.get(bucket)
        return ResourcePolicy(account, parsed_policy(found.policy) if found else ())
    if service == "kms" and ":key/" in arn:
        key = kms_backends[account][region].keys.get(arn.rsplit("/", 1)[-1])
        return ResourcePolicy(account, parsed_policy(key.policy) if key else (), required=True, exists=bool(key))
    if service == "dynamodb" and ":table/" in arn:
        # A table's policy covers its indexes and streams too (DynamoDB Developer Guide, "Using
        # resource-based policies for DynamoDB").
        table = arn.split("/index/", 1)[0].split("/stream/", 1)[0]
        table_policy = dynamodb_backends[account][region].resource_policies.get(table)
        return ResourcePolicy(account, parsed_policy(table_policy.policy_doc) if table_policy else ())
    if service == "sqs" and arn != "*":
        queue = sqs_backends[account][region].queues.get(parts[5])
        return ResourcePolicy(account, parsed_policy(queue.policy) if queue else ())
    if service == "sns" and arn != "*":
        topic = sns_backends[account][region].topics.get(arn)
        return ResourcePolicy(account, parsed_policy(topic.policy) if topic else ())
    if service == "events" and ":event-bus/" in arn:
        bus = events_backends[account][region].event_buses.get(arn.rsplit("/", 1)[-1])
        return ResourcePolicy(account, parsed_policy(bus.policy) if bus and bus.policy else ())
    if service == "lambda" and arn in _function_policies:
        return ResourcePolicy(account, _function_policies[arn])
    if service == "sts" and action in ("AssumeRole", "SetSourceIdentity"):  # both read the trust policy
        try:
            role = iam_backends[account]["aws"].get_role_by_arn(arn)
        except NotFoundException:
            return ResourcePolicy(account, (), required=True, exists=False)
        return ResourcePolicy(account, parsed_policy(role.assume_role_policy_document), required=True)
    return None


# --- RAM stands for the resource policy of shared model cards ----------------------------------------


def shared_card_allows(owner: str, region: str, caller: str, card_arn: str, action: str) -> bool:
    return any(
        card_arn in share.resource_arns
        and share_reaches(owner, region, share, caller)
        and action in share_actions(owner, region, share)
        for share in ram_backends[owner][region].resource_shares
    )


def authorize_shared_card(owner: str, region: str, caller: str, caller_arn: str, card_arn: str, action: str) -> None:
    """AWS admits a spoke's call on a hub card only through a share that grants the action."""
    if not shared_card_allows(owner, region, caller, card_arn, action):
        raise AccessDeniedException(
            f"User: {caller_arn} is not authorized to perform: {action} on resource: {card_arn} "
            "because no resource-based policy allows the " + action + " action"
        )


# --- The decision -----------------------------------------------------------------------------------


def scp_refusal(request: Request) -> str | None:
    """Why the service control policies on the caller's path refuse the request, or None.

    AWS evaluates the SCPs of the caller's account for every request a principal of a member
    account makes, its root user included; a service acting for itself and a service-linked role
    are outside them, and so is every principal of the management account (`scp_path`).
    """
    principal = request.principal
    if principal.service is not None or SERVICE_LINKED_ROLE_PATH in principal.principal_arn:
        return None
    levels = scp_path(principal.account)
    if levels is None:
        return None
    decisions = [[decide(parsed_policy(doc), request, resource_policy=False) for doc in lv.documents] for lv in levels]
    if any(denied for level in decisions for denied, _ in level):
        return "with an explicit deny in a service control policy"
    if not all(any(allowed for _, allowed in level) for level in decisions):
        return f"no service control policy allows the {request.action} action"
    return None


def evaluate(
    service: str,
    action: str,
    resource: str,
    principal: Principal,
    identity: list[Statement],
    context: dict[str, ContextValue],
) -> str | None:
    """None when allowed, else the reason AWS gives ("because ...")."""
    request = Request(action, resource, principal, context)
    scp_reason = scp_refusal(request)
    if scp_reason is not None:
        return scp_reason
    identity_denied, identity_allowed = decide(identity, request, resource_policy=False)
    if identity_denied:
        return "with an explicit deny in an identity-based policy"
    short_action = action.split(":", 1)[1]
    policy = resource_policy(service, short_action, resource, principal.account)
    owner = policy.account if policy else resource_account(service, resource, principal.account)
    cross_account = owner != principal.account
    resource_allowed = resource_names_principal = False
    if policy is not None:
        resource_denied, resource_allowed = decide(policy.statements, request, resource_policy=True)
        if resource_denied:
            return "with an explicit deny in a resource-based policy"
        resource_names_principal = resource_allowed and any(
            s.effect == "Allow" and s.names_principal_exactly(principal) and s.applies_to(request, resource_policy=True)
            for s in policy.statements
        )
        if policy.required and not resource_allowed:
            return f"no resource-based policy allows the {action} action"
    elif service == "sagemaker" and cross_account and ":model-card/" in resource:
        card_arn = resource.split("/export-job/")[0]
        resource_allowed = shared_card_allows(owner, resource.split(":")[3], principal.account, card_arn, action)
    if cross_account:
        if not identity_allowed:
            return f"no identity-based policy allows the {action} action"
        if not resource_allowed:
            return f"no resource-based policy allows the {action} action"
        return None
    if identity_allowed or resource_names_principal:
        return None
    return f"no identity-based policy allows the {action} action"


def authorize(
    service: str,
    action: str,
    resource: str,
    principal: Principal,
    identity: list[Statement],
    context: dict[str, ContextValue],
) -> None:
    reason = evaluate(
        service, action, resource, principal, identity, {**context, **resource_context(service, resource)}
    )
    if reason is not None:
        raise denied(service, denial_message(principal, action, resource, reason))


@dataclass
class Caller:
    """The authenticated caller of the request being served, for checks made inside a handler."""

    principal: Principal
    identity: list[Statement]
    context: dict[str, ContextValue]


_caller: ContextVar[Caller | None] = ContextVar("emulator_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the request being served; None when evaluation is off."""
    return _caller.get()


def _check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    response = _request.get(None)
    service = self._service
    name = self._action.split(":", 1)[1]
    if service == "s3":
        name = S3_ACTIONS.get(name, name)
    if service == "sqs":
        name = SQS_ACTIONS.get(name, name)
    action = f"{service}:{name}"
    account = self.account_id
    principal = principal_of(self._access_key, account)
    identity = identity_statements(self._access_key)
    context = global_context(principal, getattr(response, "uri", "") or "")
    inherited = source_identity_of(getattr(self._access_key, "_access_key_id", "") or "")
    if inherited is not None:
        context["aws:SourceIdentity"] = inherited
    _caller.set(Caller(principal, identity, context))
    if action in ALWAYS_ALLOWED:
        return
    if action in TRANSACTIONS and response is not None:
        # "Permissions for Put, Update, Delete, and Get actions are governed by the permissions used
        # for the underlying PutItem, UpdateItem, DeleteItem, and GetItem operations" (DynamoDB
        # Developer Guide, "Using IAM with DynamoDB transactions"); there is no transaction action.
        for item in response._get_param("TransactItems") or []:
            for kind, request in item.items():
                table = request.get("TableName", "")
                arn = table if table.startswith("arn:") else f"arn:aws:dynamodb:{self._region}:{account}:table/{table}"
                authorize(service, f"dynamodb:{TRANSACTION_ACTIONS[kind]}", arn, principal, identity, context)
        return
    resources, own_context = (
        resolve(response, service, name, account, self._region, resource) if response else ([resource], {})
    )
    if action == "sts:AssumeRole" and inherited is not None:
        own_context["sts:SourceIdentity"] = inherited  # set once, it cannot change
    for arn in resources:
        try:
            authorize(service, action, arn, principal, identity, {**context, **own_context})
        except Exception as refusal:
            _record_refusal(response, action, refusal)
            raise
        if action == "sts:AssumeRole" and response is not None and response._get_param("SourceIdentity"):
            authorize(service, "sts:SetSourceIdentity", arn, principal, identity, {**context, **own_context})


def _record_refusal(response: Any, action: str, refusal: Exception) -> None:
    """CloudTrail records a refused call too (emulator.cloudtrail.RECORDED_REFUSALS)."""
    from emulator.cloudtrail import RECORDED_REFUSALS, record_refusal

    if response is not None and action in RECORDED_REFUSALS:
        message = getattr(refusal, "message", None) or str(refusal)
        record_refusal(response, action, str(message))


def install() -> None:
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        token = _request.set(self)
        try:
            original(self, iam_request_cls, resource)
        finally:
            _request.reset(token)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize  # type: ignore[method-assign]
    # moto's own bucket policy check ignores conditions, so a TLS-only Deny refused every request;
    # the bucket policy is evaluated above instead, with the caller and the condition keys known.
    FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL  # type: ignore[method-assign]
    IAMRequestBase.check_action_permitted = _check_action_permitted  # type: ignore[method-assign]
    original_setup = BaseResponse.setup_class

    def setup_class(self: Any, *args: Any, **kwargs: Any) -> Any:
        _caller.set(None)  # each request starts with no caller; its authorization sets one
        return original_setup(self, *args, **kwargs)

    BaseResponse.setup_class = setup_class  # type: ignore[method-assign]
    _install_s3_missing_keys()
    _install_source_identity()
    set_enforcement(os.environ.get(ENFORCEMENT_VARIABLE, "on").lower() != "off")


# --- AWS services assume roles too --------------------------------------------------------------------


def assume_role_for_service(role_arn: str, service: str, session_name: str) -> tuple[str, str, str]:
    """Credentials for `role_arn` as `service` (e.g. lambda.amazonaws.com) gets them: only when the
    role exists and its trust policy names the service. In-process only; the server has no route."""
    account = role_arn.split(":")[4]
    principal = Principal(service, account, service, service=service)
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except NotFoundException:
        raise PermissionError(f"{service} cannot assume {role_arn}: the role does not exist") from None
    request = Request("sts:AssumeRole", role_arn, principal, {})
    refused, allowed = decide(parsed_policy(role.assume_role_policy_document), request, resource_policy=True)
    if refused or not allowed:
        raise PermissionError(f"{service} cannot assume {role_arn}: its trust policy does not allow {service}")
    assumed = sts_backends[account]["aws"].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return assumed.access_key_id, assumed.secret_access_key, assumed.session_token


# --- Checks a service makes inside a call -------------------------------------------------------------


def caller_may(service: str, action: str, resource: str, extra: dict[str, ContextValue] | None = None) -> bool:
    """Would the current caller be allowed `action` on `resource`? True when evaluation is off."""
    caller = current_caller()
    if caller is None:
        return True
    context = {**caller.context, **(extra or {})}
    return evaluate(service, action, resource, caller.principal, caller.identity, context) is None


def authorize_key_use(
    key_id: str, actions: list[str], encryption_context: dict[str, str], via_service: str, region: str
) -> None:
    """A service using a KMS key for its caller (a forward access session): the caller's IAM and the
    key policy must allow each action with this encryption context and `kms:ViaService`."""
    caller = current_caller()
    if caller is None:
        return
    account = caller.principal.account
    arn = key_arn(key_id, account, region)
    context: dict[str, ContextValue] = {
        **caller.context,
        "kms:ViaService": f"{via_service}.{region}.amazonaws.com",
        "kms:CallerAccount": account,
    }
    for action in actions:
        extra: dict[str, ContextValue] = {}
        if action == "kms:CreateGrant":
            extra["kms:GrantIsForAWSResource"] = "true"
        if action in CRYPTOGRAPHIC_ACTIONS:  # only these carry an encryption context
            extra.update(encryption_context_keys(encryption_context))
        reason = evaluate("kms", action, arn, caller.principal, caller.identity, {**context, **extra})
        if reason is not None:
            raise AccessDeniedException(denial_message(caller.principal, action, arn, reason))


def _missing_key_refusal(bucket: str) -> str | None:
    """S3 answers 403, not 404, for a missing key unless the caller may s3:ListBucket (HeadObject,
    GetObject: "If you don't have the s3:ListBucket permission, Amazon S3 returns 403")."""
    resource = f"arn:aws:s3:::{bucket}"
    caller = current_caller()
    if caller is None or caller_may("s3", "s3:ListBucket", resource):
        return None
    reason = "no identity-based policy allows the s3:ListBucket action"
    return denial_message(caller.principal, "s3:ListBucket", resource, reason)


def bus_accepts(bus_arn: str, sender_account: str, role_arn: str | None, event: dict[str, Any]) -> bool:
    """May a rule in `sender_account` put this event on another account's bus? Its policy decides."""
    if not enforcing():
        return True
    principal_arn = role_arn or f"arn:aws:iam::{sender_account}:root"
    principal = Principal(principal_arn, sender_account, principal_arn)
    context = global_context(principal, "https://events.amazonaws.com")
    context["events:source"] = [str(event.get("source", ""))]
    context["events:detail-type"] = str(event.get("detail-type", ""))
    policy = resource_policy("events", "PutEvents", bus_arn, sender_account)
    statements = policy.statements if policy else ()
    refused, allowed = decide(
        statements, Request("events:PutEvents", bus_arn, principal, context), resource_policy=True
    )
    return allowed and not refused


def _install_s3_missing_keys() -> None:
    original_head = S3Response.head_object
    original_get = S3Response._key_response_get

    def head_object(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        answer = original_head(self, bucket_name, *args, **kwargs)
        if isinstance(answer, tuple) and answer[0] == 404 and _missing_key_refusal(bucket_name):
            return 403, {}, ""  # a HEAD answer has no body
        return answer

    def key_response_get(self: Any, query: Any, key_name: str) -> Any:
        try:
            return original_get(self, query, key_name)
        except MissingKey:
            refusal = _missing_key_refusal(self.bucket_name)
            if refusal:
                raise S3AccessDenied(refusal) from None
            raise

    S3Response.head_object = head_object  # type: ignore[method-assign]
    S3Response._key_response_get = key_response_get  # type: ignore[method-assign]


def _install_source_identity() -> None:
    """moto's AssumeRole ignores SourceIdentity; keep it with the new session and answer it."""
    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        answer = original(self)
        inherited = source_identity_of(self.get_access_key() or "")
        source = inherited or self._get_param("SourceIdentity")
        result: dict[str, Any] = answer.result  # type: ignore[assignment]  # moto types it as object
        if source:
            _source_identities[result["Credentials"].access_key_id] = source
            result["SourceIdentity"] = source
        return answer

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
