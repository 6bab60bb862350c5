"""Shared fixtures: the example config, and the example app synthesized once per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.json"
AWS_EVENTS = Path(__file__).resolve().parent / "fixtures" / "aws-events"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def load_event(name: str) -> dict[str, Any]:
    """A verbatim AWS sample event (see fixtures/aws-events)."""
    event: dict[str, Any] = json.loads((AWS_EVENTS / f"{name}.json").read_text())
    return event


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
