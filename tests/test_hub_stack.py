"""The hub stack: the properties spokes, reviewers and auditors depend on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from tests.stack_names import HUB_STACK

HUB = "111111111111"
REGION = "us-east-1"
CARDS_OF_HUB = f"arn:aws:sagemaker:{REGION}:{HUB}:model-card/*"


@pytest.fixture(scope="module")
def hub(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates[HUB_STACK])


def nested_owner_shares(synthesized: Any) -> Template:
    """The hub's owner shares, which live in nested stacks (one here: a single editing spoke)."""
    [template_file] = Path(synthesized.directory).glob(
        f"{HUB_STACK.replace('-', '')}CardSharesOwnerShares*.nested.template.json"
    )
    return Template.from_json(json.loads(template_file.read_text()))


def test_every_spoke_reads_and_an_editing_account_spoke_edits_only_its_own_cards(
    hub: Template, synthesized: Any
) -> None:
    assert len(hub.find_resources("AWS::RAM::ResourceShare")) == 1
    owner = nested_owner_shares(synthesized)
    assert len(owner.find_resources("AWS::RAM::ResourceShare")) == 1
    owner.has_resource_properties(
        "AWS::RAM::ResourceShare",
        {
            "Name": "model-card-governance-cards-222222222222",
            "Principals": ["222222222222"],
            "PermissionArns": ["arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCardsAllowExport"],
            "AllowExternalPrincipals": False,
            "ResourceArns": Match.absent(),  # only the auto-linker adds cards: those of this account
        },
    )
    hub.has_resource_properties(
        "AWS::RAM::ResourceShare",
        {
            "Name": "model-card-governance-cards-read",
            # Inside the organization one principal, however many spokes read.
            "Principals": ["arn:aws:organizations::999999999999:organization/o-exampleorg1"],
            "PermissionArns": [{"Fn::GetAtt": [Match.string_like_regexp("ReadOnlyPermission"), "Arn"]}],
            "AllowExternalPrincipals": False,
        },
    )


def card_shares(raw: dict[str, Any], card_arns: list[str]) -> tuple[Any, Any]:
    """The hub's card shares alone, from a config, in a bare stack: (the stack, the construct)."""
    from aws_cdk import App, Stack

    from governance_config import AccessLevel, parse_config
    from governance_constructs.card_share import ModelCardShares

    config = parse_config(raw)
    stack = Stack(App(), "Shares")
    shares = ModelCardShares(
        stack,
        "CardShares",
        spokes=config.spokes,
        organization=config.organization,
        partition="aws",
        sharing=config.sharing,
        share_names={level: config.share_name(level) for level in AccessLevel},
        owner_share_name=config.owner_share_name,
        read_permission_name=config.read_permission_name,
        card_arns=card_arns,
    )
    return stack, shares


def test_widened_sharing_gives_each_spoke_its_level_on_every_card(example_raw: dict[str, Any]) -> None:
    from governance_config import Sharing, parse_config

    assert parse_config({**example_raw, "sharing": "all-spokes"}).sharing is Sharing.ALL_SPOKES
    stack, shares = card_shares(
        {**example_raw, "sharing": "all-spokes"},
        ["arn:aws:sagemaker:us-east-1:111111111111:model-card/customer-churn"],
    )
    assert shares.owner_shares == {}
    template = Template.from_stack(stack)
    found = template.find_resources("AWS::RAM::ResourceShare")
    by_name = {r["Properties"]["Name"]: r["Properties"] for r in found.values()}
    assert sorted(by_name) == ["model-card-governance-cards-edit-export", "model-card-governance-cards-read"]
    assert by_name["model-card-governance-cards-edit-export"]["Principals"] == ["222222222222"]
    assert "222222222222" not in by_name["model-card-governance-cards-read"]["Principals"]
    for props in by_name.values():
        assert props["ResourceArns"] == ["arn:aws:sagemaker:us-east-1:111111111111:model-card/customer-churn"]


def test_read_only_permission_grants_describe_and_list_versions_only(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::RAM::Permission",
        {
            "ResourceType": "sagemaker:ModelCard",
            "PolicyTemplate": {
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"],
            },
        },
    )


