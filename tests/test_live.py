"""The kept local run: handlers keep running as Lambda runs them, failures go where Lambda sends
them, and the personas, outputs and options work with the AWS CLI the setup installs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.sessions import service_role_session
from sandbox.live import LiveLoop
from sandbox.outputs import publish
from sandbox.personas import assume_in_emulator, personas, write_config
from sandbox.provision import Function
from sandbox.run import Sandbox, not_emulated, sandbox_for
from tests.conftest import ROOT

AWS_CLI = Path(sys.executable).parent / "aws"
GROUP = "customer-churn"
REGISTRY = "222222222222"  # the first spoke of config/local.json


def card(version: int) -> str:
    from shared.card_names import card_name_for  # the Lambda asset's own naming rule (lambdas/ is on the path)

    return card_name_for(REGISTRY, GROUP, version)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def endpoint() -> Iterator[str]:
    from emulator.server import start

    server, url = start()
    yield url
    server.stop()  # type: ignore[attr-defined]


@pytest.fixture
def sandbox(local_assembly: Path, endpoint: str) -> Sandbox:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return Sandbox(local_assembly, endpoint, out=lambda line: None)


class Breakable:
    """The sandbox's invoke, with a switch that makes one function's handler raise or fail records."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.raising: set[str] = set()
        self.failing_records: set[str] = set()

    def __call__(self, function: Function, event: Any) -> Any:
        if function.handler in self.raising:
            raise RuntimeError(f"{function.handler} is broken")
        if function.handler in self.failing_records:
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        return self.sandbox.invoke(function, event)


@pytest.fixture
def live(sandbox: Sandbox) -> Iterator[tuple[LiveLoop, Breakable, list[str]]]:
    lines: list[str] = []
    breakable = Breakable(sandbox)
    loop = LiveLoop(sandbox.hub, breakable, log=lines.append, retry_delays=(0.2, 0.4), visibility_timeout=1)
    loop.start()
    yield loop, breakable, lines
    loop.stop()


def register(sandbox: Sandbox, version: int) -> str:
    sagemaker = sandbox.registry.client("sagemaker")
    if version == 1:
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification=json.loads((ROOT / "sandbox" / "inference-specification.json").read_text()),
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    return arn


def shared_with_reader(sandbox: Sandbox) -> list[str]:
    listed = sandbox.reader.client("ram").list_resources(
        resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard"
    )["resources"]
    return sorted(r["arn"].rsplit("/", 1)[-1] for r in listed)


