"""Spoke stacks: exactly the card actions of each access level, in the hub account only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.stack_names import OU_ROLLOUT_STACK, spoke_stack_name

HUB = "111111111111"
REGION = "us-east-1"
CARDS = f"arn:aws:sagemaker:{REGION}:{HUB}:model-card/*"
EXPORT_JOBS = f"arn:aws:sagemaker:{REGION}:{HUB}:model-card/*/export-job/*"
EXPORTS_BUCKET = f"arn:aws:s3:::model-card-governance-exports-{HUB}-{REGION}"
EXPORTS = f"{EXPORTS_BUCKET}/exports/${{aws:PrincipalAccount}}/*"
SPOKE = "222222222222"
UPDATE = "sagemaker:UpdateModelPackage"
STAGE, STAGE_STATUS = "sagemaker:ModelLifeCycle:stage", "sagemaker:ModelLifeCycle:stageStatus"


def policy_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    assert len(policies) == 1
    statements: list[dict[str, Any]] = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


@pytest.fixture(scope="module")
def edit_export(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates[spoke_stack_name("ml-dev")])


@pytest.fixture(scope="module")
def read_only(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates[spoke_stack_name("ml-prod")])


def test_edit_export_spoke_gets_the_seed_template_actions(edit_export: Template) -> None:
    statements = policy_statements(edit_export)
    assert actions_of(statements) == {
        "sagemaker:DescribeModelCard",
        "sagemaker:ListModelCardVersions",
        "sagemaker:UpdateModelCard",
        "sagemaker:CreateModelCardExportJob",
        "sagemaker:DescribeModelCardExportJob",
        "ram:ListResources",
        "sagemaker:Search",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "s3:PutObject",
        "s3:GetObject",
    }
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["UseSharedModelCards"]["Resource"] == CARDS
    assert by_sid["FollowModelCardExports"]["Resource"] == EXPORT_JOBS
    assert by_sid["WriteModelCardExports"]["Resource"] == EXPORTS


def test_read_spoke_can_only_describe_and_list_versions(read_only: Template) -> None:
    statements = policy_statements(read_only)
    sagemaker = {a for a in actions_of(statements) if a.startswith("sagemaker:")}
    assert sagemaker == {"sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions", "sagemaker:Search"}
    assert "s3:PutObject" not in actions_of(statements)
    # Reading a card needs only Decrypt; a read spoke never encrypts with the hub key.
    assert {a for a in actions_of(statements) if a.startswith("kms:")} == {"kms:Decrypt"}


@pytest.mark.parametrize("spoke", ["ml-dev", "ml-prod"])
def test_no_delete_and_nothing_outside_the_hub(templates: dict[str, dict[str, Any]], spoke: str) -> None:
    statements = policy_statements(Template.from_json(templates[spoke_stack_name(spoke)]))
    assert "sagemaker:DeleteModelCard" not in actions_of(statements)
    # The calls with no resource type (Service Authorization Reference) are granted on "*", no others;
    # both answer only what this account owns or was shared.
    anywhere = [s for s in statements if s["Resource"] == "*"]
    assert sorted(s["Action"] for s in anywhere) == ["ram:ListResources", "sagemaker:Search"]
    for statement in statements:
        if statement in anywhere:
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            assert f":{HUB}:" in resource or resource.startswith(EXPORTS_BUCKET + "/"), resource
            assert "evidence" not in resource


def test_kms_use_is_held_to_the_hub_cards_context(edit_export: Template) -> None:
    by_sid = {s["Sid"]: s for s in policy_statements(edit_export)}
    decrypt = by_sid["DecryptSharedModelCards"]
    assert decrypt["Resource"] == f"arn:aws:kms:{REGION}:{HUB}:key/*"
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": [f"sagemaker.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com"]},
        "StringLike": {"kms:EncryptionContext:aws:sagemaker:model-card-arn": CARDS},
    }
    # The exports bucket uses an S3 Bucket Key: S3 asks KMS with the bucket ARN as context.
    assert by_sid["EncryptModelCardExports"]["Condition"]["StringEquals"] == {
        "kms:ViaService": [f"s3.{REGION}.amazonaws.com"],
        "kms:EncryptionContext:aws:s3:arn": EXPORTS_BUCKET,
    }


def test_pinned_key_arn_replaces_the_key_wildcard(example_config: Any) -> None:
    import dataclasses

    from aws_cdk import App, Environment

    from stacks.spoke_stack import SpokeStack

    key_arn = f"arn:aws:kms:{REGION}:{HUB}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = dataclasses.replace(example_config, card_key_arn=key_arn)
    stack = SpokeStack(
        App(),
        "Pinned",
        config=config,
        access=config.spokes[1].access,
        env=Environment(account="333333333333", region=REGION),
    )
    by_sid = {s["Sid"]: s for s in policy_statements(Template.from_stack(stack))}
    assert by_sid["DecryptSharedModelCards"]["Resource"] == key_arn


def test_card_user_role_is_assumable_from_the_spoke_only(edit_export: Template) -> None:
    edit_export.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {"Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "sts:AssumeRole"}
                    )
                ]
            },
            "ManagedPolicyArns": [{"Ref": Match.string_like_regexp("SharedCardAccessPolicy")}],
        },
    )


def test_forwarding_rule_targets_hub_bus_with_retry_and_dlq(edit_export: Template) -> None:
    edit_export.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": f"arn:aws:events:{REGION}:{HUB}:event-bus/model-card-governance-bus",
                        "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.string_like_regexp("DeadLetters"), "Arn"]}},
                    }
                )
            ],
        },
    )
    edit_export.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1}
    )
    # The hub's bus admits this role by its fixed name.
    [rule] = edit_export.find_resources("AWS::Events::Rule").values()
    role_id = rule["Properties"]["Targets"][0]["RoleArn"]["Fn::GetAtt"][0]
    role = edit_export.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    assert role["RoleName"] == "model-card-governance-registry-forwarding"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_approval_sync_role_trusts_only_the_hub_workflow_role(edit_export: Template) -> None:
    edit_export.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "model-card-governance-approval-sync",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                        "Condition": {
                            "ArnEquals": {
                                "aws:PrincipalArn": f"arn:aws:iam::{HUB}:role/model-card-governance-approval-workflow"
                            }
                        },
                    }
                ]
            },
        },
    )
    edit_export.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sagemaker:DescribeModelPackage",
                        "Resource": f"arn:aws:sagemaker:{REGION}:222222222222:model-package/*/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "sagemaker:UpdateModelPackage",
                        "Resource": f"arn:aws:sagemaker:{REGION}:222222222222:model-package/*/*",
                        # Only a request that sets the approval status; no other update, and,
                        # with no stage in the approval policy, no lifecycle stage.
                        "Condition": {
                            "StringEquals": {
                                "sagemaker:ModelApprovalStatus": ["Approved", "Rejected", "PendingManualApproval"]
                            },
                            "Null": {
                                "sagemaker:ModelLifeCycle:stage": "true",
                                "sagemaker:ModelLifeCycle:stageStatus": "true",
                            },
                        },
                    },
                    {
                        # The hub's review decisions on this spoke's cards, on its own default bus only.
                        "Effect": "Allow",
                        "Action": "events:PutEvents",
                        "Resource": f"arn:aws:events:{REGION}:222222222222:event-bus/default",
                        "Condition": {
                            "StringEquals": {
                                "events:source": "model-card-governance",
                                "events:detail-type": "Model Card Review Decision",
                            }
                        },
                    },
                ]
            }
        },
    )


def test_the_approval_sync_role_sets_exactly_the_stages_of_the_approval_policy(example_raw: dict[str, Any]) -> None:
    """One UpdateModelPackage statement per configured (stage, status) pair, so a stage cannot go
    with another stage's status; suspension and revert naming the same stage share one."""
    import copy

    from aws_cdk import App, Environment

    from governance_config import parse_config
    from stacks.spoke_stack import SpokeStack

    raw = copy.deepcopy(example_raw)
    raw["approval_policy"] = {
        "groups": {"model-risk": {"principals": [f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"]}},
        "tiers": {"High": {"people": 1, "groups": ["model-risk"]}},
        "on_approval": {"stage": "Production", "stage_status": "Approved"},
        "on_revert": {"stage": "Staging", "stage_status": "PendingApproval"},
        "on_suspension": {"stage": "Staging", "stage_status": "PendingApproval"},
    }
    config = parse_config(raw)
    stack = SpokeStack(
        App(), "Staged", config=config, access=config.spokes[0].access, env=Environment(account=SPOKE, region=REGION)
    )
    [policy] = (
        Template.from_stack(stack)
        .find_resources(
            "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": Match.string_like_regexp("ApprovalSync")}]}}
        )
        .values()
    )
    updates = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == UPDATE]
    statuses = {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected", "PendingManualApproval"]}
    assert [s["Condition"] for s in updates] == [
        {"StringEquals": statuses, "Null": {STAGE: "true", STAGE_STATUS: "true"}},
        {"StringEquals": {**statuses, STAGE: "Production", STAGE_STATUS: "Approved"}},
        {"StringEquals": {**statuses, STAGE: "Staging", STAGE_STATUS: "PendingApproval"}},
    ]
    assert {s["Resource"]["Fn::Join"][1][-1] for s in updates} == {f":sagemaker:{REGION}:{SPOKE}:model-package/*/*"}


def test_ou_spokes_roll_out_through_a_service_managed_stack_set(templates: dict[str, dict[str, Any]]) -> None:
    rollout = Template.from_json(templates[OU_ROLLOUT_STACK])
    stack_sets = rollout.find_resources("AWS::CloudFormation::StackSet")
    assert list(stack_sets) == ["SpokeRead"]  # one per access level, not per OU
    props = next(iter(stack_sets.values()))["Properties"]
    assert props["StackSetName"] == "model-card-governance-spoke-read"
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["CallAs"] == "SELF"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert props["StackInstancesGroup"][0]["DeploymentTargets"] == {"OrganizationalUnitIds": ["ou-ab12-riskoffc"]}
    body = json.loads(props["TemplateBody"])
    # Targets are not CDK-bootstrapped: no bootstrap-version parameter or rule.
    assert "BootstrapVersion" not in body.get("Parameters", {})
    assert "Rules" not in body
    inner = Template.from_json(body)
    sagemaker = {a for a in actions_of(policy_statements(inner)) if a.startswith("sagemaker:")}
    assert sagemaker == {"sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions", "sagemaker:Search"}


def test_the_reconciler_reads_exactly_the_forwarding_rule_and_the_packages(edit_export: Template) -> None:
    [(rule_id, rule)] = edit_export.find_resources("AWS::Events::Rule").items()
    assert rule["Properties"]["Name"] == "model-card-governance-registry-forwarding"
    reader = edit_export.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "model-card-governance-registry-reader"}}
    )
    [(role_id, role)] = reader.items()
    trusted = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]
    assert f"arn:aws:iam::{HUB}:role/model-card-governance-reconciler" in trusted["aws:PrincipalArn"]
    statements = [
        s
        for p in edit_export.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    [rule_read] = [s for s in statements if "events:DescribeRule" in s["Action"]]
    assert rule_read["Action"] == ["events:DescribeRule", "events:ListTargetsByRule"]
    assert rule_read["Resource"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    [describe] = [s for s in statements if s["Action"] == "sagemaker:DescribeModelPackage"]
    assert describe["Resource"] == f"arn:aws:sagemaker:{REGION}:222222222222:model-package/*/*"
