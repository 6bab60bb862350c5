"""checkov over every template both shipped configs synthesize: each stack, each nested stack and
each StackSet's embedded spoke template. A finding is either fixed or skipped on its resource with
a reason (`governance_constructs.nag.checkov_skip`), which checkov prints with the skip."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# checkov's own timeout for the whole run; it takes seconds.
TIMEOUT_SECONDS = 300


def assembly_templates(assembly: Path, config: str) -> dict[str, dict[str, Any]]:
    """`<config>--<file>` -> template for each stack and nested stack, and `<config>--<stack>--<id>`
    for each StackSet's TemplateBody (CloudFormation deploys it from the string, so no file holds it)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(assembly.glob("*.template.json")):  # nested stacks are *.nested.template.json
        template: dict[str, Any] = json.loads(path.read_text())
        found[f"{config}--{path.name}"] = template
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::CloudFormation::StackSet":
                stack = path.name.removesuffix(".template.json")
                body = json.loads(resource["Properties"]["TemplateBody"])
                found[f"{config}--{stack}--{logical_id}.template.json"] = body
    return found


@pytest.fixture(scope="module")
def scanned(synthesized: Any, local_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov process over a directory of every template (it takes seconds to start)."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: scripts/setup installs checkov in .venv-checkov"
    templates = {
        **assembly_templates(Path(synthesized.directory), "example"),
        **assembly_templates(local_assembly, "local"),
    }
    directory = tmp_path_factory.mktemp("checkov")
    for name, template in templates.items():
        (directory / name).write_text(json.dumps(template, indent=1))
    command = [str(CHECKOV), "--directory", str(directory), "--framework", "cloudformation"]
    # Not --quiet: it leaves out the passed and skipped checks, which show that checkov read every
    # file and that each skip carries its reason. --skip-download: no call to Prisma Cloud for
    # guidelines, which a build machine may not reach.
    command += ["--output", "json", "--compact", "--skip-download"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    # Exit code 1 means failed checks, which the test reports one per line; anything else is checkov's.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}: {result.stderr}"
    report = json.loads(result.stdout)
    [cloudformation] = report if isinstance(report, list) else [report]
    resources = sum(len(template.get("Resources", {})) for template in templates.values())
    return {"files": sorted(templates), "resources": resources, "report": cloudformation}


def test_checkov_finds_nothing_in_any_template(scanned: dict[str, Any]) -> None:
    summary = scanned["report"]["summary"]
    failed = [
        f"{f['check_id']} {f['resource']} {f['file_path'].lstrip('/')} ({f['check_name']})"
        for f in scanned["report"]["results"]["failed_checks"]
    ]
    assert summary["parsing_errors"] == 0
    assert failed == [], "checkov findings (fix, or checkov_skip with the reason):\n" + "\n".join(failed)


def test_checkov_read_every_template(scanned: dict[str, Any]) -> None:
    # Some templates hold only resources no check applies to (RAM shares, the StackSet itself), so
    # the count of resources, not the files with a result, shows that checkov parsed them all.
    assert scanned["report"]["summary"]["resource_count"] == scanned["resources"]
    # Both configs' hub, spokes and nested share stacks, the example's roll-out and its StackSet body.
    assert len(scanned["files"]) == 10
    assert any(name.endswith(".nested.template.json") for name in scanned["files"])
    assert any("ou-rollout--Spoke" in name for name in scanned["files"])


def test_every_skip_says_why(scanned: dict[str, Any]) -> None:
    from governance_constructs.nag import MIN_REASON

    skipped = scanned["report"]["results"]["skipped_checks"]
    assert skipped
    short = [s for s in skipped if len(s.get("check_result", {}).get("suppress_comment", "")) < MIN_REASON]
    assert short == []


def test_a_skip_is_merged_into_the_resource_s_metadata() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.assertions import Template

    from governance_constructs.nag import checkov_skip

    stack = Stack(App(), "Skips")
    queue = sqs.Queue(stack, "Queue")
    checkov_skip(queue, "CKV_AWS_27", "The first reason, long enough to say which and why.")
    checkov_skip(queue, "CKV_AWS_999", "The second reason, long enough to say which and why.")
    [resource] = Template.from_stack(stack).to_json()["Resources"].values()
    assert [s["id"] for s in resource["Metadata"]["checkov"]["skip"]] == ["CKV_AWS_27", "CKV_AWS_999"]
    with pytest.raises(ValueError, match="too short"):
        checkov_skip(queue, "CKV_AWS_1", "because")
    with pytest.raises(ValueError, match="already skipped"):
        checkov_skip(queue, "CKV_AWS_27", "The same check again, long enough to say which and why.")