def test_declared_card_is_encrypted_and_read_only_for_every_spoke(hub: Template) -> None:
    cards = hub.find_resources("AWS::SageMaker::ModelCard")
    assert len(cards) == 1
    logical_id, card = next(iter(cards.items()))
    props = card["Properties"]
    assert props["ModelCardName"] == "customer-churn"
    assert props["ModelCardStatus"] == "Draft"
    assert props["Content"]["IntendedUses"]["RiskRating"] == "Medium"
    key_id = next(iter(hub.find_resources("AWS::KMS::Key")))
    assert props["SecurityConfig"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    holding = [
        share["Properties"]["Name"]
        for share in hub.find_resources("AWS::RAM::ResourceShare").values()
        if {"Fn::GetAtt": [logical_id, "ModelCardArn"]} in share["Properties"].get("ResourceArns", [])
    ]
    assert holding == ["model-card-governance-cards-read"]


def test_key_rotates_and_spokes_use_it_only_for_hub_cards_via_sagemaker_or_s3(hub: Template) -> None:
    statements = Capture()
    hub.has_resource_properties(
        "AWS::KMS::Key",
        {"EnableKeyRotation": True, "KeyPolicy": {"Statement": statements}},
    )
    [statement] = [s for s in statements.as_array() if s.get("Sid") == "SpokesUseKeyForSharedModelCards"]
    assert statement["Action"] == "kms:Decrypt"
    condition = statement["Condition"]
    assert condition["StringEquals"]["kms:ViaService"] == [
        f"sagemaker.{REGION}.amazonaws.com",
        f"s3.{REGION}.amazonaws.com",
    ]
    assert condition["StringLike"]["kms:EncryptionContext:aws:sagemaker:model-card-arn"] == CARDS_OF_HUB
    assert "kms:GrantIsForAWSResource" not in json.dumps(condition)
    # Inside an organization one statement for every spoke, of a size that does not grow with them.
    assert statement["Principal"] == {"AWS": "*"}
    assert condition["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorg1"


def test_no_key_policy_statement_lets_a_hub_principal_use_the_card_key_without_an_iam_grant(hub: Template) -> None:
    # Within the key's account a matching key policy statement allows on its own (KMS Developer
    # Guide, "Key policies"), so each `*` statement leaves the hub out; only the root statement,
    # which delegates to the hub's IAM policies, names the hub.
    statements = Capture()
    hub.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": statements}})
    allowing = [s for s in statements.as_array() if s["Effect"] == "Allow"]
    hub_root = f"arn:aws:iam::{HUB}:root"
    for statement in allowing:
        if statement["Principal"] == {"AWS": "*"}:
            assert statement["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": HUB}, statement["Sid"]
        else:
            assert statement["Principal"] == {"AWS": hub_root}, statement
    assert sum(s["Principal"] == {"AWS": "*"} for s in allowing) == 3


def test_only_editing_spokes_may_encrypt_with_the_card_key(hub: Template) -> None:
    statements = Capture()
    hub.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": statements}})
    [encrypt] = [s for s in statements.as_array() if s.get("Sid") == "SpokesEncryptSharedModelCards"]
    assert encrypt["Action"] == "kms:GenerateDataKey"
    # Inside the organization the statement is of constant size; a read-only spoke never gets
    # SageMaker to encrypt, since its share's permission has no UpdateModelCard.
    assert encrypt["Principal"] == {"AWS": "*"}
    assert encrypt["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorg1"
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:sagemaker:model-card-arn"] == CARDS_OF_HUB
    read_permission = hub.find_resources("AWS::RAM::Permission")
    [permission] = read_permission.values()
    assert "sagemaker:UpdateModelCard" not in json.dumps(permission["Properties"]["PolicyTemplate"])


def test_only_exporting_spokes_may_encrypt_exports_with_the_bucket_arn_as_context(hub: Template) -> None:
    statements = Capture()
    hub.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": statements}})
    export = [s for s in statements.as_array() if s.get("Sid", "").startswith("SpokesEncryptModelCardExports")]
    assert len(export) == 1
    # Of constant size inside the organization: S3 asks KMS only for a request the exports bucket's
    # policy admits, and that policy names the exporting spokes (below).
    assert export[0]["Principal"] == {"AWS": "*"}
    assert export[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorg1"
    # S3 Bucket Keys make the bucket ARN, not the object ARN, the encryption context.
    exports_bucket = f"arn:aws:s3:::model-card-governance-exports-{HUB}-{REGION}"
    assert export[0]["Condition"]["StringEquals"]["kms:EncryptionContext:aws:s3:arn"] == exports_bucket
    hub.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": f"model-card-governance-exports-{HUB}-{REGION}",
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"}),
                        }
                    )
                ]
            },
        },
    )


