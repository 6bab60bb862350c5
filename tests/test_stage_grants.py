"""The hub sets a spoke package's lifecycle stage only to a stage of its approval policy, on the
permission-enforcing emulator.

The spoke stack's approval-sync role (synthesized from the example config, with and without
stages) is provisioned in spoke 222222222222 as the sandbox provisions it; the hub's workflow role
assumes it as the workflow does. With it the hub sets the configured stages through the workflow's
own code (`set_package_status`). Whoever holds that session (the workflow role, or anyone who
gets its credentials) and tries another stage, a configured stage with another stage's status, or
a stage without an approval status, is refused with AccessDenied; the package keeps its status
and stage, and each attempt is in the spoke's CloudTrail history with the role that tried.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.sessions import admin_session, assume, service_role_session
from sandbox.provision import REGION, Deployed, provision_iam
from tests.conftest import ROOT
from tests.stack_names import spoke_stack_name
from tests.test_emulator import INFERENCE

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow.approval_policy import Stage
from card_workflow.workflow import WorkflowSettings, set_package_status

HUB, SPOKE = "111111111111", "222222222222"
PREFIX = "model-card-governance"
SYNC_ROLE = f"{PREFIX}-approval-sync"
WORKFLOW_ROLE = f"{PREFIX}-approval-workflow"
# What spoke_client names its session (card_workflow.workflow).
SESSION = "model-card-approval"
STAGED = {
    "on_revert": {"stage": "Staging", "stage_status": "PendingApproval"},
    "on_suspension": {"stage": "Archived", "stage_status": "Suspended"},
}
SETTINGS = WorkflowSettings(
    ledger_table="ledger",
    topic_arn="",
    evidence_bucket="",
    follow_up_queue_url="",
    approval_role_name=SYNC_ROLE,
    hub_account=HUB,
    region=REGION,
)


@pytest.fixture(scope="module")
def sync_roles(example_raw: dict[str, Any], templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The spoke stack's template for spoke 222222222222: the example app's, without stages ("none"),
    and with an approval policy of a revert and a suspension stage and no approval stage ("staged")."""
    from aws_cdk import App, Environment
    from aws_cdk.assertions import Template

    from governance_config import parse_config
    from stacks.spoke_stack import SpokeStack

    staged = copy.deepcopy(example_raw)
    staged["approval_policy"] = {
        "groups": {"model-risk": {"principals": [f"arn:aws:iam::{HUB}:role/{PREFIX}-reviewer"]}},
        "tiers": {"High": {"people": 1, "groups": ["model-risk"]}},
        **STAGED,
    }
    config = parse_config(staged)
    [spoke] = [s for s in config.spokes if s.account == SPOKE]
    env = Environment(account=SPOKE, region=REGION)
    stack = SpokeStack(App(), "Spoke", config=config, access=spoke.access, env=env)
    return {"none": templates[spoke_stack_name("ml-dev")], "staged": dict(Template.from_stack(stack).to_json())}


def provision_sync_role(template: dict[str, Any]) -> None:
    """The approval-sync role and its policy from the spoke template, as the sandbox provisions them."""
    resources = template["Resources"]
    [role_id] = [i for i, r in resources.items() if r["Properties"].get("RoleName") == SYNC_ROLE]
    kept: dict[str, Any] = {
        i: r
        for i, r in resources.items()
        if i == role_id or (r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"])
    }
    admin = admin_session(SPOKE)
    # The client is made here, so the deployment needs no endpoint of its own (in-process emulator).
    deployed = Deployed("spoke", SPOKE, admin, "in-process", {"Resources": kept}, clients={"iam": admin.client("iam")})
    provision_iam(deployed)


def hub_workflow() -> boto3.Session:
    """The hub's approval-workflow role as its Lambda runs it: it may assume spokes' approval-sync roles."""
    iam = admin_session(HUB).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=WORKFLOW_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assume_sync = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::*:role/{SYNC_ROLE}"}
    iam.put_role_policy(
        RoleName=WORKFLOW_ROLE,
        PolicyName="assume",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [assume_sync]}),
    )
    return service_role_session(arn)


def spoke_package() -> str:
    sagemaker = admin_session(SPOKE).client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification=INFERENCE,
        ModelApprovalStatus="PendingManualApproval",
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
    )["ModelPackageArn"]
    return arn


def state_of(package: str) -> tuple[str, str, str]:
    described = admin_session(SPOKE).client("sagemaker").describe_model_package(ModelPackageName=package)
    life_cycle = described.get("ModelLifeCycle", {})
    return described["ModelApprovalStatus"], life_cycle.get("Stage", ""), life_cycle.get("StageStatus", "")


