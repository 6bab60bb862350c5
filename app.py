#!/usr/bin/env python3
"""Entry point: read the config named in cdk.json (or `-c config=PATH`), validate it, build the stacks.

A bad config stops here, before any stack exists, with one line per problem and exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from governance_config import AccessLevel, ConfigError, GovernanceConfig, load_config

DEFAULT_CONFIG = "config/example.json"
HUB_STACK = "ModelCardGovernanceHub"
OU_ROLLOUT_STACK = "ModelCardGovernanceOuRollout"


def spoke_stack_name(spoke_name: str) -> str:
    return f"ModelCardGovernanceSpoke-{spoke_name}"


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
    """Add the hub, one stack per account spoke and, for OU spokes, the roll-out stack to `app`."""
    from aws_cdk import App, Environment

    from stacks.hub_stack import HubStack
    from stacks.ou_rollout_stack import OuRolloutStack
    from stacks.spoke_stack import SpokeStack

    app = with_nag(app if app is not None else App())
    hub_env = Environment(account=config.hub_account, region=config.region)
    HubStack(app, HUB_STACK, config=config, env=hub_env, description="Model card governance hub")
    for spoke in config.account_spokes:
        SpokeStack(
            app,
            spoke_stack_name(spoke.name),
            config=config,
            access=spoke.access,
            env=Environment(account=spoke.account, region=config.region),
            description=f"Model card governance spoke {spoke.name} ({spoke.access.value})",
        )
    if config.ou_spokes:
        assert config.organization is not None and config.organization.management_account is not None
        OuRolloutStack(
            app,
            OU_ROLLOUT_STACK,
            config=config,
            spoke_templates={s.name: ou_spoke_template(config, s.access) for s in config.ou_spokes},
            env=Environment(account=config.organization.management_account, region=config.region),
            description="Model card governance spokes rolled out to OUs",
        )
    return app


def main() -> int:
    from aws_cdk import App

    app = App()
    config_path = Path(str(app.node.try_get_context("config") or DEFAULT_CONFIG))
    try:
        config = load_config(config_path)
    except ConfigError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 1
    build_app(config, app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
