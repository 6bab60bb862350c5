"""The local run: the whole lifecycle from the synthesized templates, the AWS CLI against it, and
proof that the emulator's routing decides (a rule that would not match in AWS does not match here)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.outputs import publish
from sandbox.personas import assume_in_emulator, personas, write_config
from sandbox.provision import Deployed
from sandbox.run import Sandbox, StepResult, main, sandbox_for
from tests.docs_pages import Shell, block, blocks, page, project_copy, run_transcript, script, section, transcript

AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.fixture
def endpoint() -> Iterator[str]:
    from emulator.server import start

    server, url = start()
    yield url
    server.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def walked(local_assembly: Path) -> Iterator[tuple[Sandbox, list[StepResult]]]:
    """One local run's whole walk for the tests that look at what it leaves, in file order: the
    emulator's state is the process's, so the tests after them that reset it come later in the file."""
    from emulator.server import start

    server, url = start()
    try:
        requests.post(f"{url}/moto-api/reset", timeout=10)
        walk = Sandbox(local_assembly, url, out=lambda line: None)
        yield walk, walk.run()
    finally:
        server.stop()  # type: ignore[attr-defined]


def test_whole_lifecycle_behaves_as_documented(walked: tuple[Sandbox, list[StepResult]]) -> None:
    sandbox, results = walked
    # Outside an organization each spoke accepts the invitations of the shares that name it.
    assert sorted(sandbox.accepted_invitations) == [
        "222222222222: model-card-governance-cards-222222222222",
        "222222222222: model-card-governance-cards-read",
        "333333333333: model-card-governance-cards-read",
    ]
    assert [(r.title, r.ok) for r in results] == [(title, True) for title, _ in sandbox.steps()]
    summary = sandbox.summary()
    assert summary[1].split() == ["customer-churn", "1", "Draft", "-", "-"]
    assert summary[2].split() == ["customer-churn-222222222222-v1", "2", "Approved", "customer-churn/1", "Approved"]
    assert summary[3].split() == [
        "customer-churn-222222222222-v2",
        "5",  # the hijack's version 2, then the approval policy's steps (High, edited, Low)
        "Draft",  # the policy's last step: a request for changes
        "customer-churn/2",
        "PendingManualApproval",  # its approval expired in the policy's steps
    ]
    # The approval policy's steps ran (config/local.json has a policy).
    assert len(results) == 17 and results[-1].title.endswith("Draft, and the spoke gets the comment")


def aws_cli(sandbox: Sandbox, *args: str, user: Deployed | None = None) -> Any:
    credentials = (user or sandbox.reader_user).session.get_credentials()
    assert credentials is not None
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=sandbox.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID=credentials.access_key,
        AWS_SECRET_ACCESS_KEY=credentials.secret_key,
        AWS_SESSION_TOKEN=credentials.token or "",
    )
    result = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SPOKE_USERS = "spoke-users"


def test_the_spoke_user_commands_of_the_docs_work_against_the_sandbox(
    walked: tuple[Sandbox, list[StepResult]],
) -> None:
    sandbox, _ = walked
    documented = script(block(page(SPOKE_USERS), "# list the cards shared with this account"))
    for command in documented:
        args = shlex.split(command)
        assert args[0] == "aws", command
        # Exporting is for edit-export spokes, on their own cards: the registering spoke's user.
        exporter = "create-model-card-export-job" in args
        aws_cli(sandbox, *args[1:], user=sandbox.registry_user if exporter else None)
    card = f"arn:aws:sagemaker:us-east-1:{sandbox.hub.account}:model-card/customer-churn-222222222222-v1"
    listed = aws_cli(
        sandbox, "ram", "list-resources", "--resource-owner", "OTHER-ACCOUNTS", "--resource-type", "sagemaker:ModelCard"
    )
    assert sorted(r["arn"].rsplit("/", 1)[-1] for r in listed["resources"]) == [
        "customer-churn",
        "customer-churn-222222222222-v1",
        "customer-churn-222222222222-v2",
        "customer-churn-222222222222-v3",  # made by the reconciler in step 9
    ]
    described = aws_cli(sandbox, "sagemaker", "describe-model-card", "--model-card-name", card)
    assert (described["ModelCardStatus"], described["ModelCardVersion"]) == ("Approved", 2)
    assert json.loads(described["Content"])["business_details"]["business_problem"] == "Retail customers leave"
    versions = aws_cli(sandbox, "sagemaker", "list-model-card-versions", "--model-card-name", card)
    assert [v["ModelCardVersion"] for v in versions["ModelCardVersionSummaryList"]] == [1, 2]


def test_the_pages_transcripts_after_the_scripted_steps_run_as_printed(
    walked: tuple[Sandbox, list[StepResult]], tmp_path: Path
) -> None:
    """ "For auditors" checks the ledger and the spoke users' page lists its own registry, each as
    printed, with the personas of a kept run after the scripted steps, in a copy of the project."""
    from emulator.function_urls import serve

    sandbox, _ = walked
    project = project_copy(tmp_path)
    # As the kept run does: the decision endpoint answers on 127.0.0.1 and the outputs say where.
    [(url_id, props)] = sandbox.hub.resources("AWS::Lambda::Url")
    decisions = sandbox.function_urls[props["TargetFunctionArn"]["Fn::GetAtt"][0]]
    server = serve(decisions)
    sandbox.hub.attrs[(url_id, "FunctionUrl")] = decisions.url
    outputs = publish([sandbox.hub, *sandbox.spokes.values()], project / ".local-run" / "outputs.json")
    found, _ = personas(
        sandbox.hub,
        sandbox.spokes,
        outputs,
        assume_in_emulator(sandbox.endpoint),
        sandbox.admin_role_arn,
        inbox=sandbox.inbox,
    )
    write_config(project / ".local-run" / "aws-config", found, sandbox.endpoint)
    auditors = section(page("review-and-approval"), "For auditors")
    registry = section(page(SPOKE_USERS), "The spoke's own model registry")
    first = "$ export AWS_CONFIG_FILE=$PWD/.local-run/aws-config"
    shell = Shell(cwd=project)
    deciding = section(page("review-and-approval"), "Deciding: the decision endpoint and `scripts/review`")
    try:
        run_transcript(transcript(block(auditors, first)), shell)
        run_transcript(transcript(block(registry, first)), shell)
        # The auditor's shell has the config exported; the decisions come after its ledger check.
        decide = next(b for b in blocks(deciding, "console") if b.first_line.startswith("$ url=$("))
        run_transcript(transcript(decide), shell)
    finally:
        shell.close()
        server.shutdown()


def test_a_rule_that_no_longer_matches_makes_its_step_fail(
    local_assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "cdk.out"
    shutil.copytree(local_assembly, broken)
    hub_file = broken / "model-card-governance-hub.template.json"
    hub = json.loads(hub_file.read_text())
    for resource in hub["Resources"].values():
        if resource["Type"] == "AWS::Events::Rule" and "auto-linker" in resource["Properties"].get("Description", ""):
            resource["Properties"]["EventPattern"]["detail-type"] = ["SageMaker Model Package State Changed"]
    hub_file.write_text(json.dumps(hub))
    assert main(["--assembly", str(broken)]) == 1
    printed = capsys.readouterr().out
    assert "[1] A data scientist in spoke 222222222222 registers customer-churn v1" in printed
    assert "FAILED: card customer-churn-222222222222-v1 does not exist in the hub" in printed
    assert "0 passed, 17 failed" in printed


def test_a_missing_assembly_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--assembly", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip().endswith("is not a cloud assembly (no manifest.json); run cdk synth first")


def test_inside_an_organization_the_walk_sees_the_shares_without_invitation(
    synthesized: Any, example_config: Any, endpoint: str
) -> None:
    """config/example.json: the read spoke gets the cards only through the share naming the organization."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    sandbox = sandbox_for(Path(synthesized.directory), endpoint, example_config, out=lambda line: None)
    assert sandbox.accepted_invitations == []
    results = sandbox.run()
    assert [(r.title, r.ok) for r in results] == [(title, True) for title, _ in sandbox.steps()]
    assert sandbox.reader.account == "333333333333"  # ml-prod, read access
    seen = sandbox.reader_user.client("ram").list_resources(
        resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard"
    )["resources"]
    assert sorted(r["arn"].rsplit("/", 1)[-1] for r in seen) == [
        "customer-churn",
        "customer-churn-222222222222-v1",
        "customer-churn-222222222222-v2",
        "customer-churn-222222222222-v3",  # made by the reconciler in step 9
    ]
    principals = {
        sandbox.hub.refs[logical_id]: props["Principals"]
        for logical_id, props in sandbox.hub.resources("AWS::RAM::ResourceShare")
    }
    assert {tuple(principals[r["resourceShareArn"]]) for r in seen} == {
        ("arn:aws:organizations::999999999999:organization/o-exampleorg1",)
    }
    card_arn = f"arn:aws:sagemaker:us-east-1:{sandbox.hub.account}:model-card/customer-churn-222222222222-v2"
    described = sandbox.reader_user.client("sagemaker").describe_model_card(ModelCardName=card_arn)
    assert described["ModelCardStatus"] == "PendingReview"
