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
        "ModelCardGovernanceHub",
        "ModelCardGovernanceOuRollout",
        "ModelCardGovernanceSpoke-ml-dev",
        "ModelCardGovernanceSpoke-ml-prod",
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
