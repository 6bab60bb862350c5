"""The report's infrastructure: a read-only registry role in each spoke that trusts only the hub's
report principals, the hub's auditor role that can change nothing, and the weekly publication."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.stack_names import HUB_STACK, spoke_stack_name

HUB = "111111111111"
SPOKE = "222222222222"
REGION = "us-east-1"
AUDITOR = f"arn:aws:iam::{HUB}:role/model-card-governance-auditor"
REPORT_FUNCTION = f"arn:aws:iam::{HUB}:role/model-card-governance-report"
AUTO_LINKER = f"arn:aws:iam::{HUB}:role/model-card-governance-auto-linker"
RECONCILER = f"arn:aws:iam::{HUB}:role/model-card-governance-reconciler"
FORWARDING_RULE = "model-card-governance-registry-forwarding"
READ_ONLY_ACTIONS = {
    "dynamodb:Scan",
    "dynamodb:Query",
    "kms:Decrypt",
    "s3:ListBucket",
    "s3:GetObject",
    # The ledger's anchors are read in the versions the workflow wrote (past delete markers).
    "s3:ListBucketVersions",
    "s3:GetObjectVersion",
    "sagemaker:DescribeModelCard",
    "sagemaker:ListModelCardVersions",
    "sagemaker:ListModelCards",
    "sagemaker:ListModelPackageGroups",
    "sagemaker:ListModelPackages",
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sts:AssumeRole",
}


@pytest.fixture(scope="module")
def hub(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates[HUB_STACK])


def role_statements(template: Template, role_name: str) -> list[dict[str, Any]]:
    """Every statement of the identity policies attached to the role named `role_name`."""
    [logical_id] = [
        lid
        for lid, role in template.find_resources("AWS::IAM::Role").items()
        if role["Properties"].get("RoleName") == role_name
    ]
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": logical_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def test_spoke_registry_reader_trusts_only_the_hub_report_principals(templates: dict[str, dict[str, Any]]) -> None:
    spoke = Template.from_json(templates[spoke_stack_name("ml-dev")])
    spoke.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "model-card-governance-registry-reader",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                        "Condition": {
                            "ArnEquals": {"aws:PrincipalArn": [AUDITOR, AUTO_LINKER, RECONCILER, REPORT_FUNCTION]}
                        },
                    }
                ]
            },
        },
    )
    statements = role_statements(spoke, "model-card-governance-registry-reader")
    [rule_id] = spoke.find_resources("AWS::Events::Rule", {"Properties": {"Name": FORWARDING_RULE}})
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:ListEndpoints", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeEndpoint",
            "Resource": f"arn:aws:sagemaker:{REGION}:{SPOKE}:endpoint/*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeEndpointConfig",
            "Resource": f"arn:aws:sagemaker:{REGION}:{SPOKE}:endpoint-config/*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeModel",
            "Resource": f"arn:aws:sagemaker:{REGION}:{SPOKE}:model/*",
        },
        # The reconciler makes a lost creation event again from the package's description.
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeModelPackage",
            "Resource": f"arn:aws:sagemaker:{REGION}:{SPOKE}:model-package/*/*",
        },
        # ... and reads whether this account still forwards its events: that one rule.
        {
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
            "Resource": {"Fn::GetAtt": [rule_id, "Arn"]},
        },
        # A package's evaluation reports, for its card: objects of this account's buckets only.
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::*/*",
            "Condition": {"StringEquals": {"aws:ResourceAccount": SPOKE}},
        },
    ]


@pytest.mark.parametrize("role", ["model-card-governance-auditor", "model-card-governance-report"])
def test_report_principals_read_and_assume_only_registry_readers(hub: Template, role: str) -> None:
    statements = role_statements(hub, role)
    extra = {"s3:PutObject", "sns:Publish", "kms:GenerateDataKey"} if role.endswith("report") else set()
    # What every hub function has: its log group and its dead-letter queue.
    function_basics = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "sqs:GetQueueAttributes"}
    assert actions(statements) - function_basics - {"sqs:GetQueueUrl"} == (READ_ONLY_ACTIONS | extra)
    # Inside an organization: the reader role in exactly the configured spokes (accounts, then OUs).
    accounts, ous = [s for s in statements if s["Action"] == "sts:AssumeRole"]
    assert accounts["Resource"] == ous["Resource"] == "arn:aws:iam::*:role/model-card-governance-registry-reader"
    assert accounts["Condition"]["StringEquals"]["aws:ResourceAccount"] == ["222222222222", "333333333333"]
    assert ous["Condition"]["ForAnyValue:StringLike"] == {"aws:ResourceOrgPaths": ["*/ou-ab12-riskoffc/*"]}
    assert accounts["Condition"]["StringEquals"]["aws:ResourceOrgID"] == "o-exampleorg1"
    assert ous["Condition"]["StringEquals"] == {"aws:ResourceOrgID": "o-exampleorg1"}
    [listing] = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert "Condition" not in listing and json.dumps(listing["Resource"]).count("EvidenceBucket") == 1
    puts = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert [json.dumps(s["Resource"]).endswith('"/reports/*"]]}') for s in puts] == ([True] if extra else [])


def test_auditor_is_assumable_from_the_hub_only(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "model-card-governance-auditor",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}}
                ]
            },
        },
    )
    hub.has_output("AuditorRoleArn", {})
    hub.has_output("CardLinkTableName", {})


def test_weekly_report_runs_on_monday_with_the_template_engine_layer(hub: Template) -> None:
    hub.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(0 6 ? * MON *)", "State": "ENABLED"})
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "governance_report.handler.handler",
            "Timeout": 900,
            "Layers": [Match.any_value()],
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "SPOKE_ACCOUNTS": "",
                        "REGISTRY_ROLE_NAME": "model-card-governance-registry-reader",
                        "PENDING_REVIEW_DAYS": "14",
                    }
                )
            },
        },
    )
    hub.resource_count_is("AWS::Lambda::LayerVersion", 1)