def set_by_the_workflow(workflow: boto3.Session, package: str, status: str, stage: Stage | None) -> str:
    """The workflow's own call: the hub's clients, the spoke reached through its approval-sync role."""
    return set_package_status(
        workflow.client("sagemaker", region_name=REGION),
        workflow.client("sts", region_name=REGION),
        SETTINGS,
        package,
        status,
        "decided in the hub",
        stage,
    )


def refused_attempts(workflow: boto3.Session, package: str, attempts: list[dict[str, Any]]) -> None:
    """Each UpdateModelPackage of `attempts`, in the approval-sync role as the hub assumes it, is
    refused by the role's policy and leaves the package as it was."""
    sync = assume(workflow, f"arn:aws:iam::{SPOKE}:role/{SYNC_ROLE}", session_name=SESSION)
    sagemaker = sync.client("sagemaker", region_name=REGION)
    before = state_of(package)
    for attempt in attempts:
        with pytest.raises(ClientError) as caught:
            sagemaker.update_model_package(ModelPackageArn=package, **attempt)
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", attempt
        assert "no identity-based policy allows the sagemaker:UpdateModelPackage action" in error["Message"]
        assert state_of(package) == before, attempt


def refusals_recorded(package: str) -> list[dict[str, Any]]:
    """The spoke's CloudTrail records of refused UpdateModelPackage calls, oldest first."""
    cloudtrail = admin_session(SPOKE).client("cloudtrail", region_name=REGION)
    found = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateModelPackage"}]
    )["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in found]
    refused = [r for r in records if r.get("errorCode")]
    for record in refused:
        assert record["errorCode"] == "AccessDenied" and record["recipientAccountId"] == SPOKE
        assert record["userIdentity"]["arn"] == f"arn:aws:sts::{SPOKE}:assumed-role/{SYNC_ROLE}/{SESSION}"
        assert record["requestParameters"]["modelPackageArn"] == package
    return refused[::-1]  # LookupEvents answers the newest first


def test_with_staged_policy_the_hub_sets_its_stages_and_no_other(aws: None, sync_roles: dict[str, Any]) -> None:
    provision_sync_role(sync_roles["staged"])
    workflow, package = hub_workflow(), spoke_package()
    # The workflow's own calls: a suspension's stage, a revert's stage, a status alone.
    outcome = set_by_the_workflow(workflow, package, "PendingManualApproval", Stage("Archived", "Suspended"))
    assert outcome == f"package {package} set PendingManualApproval (stage Archived/Suspended)"
    set_by_the_workflow(workflow, package, "PendingManualApproval", Stage("Staging", "PendingApproval"))
    set_by_the_workflow(workflow, package, "Rejected", None)
    assert state_of(package) == ("Rejected", "Staging", "PendingApproval")

    attempts: list[dict[str, Any]] = [
        # The deployable stage the policy does not name.
        {"ModelApprovalStatus": "Approved", "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"}},
        # A configured stage with another configured stage's status: each key alone is allowed.
        {"ModelApprovalStatus": "Rejected", "ModelLifeCycle": {"Stage": "Staging", "StageStatus": "Suspended"}},
        # A configured stage without an approval status.
        {"ModelLifeCycle": {"Stage": "Archived", "StageStatus": "Suspended"}},
    ]
    refused_attempts(workflow, package, attempts)
    recorded = refusals_recorded(package)
    assert [r["requestParameters"]["modelLifeCycle"] for r in recorded] == [
        {"stage": "Production", "stageStatus": "Approved"},
        {"stage": "Staging", "stageStatus": "Suspended"},
        {"stage": "Archived", "stageStatus": "Suspended"},
    ]


def test_without_stages_the_hub_sets_a_status_and_no_stage_at_all(aws: None, sync_roles: dict[str, Any]) -> None:
    provision_sync_role(sync_roles["none"])
    workflow, package = hub_workflow(), spoke_package()
    # Without stages the workflow sends no ModelLifeCycle (lifecycle_for answers None): allowed.
    assert set_by_the_workflow(workflow, package, "Approved", None) == f"package {package} set Approved"
    assert state_of(package) == ("Approved", "Development", "InProgress")

    attempts: list[dict[str, Any]] = [
        {"ModelApprovalStatus": "Approved", "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"}},
        {"ModelApprovalStatus": "PendingManualApproval", "ModelLifeCycle": {"Stage": "QA", "StageStatus": "OnHold"}},
    ]
    refused_attempts(workflow, package, attempts)
    # The workflow's own call with a stage the config does not name is refused the same way.
    with pytest.raises(ClientError) as caught:
        set_by_the_workflow(workflow, package, "Approved", Stage("Production", "Approved"))
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert state_of(package) == ("Approved", "Development", "InProgress")
    assert [r["requestParameters"]["modelLifeCycle"]["stage"] for r in refusals_recorded(package)] == [
        "Production",
        "QA",
        "Production",
    ]
