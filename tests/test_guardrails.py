"""The organization's guardrail (organization.guardrails) and the hub's exact admission of spokes,
on config/example.json with guardrails on, deployed to the emulator: the guardrail SCP is created in
the emulated organization and attached to the spokes, as the guardrail stack does from the
management account.

Spoke 222222222222's administrator (AdministratorAccess there, through
OrganizationAccountAccessRole) tries to silence its forwarding rule, take over the hub's roles and
approve its own package; 444444444444 is a member of the organization that is no spoke, with roles
named like a spoke's. Each tries, fails, nothing changes, and the attempt is in the account's
CloudTrail history with errorCode AccessDenied.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_cdk.assertions import Template
from botocore.exceptions import ClientError

from aws_quotas import SERVICE_CONTROL_POLICY, measure_assembly
from emulator.permissions import bus_accepts
from emulator.sessions import account_trust, service_role_session
from governance_config import GovernanceConfig, parse_config
from sandbox.organization import join_organization
from sandbox.run import GROUP, INFERENCE, Sandbox, sandbox_for
from tests.conftest import ROOT

SPOKE, READER, OUTSIDER, MANAGEMENT = "222222222222", "333333333333", "444444444444", "999999999999"
PREFIX = "model-card-governance"
RULE = f"{PREFIX}-registry-forwarding"
SYNC_ROLE = f"{PREFIX}-approval-sync"
FORWARDING_ROLE = f"{PREFIX}-registry-forwarding"
GUARDRAIL_STACK = f"{PREFIX}-guardrails"


@pytest.fixture(scope="module")
def guarded_config(example_raw: dict[str, Any]) -> GovernanceConfig:
    raw = copy.deepcopy(example_raw)
    raw["organization"]["guardrails"] = {}
    return parse_config(raw)


@pytest.fixture(scope="module")
def guarded_assembly(guarded_config: GovernanceConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app with guardrails on, synthesized (cdk-nag included) and checked against quotas."""
    from aws_cdk import App

    from app import synthesize

    outdir = tmp_path_factory.mktemp("guarded-cdk.out")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert synthesize(guarded_config, App(outdir=str(outdir), context=context)) == []
    return outdir


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from emulator.server import start

    running, url = start()
    yield url
    running.stop()  # type: ignore[attr-defined]


@pytest.fixture
def guarded(guarded_assembly: Path, guarded_config: GovernanceConfig, server: str) -> Sandbox:
    requests.post(f"{server}/moto-api/reset", timeout=10)
    return sandbox_for(guarded_assembly, server, guarded_config, out=lambda line: None)


def spoke_of(sandbox: Sandbox, account: str) -> Any:
    return next(s for s in sandbox.spokes.values() if s.account == account)


def refused(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    code: str = error.value.response["Error"]["Code"]
    message: str = error.value.response["Error"]["Message"]
    assert "with an explicit deny in a service control policy" in message, message
    return code


def refusals_in_history(session: Any, endpoint: str, event_name: str) -> list[dict[str, Any]]:
    """The account's CloudTrail records of `event_name` that were refused."""
    cloudtrail = session.client("cloudtrail", endpoint_url=endpoint)
    found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}])
    events = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    return [e for e in events if e.get("errorCode")]


# --- What is synthesized ----------------------------------------------------------------------------


