"""The organization's guardrail for the spokes, deployed in the management account."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from governance_config import GovernanceConfig
from governance_constructs.guardrail_policy import GuardrailPolicy


class GuardrailStack(Stack):
    """The guardrail SCP (`organization.guardrails`), attached to the spokes' accounts and OUs.

    AWS::Organizations::Policy can be created only from the management account or a delegated
    administrator for Organizations policies, and the SCP policy type must be enabled in the
    organization first (CloudFormation Template Reference, `AWS::Organizations::Policy`).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GovernanceConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.guardrail = GuardrailPolicy(
            self,
            "Guardrail",
            policy_name=config.guardrail_policy_name,
            target_ids=config.guardrail_targets,
            partition=config.partition,
            forwarding_rule_name=config.registry_forwarding_rule_name,
            protected_role_names=(
                config.approval_sync_role_name,
                config.registry_forwarding_role_name,
                config.registry_reader_role_name,
            ),
            approval_sync_role_name=config.approval_sync_role_name,
            # The stage an effective approval sets (approval_policy.on_approval), when configured.
            production_stage=(
                config.approval_policy.on_approval.stage
                if config.approval_policy is not None and config.approval_policy.on_approval is not None
                else None
            ),
        )
        CfnOutput(self, "GuardrailPolicyId", value=self.guardrail.policy.attr_id)
