"""The SageMaker Python SDK, as spoke data scientists use it on the hub's shared cards: v2 (the
`sagemaker.model_card` module) and 3.x (sagemaker-core's resource classes), each in its own
virtualenv from scripts/setup, run as subprocesses (tests/sdk/) against the emulator server with
the sandbox provisioned and its nine steps run once for the module.

Users are the spoke stacks' card-user roles: ml-dev (222222222222, edit and export) and ml-prod
(333333333333, read).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.provision import Deployed
from sandbox.run import Sandbox
from tests.conftest import ROOT

SCRIPTS = ROOT / "tests" / "sdk"
SDKS = {"v2": ROOT / ".venv-sdk2" / "bin" / "python", "v3": ROOT / ".venv-sdk3" / "bin" / "python"}
HUB = "111111111111"
TEMPLATE_CARD = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/customer-churn"
# After the nine steps: v1's card is Approved at version 2; v2's card PendingReview at version 2.
APPROVED_CARD = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/customer-churn-222222222222-v1"
REVIEW_CARD = f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/customer-churn-222222222222-v2"


@pytest.fixture(scope="module")
def sandbox(local_assembly: Path) -> Iterator[Sandbox]:
    missing = [str(python) for python in SDKS.values() if not python.is_file()]
    if missing:
        pytest.fail(f"run scripts/setup: no SageMaker Python SDK virtualenv at {', '.join(missing)}")
    from emulator.server import start

    server, url = start()
    try:
        requests.post(f"{url}/moto-api/reset", timeout=10)
        provisioned = Sandbox(local_assembly, url, out=lambda line: None)
        # The lifecycle's nine steps: the approval policy's steps after them change no card the
        # SDKs read here (tests/test_sandbox.py walks all of them).
        provisioned.policy_walk = None
        results = provisioned.run()
        assert all(r.ok for r in results), [r.title for r in results if not r.ok]
        yield provisioned
    finally:
        server.stop()  # type: ignore[attr-defined]


def run_sdk(sdk: str, scenario: str, user: Deployed, *args: str) -> Any:
    credentials = user.session.get_credentials()
    assert credentials is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=user.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID=credentials.access_key,
        AWS_SECRET_ACCESS_KEY=credentials.secret_key,
        AWS_SESSION_TOKEN=credentials.token or "",
        # The SDKs read an optional config file and report telemetry; neither may leave the machine.
        SAGEMAKER_CORE_ADMIN_CONFIG_OVERRIDE="",
        TELEMETRY_OPT_OUT="true",
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
    )
    done = subprocess.run(
        [str(SDKS[sdk]), str(SCRIPTS / f"{sdk}_{scenario}.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    # The last line: the SDKs' own notices may come before it.
    *_, last = done.stdout.strip().splitlines() or [""]
    assert last.startswith("{"), done.stdout + done.stderr
    return json.loads(last)


def hub_card(sandbox: Sandbox, arn: str) -> dict[str, Any]:
    described: dict[str, Any] = sandbox.hub.client("sagemaker").describe_model_card(ModelCardName=arn)
    return described


def exports_bucket(sandbox: Sandbox) -> str:
    buckets = sandbox.hub.client("s3").list_buckets()["Buckets"]
    (name,) = [str(b["Name"]) for b in buckets if "-exports-" in b["Name"]]
    return name


@pytest.mark.parametrize("sdk", SDKS)
def test_both_spokes_load_every_version_of_a_shared_auto_linked_card_by_arn(sandbox: Sandbox, sdk: str) -> None:
    for user in (sandbox.registry_user, sandbox.reader_user):
        first = run_sdk(sdk, "load", user, APPROVED_CARD, "1")
        latest = run_sdk(sdk, "load", user, APPROVED_CARD, "0")
        # The SDK keeps the bare name DescribeModelCard answers: the reason to re-address by ARN.
        assert (first["name"], first["version"], first["business_problem"]) == (
            "customer-churn-222222222222-v1",
            1,
            None,
        )
        assert (latest["version"], latest["status"], latest["business_problem"]) == (
            2,
            "Approved",
            "Retail customers leave",
        )
    template = run_sdk(sdk, "load", sandbox.reader_user, TEMPLATE_CARD, "0")
    assert (template["name"], template["version"]) == ("customer-churn", 1)


@pytest.mark.parametrize("sdk", SDKS)
def test_an_edit_spoke_updates_a_shared_card_by_arn(sandbox: Sandbox, sdk: str) -> None:
    before = hub_card(sandbox, REVIEW_CARD)["ModelCardVersion"]
    problem = f"Churn, edited with the SDK {sdk}"
    run_sdk(sdk, "update", sandbox.registry_user, REVIEW_CARD, problem)
    after = hub_card(sandbox, REVIEW_CARD)
    assert after["ModelCardVersion"] == before + 1
    content = json.loads(after["Content"])
    assert content["business_details"] == {"business_problem": problem}
    # What the auto-linker wrote is kept: the SDK sends the whole card back.
    assert content["model_package_details"]["model_package_group_name"] == "customer-churn"


@pytest.mark.parametrize("sdk", SDKS)
def test_a_read_spoke_cannot_update_a_shared_card(sandbox: Sandbox, sdk: str) -> None:
    before = hub_card(sandbox, REVIEW_CARD)
    refused = run_sdk(sdk, "update", sandbox.reader_user, REVIEW_CARD, "not allowed")
    assert refused["error"] == "AccessDeniedException"
    assert refused["message"].startswith("User: arn:aws:sts::333333333333:assumed-role/")
    assert f"is not authorized to perform: sagemaker:UpdateModelCard on resource: {REVIEW_CARD}" in refused["message"]
    assert hub_card(sandbox, REVIEW_CARD)["ModelCardVersion"] == before["ModelCardVersion"]


@pytest.mark.parametrize("sdk", SDKS)
def test_an_edit_export_spoke_exports_a_shared_card_to_its_prefix(sandbox: Sandbox, sdk: str) -> None:
    bucket = exports_bucket(sandbox)
    output = f"s3://{bucket}/exports/222222222222/"
    job = f"churn-sdk-{sdk}"
    exported = run_sdk(sdk, "export", sandbox.registry_user, APPROVED_CARD, output, job)
    key = f"exports/222222222222/customer-churn-222222222222-v1/{job}/customer-churn-222222222222-v1.pdf"
    assert exported["pdf"] == f"s3://{bucket}/{key}"
    pdf = sandbox.hub.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert pdf.startswith(b"%PDF-")


@pytest.fixture(scope="module")
def studio_card(sandbox: Sandbox) -> str:
    """The card of a version registered from SageMaker Studio: the package event's CreatedBy is a
    Studio user profile (AWS's card sample's, verbatim), which the auto-linker may not copy whole
    into the card's created_by (the model card schema takes user_profile_name only)."""
    from shared.card_names import card_name_for

    from sandbox.run import drain
    from tests.conftest import load_event

    arn = sandbox.register(4)  # v3 is step 9's
    auto_link = next(f for f in sandbox.hub.functions.values() if f.handler == "auto_link.handler.handler")
    studio_user = load_event("model-card-state-change")["detail"]["CreatedBy"]
    assert set(studio_user) == {"DomainId", "UserProfileArn", "UserProfileName"}
    for message in drain(sandbox.hub.client("sqs"), auto_link.queue_url):
        event = json.loads(message["Body"])
        if event["detail"].get("ModelPackageArn") == arn:
            event["detail"]["CreatedBy"] = studio_user
        sandbox.invoke(auto_link, event)
    sandbox.pump()
    return f"arn:aws:sagemaker:us-east-1:{HUB}:model-card/{card_name_for('222222222222', 'customer-churn', 4)}"


@pytest.mark.parametrize("sdk", SDKS)
def test_a_card_of_a_studio_registered_version_loads(sandbox: Sandbox, studio_card: str, sdk: str) -> None:
    content = json.loads(hub_card(sandbox, studio_card)["Content"])
    assert content["model_package_details"]["created_by"] == {"user_profile_name": "user"}
    for user in (sandbox.registry_user, sandbox.reader_user):
        loaded = run_sdk(sdk, "load", user, studio_card, "0")
        assert (loaded["version"], loaded["created_by"]) == (1, "user")