def test_exports_bucket_expires_exports_has_no_object_lock_and_spokes_use_their_own_prefix(hub: Template) -> None:
    buckets = hub.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": f"model-card-governance-exports-{HUB}-{REGION}"}}
    )
    [(bucket_id, bucket)] = buckets.items()
    props = bucket["Properties"]
    assert "ObjectLockEnabled" not in props and "ObjectLockConfiguration" not in props
    # Versioned, yet nothing outlives its expiry by more than a day: a version no longer current
    # goes a day later, and then the delete marker left in its place.
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule, markers] = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30 and rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert markers == {"ExpiredObjectDeleteMarker": True, "Status": "Enabled"}
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in hub.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    [spokes] = [s for s in policy if s.get("Sid", "").startswith("SpokesWriteTheirModelCardExports")]
    assert sorted(spokes["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert json.dumps(spokes["Resource"]).endswith('"/exports/${aws:PrincipalAccount}/*"]]}')
    assert "222222222222" in json.dumps(spokes["Principal"])
    assert "333333333333" not in json.dumps(spokes["Principal"])


def test_only_the_workflow_role_writes_the_evidence_bucket(hub: Template) -> None:
    evidence = hub.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": f"model-card-governance-evidence-{HUB}-{REGION}"}}
    )
    [bucket_id] = evidence
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in hub.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert not [s for s in policy if s["Effect"] == "Allow"]
    writers = {
        "OnlyItsWriterWritesEvidence": ("evidence", "model-card-governance-approval-workflow"),
        "OnlyItsWriterWritesReports": ("reports", "model-card-governance-report"),
    }
    for sid, (prefix, role) in writers.items():
        [deny] = [s for s in policy if s.get("Sid") == sid]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", {"AWS": "*"}, "s3:PutObject")
        assert json.dumps(deny["Resource"]).endswith(f'"/{prefix}/*"]]}}')
        assert deny["Condition"] == {"ArnNotEqualsIfExists": {"aws:PrincipalArn": f"arn:aws:iam::{HUB}:role/{role}"}}
    [elsewhere] = [s for s in policy if s.get("Sid") == "NothingOutsideTheWritersPrefixes"]
    assert (elsewhere["Effect"], elsewhere["Principal"], elsewhere["Action"]) == ("Deny", {"AWS": "*"}, "s3:PutObject")
    assert [
        json.dumps(r).endswith(f'"/{p}/*"]]}}')
        for r, p in zip(elsewhere["NotResource"], ("evidence", "reports"), strict=True)
    ] == [True, True]
    assert "Condition" not in elsewhere


def test_bus_accepts_events_only_from_the_spokes_forwarding_role_in_the_organization(hub: Template) -> None:
    hub.has_resource_properties("AWS::Events::EventBus", {"Name": "model-card-governance-bus"})
    assert hub.find_resources("AWS::Events::EventBusPolicy") == {}
    buses = hub.find_resources("AWS::Events::EventBus", {"Properties": {"Name": "model-card-governance-bus"}})
    (bus,) = buses.values()
    # The forwarding role in exactly the configured spokes: the account spokes by account, the OU
    # spoke by its place in the org path; a member account that is no spoke matches neither.
    accounts, ous = bus["Properties"]["Policy"]["Statement"]
    accepted = {
        "events:detail-type": ["SageMaker Model Package State Change", "SageMaker Model Card State Change"],
    }
    common = {
        "ForAllValues:StringEquals": {"events:source": ["aws.sagemaker"]},
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/model-card-governance-registry-forwarding"},
    }
    for statement in (accounts, ous):
        assert statement["Action"] == "events:PutEvents"
        assert statement["Principal"] == {"AWS": "*"}
    assert accounts["Condition"] == {
        "StringEquals": {
            "aws:PrincipalOrgID": "o-exampleorg1",
            "aws:PrincipalAccount": ["222222222222", "333333333333"],
            **accepted,
        },
        **common,
    }
    assert ous["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1", **accepted},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["*/ou-ab12-riskoffc/*"]},
        **common,
    }


def test_evidence_bucket_is_locked_encrypted_tls_only_and_logged(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": f"model-card-governance-evidence-{HUB}-{REGION}",
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2557}},
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "evidence/"}),
        },
    )
    bucket_policies = [
        p["Properties"]["PolicyDocument"]["Statement"] for p in hub.find_resources("AWS::S3::BucketPolicy").values()
    ]
    tls = [
        s
        for stmts in bucket_policies
        for s in stmts
        if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(tls) == 3 and all(s["Effect"] == "Deny" for s in tls)  # evidence, its logs, exports


def test_ledger_has_pitr_deletion_protection_and_the_hub_key(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "CardArn", "KeyType": "HASH"},
                {"AttributeName": "EntryKey", "KeyType": "RANGE"},
            ],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
        },
    )


def test_the_ledger_has_a_sparse_keys_only_index_of_effective_approvals_only_the_sweep_reads(hub: Template) -> None:
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "lambdas"))
    from card_workflow import ledger

    from governance_constructs.approval_ledger import EFFECTIVE_INDEX, EFFECTIVE_KEY

    # The names the workflow writes and the sweep queries are the index's.
    assert (ledger.EFFECTIVE_INDEX, ledger.EFFECTIVE_KEY) == (EFFECTIVE_INDEX, EFFECTIVE_KEY)
    hub.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "CardArn", "KeyType": "HASH"},
                {"AttributeName": "EntryKey", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": EFFECTIVE_INDEX,
                    "KeySchema": [{"AttributeName": EFFECTIVE_KEY, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        },
    )
    # Only the workflow reads the index, with Query alone, and it scans nothing.
    [(table_id, _)] = hub.find_resources(
        "AWS::DynamoDB::Table", {"Properties": {"GlobalSecondaryIndexes": Match.any_value()}}
    ).items()
    readers = [
        (policy["Properties"]["Roles"], statement["Action"], statement["Resource"])
        for policy in hub.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "/index/" in json.dumps(statement["Resource"]) and table_id in json.dumps(statement["Resource"])
    ]
    [(roles, action, resource)] = readers
    [workflow_role] = hub.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "model-card-governance-approval-workflow"}}
    )
    assert (roles, action) == ([{"Ref": workflow_role}], "dynamodb:Query")
    assert resource == {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, f"/index/{EFFECTIVE_INDEX}"]]}
    workflow = statements_of_role(hub, "model-card-governance-approval-workflow")
    assert "dynamodb:Scan" not in json.dumps([s["Action"] for s in workflow])


# Changing one of these IDs makes CloudFormation replace the resource: a new key (cards unreadable
# with the old one), an empty bucket and ledger, new shares. Change them only with a migration.
PINNED_LOGICAL_IDS = {
    "AWS::KMS::Key": ["CardKey5B34247F"],
    "AWS::S3::Bucket": ["EvidenceAccessLogs6F1E67A5", "EvidenceBucketC67FF768", "ExportsBucket54D5CE64"],
    "AWS::DynamoDB::Table": ["AutoLinkCardIndex0D5C5AA2", "AutoLinkCardLinksFB2FD036", "LedgerTable9343E4AA"],
    "AWS::RAM::ResourceShare": ["CardSharesShareRead746F8700"],
    "AWS::RAM::Permission": ["CardSharesReadOnlyPermission69C8563F"],
    "AWS::SageMaker::ModelCard": ["CardCustomerChurnCard9EDADFB3"],
    "AWS::Events::EventBus": ["GovernanceBus5CD008B9"],
}

PINNED_OWNER_SHARE_STACKS = ["CardSharesOwnerSharesChunk6NestedStackChunk6NestedStackResource6BBDC3C9"]


@pytest.mark.parametrize("resource_type", sorted(PINNED_LOGICAL_IDS))
def test_stateful_logical_ids_are_pinned_and_retained(hub: Template, resource_type: str) -> None:
    resources = hub.find_resources(resource_type)
    assert sorted(resources) == sorted(PINNED_LOGICAL_IDS[resource_type])
    for resource in resources.values():
        if resource_type != "AWS::Events::EventBus":
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"


def test_owner_shares_live_in_nested_stacks_with_pinned_ids(synthesized: Any) -> None:
    # One nested stack per chunk of accounts (a stable hash of the account ID), so a thousand
    # editing spokes keep the hub inside 500 resources, and adding a spoke moves no other share.
    directory = Path(synthesized.directory)
    hub = json.loads((directory / f"{HUB_STACK}.template.json").read_text())
    nested = {k: r for k, r in hub["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
    assert sorted(nested) == PINNED_OWNER_SHARE_STACKS
    [template_file] = directory.glob(f"{HUB_STACK.replace('-', '')}CardSharesOwnerShares*.nested.template.json")
    shares = json.loads(template_file.read_text())["Resources"]
    assert sorted(shares) == ["Owner222222222222"]
    share = shares["Owner222222222222"]
    assert share["DeletionPolicy"] == "Retain" and share["UpdateReplacePolicy"] == "Retain"
    assert share["Properties"]["Principals"] == ["222222222222"]
    assert share["Properties"]["Name"] == "model-card-governance-cards-222222222222"
    from cfnlint.api import lint

    assert [str(m) for m in lint(template_file.read_text(), regions=["us-east-1"])] == []


def test_auto_linker_listens_on_both_buses_with_retry_and_dead_letters(hub: Template) -> None:
    rules = hub.find_resources("AWS::Events::Rule")
    linker_rules = [r["Properties"] for r in rules.values() if "auto-linker" in r["Properties"].get("Description", "")]
    assert len(linker_rules) == 2
    buses = sorted(json.dumps(r.get("EventBusName")) for r in linker_rules)
    assert buses[0] == "null"  # the default bus: registries in the hub itself
    assert "GovernanceBus" in buses[1]  # the governance bus: registries in spokes
    for rule in linker_rules:
        assert rule["EventPattern"] == {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Package State Change"],
        }
        [target] = rule["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        assert "DeadLetterConfig" in target


def test_auto_linker_function_and_its_least_privilege_role(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Handler": "auto_link.handler.handler",
            "DeadLetterConfig": Match.object_like({"TargetArn": Match.any_value()}),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "CARRY_OVER": "business_details,intended_uses,additional_information",
                        "CARRY_OVER_FROM": "approved",
                        "OWNER_SHARE_PREFIX": "model-card-governance-cards-",
                        "SHARE_ARNS": {"Fn::GetAtt": ["CardSharesShareRead746F8700", "Arn"]},
                        "TEMPLATE_CARDS": '{"customer-churn": "customer-churn"}',
                    }
                )
            },
        },
    )
    for role in hub.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"], "no AWS-managed policies on hub roles"
    statements = [
        s
        for p in hub.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    card_statement = next(s for s in statements if "sagemaker:CreateModelCard" in s["Action"])
    assert sorted(card_statement["Action"]) == [
        "sagemaker:AddTags",
        "sagemaker:CreateModelCard",
        "sagemaker:DescribeModelCard",
    ]
    assert card_statement["Resource"] == f"arn:aws:sagemaker:{REGION}:{HUB}:model-card/*"
    ram = next(s for s in statements if s["Action"] == "ram:AssociateResourceShare")
    # Cards only: the linker can never add a principal, and only to this app's shares.
    assert ram["Condition"]["Null"] == {"ram:Principal": "true"}
    assert ram["Condition"]["StringLike"] == {"ram:ResourceShareName": "model-card-governance-cards-*"}
    assert ram["Resource"] == f"arn:aws:ram:{REGION}:{HUB}:resource-share/*"
    every_action = json.dumps([s["Action"] for s in statements])
    assert "DeleteModelCard" not in every_action
    assert "dynamodb:DeleteItem" not in every_action
    hub.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "Errors", "Namespace": "AWS/Lambda"})


def statements_of_role(hub: Template, role_name: str) -> list[dict[str, Any]]:
    roles = hub.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": role_name}})
    [role_id] = roles
    return [
        s
        for p in hub.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_workflow_role_sets_hub_package_statuses_and_no_stage_without_an_approval_policy(hub: Template) -> None:
    """The example config names no lifecycle stage: the hub's own packages get an approval status
    and no ModelLifeCycle (sagemaker:ModelLifeCycle:stage and :stageStatus must be absent)."""
    statements = statements_of_role(hub, "model-card-governance-approval-workflow")
    [update] = [s for s in statements if s["Action"] == "sagemaker:UpdateModelPackage"]
    assert update["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected", "PendingManualApproval"]},
        "Null": {"sagemaker:ModelLifeCycle:stage": "true", "sagemaker:ModelLifeCycle:stageStatus": "true"},
    }
    assert update["Resource"] == "arn:aws:sagemaker:us-east-1:111111111111:model-package/*/*"


def test_workflow_role_appends_to_the_ledger_and_assumes_only_spoke_sync_roles(hub: Template) -> None:
    statements = statements_of_role(hub, "model-card-governance-approval-workflow")
    actions = json.dumps([s["Action"] for s in statements])
    for forbidden in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "DeleteModelCard"):
        assert forbidden not in actions
    # UpdateItem only on the card links (the last approved version), never on the ledger.
    updates = [s for s in statements if "dynamodb:UpdateItem" in s["Action"]]
    assert [json.dumps(s["Resource"]) for s in updates] == [
        json.dumps(s["Resource"]) for s in updates if "CardLinks" in json.dumps(s["Resource"])
    ]
    ledger = next(s for s in statements if "dynamodb:PutItem" in s["Action"])
    assert sorted(ledger["Action"]) == ["dynamodb:PutItem", "dynamodb:Query"]
    # Only in the configured spokes: the account spokes by account, the OU spoke by org path.
    accounts, ous = [s for s in statements if s["Action"] == "sts:AssumeRole"]
    assert accounts["Resource"] == ous["Resource"] == "arn:aws:iam::*:role/model-card-governance-approval-sync"
    assert accounts["Condition"] == {
        "StringEquals": {"aws:ResourceOrgID": "o-exampleorg1", "aws:ResourceAccount": ["222222222222", "333333333333"]}
    }
    assert ous["Condition"] == {
        "StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"},
        "ForAnyValue:StringLike": {"aws:ResourceOrgPaths": ["*/ou-ab12-riskoffc/*"]},
    }


