"""Shared fixtures: the emulator and who a test acts as, the example config, and the example app
synthesized once per test session.

The emulator evaluates permissions as AWS does (identity, resource and key policies), so a test
acts as someone, the way a person reaches accounts in AWS Organizations:

    def test_x(aws, admin_of, role_of):
        hub = admin_of(HUB)                 # administrator of HUB (OrganizationAccountAccessRole)
        hub.client("iam").create_role(...)  # set up as that administrator
        workflow = role_of(HUB, "model-card-governance-approval-workflow")  # AssumeRole as HUB's admin
        sync = role_of(SPOKE, "model-card-governance-approval-sync", via=workflow)  # role chaining

`admin_of(account)` and `role_of(account, role, via=None, **assume_role_args)` return boto3
Sessions; `role_of` is refused (AccessDenied) when the role is missing or does not trust the
caller. Inside `mock_aws` the environment's credentials are moto's fake ones, which the emulator
refuses: make clients from these sessions.
`tests.accounts.session_for(account)` is `admin_of` for code outside fixtures. To see what a test
would do without evaluation, wrap it in `emulator.permissions.enforcement(False)`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.durations_guard"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.json"
AWS_EVENTS = Path(__file__).resolve().parent / "fixtures" / "aws-events"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The management account's administrator and the region, set before any boto3 client is made.
os.environ.update(
    AWS_ACCESS_KEY_ID="AKIAMANAGEMENTADMIN0",
    AWS_SECRET_ACCESS_KEY="emulator-management-account-administrator",
    AWS_DEFAULT_REGION="us-east-1",
)
for _variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "EMULATOR_PERMISSIONS"):
    os.environ.pop(_variable, None)


def load_event(name: str) -> dict[str, Any]:
    """A verbatim AWS sample event (see fixtures/aws-events)."""
    event: dict[str, Any] = json.loads((AWS_EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture
def aws() -> Iterator[None]:
    """The emulator in-process, permission evaluation on, fresh for each test."""
    from moto import mock_aws

    from emulator import install
    from emulator.permissions import enforcement

    install()
    with mock_aws(), enforcement(True):
        yield


@pytest.fixture
def admin_of(aws: None) -> Callable[[str], Any]:
    """admin_of(account): a boto3 Session administering `account` through OrganizationAccountAccessRole."""
    from emulator.sessions import admin_session

    return admin_session


@pytest.fixture
def role_of(aws: None) -> Callable[..., Any]:
    """role_of(account, role, via=None, **assume_role_args): a boto3 Session for that role, by AssumeRole."""
    from emulator.sessions import role_session

    return role_session


@pytest.fixture(scope="session")
def example_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(EXAMPLE_CONFIG.read_text())
    return raw


@pytest.fixture(scope="session")
def example_config() -> Any:
    from governance_config import load_config

    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def synthesized(example_config: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example app's cloud assembly. Synthesis runs cdk-nag: an unacknowledged finding fails it."""
    from aws_cdk import App

    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    # The same feature flags `cdk synth` passes from cdk.json.
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = build_app(example_config, App(outdir=str(outdir), context=context))
    return app.synth()


@pytest.fixture(scope="session")
def templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {stack.stack_name: stack.template for stack in synthesized.stacks}


@pytest.fixture(scope="session")
def local_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/local.json synthesized once, as `scripts/run-local` synthesizes it."""
    from aws_cdk import App

    from app import build_app
    from governance_config import load_config

    outdir = tmp_path_factory.mktemp("local-cdk.out")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    build_app(load_config(ROOT / "config" / "local.json"), App(outdir=str(outdir), context=context)).synth()
    return outdir
