"""Organization scale: hub policies that grow only by the spokes' IDs, one StackSet per access level,
and AWS's quotas held at synthesis. Small generated configs here; the 1,000-account and 500-OU ones run in
benchmarks/synth_scale.py."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import aws_quotas
from aws_quotas import (
    EVENT_BUS_POLICY,
    KEY_POLICY,
    MANAGED_POLICY,
    RESOURCES_PER_STACK,
    ROLE_INLINE_POLICIES,
    QuotaMeasurement,
    check_assembly,
    measure_assembly,
    measure_template,
    resolved_upper_bound,
)
from governance_config import AccessLevel, ConfigError, GovernanceConfig, parse_config
from tests.conftest import ROOT

LEVELS = ("read", "edit", "edit-export")
DELEGATED_ADMIN = "444444444444"


def generated_raw(
    example_raw: dict[str, Any], *, accounts: int = 0, ous: int = 0, organization: bool = True
) -> dict[str, Any]:
    """The example config with `accounts` account spokes and `ous` OU spokes, levels in turn."""
    raw = copy.deepcopy(example_raw)
    raw["spokes"] = [
        {"name": f"account-{i}", "account": str(200000000000 + i), "access": LEVELS[i % 3]} for i in range(accounts)
    ] + [{"name": f"ou-{i}", "ou": f"ou-ab12-{i:08d}", "access": LEVELS[i % 3]} for i in range(ous)]
    if not organization:
        del raw["organization"]
    return raw


def generated(example_raw: dict[str, Any], **sizes: Any) -> GovernanceConfig:
    return parse_config(generated_raw(example_raw, **sizes))


def context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


# Hub stacks for several spoke counts in one app, synthesized once (cdk-nag runs on each).
HUB_VARIANTS: dict[str, dict[str, Any]] = {
    "HubSmall": {"accounts": 3, "ous": 1},  # every access level, as in the large ones
    "HubLarge": {"accounts": 60, "ous": 90},
    "HubOutsideOrganization": {"accounts": 300, "organization": False},
}


def synthesized_hubs(example_raw: dict[str, Any], outdir: Path, variants: dict[str, dict[str, Any]]) -> Path:
    from aws_cdk import App, Environment

    from app import with_nag
    from stacks.hub_stack import HubStack

    app = with_nag(App(outdir=str(outdir), context=context()))
    for name, sizes in variants.items():
        config = generated(example_raw, **sizes)
        HubStack(app, name, config=config, env=Environment(account=config.hub_account, region=config.region))
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def hubs(example_raw: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesized_hubs(example_raw, tmp_path_factory.mktemp("hubs"), HUB_VARIANTS)


@pytest.fixture(scope="module")
def hub_plus_one(example_raw: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HubLarge with one more (read) account spoke, under the same stack name."""
    return synthesized_hubs(example_raw, tmp_path_factory.mktemp("plus-one"), {"HubLarge": {"accounts": 61, "ous": 90}})


def hub_template(hubs: Path, name: str) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((hubs / f"{name}.template.json").read_text())
    return template


def measured(hubs: Path, stack: str) -> dict[tuple[str, str], int]:
    return {(m.resource, m.quota.name): m.value for m in measure_assembly(hubs) if m.stack == stack}


def test_inside_an_organization_only_the_lists_of_admitted_spokes_grow(hubs: Path) -> None:
    """The key policy keeps its size (RAM decides which spoke reaches which card); the bus policy
    and the roles that assume spoke roles grow by each spoke's ID, nothing else."""
    small = measured(hubs, "HubSmall")
    large = measured(hubs, "HubLarge")
    [key] = [k for k in small if k[1] == KEY_POLICY.name]
    assert large[key] == small[key]
    [bus] = [k for k in small if k[1] == EVENT_BUS_POLICY.name]
    # 57 more account IDs ("200000000003",) and 89 more OU patterns ("*/ou-ab12-00000001/*",).
    assert large[bus] - small[bus] == 57 * len('"200000000003",') + 89 * len('"*/ou-ab12-00000001/*",')


def admitted_spokes(template: dict[str, Any]) -> list[Any]:
    """Every list of spokes the hub admits: the bus policy's and each role's sts:AssumeRole conditions."""
    resources = template["Resources"].values()
    [bus] = [r["Properties"]["Policy"] for r in resources if r["Type"] == "AWS::Events::EventBus"]
    assumes = [
        s["Condition"]
        for r in resources
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sts:AssumeRole" and ":role/model-card-governance-" in json.dumps(s["Resource"])
    ]
    return [s["Condition"] for s in bus["Statement"]] + assumes