def test_review_topic_is_encrypted_tls_only_and_mails_the_reviewers(hub: Template) -> None:
    hub.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    hub.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "model-risk@example.com"})
    hub.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_card_status_rule_and_export_follow_up(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Description": "Model card status changes, to the approval workflow",
            "EventPattern": {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Card State Change"]},
            "Targets": [
                Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}})
            ],
        },
    )
    hub.has_resource_properties(
        "AWS::SQS::Queue", {"RedrivePolicy": {"maxReceiveCount": 5, "deadLetterTargetArn": Match.any_value()}}
    )
    hub.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10}
    )


def test_reviewer_role_is_assumable_in_the_hub_and_may_review_and_set_card_status(hub: Template) -> None:
    [role] = hub.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "model-card-governance-reviewer"}}
    ).values()
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{HUB}:root"}  # the hub account, nobody else
    # ... and in it only the configured reviewer principals, each session naming a person.
    assert trust["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{HUB}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_ModelRiskReviewer_*"
            ]
        },
        "Null": {"sts:SourceIdentity": "false"},
        # The session is named after the person too: the decision endpoint sees the name only.
        "StringEquals": {"sts:RoleSessionName": "${sts:SourceIdentity}"},
    }
    statements = statements_of_role(hub, "model-card-governance-reviewer")
    cards = next(s for s in statements if "sagemaker:UpdateModelCard" in s["Action"])
    assert sorted(cards["Action"]) == [
        "sagemaker:DescribeModelCard",
        "sagemaker:ListModelCardVersions",
        "sagemaker:UpdateModelCard",
    ]
    assert cards["Resource"] == CARDS_OF_HUB
    key = next(s for s in statements if "kms:Decrypt" in s["Action"])
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"sagemaker.{REGION}.amazonaws.com"}}
    outputs = hub.find_outputs("ReviewerRoleArn")
    assert outputs


