"""The example config's stack names, pinned here: they derive from `prefix`, and renaming a stack
makes the CDK deploy a new one next to the old."""

from __future__ import annotations

HUB_STACK = "model-card-governance-hub"
OU_ROLLOUT_STACK = "model-card-governance-ou-rollout"


def spoke_stack_name(spoke_name: str) -> str:
    return f"model-card-governance-spoke-{spoke_name}"