def test_adding_a_read_spoke_inside_an_organization_adds_it_to_the_admitted_spokes_only(
    hubs: Path, hub_plus_one: Path
) -> None:
    before = hub_template(hubs, "HubLarge")
    after = hub_template(hub_plus_one, "HubLarge")
    new_account = str(200000000000 + 60)
    lists_before, lists_after = admitted_spokes(before), admitted_spokes(after)
    # Two each (account spokes, OU spokes): the bus, the workflow, auto-linker, auditor, report and
    # reconciler roles.
    assert len(lists_after) == len(lists_before) == 12
    assert new_account not in json.dumps(lists_before)
    assert all(new_account in json.dumps(c) for c in lists_after if "Account" in json.dumps(c))
    assert json.dumps(lists_after).replace(f', "{new_account}"', "") == json.dumps(lists_before)
    # Nothing else changes: no share, no resource, no other statement.
    strip = json.dumps(after["Resources"]).replace(f', "{new_account}"', "")
    assert strip == json.dumps(before["Resources"])
    [read_share] = [
        r["Properties"]
        for r in after["Resources"].values()
        if r["Type"] == "AWS::RAM::ResourceShare" and r["Properties"]["Name"] == "model-card-governance-cards-read"
    ]
    assert read_share["Principals"] == ["arn:aws:organizations::999999999999:organization/o-exampleorg1"]


def test_outside_an_organization_the_hub_lists_the_spoke_accounts(hubs: Path) -> None:
    resources = hub_template(hubs, "HubOutsideOrganization")["Resources"]
    [bus_policy] = [r["Properties"]["Policy"] for r in resources.values() if r["Type"] == "AWS::Events::EventBus"]
    assert len(bus_policy["Statement"][0]["Principal"]["AWS"]) == 300
    [read_share] = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::RAM::ResourceShare" and r["Properties"]["Name"] == "model-card-governance-cards-read"
    ]
    assert len(read_share["Principals"]) == 300
    assert "aws:PrincipalOrgID" not in json.dumps(bus_policy)
    [key] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    [use] = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "SpokesUseKeyForSharedModelCards"]
    assert len(use["Principal"]["AWS"]) == 300
    assume = [
        s
        for r in resources.values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sts:AssumeRole" and "approval-sync" in json.dumps(s["Resource"])
    ]
    assert len(assume) == 1 and len(assume[0]["Resource"]) == 300


def test_a_large_organization_outside_aws_organizations_breaks_quotas_the_check_names(hubs: Path) -> None:
    violations = check_assembly(hubs)
    assert {v.stack for v in violations} == {"HubOutsideOrganization"}
    by_quota = {v.quota.name: v for v in violations}
    assert EVENT_BUS_POLICY.name in by_quota
    # The CDK moves what overflows a role's inline policies into managed policies of the role;
    # the list of 300 role ARNs is one statement, too large for any of them.
    assert MANAGED_POLICY.name in by_quota
    bus = by_quota[EVENT_BUS_POLICY.name]
    assert bus.resource.startswith("GovernanceBus") and bus.value > 10_240
    line = str(bus)
    assert line.startswith(f"HubOutsideOrganization: {bus.resource}: event bus policy is ")
    assert "limit 10,240 (Amazon EventBridge User Guide" in line and "\n" not in line


def test_inside_an_organization_every_size_stays_below_80_percent_of_its_quota(hubs: Path) -> None:
    for measurement in measure_assembly(hubs):
        if measurement.stack != "HubOutsideOrganization":
            assert measurement.fraction < 0.8, str(measurement)


# The OU roll-out: 120 OUs over three levels, from a delegated StackSets administrator.
ROLLOUT_OUS = 120