def test_the_decision_endpoint_is_a_function_url_only_signed_requests_reach(hub: Template) -> None:
    hub.resource_count_is("AWS::Lambda::Url", 1)
    hub.has_resource_properties(
        "AWS::Lambda::Url",
        {"AuthType": "AWS_IAM", "TargetFunctionArn": {"Fn::GetAtt": [Match.string_like_regexp("Decisions"), "Arn"]}},
    )
    # The reviewer role may invoke it through the URL; the function judges every caller itself.
    reviewer = {"Fn::GetAtt": [Match.string_like_regexp("ReviewerRole"), "Arn"]}
    hub.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "AWS_IAM", "Principal": reviewer},
    )
    hub.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": True, "Principal": reviewer},
    )
    environment = Capture()
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "card_workflow.handler.decide", "Environment": environment},
    )
    variables = environment.as_object()["Variables"]
    assert json.loads(variables["APPROVERS"]) == [f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"]
    assert json.loads(variables["NAMED_ROLES"]) == [f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"]
    assert hub.find_outputs("DecisionUrl")


def test_workflow_attributes_approvals_to_the_approvers_and_rechecks_through_a_queue(hub: Template) -> None:
    environment = Capture()
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {"Description": "Model card approval workflow and package approval gate", "Environment": environment},
    )
    variables = environment.as_object()["Variables"]
    assert json.loads(variables["APPROVERS"]) == [f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"]
    # Every reviewer session names a person, so a record of one that names none is refused.
    assert json.loads(variables["NAMED_ROLES"]) == [f"arn:aws:iam::{HUB}:role/model-card-governance-reviewer"]
    assert variables["APPROVER_MAY_NOT_EDIT"] == "true"
    assert variables["ATTRIBUTION_DEADLINE_SECONDS"] == "1800"
    assert variables["RECHECK_QUEUE_URL"]["Ref"].startswith("WorkflowApprovalRecheck")
    statements = statements_of_role(hub, "model-card-governance-approval-workflow")
    [lookup] = [s for s in statements if s["Action"] == "cloudtrail:LookupEvents"]
    assert lookup["Resource"] == "*"  # LookupEvents has no resource-level permission
    cards = next(s for s in statements if "sagemaker:DescribeModelCard" in s["Action"])
    assert "sagemaker:UpdateModelCard" in cards["Action"]
    hub.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("ApprovalRecheck"), "Arn"]},
            "FunctionName": {"Ref": Match.string_like_regexp("WorkflowHandlerFunction")},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_only_the_workflow_roles_send_to_its_queues(hub: Template) -> None:
    senders = {}
    for policy in hub.find_resources("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "OnlyTheWorkflowSends":
                assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
                    "Deny",
                    {"AWS": "*"},
                    "sqs:SendMessage",
                )
                queue = statement["Resource"]["Fn::GetAtt"][0]
                senders[queue] = [
                    arn["Fn::GetAtt"][0] if isinstance(arn, dict) else arn
                    for arn in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
                ]
    recheck = next(q for q in senders if q.startswith("WorkflowApprovalRecheck"))
    follow_up = next(q for q in senders if q.startswith("WorkflowExportFollowUp"))
    # The decision endpoint hints at a suspension (decisions.py); the reconciler asks for rechecks
    # (its role, by the name config gives it).
    assert [r if r.startswith("arn:") else r.split("Role")[0] for r in senders[recheck]] == [
        "WorkflowHandler",
        "WorkflowDecisions",
        f"arn:aws:iam::{HUB}:role/model-card-governance-reconciler",
    ]
    assert sorted(r.split("Role")[0] for r in senders[follow_up]) == ["WorkflowExportFollower", "WorkflowHandler"]


