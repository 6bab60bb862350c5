"""Creates in the emulator what the synthesized templates would create, read from the templates.

Names, key schemas, permissions, share principals, event patterns and function environments come
from the cloud assembly, resolved through the CloudFormation intrinsics the templates use (Ref,
Fn::GetAtt, Fn::Join). Each Lambda is stood in by a queue that the sandbox drains into the real
handler, so the emulator's own EventBridge decides which handler runs.

Provisioning runs as each account's administrator (OrganizationAccountAccessRole). Roles,
policies, the KMS key policy and the bucket, queue, topic and bus policies are created as the
templates write them, and the emulator evaluates them. Stood in or left out, because the emulator
has no such thing: SNS e-mail subscriptions (an SQS "reviewer inbox" stands in), Lambda itself (a
queue and an in-process call, with the function's role, stand in), alarms, log groups (their ARNs
only), access-log delivery and the CDK bootstrap resources.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from emulator.sessions import REGION, admin_session

# A handler runs with its function's environment in os.environ (sandbox.run.function_environment).
# botocore iterates os.environ while it makes a client, so a client made in another thread meanwhile
# fails or picks up the function's credentials: both take this lock.
ENVIRONMENT_LOCK = threading.RLock()

QUEUE_ATTRIBUTES = ("DelaySeconds", "MessageRetentionPeriod", "VisibilityTimeout")

__all__ = ["REGION", "Deployed", "Function", "load_assembly", "provision_hub", "provision_spoke", "session_for"]


def session_for(account: str, endpoint: str | None = None) -> boto3.Session:
    """Administrator of `account` (OrganizationAccountAccessRole, assumed by the management account)."""
    return admin_session(account, endpoint)


@dataclass
class Function:
    """A Lambda of the template: its handler path, resolved environment and stand-in queue."""

    logical_id: str
    handler: str
    environment: dict[str, str]
    queue_url: str
    queue_arn: str
    role_arn: str


@dataclass
class Deployed:
    """What one stack's template became in one account of the emulator."""

    stack: str
    account: str
    session: boto3.Session
    endpoint: str
    template: Mapping[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    # queue logical ID -> function logical ID, from AWS::Lambda::EventSourceMapping
    event_sources: dict[str, str] = field(default_factory=dict)

    # One client per service, made on first use: boto3 clients are thread-safe, and making one costs
    # far more than most calls the walks and tests make with it.
    clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def client(self, service: str) -> Any:
        with ENVIRONMENT_LOCK:
            if service not in self.clients:
                self.clients[service] = self.session.client(service, endpoint_url=self.endpoint)
            return self.clients[service]

    def resources(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (logical_id, resource.get("Properties", {}))
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        ]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            if (logical_id, attribute) not in self.attrs:
                raise KeyError(f"{self.stack}: {logical_id}.{attribute} is not provisioned in the sandbox")
            return self.attrs[(logical_id, attribute)]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(p)) for p in parts)
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._ref(m.group(1)), value["Fn::Sub"])
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name not in self.refs:
            raise KeyError(f"{self.stack}: {name} is not provisioned in the sandbox")
        return self.refs[name]