@pytest.fixture(scope="module")
def rollout(example_raw: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from aws_cdk import App

    import app as app_module

    raw = generated_raw(example_raw, ous=ROLLOUT_OUS)
    raw["organization"]["stack_set_delegated_admin"] = DELEGATED_ADMIN
    config = parse_config(raw)
    built: list[AccessLevel] = []
    original = app_module.ou_spoke_template

    def counting(config: GovernanceConfig, access: AccessLevel) -> dict[str, Any]:
        built.append(access)
        return original(config, access)

    outdir = tmp_path_factory.mktemp("rollout")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "ou_spoke_template", counting)
        violations = app_module.synthesize(config, App(outdir=str(outdir), context=context()))
    assembly = json.loads((outdir / "manifest.json").read_text())
    return {"config": config, "outdir": outdir, "built": built, "violations": violations, "manifest": assembly}


def test_one_stack_set_per_access_level_targets_every_ou_of_that_level(rollout: dict[str, Any]) -> None:
    outdir: Path = rollout["outdir"]
    config: GovernanceConfig = rollout["config"]
    template = json.loads((outdir / "model-card-governance-ou-rollout.template.json").read_text())
    stack_sets = {k: r["Properties"] for k, r in template["Resources"].items()}
    assert sorted(stack_sets) == ["SpokeEdit", "SpokeEditExport", "SpokeRead"]
    for level in AccessLevel:
        props = stack_sets[f"Spoke{level.name.title().replace('_', '')}"]
        assert props["StackSetName"] == f"model-card-governance-spoke-{level.value}"
        assert props["CallAs"] == "DELEGATED_ADMIN"
        groups = [g["DeploymentTargets"]["OrganizationalUnitIds"] for g in props["StackInstancesGroup"]]
        assert all(len(group) <= 25 for group in groups)
        assert [ou for group in groups for ou in group] == [s.ou for s in config.ou_spokes if s.access is level]
        body = json.loads(props["TemplateBody"])
        sagemaker = json.dumps(body)
        assert ("sagemaker:UpdateModelCard" in sagemaker) is level.can_edit


def test_the_spoke_template_is_synthesized_once_per_access_level(rollout: dict[str, Any]) -> None:
    assert sorted(rollout["built"]) == sorted(AccessLevel)


def test_a_delegated_administrator_deploys_the_roll_out(rollout: dict[str, Any]) -> None:
    artifact = rollout["manifest"]["artifacts"]["model-card-governance-ou-rollout"]
    assert artifact["environment"] == f"aws://{DELEGATED_ADMIN}/us-east-1"


def test_the_roll_out_stays_below_80_percent_of_every_quota(rollout: dict[str, Any]) -> None:
    assert rollout["violations"] == []
    measurements = measure_assembly(rollout["outdir"])
    assert any(m.stack.endswith("StackSet SpokeEditExport") for m in measurements)
    for measurement in measurements:
        assert measurement.fraction < 0.8, str(measurement)


def test_spoke_stacks_depend_on_nothing_but_their_assets(synthesized: Any) -> None:
    # So `cdk deploy --concurrency N 'model-card-governance-spoke-*'` deploys them side by side.
    spokes = [s for s in synthesized.stacks if s.stack_name.startswith("model-card-governance-spoke-")]
    assert len(spokes) == 2
    for stack in spokes:
        assert [d.id for d in stack.dependencies] == [f"{stack.stack_name}.assets"]