def test_the_guardrail_stack_is_for_the_management_account_and_attaches_the_scp_to_every_spoke(
    guarded_assembly: Path,
) -> None:
    manifest = json.loads((guarded_assembly / "manifest.json").read_text())
    assert manifest["artifacts"][GUARDRAIL_STACK]["environment"] == f"aws://{MANAGEMENT}/us-east-1"
    template = Template.from_json(json.loads((guarded_assembly / f"{GUARDRAIL_STACK}.template.json").read_text()))
    [policy] = template.find_resources("AWS::Organizations::Policy").values()
    properties = policy["Properties"]
    assert properties["Type"] == "SERVICE_CONTROL_POLICY"
    assert properties["TargetIds"] == [SPOKE, READER, "ou-ab12-riskoffc"]
    statements = {s["Sid"]: s for s in properties["Content"]["Statement"]}
    deploy_path = ["arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*-*", "arn:aws:iam::*:role/stacksets-exec-*"]
    rule = statements["KeepRegistryForwarding"]
    assert rule["Effect"] == "Deny" and rule["Resource"] == f"arn:aws:events:*:*:rule/{RULE}"
    assert sorted(rule["Action"]) == sorted(
        ["events:DisableRule", "events:DeleteRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"]
    )
    assert rule["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": deploy_path}}
    roles = statements["KeepHubRoles"]
    assert roles["Resource"] == [
        f"arn:aws:iam::*:role/{SYNC_ROLE}",
        f"arn:aws:iam::*:role/{FORWARDING_ROLE}",
        f"arn:aws:iam::*:role/{PREFIX}-registry-reader",
    ]
    assert {"iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"} <= set(
        roles["Action"]
    )
    assert roles["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": deploy_path}}
    approval = statements["OnlyTheHubApproves"]
    assert approval["Action"] == ["sagemaker:UpdateModelPackage", "sagemaker:CreateModelPackage"]
    assert approval["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"},
        "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{SYNC_ROLE}"},
    }
    # The rule it protects is the spoke stack's, by that name.
    spoke = json.loads((guarded_assembly / f"{PREFIX}-spoke-ml-dev.template.json").read_text())
    Template.from_json(spoke).has_resource_properties("AWS::Events::Rule", {"Name": RULE})
    [size] = [m for m in measure_assembly(guarded_assembly) if m.quota is SERVICE_CONTROL_POLICY]
    assert 0 < size.value < SERVICE_CONTROL_POLICY.limit


def test_cfn_lint_finds_nothing_in_the_guardrail_stack(guarded_assembly: Path) -> None:
    """The shipped configs have no guardrail stack, so tests/test_checks.py does not see it (cdk-nag
    ran at synthesis; checkov has no check for AWS::Organizations::Policy)."""
    from cfnlint.api import lint

    template = (guarded_assembly / f"{GUARDRAIL_STACK}.template.json").read_text()
    assert [str(match) for match in lint(template, regions=["us-east-1"])] == []


def test_an_scp_over_its_quota_fails_synthesis_naming_it(guarded_config: GovernanceConfig, tmp_path: Path) -> None:
    from aws_cdk import App, Stack

    from aws_quotas import check_assembly
    from governance_constructs.guardrail_policy import GuardrailPolicy

    app = App(outdir=str(tmp_path))
    GuardrailPolicy(
        Stack(app, "Guard"),
        "Guardrail",
        policy_name="guard",
        target_ids=[SPOKE],
        partition="aws",
        forwarding_rule_name=RULE,
        protected_role_names=[f"role-{i:04d}-{'x' * 40}" for i in range(100)],
        approval_sync_role_name=SYNC_ROLE,
    )
    app.synth()
    [violation] = check_assembly(tmp_path)
    assert violation.quota is SERVICE_CONTROL_POLICY and violation.value > 5_120
    assert str(violation).startswith("Guard: ")
    assert "service control policy is" in str(violation) and "limit 5,120" in str(violation)


# --- A spoke administrator against the deployed guardrail -------------------------------------------