def load_assembly(assembly: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Stack name -> (account it deploys to, template), from the cloud assembly's manifest."""
    manifest_file = assembly / "manifest.json"
    if not manifest_file.is_file():
        raise FileNotFoundError(f"{assembly} is not a cloud assembly (no manifest.json); run cdk synth first")
    manifest = json.loads(manifest_file.read_text())
    stacks = {}
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") == "aws:cloudformation:stack":
            account = artifact["environment"].removeprefix("aws://").split("/")[0]
            template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
            # Resources the stack keeps in nested stacks (the hub's owner shares) are provisioned
            # with it; they reference nothing of the parent.
            # Their files are named after the parent's construct path, letters and digits only.
            file_prefix = re.sub(r"[^A-Za-z0-9]", "", name)
            for nested in sorted(assembly.glob(f"{file_prefix}*.nested.template.json")):
                template["Resources"].update(json.loads(nested.read_text()).get("Resources", {}))
            stacks[name] = (account, template)
    return stacks


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def card_content(typed: Mapping[str, Any]) -> dict[str, Any]:
    """AWS::SageMaker::ModelCard's typed Content (PascalCase) as the card JSON SageMaker stores."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {snake(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    converted: dict[str, Any] = convert(typed)
    return converted


def provision_hub(deployed: Deployed, inbox: tuple[str, str]) -> None:
    """Create the hub's stateful resources, shares, cards, functions and rules, in dependency order."""
    kms = deployed.client("kms")
    for logical_id, props in deployed.resources("AWS::KMS::Key"):
        key = kms.create_key(
            Description=props.get("Description", ""), Policy=json.dumps(deployed.resolve(props["KeyPolicy"]))
        )["KeyMetadata"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = key["KeyId"], key["Arn"]
    for logical_id, props in deployed.resources("AWS::KMS::Alias"):
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=deployed.resolve(props["TargetKeyId"]))
        deployed.refs[logical_id] = props["AliasName"]

    for logical_id, props in deployed.resources("AWS::Logs::LogGroup"):
        # Nothing logs here; policies only need the ARN.
        name = props.get("LogGroupName") or f"/aws/lambda/{logical_id}"
        deployed.refs[logical_id] = name
        deployed.attrs[(logical_id, "Arn")] = f"arn:aws:logs:{REGION}:{deployed.account}:log-group:{name}:*"

    events = deployed.client("events")
    for logical_id, props in deployed.resources("AWS::Events::EventBus"):
        arn = events.create_event_bus(Name=props["Name"])["EventBusArn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = props["Name"], arn
        deployed.attrs[(logical_id, "Name")] = props["Name"]

    s3 = deployed.client("s3")
    for logical_id, props in deployed.resources("AWS::S3::Bucket"):
        name = props.get("BucketName") or f"sandbox-{logical_id.lower()}"
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")))
        lock = props.get("ObjectLockConfiguration")
        if lock:
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = name, f"arn:aws:s3:::{name}"

    dynamodb = deployed.client("dynamodb")
    for logical_id, props in deployed.resources("AWS::DynamoDB::Table"):
        table = dynamodb.create_table(
            TableName=logical_id,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            # The ledger's sparse index of effective approvals (the review sweep Queries it).
            **(
                {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]} if "GlobalSecondaryIndexes" in props else {}
            ),
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = logical_id, table["TableArn"]

    sqs = deployed.client("sqs")
    queues = deployed.resources("AWS::SQS::Queue")
    for logical_id, _ in queues:
        url = sqs.create_queue(QueueName=logical_id)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = url, arn
        deployed.attrs[(logical_id, "QueueName")] = logical_id
    # A second pass: a redrive policy names its dead-letter queue, which must exist first.
    for logical_id, props in queues:
        attributes = {k: str(props[k]) for k in QUEUE_ATTRIBUTES if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(deployed.resolve(props["RedrivePolicy"]))
        if attributes:
            sqs.set_queue_attributes(QueueUrl=deployed.refs[logical_id], Attributes=attributes)

    sns = deployed.client("sns")
    for logical_id, _ in deployed.resources("AWS::SNS::Topic"):
        arn = sns.create_topic(Name=logical_id)["TopicArn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "TopicArn")] = arn, arn
    for _, props in deployed.resources("AWS::SNS::Subscription"):
        # E-mail cannot be delivered here: the reviewer inbox queue stands in for each address.
        sns.subscribe(TopicArn=deployed.resolve(props["TopicArn"]), Protocol="sqs", Endpoint=inbox[1])

    ram = deployed.client("ram")
    for logical_id, props in deployed.resources("AWS::RAM::Permission"):
        arn = ram.create_permission(
            name=props["Name"], resourceType=props["ResourceType"], policyTemplate=json.dumps(props["PolicyTemplate"])
        )["permission"]["arn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = arn, arn

    sagemaker = deployed.client("sagemaker")
    for logical_id, props in deployed.resources("AWS::SageMaker::ModelCard"):
        arn = sagemaker.create_model_card(
            ModelCardName=props["ModelCardName"],
            Content=json.dumps(card_content(props["Content"])),
            ModelCardStatus=props["ModelCardStatus"],
            SecurityConfig={"KmsKeyId": deployed.resolve(props["SecurityConfig"]["KmsKeyId"])},
        )["ModelCardArn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "ModelCardArn")] = props["ModelCardName"], arn

    for logical_id, props in deployed.resources("AWS::RAM::ResourceShare"):
        share = ram.create_resource_share(
            name=props["Name"],
            principals=props.get("Principals", []),
            resourceArns=deployed.resolve(props.get("ResourceArns", [])),
            permissionArns=deployed.resolve(props.get("PermissionArns", [])),
            allowExternalPrincipals=props.get("AllowExternalPrincipals", True),
        )["resourceShare"]
        deployed.refs[logical_id] = deployed.attrs[(logical_id, "Arn")] = share["resourceShareArn"]

    name_rules(deployed)
    # Each function's stand-in queue first: a policy or environment may name another function
    # (the reconciler's names the two it hands work to).
    stand_ins: dict[str, tuple[str, str]] = {}
    for logical_id, _ in deployed.resources("AWS::Lambda::Function"):
        url = sqs.create_queue(QueueName=f"lambda-{logical_id}"[:80])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stand_ins[logical_id] = (url, arn)
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = logical_id, arn
    provision_iam(deployed)
    provision_resource_policies(deployed)
    for _, props in deployed.resources("AWS::Lambda::EventSourceMapping"):
        queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
        deployed.event_sources[queue_id] = props["FunctionName"]["Ref"]
    for logical_id, props in deployed.resources("AWS::Lambda::Function"):
        url, arn = stand_ins[logical_id]
        environment = {
            k: str(deployed.resolve(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()
        }
        role = deployed.resolve(props["Role"])
        deployed.functions[logical_id] = Function(logical_id, props["Handler"], environment, url, arn, role)
    provision_rules(deployed)


def function_urls(deployed: Deployed) -> dict[str, dict[str, Any]]:
    """The template's function URLs: function logical ID -> that function's resource-based policy,
    its AWS::Lambda::Permission statements as Lambda writes them (AddPermission: the principal, the
    action on the function, FunctionUrlAuthType as `lambda:FunctionUrlAuthType` and
    InvokedViaFunctionUrl as `lambda:InvokedViaFunctionUrl` conditions). The function's ARN is its
    stand-in's, as everywhere in the sandbox."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, props in deployed.resources("AWS::Lambda::Url"):
        if props.get("AuthType") != "AWS_IAM":
            raise ValueError(f"{deployed.stack}: the sandbox serves function URLs with AuthType AWS_IAM only")
        found[props["TargetFunctionArn"]["Fn::GetAtt"][0]] = {"Version": "2012-10-17", "Statement": []}
        # AWS's form until the kept run serves the URL on 127.0.0.1 (sandbox.live) and says where.
        deployed.attrs[(logical_id, "FunctionUrl")] = f"https://{logical_id.lower()[-32:]}.lambda-url.{REGION}.on.aws/"
    for _, props in deployed.resources("AWS::Lambda::Permission"):
        target = props["FunctionName"].get("Fn::GetAtt", [None])[0] if isinstance(props["FunctionName"], dict) else None
        if target not in found:
            continue
        condition: dict[str, Any] = {}
        if "FunctionUrlAuthType" in props:
            condition["StringEquals"] = {"lambda:FunctionUrlAuthType": props["FunctionUrlAuthType"]}
        if "InvokedViaFunctionUrl" in props:
            condition["Bool"] = {"lambda:InvokedViaFunctionUrl": str(props["InvokedViaFunctionUrl"]).lower()}
        found[target]["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": deployed.resolve(props["Principal"])},
                "Action": props["Action"],
                "Resource": deployed.resolve(props["FunctionName"]),
                **({"Condition": condition} if condition else {}),
            }
        )
    return found


def name_rules(deployed: Deployed) -> None:
    """Rule ARNs, known before the rules exist: queue policies name the rules that may send."""
    for logical_id, props in deployed.resources("AWS::Events::Rule"):
        bus = props.get("EventBusName")
        name = props.get("Name") or logical_id
        path = f"rule/{deployed.resolve(bus)}/{name}" if bus else f"rule/{name}"
        deployed.attrs[(logical_id, "Arn")] = f"arn:aws:events:{REGION}:{deployed.account}:{path}"


def provision_iam(deployed: Deployed) -> None:
    """Roles, managed policies and inline policies, as the template writes them."""
    iam = deployed.client("iam")
    for logical_id, props in deployed.resources("AWS::IAM::ManagedPolicy"):
        arn = iam.create_policy(
            PolicyName=props.get("ManagedPolicyName") or logical_id,
            PolicyDocument=json.dumps(deployed.resolve(props["PolicyDocument"])),
        )["Policy"]["Arn"]
        deployed.refs[logical_id] = arn
    for logical_id, props in deployed.resources("AWS::IAM::Role"):
        name = props.get("RoleName") or logical_id[:64]
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(deployed.resolve(props["AssumeRolePolicyDocument"]))
        )["Role"]["Arn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = name, arn
        for policy_arn in deployed.resolve(props.get("ManagedPolicyArns", [])):
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for _, props in deployed.resources("AWS::IAM::Policy"):
        for role in deployed.resolve(props.get("Roles", [])):
            iam.put_role_policy(
                RoleName=role,
                PolicyName=props["PolicyName"],
                PolicyDocument=json.dumps(deployed.resolve(props["PolicyDocument"])),
            )


def provision_resource_policies(deployed: Deployed) -> None:
    """Bucket, table, queue, topic and event bus policies: the emulator evaluates them as AWS does."""
    s3 = deployed.client("s3")
    for _, props in deployed.resources("AWS::S3::BucketPolicy"):
        s3.put_bucket_policy(
            Bucket=deployed.resolve(props["Bucket"]), Policy=json.dumps(deployed.resolve(props["PolicyDocument"]))
        )
    sqs = deployed.client("sqs")
    for _, props in deployed.resources("AWS::SQS::QueuePolicy"):
        for url in deployed.resolve(props["Queues"]):
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(deployed.resolve(props["PolicyDocument"]))}
            )
    dynamodb = deployed.client("dynamodb")
    for logical_id, props in deployed.resources("AWS::DynamoDB::Table"):
        if "ResourcePolicy" in props:
            dynamodb.put_resource_policy(
                ResourceArn=deployed.attrs[(logical_id, "Arn")],
                Policy=json.dumps(deployed.resolve(props["ResourcePolicy"]["PolicyDocument"])),
            )
    sns = deployed.client("sns")
    for _, props in deployed.resources("AWS::SNS::TopicPolicy"):
        for topic in deployed.resolve(props["Topics"]):
            sns.set_topic_attributes(
                TopicArn=topic,
                AttributeName="Policy",
                AttributeValue=json.dumps(deployed.resolve(props["PolicyDocument"])),
            )
    events = deployed.client("events")
    for _, props in deployed.resources("AWS::Events::EventBus"):
        if "Policy" in props:  # the governance bus carries its policy itself
            events.put_permission(EventBusName=props["Name"], Policy=json.dumps(deployed.resolve(props["Policy"])))
    for _, props in deployed.resources("AWS::Events::EventBusPolicy"):
        statement = deployed.resolve(props["Statement"])
        events.put_permission(
            EventBusName=deployed.resolve(props["EventBusName"]),
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )


def provision_rules(deployed: Deployed) -> None:
    """Each rule with its own pattern and bus; Lambda targets become their stand-in queues."""
    events = deployed.client("events")
    for logical_id, props in deployed.resources("AWS::Events::Rule"):
        bus = deployed.resolve(props["EventBusName"]) if "EventBusName" in props else "default"
        # A rule has an event pattern, a schedule, or both (the weekly report's rule is scheduled).
        trigger = {"EventPattern": json.dumps(props["EventPattern"])} if "EventPattern" in props else {}
        if "ScheduleExpression" in props:
            trigger["ScheduleExpression"] = props["ScheduleExpression"]
        name = props.get("Name") or logical_id  # a named rule (the spokes' forwarding rule) keeps its name
        events.put_rule(Name=name, EventBusName=bus, **trigger)
        targets = []
        for index, target in enumerate(props.get("Targets", [])):
            arn = target["Arn"]
            is_function = isinstance(arn, dict) and arn.get("Fn::GetAtt", [""])[0] in deployed.functions
            targets.append(
                {"Id": f"target{index}", "Arn": deployed.resolve(arn) if is_function or isinstance(arn, dict) else arn}
            )
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)


def provision_spoke(deployed: Deployed) -> None:
    """The spoke's roles and policies and its forwarding rule (the target is the hub's bus ARN)."""
    for logical_id, _ in deployed.resources("AWS::SQS::Queue"):
        deployed.attrs[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{deployed.account}:{logical_id}"
    name_rules(deployed)
    provision_iam(deployed)
    events = deployed.client("events")
    for logical_id, props in deployed.resources("AWS::Events::Rule"):
        name = props.get("Name") or logical_id  # the forwarding rule is named: the guardrail SCP protects it
        events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]))
        events.put_targets(
            Rule=name,
            Targets=[
                # The rule sends with its role: the hub's bus policy names that role.
                {
                    "Id": f"target{i}",
                    "Arn": t["Arn"],
                    **({"RoleArn": deployed.resolve(t["RoleArn"])} if "RoleArn" in t else {}),
                }
                for i, t in enumerate(props["Targets"])
                if isinstance(t["Arn"], str)
            ],
        )