def dead_letters(sandbox: Sandbox, prefix: str) -> list[dict[str, Any]]:
    sqs = sandbox.hub.client("sqs")
    url = next(u for u in sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"])
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def test_a_registered_version_gets_its_shared_card_with_nobody_pumping(
    sandbox: Sandbox, live: tuple[LiveLoop, Breakable, list[str]]
) -> None:
    _, _, lines = live
    register(sandbox, 1)
    wait_for(lambda: card(1) in shared_with_reader(sandbox), "the v1 card to be shared")
    content = sandbox.content(card(1))
    assert content["model_package_details"]["model_package_version"] == 1
    created = wait_for(lambda: [line for line in lines if line.split()[1] == "auto_link"], "the auto_link line")
    assert "SageMaker Model Package State Change: customer-churn/1 PendingManualApproval in 222222222222" in created[0]
    assert '-> ok: {"action": "created", "card": "customer-churn-222222222222-v1"' in " ".join(created[0].split())


def test_a_raising_handler_is_retried_twice_then_its_event_goes_to_the_function_dead_letter_queue(
    sandbox: Sandbox, live: tuple[LiveLoop, Breakable, list[str]]
) -> None:
    _, breakable, lines = live
    breakable.raising.add("auto_link.handler.handler")
    register(sandbox, 1)
    wait_for(lambda: [line for line in lines if "attempt 3 of 3" in line], "the last attempt")
    parked = wait_for(lambda: dead_letters(sandbox, "AutoLinkHandlerDeadLetters"), "the dead-lettered event")
    failures = [line for line in lines if line.split()[1] == "auto_link"]
    assert [line.split(" -> ")[-1].split(":")[0].strip() for line in failures] == [
        "FAILED (attempt 1 of 3)",
        "FAILED (attempt 2 of 3)",
        "FAILED (attempt 3 of 3)",
    ]
    assert "retry in 0.2s" in failures[0] and "retry in 0.4s" in failures[1]
    assert "sent to dead-letter queue AutoLinkHandlerDeadLettersQueue775FBFFA" in failures[2]
    event = json.loads(parked[0]["Body"])
    assert event["detail"]["ModelPackageVersion"] == 1
    attributes = parked[0]["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "RuntimeError: auto_link.handler.handler is broken"
    assert attributes["ErrorCode"]["StringValue"] == "200" and attributes["RequestID"]["StringValue"]
    assert sandbox.card(card(1)) is None
    # The other handlers kept running (the gate saw the same event), and so does the fixed one.
    wait_for(lambda: any(line.split()[1] == "card_workflow" and "->  ok" in line for line in lines), "the gate's run")
    breakable.raising.clear()
    register(sandbox, 2)
    wait_for(lambda: sandbox.card(card(2)), "v2's card after the handler recovered")


def test_a_malformed_event_is_parked_with_its_reason_and_the_loop_goes_on(
    sandbox: Sandbox, live: tuple[LiveLoop, Breakable, list[str]]
) -> None:
    _, _, lines = live
    auto_link = next(f for f in sandbox.hub.functions.values() if f.handler.startswith("auto_link"))
    sqs = sandbox.hub.client("sqs")
    malformed = {"version": "0", "id": "x", "detail-type": "SageMaker Model Package State Change", "detail": {}}
    sqs.send_message(QueueUrl=auto_link.queue_url, MessageBody=json.dumps(malformed))
    sqs.send_message(QueueUrl=auto_link.queue_url, MessageBody="not an event")
    parked = wait_for(lambda: [line for line in lines if "parked it in AutoLinkHandlerDeadLetters" in line], "parked")
    assert "rejected: the handler parked it in AutoLinkHandlerDeadLettersQueue775FBFFA: MalformedEvent" in parked[0]
    last = wait_for(lambda: [line for line in lines if "attempt 3 of 3" in line], "the unreadable delivery")
    assert "malformed event (a str, not an object)" in last[0]
    assert "sent to dead-letter queue AutoLinkHandlerDeadLettersQueue775FBFFA" in last[0]
    register(sandbox, 1)
    wait_for(lambda: sandbox.card(card(1)), "a good event after the bad ones")


def test_failed_queue_records_come_back_then_sqs_redrives_them_to_the_dead_letter_queue(
    sandbox: Sandbox, live: tuple[LiveLoop, Breakable, list[str]]
) -> None:
    _, breakable, lines = live
    breakable.failing_records.add("card_workflow.handler.follow_exports")
    follow_up = sandbox.hub.refs["WorkflowExportFollowUp832F69C0"]
    # Sent as the workflow, the one sender the queue's policy admits besides the follower.
    workflow = next(f for f in sandbox.hub.functions.values() if f.handler == "card_workflow.handler.handler")
    sender = service_role_session(workflow.role_arn, name="workflow").client("sqs", endpoint_url=sandbox.endpoint)
    sender.send_message(QueueUrl=follow_up, MessageBody=json.dumps({"job": "lost"}))
    redriven = wait_for(lambda: dead_letters(sandbox, "WorkflowFollowUpDeadLetters"), "the redriven record", 40)
    assert json.loads(redriven[0]["Body"]) == {"job": "lost"}
    batches = [line for line in lines if "card_workflow.follow_exports" in line]
    assert [line.split("(receive ")[-1][:6] for line in batches[:4]] == ["1 of 5", "2 of 5", "3 of 5", "4 of 5"]
    assert "received 5 times: SQS moves them to WorkflowFollowUpDeadLettersQueue657F12A0" in batches[4]


def test_stack_outputs_answer_describe_stacks_and_fill_the_outputs_file(sandbox: Sandbox, tmp_path: Path) -> None:
    written = publish([sandbox.hub, *sandbox.spokes.values()], tmp_path / "outputs.json")
    assert json.loads((tmp_path / "outputs.json").read_text()) == written
    stacks = sandbox.hub.client("cloudformation").describe_stacks(StackName="model-card-governance-hub")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0]["Outputs"]}
    assert outputs == written["model-card-governance-hub"]
    ledger = sandbox.hub.client("dynamodb").describe_table(TableName=outputs["LedgerTableName"])["Table"]
    assert ledger["KeySchema"][0]["AttributeName"] == "CardArn"
    sandbox.hub.client("s3").head_bucket(Bucket=outputs["EvidenceBucketName"])
    role = written["model-card-governance-spoke-ml-dev"]["CardUserRoleArn"]
    assert role.startswith("arn:aws:iam::222222222222:role/")
    spoke_stacks = sandbox.registry.client("cloudformation").describe_stacks()["Stacks"]
    assert [s["StackName"] for s in spoke_stacks] == ["model-card-governance-spoke-ml-dev"]