def test_a_spoke_administrator_cannot_disable_delete_or_retarget_the_forwarding_rule(guarded: Sandbox) -> None:
    spoke = spoke_of(guarded, SPOKE)
    assert guarded.guardrail_policies  # the SCP is in the organization
    events = spoke.client("events")
    before = (events.describe_rule(Name=RULE), events.list_targets_by_rule(Rule=RULE)["Targets"])
    [target] = before[1]
    own_bus = f"arn:aws:events:us-east-1:{SPOKE}:event-bus/default"
    attempts = {
        "DisableRule": lambda: events.disable_rule(Name=RULE),
        "DeleteRule": lambda: events.delete_rule(Name=RULE, Force=True),
        "PutRule": lambda: events.put_rule(Name=RULE, EventPattern='{"source": ["none"]}', State="DISABLED"),
        "RemoveTargets": lambda: events.remove_targets(Rule=RULE, Ids=[target["Id"]], Force=True),
        "PutTargets": lambda: events.put_targets(Rule=RULE, Targets=[{"Id": target["Id"], "Arn": own_bus}]),
    }
    for name, attempt in attempts.items():
        assert refused(attempt) == "AccessDeniedException", name
    # Nothing changed: the rule is enabled, with its pattern and its one target, the hub's bus.
    after = (events.describe_rule(Name=RULE), events.list_targets_by_rule(Rule=RULE)["Targets"])
    assert after[0]["State"] == "ENABLED" and after[0]["EventPattern"] == before[0]["EventPattern"]
    assert after[1] == before[1] and target["Arn"].endswith(f":{guarded.hub.account}:event-bus/{PREFIX}-bus")
    # Every attempt is in the spoke's CloudTrail history, refused, with who tried.
    for name in attempts:
        [record] = refusals_in_history(spoke.session, guarded.endpoint, name)
        assert record["errorCode"] == "AccessDenied" and record["eventSource"] == "events.amazonaws.com"
        assert record["recipientAccountId"] == SPOKE
        assert record["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == "OrganizationAccountAccessRole"
    # The forwarding still works: a new version reaches the hub and gets its card.
    guarded.step_register_v1()
    assert guarded.card(guarded.card_of(1)) is not None


def test_a_spoke_administrator_cannot_approve_its_own_package_and_the_hub_still_can(guarded: Sandbox) -> None:
    spoke = spoke_of(guarded, SPOKE)
    guarded.step_register_v1()
    sagemaker = spoke.client("sagemaker")
    package = guarded.package_v1
    assert refused(lambda: sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")) == (
        "AccessDeniedException"
    )
    assert refused(
        lambda: sagemaker.create_model_package(
            ModelPackageGroupName=GROUP, InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved"
        )
    ) == ("AccessDeniedException")
    # Nothing changed: v1 waits for approval, no version 2 exists.
    assert guarded.package_status(package) == "PendingManualApproval"
    listed = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [package]
    # Other status changes stay the spoke's own: only Approved is the hub's.
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Rejected")
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="PendingManualApproval")
    guarded.pump()
    for name in ("UpdateModelPackage", "CreateModelPackage"):
        [record] = refusals_in_history(spoke.session, guarded.endpoint, name)
        assert record["errorCode"] == "AccessDenied" and record["recipientAccountId"] == SPOKE
        assert record["requestParameters"]["modelApprovalStatus"] == "Approved"
    # The hub's approval-sync role still sets Approved: the reviewer approves the card.
    guarded.step_review()
    guarded.step_approve()
    assert guarded.package_status(package) == "Approved"


def test_a_spoke_administrator_cannot_take_over_the_hub_roles(guarded: Sandbox) -> None:
    spoke = spoke_of(guarded, SPOKE)
    iam = spoke.client("iam")
    trust_before = iam.get_role(RoleName=SYNC_ROLE)["Role"]["AssumeRolePolicyDocument"]
    own_trust = json.dumps(account_trust(SPOKE))
    everything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    attempts = {
        "UpdateAssumeRolePolicy": lambda: iam.update_assume_role_policy(RoleName=SYNC_ROLE, PolicyDocument=own_trust),
        "PutRolePolicy": lambda: iam.put_role_policy(RoleName=SYNC_ROLE, PolicyName="all", PolicyDocument=everything),
        "AttachRolePolicy": lambda: iam.attach_role_policy(
            RoleName=FORWARDING_ROLE, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
        ),
        "DeleteRole": lambda: iam.delete_role(RoleName=FORWARDING_ROLE),
    }
    for name, attempt in attempts.items():
        assert refused(attempt) == "AccessDenied", name
    assert iam.get_role(RoleName=SYNC_ROLE)["Role"]["AssumeRolePolicyDocument"] == trust_before
    assert iam.list_role_policies(RoleName=SYNC_ROLE)["PolicyNames"] == [
        p for p in iam.list_role_policies(RoleName=SYNC_ROLE)["PolicyNames"] if p != "all"
    ]
    assert iam.list_attached_role_policies(RoleName=FORWARDING_ROLE)["AttachedPolicies"] == []
    assert iam.get_role(RoleName=FORWARDING_ROLE)["Role"]["RoleName"] == FORWARDING_ROLE
    for name in attempts:
        [record] = refusals_in_history(spoke.session, guarded.endpoint, name)
        assert record["errorCode"] == "AccessDenied" and record["eventSource"] == "iam.amazonaws.com"