def test_a_config_over_a_quota_fails_synthesis_with_one_line(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    card = raw["cards"][0]
    raw["cards"] = [{**card, "name": f"card-{i}", "model_package_group": f"group-{i}"} for i in range(450)]
    config = tmp_path / "many-cards.json"
    config.write_text(json.dumps(raw))
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=dict(os.environ, CDK_CONTEXT_JSON=json.dumps({**context(), "config": str(config)}), CDK_OUTDIR=str(out)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("quota exceeded: ")]
    assert lines, result.stderr
    assert any(
        line.startswith("quota exceeded: model-card-governance-hub: (template): resources per stack is ")
        and line.endswith(", limit 500 (AWS CloudFormation User Guide, Understand CloudFormation quotas)")
        for line in lines
    ), lines
    # The auto-linker's template-card map outgrows the 4 KB of a function's environment, too.
    assert any("function environment variables" in line for line in lines), lines
    assert not out.exists() or list(out.glob("*.template.json")) == [], "nothing may reach the CDK CLI"


def test_the_delegated_administrator_is_validated(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    raw["organization"]["stack_set_delegated_admin"] = "4444"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.problems == [
        'organization.stack_set_delegated_admin: is not a 12-digit AWS account ID (got "4444")'
    ]
    raw["organization"]["stack_set_delegated_admin"] = "999999999999"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.problems == [
        "organization.stack_set_delegated_admin: is the management account; leave it out to deploy the "
        'OU roll-out from the management account (got "999999999999")'
    ]
    raw["organization"]["stack_set_delegated_admin"] = DELEGATED_ADMIN
    organization = parse_config(raw).organization
    assert organization is not None and organization.stack_set_admin_account == DELEGATED_ADMIN
    del raw["organization"]["stack_set_delegated_admin"]
    organization = parse_config(raw).organization
    assert organization is not None and organization.stack_set_admin_account == "999999999999"


def test_unresolved_values_count_at_their_upper_bound() -> None:
    arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    assert resolved_upper_bound(arn) == "arn:aws-us-gov:iam::123456789012:root"
    assert resolved_upper_bound({"Fn::GetAtt": ["Share", "Arn"]}) == "x" * aws_quotas.UNRESOLVED_LENGTH
    assert resolved_upper_bound({"Fn::Sub": "a-${AWS::Region}"}) == "a-" + "x" * aws_quotas.UNRESOLVED_LENGTH
    assert resolved_upper_bound({"Key": [{"Ref": "Thing"}]}) == {"Key": ["x" * aws_quotas.UNRESOLVED_LENGTH]}


def test_policies_are_measured_as_aws_adds_them_up() -> None:
    statement = {"Effect": "Allow", "Action": "events:PutEvents", "Principal": "*", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": document}},
            "PolicyA": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": document, "Roles": [{"Ref": "Role"}]},
            },
            "PolicyB": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": document, "Roles": [{"Ref": "Role"}]},
            },
            "BusA": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {"EventBusName": "b", "Statement": statement},
            },
            "BusB": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {"EventBusName": "b", "Statement": statement},
            },
            "Set": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "TemplateBody": json.dumps(
                        {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(501)}}
                    ),
                    "StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": ["ou"] * 51}}],
                },
            },
        }
    }
    found = {(m.stack, m.resource, m.quota.name): m for m in measure_template("S", template, 100)}
    one = len(json.dumps(document, separators=(",", ":")))
    assert found[("S", "Role", ROLE_INLINE_POLICIES.name)].value == 2 * one
    bus = {"Version": "2012-10-17", "Statement": [statement, statement]}
    assert found[("S", "BusA", EVENT_BUS_POLICY.name)].value == len(json.dumps(bus, separators=(",", ":")))
    body: QuotaMeasurement = found[("S StackSet Set", "(template)", RESOURCES_PER_STACK.name)]
    assert body.value == 501 and body.exceeded
    assert found[("S", "Set group 0", "OUs per stack-instances group")].exceeded


def test_nested_chunks_keep_per_spoke_resources_inside_the_stack_quota(tmp_path: Path) -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_sns as sns

    from governance_constructs.nested_chunks import NestedChunks

    app = App(outdir=str(tmp_path))
    chunks = NestedChunks(Stack(app, "PerSpoke"), "Shares", chunks=4)
    accounts = [str(200000000000 + i) for i in range(900)]
    placed = {account: chunks.chunk_of(account) for account in reversed(accounts)}
    for account in accounts:
        sns.Topic(chunks.scope_for(account), f"Topic{account}")
    # A key lands in the same chunk wherever it is in the list.
    assert placed == {account: chunks.chunk_of(account) for account in accounts}
    app.synth()
    counts = sorted(m.value for m in measure_assembly(tmp_path) if m.quota is RESOURCES_PER_STACK)
    assert counts[0] == 4 and sum(counts[1:]) == 900  # the parent holds the 4 nested stacks
    assert max(counts) < 0.8 * 500
    assert check_assembly(tmp_path) == []


def test_cfn_lint_finds_nothing_in_any_level_s_stack_set_body(rollout: dict[str, Any]) -> None:
    from cfnlint.api import lint

    template = json.loads((rollout["outdir"] / "model-card-governance-ou-rollout.template.json").read_text())
    bodies = {k: r["Properties"]["TemplateBody"] for k, r in template["Resources"].items()}
    assert len(bodies) == 3
    problems = {k: [str(m) for m in lint(body, regions=["us-east-1"])] for k, body in bodies.items()}
    assert {k: found for k, found in problems.items() if found} == {}
    rollout_problems = [str(m) for m in lint(json.dumps(template), regions=["us-east-1"])]
    assert rollout_problems == []
