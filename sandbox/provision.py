"""Creates in the emulator what the synthesized templates would create, read from the templates.

Names, key schemas, permissions, share principals, event patterns and function environments come
from the cloud assembly, resolved through the CloudFormation intrinsics the templates use (Ref,
Fn::GetAtt, Fn::Join). Each Lambda is stood in by a queue that the sandbox drains into the real
handler, so the emulator's own EventBridge decides which handler runs.

Stood in or left out, because the emulator has no such thing or does not enforce it: IAM policies
and the KMS key policy (moto does not evaluate them), SNS e-mail subscriptions (an SQS "reviewer
inbox" stands in), Lambda itself (a queue and an in-process call stand in), alarms, log groups,
access-log delivery and the CDK bootstrap resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"


def session_for(account: str, endpoint: str | None = None) -> boto3.Session:
    """A session whose credentials the emulator maps to `account` (STS AssumeRole into it)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION)
    granted = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/sandbox", RoleSessionName="sandbox")["Credentials"]
    return boto3.Session(
        aws_access_key_id=granted["AccessKeyId"],
        aws_secret_access_key=granted["SecretAccessKey"],
        aws_session_token=granted["SessionToken"],
        region_name=REGION,
    )


@dataclass
class Function:
    """A Lambda of the template: its handler path, resolved environment and stand-in queue."""

    logical_id: str
    handler: str
    environment: dict[str, str]
    queue_url: str
    queue_arn: str


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

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

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
            stacks[name] = (account, json.loads((assembly / artifact["properties"]["templateFile"]).read_text()))
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
        key = kms.create_key(Description=props.get("Description", ""))["KeyMetadata"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = key["KeyId"], key["Arn"]
    for logical_id, props in deployed.resources("AWS::KMS::Alias"):
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=deployed.resolve(props["TargetKeyId"]))
        deployed.refs[logical_id] = props["AliasName"]

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
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = logical_id, table["TableArn"]

    sqs = deployed.client("sqs")
    for logical_id, _ in deployed.resources("AWS::SQS::Queue"):
        url = sqs.create_queue(QueueName=logical_id)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = url, arn
        deployed.attrs[(logical_id, "QueueName")] = logical_id

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

    for _, props in deployed.resources("AWS::Lambda::EventSourceMapping"):
        queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
        deployed.event_sources[queue_id] = props["FunctionName"]["Ref"]
    for logical_id, props in deployed.resources("AWS::Lambda::Function"):
        url = sqs.create_queue(QueueName=f"lambda-{logical_id}"[:80])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        environment = {
            k: str(deployed.resolve(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()
        }
        deployed.functions[logical_id] = Function(logical_id, props["Handler"], environment, url, arn)
        deployed.refs[logical_id], deployed.attrs[(logical_id, "Arn")] = logical_id, arn
    provision_rules(deployed)


def provision_rules(deployed: Deployed) -> None:
    """Each rule with its own pattern and bus; Lambda targets become their stand-in queues."""
    events = deployed.client("events")
    for logical_id, props in deployed.resources("AWS::Events::Rule"):
        bus = deployed.resolve(props["EventBusName"]) if "EventBusName" in props else "default"
        events.put_rule(Name=logical_id, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]))
        targets = []
        for index, target in enumerate(props.get("Targets", [])):
            arn = target["Arn"]
            is_function = isinstance(arn, dict) and arn.get("Fn::GetAtt", [""])[0] in deployed.functions
            targets.append(
                {"Id": f"target{index}", "Arn": deployed.resolve(arn) if is_function or isinstance(arn, dict) else arn}
            )
        events.put_targets(Rule=logical_id, EventBusName=bus, Targets=targets)


def provision_spoke(deployed: Deployed) -> None:
    """The spoke's approval-sync role and its forwarding rule (the target is the hub's bus ARN)."""
    iam = deployed.client("iam")
    for logical_id, props in deployed.resources("AWS::IAM::Role"):
        if "RoleName" in props:
            iam.create_role(
                RoleName=props["RoleName"],
                AssumeRolePolicyDocument=json.dumps(deployed.resolve(props["AssumeRolePolicyDocument"])),
            )
            deployed.refs[logical_id] = props["RoleName"]
    events = deployed.client("events")
    for logical_id, props in deployed.resources("AWS::Events::Rule"):
        events.put_rule(Name=logical_id, EventPattern=json.dumps(props["EventPattern"]))
        events.put_targets(
            Rule=logical_id,
            Targets=[
                {"Id": f"target{i}", "Arn": t["Arn"]}
                for i, t in enumerate(props["Targets"])
                if isinstance(t["Arn"], str)
            ],
        )
