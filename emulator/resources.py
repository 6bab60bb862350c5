"""Which resource an API call acts on, as the Service Authorization Reference names it.

moto checks identity policies against `*` for most services, so a policy that names an ARN never
matched. These resolvers read the request's parameters and return the ARN(s) AWS authorizes
against, and the request's own condition keys. A call not listed here is authorized against `*`,
which only a policy with `"Resource": "*"` allows (the administrators' policies do).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from moto.kms.models import kms_backends
from moto.ram.models import ram_backends

from emulator.policy import ContextValue

CARD_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-card/[^/]+$")
CARD_ACTIONS_BY_NAME = {
    "CreateModelCard",
    "DescribeModelCard",
    "UpdateModelCard",
    "DeleteModelCard",
    "ListModelCardVersions",
    "CreateModelCardExportJob",
    "ListModelCardExportJobs",
}

Resolved = tuple[list[str], dict[str, ContextValue]]


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _sagemaker(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    if action in CARD_ACTIONS_BY_NAME:
        name = param("ModelCardName") or ""
        return [name if CARD_ARN.match(name) else _arn("sagemaker", region, account, f"model-card/{name}")], {}
    if action == "DescribeModelCardExportJob":
        return [param("ModelCardExportJobArn") or "*"], {}
    if action in ("DescribeModelPackage", "UpdateModelPackage", "DeleteModelPackage"):
        name = param("ModelPackageArn") or param("ModelPackageName") or ""
        arn = name if name.startswith("arn:") else _arn("sagemaker", region, account, f"model-package/{name}")
        context: dict[str, ContextValue] = {}
        if param("ModelApprovalStatus"):
            context["sagemaker:ModelApprovalStatus"] = param("ModelApprovalStatus")
        if action == "UpdateModelPackage":
            context.update(life_cycle_context(param("ModelLifeCycle")))
        return [arn], context
    if action == "CreateModelPackage":
        # The version does not exist yet; AWS authorizes the new package's ARN within its group.
        # sagemaker:ModelApprovalStatus is a condition key of CreateModelPackage too (Service
        # Authorization Reference, Amazon SageMaker): a package may be registered already Approved.
        group = param("ModelPackageGroupName") or ""
        created = life_cycle_context(param("ModelLifeCycle"))
        if param("ModelApprovalStatus"):
            created["sagemaker:ModelApprovalStatus"] = param("ModelApprovalStatus")
        return [_arn("sagemaker", region, account, f"model-package/{group}")], created
    if action in ("CreateModelPackageGroup", "DescribeModelPackageGroup", "DeleteModelPackageGroup"):
        name = param("ModelPackageGroupName") or ""
        arn = name if name.startswith("arn:") else _arn("sagemaker", region, account, f"model-package-group/{name}")
        return [arn], {}
    if action in ("AddTags", "DeleteTags", "ListTags"):
        return [param("ResourceArn") or "*"], {}
    # Which package an endpoint serves: endpoint -> endpoint config -> model, each its own resource.
    for describe, (parameter, kind) in DEPLOYMENT_DESCRIBES.items():
        if action == describe:
            return [_arn("sagemaker", region, account, f"{kind}/{(param(parameter) or '').lower()}")], {}
    return ["*"], {}


def life_cycle_context(life_cycle: Any) -> dict[str, ContextValue]:
    """`sagemaker:ModelLifeCycle:stage` and `sagemaker:ModelLifeCycle:stageStatus`, the stage a
    CreateModelPackage or UpdateModelPackage request sets (SageMaker Developer Guide, "Set up Staging
    Construct Examples": policies for both actions condition on them). A request that sets no stage
    has neither key, so a policy that requires a stage does not allow it."""
    if not isinstance(life_cycle, dict):
        return {}
    keys = {"sagemaker:ModelLifeCycle:stage": "Stage", "sagemaker:ModelLifeCycle:stageStatus": "StageStatus"}
    return {key: life_cycle[member] for key, member in keys.items() if isinstance(life_cycle.get(member), str)}


DEPLOYMENT_DESCRIBES = {
    "DescribeEndpoint": ("EndpointName", "endpoint"),
    "DescribeEndpointConfig": ("EndpointConfigName", "endpoint-config"),
    "DescribeModel": ("ModelName", "model"),
}


def key_arn(key_id: str, account: str, region: str) -> str:
    """A KeyId as KMS takes it (key ID, key ARN, alias name or alias ARN), as the key's ARN."""
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    owner, name = account, key_id
    if key_id.startswith("arn:") and ":alias/" in key_id:
        owner, name = key_id.split(":")[4], key_id.split(":", 5)[5]
    if name.startswith("alias/"):
        try:
            target = kms_backends[owner][region].get_key_id_from_alias(name)
        except Exception:
            target = None
        return _arn("kms", region, owner, f"key/{target}") if target else _arn("kms", region, owner, name)
    return _arn("kms", region, owner, f"key/{name}")


def encryption_context_keys(context: dict[str, str] | None) -> dict[str, ContextValue]:
    return {f"kms:EncryptionContext:{k}": v for k, v in (context or {}).items()}


def _kms(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    key_id = param("KeyId") or param("TargetKeyId") or param("DestinationKeyId")
    if not key_id or action in ("CreateKey", "ListKeys", "ListAliases", "GenerateRandom"):
        return ["*"], {}
    context = encryption_context_keys(param("EncryptionContext"))
    context["kms:CallerAccount"] = account
    return [key_arn(key_id, account, region)], context


def _dynamodb(response: Any, action: str, account: str, region: str) -> Resolved:
    # A batch is authorized on each table it names (Service Authorization Reference, DynamoDB:
    # BatchWriteItem and BatchGetItem take the table resource); policies take a ResourceArn.
    tables = list(response._get_param("RequestItems") or {}) if action.startswith("Batch") else []
    table = response._get_param("TableName") or response._get_param("ResourceArn")
    names = tables or ([table] if table else [])
    if not names:
        return ["*"], {}
    arns = [t if t.startswith("arn:") else _arn("dynamodb", region, account, f"table/{t}") for t in names]
    index = response._get_param("IndexName") if action in ("Query", "Scan") else None
    if index:
        # A Query or Scan of an index is authorized on the index, `<table ARN>/index/<name>`, not
        # on the table (DynamoDB Developer Guide, "IAM policy to grant access to a specific
        # DynamoDB table and its indexes"; Service Authorization Reference, DynamoDB: Query and
        # Scan take the index resource type).
        return [f"{arns[0]}/index/{index}"], {}
    return arns, {}


def queue_arn_from_url(url: str, region: str) -> str:
    path = urlparse(url).path.strip("/").split("/")
    return _arn("sqs", region, path[0], path[1]) if len(path) == 2 else "*"


def _sqs(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    if param("QueueUrl"):
        return [queue_arn_from_url(param("QueueUrl"), region)], {}
    if param("QueueName"):
        owner = param("QueueOwnerAWSAccountId") or account
        return [_arn("sqs", region, owner, param("QueueName"))], {}
    return ["*"], {}


def _sns(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    if param("TopicArn"):
        return [param("TopicArn")], {}
    if action == "CreateTopic" and param("Name"):
        return [_arn("sns", region, account, param("Name"))], {}
    if param("SubscriptionArn"):
        return [param("SubscriptionArn").rsplit(":", 1)[0]], {}
    return ["*"], {}


def bus_arn(name: str | None, account: str, region: str) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else _arn("events", region, account, f"event-bus/{name}")


def _events(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    if action == "PutEvents":
        entries = param("Entries") or []
        arns = sorted({bus_arn(e.get("EventBusName"), account, region) for e in entries}) or ["*"]
        sources = sorted({str(e.get("Source", "")) for e in entries})
        detail_types = sorted({str(e.get("DetailType", "")) for e in entries})
        return arns, {"events:source": sources, "events:detail-type": detail_types}
    if action in ("CreateEventBus", "DescribeEventBus", "DeleteEventBus", "PutPermission", "RemovePermission"):
        return [bus_arn(param("Name") or param("EventBusName"), account, region)], {}
    named = ("PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule")
    rule = param("Rule") or (param("Name") if action in named else None)
    if rule:
        bus = param("EventBusName")
        path = f"rule/{rule}" if not bus or bus == "default" else f"rule/{bus.rsplit('/', 1)[-1]}/{rule}"
        return [_arn("events", region, account, path)], {}
    return ["*"], {}


def _ram(response: Any, action: str, account: str, region: str) -> Resolved:
    param = response._get_param
    if param("resourceShareArn"):
        arn = param("resourceShareArn")
        context: dict[str, ContextValue] = {}
        parts = arn.split(":")
        # A malformed ARN is RAM's to refuse (MalformedArnException), after authorization.
        owner = parts[4] if len(parts) > 5 and parts[4] else account
        share = next((s for s in ram_backends[owner][region].resource_shares if s.arn == arn), None)
        if share is not None:
            context["ram:ResourceShareName"] = share.name
        if param("principals"):
            context["ram:Principal"] = list(param("principals"))
        if param("resourceArns"):
            context["ram:ResourceArn"] = list(param("resourceArns"))
        return [arn], context
    if param("resourceShareInvitationArn"):
        return [param("resourceShareInvitationArn")], {}
    if action == "CreatePermission" and param("name"):
        return [_arn("ram", region, account, f"permission/{param('name')}")], {}
    return ["*"], {}


def _sts(response: Any, action: str, account: str, region: str) -> Resolved:
    if action == "AssumeRole":
        context: dict[str, ContextValue] = {}
        if response._get_param("ExternalId"):
            context["sts:ExternalId"] = response._get_param("ExternalId")
        if response._get_param("SourceIdentity"):
            context["sts:SourceIdentity"] = response._get_param("SourceIdentity")
        # "sts:RoleSessionName: the session name that a principal specifies when assuming a role"
        # (IAM User Guide, "IAM and AWS STS condition context keys").
        if response._get_param("RoleSessionName"):
            context["sts:RoleSessionName"] = response._get_param("RoleSessionName")
        return [response._get_param("RoleArn") or "*"], context
    return ["*"], {}


def _iam(response: Any, action: str, account: str, region: str) -> Resolved:
    """A call on one role (RoleName) is authorized against the role's ARN, its path included (Service
    Authorization Reference, IAM: resource type role, `arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`)."""
    name = response._get_param("RoleName")
    if not name:
        return ["*"], {}
    from moto.iam.models import iam_backends

    role = next((r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None)
    # CreateRole names a role that does not exist yet, with its Path.
    path = role.path if role is not None else (response._get_param("Path") or "/")
    return [f"arn:aws:iam::{account}:role{path}{name}"], {}


RESOLVERS: dict[str, Callable[[Any, str, str, str], Resolved]] = {
    "sagemaker": _sagemaker,
    "kms": _kms,
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "sns": _sns,
    "events": _events,
    "ram": _ram,
    "sts": _sts,
    "iam": _iam,
}


def resolve(response: Any, service: str, action: str, account: str, region: str, moto_resource: str) -> Resolved:
    """The ARNs this call is authorized against, and its request condition keys."""
    resolver = RESOLVERS.get(service)
    if resolver is None:
        return [moto_resource], {}
    return resolver(response, action, account, region)
