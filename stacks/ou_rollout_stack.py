"""Rolls the spoke stack out to every account of an OU, now and later, with a CloudFormation StackSet."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from governance_config import GovernanceConfig


class OuRolloutStack(Stack):
    """Deployed to the organization's management account (or a delegated StackSets administrator).

    Service-managed permissions with auto-deployment: an account that joins the OU gets the spoke
    stack, one that leaves has it removed. `spoke_templates` maps each OU spoke's name to the
    synthesized, account-agnostic spoke template.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GovernanceConfig,
        spoke_templates: Mapping[str, Mapping[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stack_sets: dict[str, cloudformation.CfnStackSet] = {}
        for spoke in config.ou_spokes:
            assert spoke.ou is not None
            template = spoke_templates[spoke.name]
            body = json.dumps(template, separators=(",", ":"))
            if len(body) > 51200:
                raise ValueError(
                    f"OuRolloutStack: spoke template for {spoke.name!r} is {len(body)} bytes; a "
                    "StackSet TemplateBody holds at most 51,200"
                )
            self.stack_sets[spoke.name] = cloudformation.CfnStackSet(
                self,
                f"Spoke{spoke.name.title().replace('-', '')}",
                stack_set_name=f"{config.prefix}-spoke-{spoke.name}",
                description=f"Model card governance spoke ({spoke.access.value}) for OU {spoke.ou}",
                permission_model="SERVICE_MANAGED",
                auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                    enabled=True, retain_stacks_on_account_removal=False
                ),
                capabilities=["CAPABILITY_NAMED_IAM"],
                managed_execution={"Active": True},
                operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                    failure_tolerance_percentage=0, max_concurrent_percentage=25, region_concurrency_type="PARALLEL"
                ),
                stack_instances_group=[
                    cloudformation.CfnStackSet.StackInstancesProperty(
                        deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                            organizational_unit_ids=[spoke.ou]
                        ),
                        regions=[config.region],
                    )
                ],
                template_body=body,
            )
