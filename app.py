#!/usr/bin/env python3
"""Entry point: read the config named in cdk.json (or `-c config=PATH`), validate it, build the stacks.

A bad config stops here, before any stack exists, with one line per problem and exit code 1. An
artifact AWS would refuse (a template, StackSet body or policy over its quota) stops synthesis the
same way, before the assembly reaches the CDK CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from aws_quotas import QuotaViolation, check_assembly
from governance_config import AccessLevel, ConfigError, GovernanceConfig, load_config

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = "config/example.json"
CDK_STACK_RESOURCE_LIMIT = "@aws-cdk/core:stackResourceLimit"


def with_nag(app: Any) -> Any:
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def ou_spoke_template(config: GovernanceConfig, access: AccessLevel) -> dict[str, Any]:
    """Synthesize an account-agnostic spoke stack (checked by cdk-nag too) for a StackSet."""
    import tempfile

    from aws_cdk import App, BootstraplessSynthesizer

    from stacks.spoke_stack import SpokeStack

    with tempfile.TemporaryDirectory(prefix="ou-spoke-") as outdir:
        inner = with_nag(App(outdir=outdir))
        # StackSet targets are not CDK-bootstrapped, so the template must not check for a bootstrap.
        stack = SpokeStack(inner, "OuSpoke", config=config, access=access, synthesizer=BootstraplessSynthesizer())
        template: dict[str, Any] = inner.synth().get_stack_by_name(stack.stack_name).template
    return template


def build_app(config: GovernanceConfig, app: Any = None) -> Any:
    """Add the hub, one stack per account spoke and, for OU spokes, the roll-out stack to `app`; with
    `organization.guardrails`, the guardrail stack for the management account."""
    from aws_cdk import App, Environment

    from stacks.guardrail_stack import GuardrailStack
    from stacks.hub_stack import HubStack
    from stacks.ou_rollout_stack import OuRolloutStack
    from stacks.spoke_stack import SpokeStack

    app = with_nag(app if app is not None else App())
    # The CDK's own resource-count check fails synthesis with a traceback; aws_quotas measures the
    # same quota with every other one and reports it as one line.
    app.node.set_context(CDK_STACK_RESOURCE_LIMIT, 0)
    hub_env = Environment(account=config.hub_account, region=config.region)
    HubStack(app, config.hub_stack_name, config=config, env=hub_env, description="Model card governance hub")
    for spoke in config.account_spokes:
        SpokeStack(
            app,
            config.spoke_stack_name(spoke),
            config=config,
            access=spoke.access,
            env=Environment(account=spoke.account, region=config.region),
            description=f"Model card governance spoke {spoke.name} ({spoke.access.value})",
        )
    if config.ou_spokes:
        assert config.organization is not None and config.organization.stack_set_admin_account is not None
        # One template per access level, whatever the number of OUs.
        levels = sorted({s.access for s in config.ou_spokes}, key=list(AccessLevel).index)
        OuRolloutStack(
            app,
            config.ou_rollout_stack_name,
            config=config,
            spoke_templates={level: ou_spoke_template(config, level) for level in levels},
            env=Environment(account=config.organization.stack_set_admin_account, region=config.region),
            description="Model card governance spokes rolled out to OUs",
        )
    if config.guardrails_enabled:
        assert config.organization is not None and config.organization.management_account is not None
        # Service control policies are created and attached from the management account.
        GuardrailStack(
            app,
            config.guardrail_stack_name,
            config=config,
            env=Environment(account=config.organization.management_account, region=config.region),
            description="Model card governance guardrail (service control policy) for the spokes",
        )
    return app


def synthesize(config: GovernanceConfig, app: Any) -> list[QuotaViolation]:
    """Build and synthesize the app into its outdir, then measure every artifact against AWS quotas."""
    build_app(config, app)
    assembly = app.synth()
    return check_assembly(Path(assembly.directory))


def publish(staging: Path, outdir: Path) -> None:
    """Move a checked assembly into the directory the CDK CLI reads."""
    outdir.mkdir(parents=True, exist_ok=True)
    for entry in staging.iterdir():
        target = outdir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        shutil.move(str(entry), str(target))


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (the feature flags and the default config), for `python app.py` without the CLI.

    The CLI passes the same values itself; App() takes these as defaults, so `-c` still wins.
    """
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def node_major_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    found = subprocess.run([node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True)
    return found.stdout.strip() or None


def main() -> int:
    # jsii prints an end-of-life banner on every run under Node 20, which is past its end of life; the
    # variable silences only the version it names, and is set only where that version runs.
    if node_major_version() == "20":
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    # The CDK CLI names the assembly directory in CDK_OUTDIR (run directly, the app writes where
    # the CLI would). The app synthesizes into a staging directory beside it and moves the result
    # there only when every quota holds, so an artifact AWS would refuse never reaches the CLI.
    outdir = Path(os.environ.get("CDK_OUTDIR") or ROOT / "cdk.out")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir.parent))
    try:
        app = App(outdir=str(staging), context=cdk_json_context())
        config_path = Path(str(app.node.try_get_context("config") or DEFAULT_CONFIG))
        try:
            config = load_config(config_path)
        except ConfigError as error:
            for problem in error.problems:
                print(f"config error: {problem}", file=sys.stderr)
            return 1
        violations = synthesize(config, app)
        for violation in violations:
            print(f"quota exceeded: {violation}", file=sys.stderr)
        if violations:
            return 1
        publish(staging, outdir)
        return 0
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