def test_the_management_account_is_not_restricted_by_the_guardrail(guarded: Sandbox) -> None:
    """SCPs do not restrict the management account (docs/guardrails.md): even with the guardrail
    attached to the organization's root, its administrator changes a rule of the protected name
    and approves a package, where a spoke's administrator is refused."""
    from moto.organizations.models import organizations_backends

    from emulator.sessions import admin_session

    # The guardrail attached to the root as well, so every account of the organization is under it.
    backend = organizations_backends[guarded.hub.account]["aws"]
    organization = backend.org
    assert organization is not None and organization.master_account_id == MANAGEMENT
    backend.attach_policy(PolicyId=guarded.guardrail_policies[0], TargetId=organization.root_id)

    management = admin_session(MANAGEMENT, guarded.endpoint)
    events = management.client("events", endpoint_url=guarded.endpoint)
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.disable_rule(Name=RULE)
    assert events.describe_rule(Name=RULE)["State"] == "DISABLED"
    sagemaker = management.client("sagemaker", endpoint_url=guarded.endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    approved = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved"
    )["ModelPackageArn"]
    assert sagemaker.describe_model_package(ModelPackageName=approved)["ModelApprovalStatus"] == "Approved"
    spoke_events = spoke_of(guarded, SPOKE).client("events")
    assert refused(lambda: spoke_events.disable_rule(Name=RULE)) == "AccessDeniedException"


# --- A member account that is no spoke ---------------------------------------------------------------


def test_a_member_account_that_is_no_spoke_is_refused_by_the_hub_whatever_its_roles_are_named(
    guarded: Sandbox,
) -> None:
    from emulator.sessions import admin_session

    join_organization(guarded.hub.account, OUTSIDER)
    outsider = admin_session(OUTSIDER, guarded.endpoint)
    hub_bus = f"arn:aws:events:us-east-1:{guarded.hub.account}:event-bus/{PREFIX}-bus"
    workflow = next(f for f in guarded.hub.functions.values() if f.handler == "card_workflow.handler.handler")
    # The outsider copies a spoke: the forwarding role and rule, and an approval-sync role trusting the hub.
    iam = outsider.client("iam", endpoint_url=guarded.endpoint)
    events_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    put = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": hub_bus}],
    }
    role_arn = iam.create_role(RoleName=FORWARDING_ROLE, AssumeRolePolicyDocument=json.dumps(events_trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName=FORWARDING_ROLE, PolicyName="forward", PolicyDocument=json.dumps(put))
    sync_trust = account_trust(guarded.hub.account)
    iam.create_role(RoleName=SYNC_ROLE, AssumeRolePolicyDocument=json.dumps(sync_trust))
    events = outsider.client("events", endpoint_url=guarded.endpoint)
    events.put_rule(
        Name=RULE,
        EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}),
    )
    events.put_targets(Rule=RULE, Targets=[{"Id": "hub", "Arn": hub_bus, "RoleArn": role_arn}])

    # Its forwarded events are refused by the hub's bus; a spoke's forwarding role is admitted.
    event = {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change"}
    assert not bus_accepts(hub_bus, OUTSIDER, role_arn, event)
    assert bus_accepts(hub_bus, SPOKE, f"arn:aws:iam::{SPOKE}:role/{FORWARDING_ROLE}", event)
    sagemaker = outsider.client("sagemaker", endpoint_url=guarded.endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
    )
    guarded.pump()
    from shared.card_names import card_name_for

    assert guarded.card(card_name_for(OUTSIDER, GROUP, 1)) is None
    assert guarded.hub.client("sagemaker").list_model_cards(NameContains=OUTSIDER)["ModelCardSummaries"] == []

    # The hub's workflow role may not assume the outsider's approval-sync role, only a spoke's.
    sts = service_role_session(workflow.role_arn).client("sts", endpoint_url=guarded.endpoint)
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=f"arn:aws:iam::{OUTSIDER}:role/{SYNC_ROLE}", RoleSessionName="approve")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert "no identity-based policy allows the sts:AssumeRole action" in error.value.response["Error"]["Message"]
    sts.assume_role(RoleArn=f"arn:aws:iam::{SPOKE}:role/{SYNC_ROLE}", RoleSessionName="approve")


