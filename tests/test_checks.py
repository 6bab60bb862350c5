"""cdk-nag and cfn-lint over every synthesized template, and the app's command-line behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint

from tests.conftest import ROOT


def test_every_stack_of_the_example_is_synthesized(templates: dict[str, dict[str, Any]]) -> None:
    assert sorted(templates) == [
        "model-card-governance-hub",
        "model-card-governance-ou-rollout",
        "model-card-governance-spoke-ml-dev",
        "model-card-governance-spoke-ml-prod",
    ]


def test_cdk_nag_is_registered_and_fails_synthesis_on_a_finding(tmp_path: Path) -> None:
    # The example app synthesizing at all (the `templates` fixture) shows it has no unacknowledged
    # finding; this shows the same registration does fail synthesis when there is one.
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from app import with_nag

    app = with_nag(App(outdir=str(tmp_path)))
    sqs.Queue(Stack(app, "Unsafe"), "PlainQueue")
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS4"):
        app.synth()


def all_templates(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every stack template plus each StackSet's embedded spoke template."""
    found = dict(templates)
    for stack_name, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::CloudFormation::StackSet":
                found[f"{stack_name}/{logical_id}"] = json.loads(resource["Properties"]["TemplateBody"])
    return found


def test_cfn_lint_finds_nothing(templates: dict[str, dict[str, Any]]) -> None:
    problems = {
        name: [str(match) for match in lint(json.dumps(template), regions=["us-east-1"])]
        for name, template in all_templates(templates).items()
    }
    assert len(problems) == 5
    assert {name: found for name, found in problems.items() if found} == {}


def run_app(config: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CDK_CONTEXT_JSON=json.dumps({"config": str(config)}), CDK_OUTDIR=str(config.parent / "out"))
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_bad_config_exits_non_zero_with_one_line_per_problem(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(example_raw))
    raw["hub"]["account"] = "12345"
    raw["spokes"][1]["access"] = "admin"
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(raw))
    result = run_app(config)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f'config error: {config}: hub.account: is not a 12-digit AWS account ID (got "12345")',
        f'config error: {config}: spokes[1].access: must be one of read, edit, edit-export (got "admin")',
    ]
    assert list((tmp_path / "out").glob("*.template.json")) == [], "nothing may be synthesized from a bad config"


@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "cdk").exists(), reason="the CDK CLI is installed by scripts/setup"
)
def test_cdk_synth_refuses_a_bad_config(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(example_raw))
    raw["reviewers"] = ["not-an-address"]
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(raw))
    result = subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "cdk"),
            "synth",
            "--quiet",
            "-c",
            f"config={config}",
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"),
    )
    assert result.returncode != 0
    assert f'config error: {config}: reviewers[0]: is not an e-mail address (got "not-an-address")' in result.stderr
    assert "Traceback" not in result.stderr


def test_python_app_py_synthesizes_without_the_cli_and_without_warnings(tmp_path: Path) -> None:
    # No CDK_CONTEXT_JSON: the feature flags and the default config come from cdk.json via app.py.
    # JSII_DEPRECATED=fail turns any deprecated API the app (or cdk-nag) touches into an error.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_"))}
    env.update(JSII_DEPRECATED="fail", CDK_OUTDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    assert sorted(path.name for path in tmp_path.glob("*.template.json") if ".nested." not in path.name) == [
        "model-card-governance-hub.template.json",
        "model-card-governance-ou-rollout.template.json",
        "model-card-governance-spoke-ml-dev.template.json",
        "model-card-governance-spoke-ml-prod.template.json",
    ]


def test_cdk_json_sets_every_flag_aws_cdk_lib_recommends() -> None:
    import tarfile

    import aws_cdk

    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        recommended = json.loads(member.read())
    # Set otherwise on purpose: the CDK's default validation rules fail synthesis with a traceback
    # on a template over 500 resources; aws_quotas checks that quota and the others, one line each.
    deliberate = {"@aws-cdk/core:validateAgainstDefaultRules": False}
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert {flag: context.get(flag) for flag in recommended} == {**recommended, **deliberate}


def test_two_prefixes_give_two_sets_of_stack_names(example_config: Any) -> None:
    import dataclasses

    other = dataclasses.replace(example_config, prefix="cards-staging")
    names = [example_config.hub_stack_name, other.hub_stack_name, other.ou_rollout_stack_name]
    names += [other.spoke_stack_name(spoke) for spoke in other.account_spokes]
    assert names == [
        "model-card-governance-hub",
        "cards-staging-hub",
        "cards-staging-ou-rollout",
        "cards-staging-spoke-ml-dev",
        "cards-staging-spoke-ml-prod",
    ]


@pytest.mark.parametrize("venv", ["activated", "repository", "none"])
def test_cdk_app_command_finds_a_python(tmp_path: Path, venv: str) -> None:
    """cdk.json's `app` runs with an activated virtualenv, the repository's .venv, or python3 on PATH."""
    (tmp_path / "scripts").mkdir()
    launcher = tmp_path / "scripts" / "app"
    launcher.write_bytes((ROOT / "scripts" / "app").read_bytes())
    launcher.chmod(0o755)
    (tmp_path / "app.py").write_text("import sys\nprint(sys.argv[0], sys.executable)\n")
    fake = tmp_path / "fake-venv" / "bin"
    fake.mkdir(parents=True)
    (fake / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    if venv == "activated":
        env["VIRTUAL_ENV"] = str(fake.parent)
    elif venv == "repository":
        (tmp_path / ".venv").symlink_to(fake.parent)
    else:
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    assert json.loads((ROOT / "cdk.json").read_text())["app"] == "scripts/app"
    result = subprocess.run(["scripts/app"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    script, python = result.stdout.split()
    assert script == str(tmp_path / "app.py")
    expected = {"activated": str(fake / "python"), "repository": str(tmp_path / ".venv" / "bin" / "python")}
    if venv in expected:
        assert python == expected[venv]
    else:
        assert python.endswith("/python3") and not python.startswith(str(tmp_path))