def test_workflow_role_may_list_the_evidence_bucket_so_a_missing_key_answers_404(hub: Template) -> None:
    statements = statements_of_role(hub, "model-card-governance-approval-workflow")
    [listing] = [s for s in statements if s["Action"] == "s3:ListBucket"]
    [bucket_id] = hub.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": f"model-card-governance-evidence-{HUB}-{REGION}"}}
    )
    assert listing["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}


def test_auto_linker_lets_sagemaker_create_a_grant_on_the_card_key_for_the_card_only(hub: Template) -> None:
    statements = [
        s
        for p in hub.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    [grant] = [s for s in statements if s["Action"] == "kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert grant["Resource"] == {"Fn::GetAtt": ["CardKey5B34247F", "Arn"]}


def test_the_reconciler_runs_on_its_interval_and_hands_work_only_to_the_two_functions(hub: Template) -> None:
    hub.has_resource_properties(
        "AWS::Events::Rule",
        {"ScheduleExpression": "rate(1 hour)", "Targets": [Match.object_like({"Arn": Match.any_value()})]},
    )
    statements = statements_of_role(hub, "model-card-governance-reconciler")
    [invoke] = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert sorted(r["Fn::GetAtt"][0].split("Function")[0] for r in invoke["Resource"]) == [
        "AutoLinkHandler",
        "WorkflowHandler",
    ]
    [redrive] = [s for s in statements if "sqs:ReceiveMessage" in s["Action"]]
    assert sorted(r["Fn::GetAtt"][0].split("DeadLetters")[0] for r in redrive["Resource"]) == [
        "AutoLinkHandler",
        "WorkflowHandler",
    ]
    # Nothing that changes a card, a package or evidence.
    actions = json.dumps([s["Action"] for s in statements])
    for write in ("UpdateModelCard", "CreateModelCard", "UpdateModelPackage", "s3:PutObject", "DeleteItem"):
        assert write not in actions