def test_the_local_lifecycle_runs_with_the_guardrail_and_it_refuses_the_spoke_s_approval(guarded: Sandbox) -> None:
    results = guarded.run()
    assert len(results) == len(guarded.steps())
    assert all(r.ok for r in results), [r.lines for r in results if not r.ok]
    [gate] = [r for (title, _), r in zip(guarded.steps(), results, strict=True) if "package before" in title]
    assert gate.lines == [
        "package v2: Approved by the spoke's administrator -> refused by the guardrail SCP, PendingManualApproval"
    ]
    [record] = refusals_in_history(spoke_of(guarded, SPOKE).session, guarded.endpoint, "UpdateModelPackage")
    assert record["errorCode"] == "AccessDenied"


@pytest.mark.parametrize(("targets", "named"), [([], "at least one"), (["r-ab12"], "'r-ab12'")])
def test_the_construct_refuses_targets_that_are_no_account_or_ou(targets: list[str], named: str) -> None:
    from aws_cdk import App, Stack

    from governance_constructs.guardrail_policy import GuardrailPolicy

    with pytest.raises(ValueError, match=named):
        GuardrailPolicy(
            Stack(App(), "Guard"),
            "Guardrail",
            policy_name="guard",
            target_ids=targets,
            partition="aws",
            forwarding_rule_name=RULE,
            protected_role_names=[SYNC_ROLE],
            approval_sync_role_name=SYNC_ROLE,
        )


def test_with_an_approval_stage_only_the_approval_sync_role_sets_it_and_the_scp_fits_its_quota() -> None:
    from aws_quotas import SERVICE_CONTROL_POLICY
    from emulator.policy import Principal, Request, decide, statements_of
    from governance_constructs.guardrail_policy import guardrail_document

    document = guardrail_document(
        partition="aws",
        forwarding_rule_name=RULE,
        protected_role_names=[SYNC_ROLE, "model-card-governance-registry-forwarding", "model-card-governance-reader"],
        approval_sync_role_name=SYNC_ROLE,
        production_stage="Production",
    )
    assert len(json.dumps(document, separators=(",", ":")).encode()) <= SERVICE_CONTROL_POLICY.limit
    package = f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/churn/1"

    def denied(role: str, stage: str, action: str = "sagemaker:UpdateModelPackage") -> bool:
        arn = f"arn:aws:iam::{SPOKE}:role/{role}"
        context: dict[str, str | Sequence[str]] = {
            "aws:PrincipalArn": arn,
            "sagemaker:ModelLifeCycle:stage": stage,
            "sagemaker:ModelLifeCycle:stageStatus": "Anything",
        }
        request = Request(action, package, Principal(arn, SPOKE, arn), context)
        refused, _ = decide(statements_of(document), request, resource_policy=False)
        return bool(refused)

    # The stage alone decides, whatever its status: a stage status is no way around it.
    assert denied("admin", "Production")
    assert denied("admin", "Production", "sagemaker:CreateModelPackage")
    assert not denied("admin", "Staging")
    assert not denied(SYNC_ROLE, "Production")
    assert not denied(SYNC_ROLE, "Production", "sagemaker:CreateModelPackage")
    # The longest names the config takes (a 63-character stage, 64-character role and rule names)
    # and the longest partition still fit.
    longest = guardrail_document(
        partition="aws-us-gov",
        forwarding_rule_name="r" * 64,
        protected_role_names=["n" * 64] * 3,
        approval_sync_role_name="n" * 64,
        production_stage="P" * 63,
    )
    assert len(json.dumps(longest, separators=(",", ":")).encode()) <= SERVICE_CONTROL_POLICY.limit
