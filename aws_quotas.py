"""AWS's size and count quotas for what this app synthesizes, and the check that holds them.

Every quota the synthesized artifacts can meet is listed here once, with the page that states it.
`measure_assembly` measures every template of a cloud assembly (nested stack templates and the
templates embedded in StackSets included) and every policy and list in it; `check_assembly`
returns what exceeds its quota. `app.py` runs the check on every synthesis and refuses to hand
an assembly with a violation to the CDK CLI.

Values that CloudFormation resolves only at deploy time (`Ref`, `Fn::GetAtt`, ...) are counted
at an upper bound of their resolved length, so a measurement is never smaller than what AWS
will see.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Quota:
    name: str
    limit: int
    unit: str
    page: str
    url: str


CLOUDFORMATION_QUOTAS = (
    "AWS CloudFormation User Guide, Understand CloudFormation quotas",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
)
# IAM does not count white space; compact JSON has none outside strings.
IAM_QUOTAS = (
    "IAM User Guide, IAM and AWS STS quotas",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
)

TEMPLATE_SIZE = Quota("template size (uploaded to S3)", 1_048_576, "bytes", *CLOUDFORMATION_QUOTAS)
RESOURCES_PER_STACK = Quota("resources per stack", 500, "resources", *CLOUDFORMATION_QUOTAS)
OUTPUTS_PER_STACK = Quota("outputs per stack", 200, "outputs", *CLOUDFORMATION_QUOTAS)
PARAMETERS_PER_STACK = Quota("parameters per stack", 200, "parameters", *CLOUDFORMATION_QUOTAS)
STACK_SET_BODY = Quota(
    "StackSet TemplateBody",
    51_200,
    "bytes",
    "AWS CloudFormation API Reference, CreateStackSet (TemplateBody: maximum length 51,200)",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html",
)
STACK_SET_OUS_PER_GROUP = Quota(
    "OUs per stack-instances group",
    50,
    "OUs",
    "AWS CloudFormation API Reference, CreateStackInstances (at most 50 OUs per operation)",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html",
)
EVENT_BUS_POLICY = Quota(
    "event bus policy",
    10_240,
    "characters",
    "Amazon EventBridge User Guide, Amazon EventBridge quotas (event bus policy size)",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
)
KEY_POLICY = Quota(
    "key policy",
    32_768,
    "bytes",
    "AWS KMS Developer Guide, Resource quotas (key policy document size: 32 KB)",
    "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html",
)
ROLE_INLINE_POLICIES = Quota("inline policies of a role, together", 10_240, "characters", *IAM_QUOTAS)
MANAGED_POLICY = Quota("managed policy", 6_144, "characters", *IAM_QUOTAS)
TRUST_POLICY = Quota("role trust policy", 2_048, "characters", *IAM_QUOTAS)
MANAGED_POLICIES_PER_ROLE = Quota("managed policies attached to a role", 10, "policies", *IAM_QUOTAS)
BUCKET_POLICY = Quota(
    "bucket policy",
    20_480,
    "bytes",
    "Amazon S3 User Guide, Bucket policies for Amazon S3 (a bucket policy is limited to 20 KB)",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html",
)
FUNCTION_ENVIRONMENT = Quota(
    "function environment variables",
    4_096,
    "bytes",
    "AWS Lambda Developer Guide, Lambda quotas (environment variables: 4 KB, all together)",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)
# Secondary sources give this quota as 1,000 and as 5,000; the check uses the smaller, so it errs
# on the strict side until the figure on AWS's page is confirmed.
RAM_PRINCIPALS_PER_SHARE = Quota(
    "principals per resource share",
    1_000,
    "principals",
    "AWS RAM User Guide, Service quotas for AWS RAM (shared principals per resource share)",
    "https://docs.aws.amazon.com/ram/latest/userguide/service-quotas.html",
)

# "Service control policies: 5120 bytes (not characters)"; saved through the API (as CloudFormation
# does) the document counts exactly as given, white space included. Measured as compact JSON.
SERVICE_CONTROL_POLICY = Quota(
    "service control policy",
    5_120,
    "bytes",
    "AWS Organizations User Guide, Quotas for AWS Organizations (maximum size of a policy document)",
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html",
)
QUOTAS = (
    TEMPLATE_SIZE,
    RESOURCES_PER_STACK,
    OUTPUTS_PER_STACK,
    PARAMETERS_PER_STACK,
    STACK_SET_BODY,
    STACK_SET_OUS_PER_GROUP,
    EVENT_BUS_POLICY,
    KEY_POLICY,
    ROLE_INLINE_POLICIES,
    MANAGED_POLICY,
    TRUST_POLICY,
    MANAGED_POLICIES_PER_ROLE,
    BUCKET_POLICY,
    FUNCTION_ENVIRONMENT,
    RAM_PRINCIPALS_PER_SHARE,
    SERVICE_CONTROL_POLICY,
)

# Upper bounds for values resolved at deploy time. The longest partition, region, account and
# URL suffix AWS has; a resource's physical ID or attribute (an ARN, a name) at 200 characters,
# well above any this app creates.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-5",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::NoValue": "",
}
UNRESOLVED_LENGTH = 200
_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True)
class QuotaMeasurement:
    stack: str
    resource: str
    quota: Quota
    value: int

    @property
    def fraction(self) -> float:
        return self.value / self.quota.limit

    @property
    def exceeded(self) -> bool:
        return self.value > self.quota.limit

    def __str__(self) -> str:
        return (
            f"{self.stack}: {self.resource}: {self.quota.name} is {self.value:,} {self.quota.unit}, "
            f"limit {self.quota.limit:,} ({self.quota.page})"
        )


QuotaViolation = QuotaMeasurement


def resolved_upper_bound(value: Any) -> Any:
    """`value` with every intrinsic function replaced by a string at least as long as its result."""
    if isinstance(value, list):
        return [resolved_upper_bound(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return PSEUDO_PARAMETERS.get(argument, "x" * UNRESOLVED_LENGTH)
        if function == "Fn::Join" and isinstance(argument, list) and isinstance(argument[1], list):
            delimiter, parts = argument
            return delimiter.join(str(resolved_upper_bound(part)) for part in parts)
        if function == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            return _SUB_VARIABLE.sub("x" * UNRESOLVED_LENGTH, text)
        if function.startswith("Fn::") or function == "Condition":
            return "x" * UNRESOLVED_LENGTH
    return {key: resolved_upper_bound(item) for key, item in value.items()}


def json_length(document: Any, *, unit: str = "characters") -> int:
    """Length of `document` as compact JSON, after resolving intrinsics to their upper bound."""
    text = json.dumps(resolved_upper_bound(document), separators=(",", ":"))
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def measure_template(
    stack: str, template: Mapping[str, Any], size: int, *, stack_set_body: bool = False
) -> list[QuotaMeasurement]:
    """Every quota-bound value of one template; `size` is its length in bytes as submitted."""
    resources: Mapping[str, Any] = template.get("Resources", {})

    def name_of(logical_id: str) -> str:
        path = resources.get(logical_id, {}).get("Metadata", {}).get("aws:cdk:path")
        return str(path) if path else logical_id

    found = [
        QuotaMeasurement(stack, "(template)", STACK_SET_BODY if stack_set_body else TEMPLATE_SIZE, size),
        QuotaMeasurement(stack, "(template)", RESOURCES_PER_STACK, len(resources)),
        QuotaMeasurement(stack, "(template)", OUTPUTS_PER_STACK, len(template.get("Outputs", {}))),
        QuotaMeasurement(stack, "(template)", PARAMETERS_PER_STACK, len(template.get("Parameters", {}))),
    ]
    inline: dict[str, int] = defaultdict(int)
    managed_count: dict[str, int] = defaultdict(int)
    bus_statements: dict[str, list[Any]] = defaultdict(list)
    bus_names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            found.append(
                QuotaMeasurement(
                    stack, name_of(logical_id), TRUST_POLICY, json_length(props.get("AssumeRolePolicyDocument", {}))
                )
            )
            for policy in props.get("Policies", []):
                inline[logical_id] += json_length(policy.get("PolicyDocument", {}))
            managed_count[logical_id] += len(props.get("ManagedPolicyArns", []))
            inline.setdefault(logical_id, 0)
        elif kind == "AWS::IAM::Policy":
            for role in _referenced_roles(props):
                inline[role] += json_length(props.get("PolicyDocument", {}))
        elif kind == "AWS::IAM::ManagedPolicy":
            found.append(
                QuotaMeasurement(
                    stack, name_of(logical_id), MANAGED_POLICY, json_length(props.get("PolicyDocument", {}))
                )
            )
            for role in _referenced_roles(props):
                managed_count[role] += 1
        elif kind == "AWS::KMS::Key":
            found.append(
                QuotaMeasurement(
                    stack, name_of(logical_id), KEY_POLICY, json_length(props.get("KeyPolicy", {}), unit="bytes")
                )
            )
        elif kind == "AWS::S3::BucketPolicy":
            found.append(
                QuotaMeasurement(
                    stack,
                    name_of(logical_id),
                    BUCKET_POLICY,
                    json_length(props.get("PolicyDocument", {}), unit="bytes"),
                )
            )
        elif kind == "AWS::Events::EventBusPolicy":
            bus = json.dumps(props.get("EventBusName", "default"), sort_keys=True)
            bus_names.setdefault(bus, name_of(logical_id))
            bus_statements[bus].append(props.get("Statement") or _legacy_bus_statement(props))
        elif kind == "AWS::Events::EventBus" and "Policy" in props:
            policy = props["Policy"]
            found.append(QuotaMeasurement(stack, name_of(logical_id), EVENT_BUS_POLICY, json_length(policy)))
        elif kind == "AWS::Lambda::Function":
            variables = props.get("Environment", {}).get("Variables", {})
            found.append(
                QuotaMeasurement(stack, name_of(logical_id), FUNCTION_ENVIRONMENT, json_length(variables, unit="bytes"))
            )
        elif kind == "AWS::RAM::ResourceShare":
            found.append(
                QuotaMeasurement(stack, name_of(logical_id), RAM_PRINCIPALS_PER_SHARE, len(props.get("Principals", [])))
            )
        elif kind == "AWS::Organizations::Policy" and props.get("Type") == "SERVICE_CONTROL_POLICY":
            content = props.get("Content", {})
            size = len(content.encode("utf-8")) if isinstance(content, str) else json_length(content, unit="bytes")
            found.append(QuotaMeasurement(stack, name_of(logical_id), SERVICE_CONTROL_POLICY, size))
        elif kind == "AWS::CloudFormation::StackSet":
            for index, group in enumerate(props.get("StackInstancesGroup", [])):
                ous = group.get("DeploymentTargets", {}).get("OrganizationalUnitIds", [])
                found.append(
                    QuotaMeasurement(stack, f"{name_of(logical_id)} group {index}", STACK_SET_OUS_PER_GROUP, len(ous))
                )
            body = props.get("TemplateBody")
            if isinstance(body, str):
                found += measure_template(
                    f"{stack} StackSet {name_of(logical_id)}",
                    json.loads(body),
                    len(body.encode("utf-8")),
                    stack_set_body=True,
                )
    for role, length in inline.items():
        found.append(QuotaMeasurement(stack, name_of(role), ROLE_INLINE_POLICIES, length))
    for role, count in managed_count.items():
        found.append(QuotaMeasurement(stack, name_of(role), MANAGED_POLICIES_PER_ROLE, count))
    for bus, statements in bus_statements.items():
        policy = {"Version": "2012-10-17", "Statement": statements}
        found.append(QuotaMeasurement(stack, bus_names[bus], EVENT_BUS_POLICY, json_length(policy)))
    return found


def _referenced_roles(props: Mapping[str, Any]) -> Iterator[str]:
    """Roles a policy attaches to: the logical ID of a role in the template, else the name as given."""
    for role in props.get("Roles", []):
        yield role["Ref"] if isinstance(role, dict) and "Ref" in role else json.dumps(role, sort_keys=True)


def _legacy_bus_statement(props: Mapping[str, Any]) -> dict[str, Any]:
    """The statement EventBridge builds from the Action/Principal/Condition form of a bus policy."""
    statement: dict[str, Any] = {
        "Sid": props.get("StatementId"),
        "Effect": "Allow",
        "Principal": {"AWS": props.get("Principal")},
        "Action": props.get("Action"),
        "Resource": "x" * UNRESOLVED_LENGTH,
    }
    if "Condition" in props:
        statement["Condition"] = props["Condition"]
    return statement


def measure_assembly(directory: Path) -> list[QuotaMeasurement]:
    """Every template a cloud assembly holds (stacks and nested stacks), with StackSet bodies."""
    found: list[QuotaMeasurement] = []
    for file in sorted(directory.glob("*.template.json")):
        text = file.read_bytes()
        stack = file.name.removesuffix(".template.json").removesuffix(".nested")
        found += measure_template(stack, json.loads(text), len(text))
    return found


def check_assembly(directory: Path) -> list[QuotaMeasurement]:
    """What exceeds its quota, one measurement per violation."""
    return [measurement for measurement in measure_assembly(directory) if measurement.exceeded]


def largest_by_quota(measurements: list[QuotaMeasurement]) -> dict[Quota, QuotaMeasurement]:
    """For each quota, the measurement closest to (or furthest over) its limit."""
    largest: dict[Quota, QuotaMeasurement] = {}
    for measurement in measurements:
        current = largest.get(measurement.quota)
        if current is None or measurement.value > current.value:
            largest[measurement.quota] = measurement
    return largest