def cli(config: Path, profile: str, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [str(AWS_CLI), "--profile", profile, *args, "--output", "json"],
        env={**env, "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_each_persona_is_a_profile_that_reaches_the_emulator_sqs_included(sandbox: Sandbox, tmp_path: Path) -> None:
    outputs = publish([sandbox.hub, *sandbox.spokes.values()], tmp_path / "outputs.json")
    found, notes = personas(
        sandbox.hub,
        sandbox.spokes,
        outputs,
        assume_in_emulator(sandbox.endpoint),
        sandbox.admin_role_arn,
        inbox=sandbox.inbox,
    )
    config = tmp_path / "aws-config"
    write_config(config, found, sandbox.endpoint)
    assert [p.profile for p in found] == ["hub-admin", "reviewer", "auditor", "ml-dev", "ml-prod"]
    who = {p.profile: cli(config, p.profile, "sts", "get-caller-identity") for p in found}
    assert {profile: identity["Account"] for profile, identity in who.items()} == {
        "hub-admin": "111111111111",
        "reviewer": "111111111111",
        "auditor": "111111111111",
        "ml-dev": "222222222222",
        "ml-prod": "333333333333",
    }
    assert who["ml-dev"]["Arn"] == "arn:aws:sts::222222222222:assumed-role/local-spoke-user/ml-dev"
    # AWS CLI v1 would send this to https://queue.amazonaws.com without the plugin the file loads.
    queue = cli(config, "reviewer", "sqs", "get-queue-url", "--queue-name", "reviewer-inbox")["QueueUrl"]
    assert queue == f"{sandbox.endpoint}/111111111111/reviewer-inbox"
    stand_ins = {"reviewer": "ReviewerRoleArn", "auditor": "AuditorRoleArn"}
    hub_outputs = outputs["model-card-governance-hub"]
    for profile, output in stand_ins.items():
        expected_note = f"{profile}: the hub stack has no {output} output; hub-admin's role stands in"
        assert (expected_note in notes) == (output not in hub_outputs)
    assert "[plugins]\nprofile_endpoint = awscli_profile_endpoint\n" in config.read_text()


def test_the_plugin_follows_botocore_order_for_the_configured_endpoint() -> None:
    from awscli_profile_endpoint import configured_endpoint

    profile = {"endpoint_url": "http://profile"}
    assert configured_endpoint("sqs", {}, profile) == "http://profile"
    assert configured_endpoint("sqs", {"AWS_ENDPOINT_URL": "http://global"}, profile) == "http://global"
    both = {"AWS_ENDPOINT_URL": "http://global", "AWS_ENDPOINT_URL_SQS": "http://sqs"}
    assert configured_endpoint("sqs", both, profile) == "http://sqs"
    assert configured_endpoint("sqs", {}, {}) is None


def test_what_the_local_run_plays_differently_is_reported() -> None:
    from governance_config import load_config

    assert not_emulated(load_config(ROOT / "config" / "example.json")) == [
        "spoke risk-office (OU ou-ab12-riskoffc) is not emulated: the local run plays account spokes only",
        "organization o-exampleorg1: the hub plays its management account (999999999999 in the config)",
    ]
    assert not_emulated(load_config(ROOT / "config" / "local.json")) == []


def test_run_local_refuses_a_missing_config_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "run-local"), "--config", str(tmp_path / "nowhere.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"run-local: --config: no such file: {tmp_path / 'nowhere.json'}\n"


def test_kept_inside_an_organization_the_read_spoke_profile_sees_new_cards_without_invitation(
    synthesized: Any, example_config: Any, endpoint: str, tmp_path: Path
) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    sandbox = sandbox_for(Path(synthesized.directory), endpoint, example_config, out=lambda line: None)
    outputs = publish([sandbox.hub, *sandbox.spokes.values()], tmp_path / "outputs.json")
    found, _ = personas(
        sandbox.hub, sandbox.spokes, outputs, assume_in_emulator(endpoint), sandbox.admin_role_arn, inbox=sandbox.inbox
    )
    config = tmp_path / "aws-config"
    write_config(config, found, endpoint)
    loop = LiveLoop(sandbox.hub, sandbox.invoke, log=lambda line: None)
    loop.start()
    try:
        register(sandbox, 1)
        wait_for(lambda: sandbox.card(card(1)), "the v1 card")
        listed = cli(config, "ml-prod", "ram", "list-resources", "--resource-owner", "OTHER-ACCOUNTS")
    finally:
        loop.stop()
    assert sorted(r["arn"].rsplit("/", 1)[-1] for r in listed["resources"]) == ["customer-churn", card(1)]
    card_arn = f"arn:aws:sagemaker:us-east-1:{sandbox.hub.account}:model-card/{card(1)}"
    described = cli(config, "ml-prod", "sagemaker", "describe-model-card", "--model-card-name", card_arn)
    assert (described["ModelCardVersion"], described["ModelCardStatus"]) == (1, "Draft")
    for spoke in sandbox.spokes.values():
        assert spoke.client("ram").get_resource_share_invitations()["resourceShareInvitations"] == []
