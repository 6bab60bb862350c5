"""Shared fixtures: the example config, and the example app synthesized once per test session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.json"
AWS_EVENTS = Path(__file__).resolve().parent / "fixtures" / "aws-events"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Credentials and region for the emulator; set before any boto3 client is made.
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
for _variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_variable, None)


def load_event(name: str) -> dict[str, Any]:
    """A verbatim AWS sample event (see fixtures/aws-events)."""
    event: dict[str, Any] = json.loads((AWS_EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture
def aws() -> Iterator[None]:
    """moto with the project's model card extension, fresh for each test."""
    from moto import mock_aws

    from emulator import install

    install()
    with mock_aws():
        yield


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
