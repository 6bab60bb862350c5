"""Rolls the spoke stack out to every account of the OU spokes, now and later, with StackSets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from governance_config import AccessLevel, GovernanceConfig

# CreateStackInstances takes at most 50 OUs per call (CloudFormation API reference,
# CreateStackInstances); each stack-instances group names half that, well inside the quota.
MAX_OUS_PER_INSTANCES_GROUP = 25


class OuRolloutStack(Stack):
    """One service-managed StackSet per access level, whose targets are every OU of that level.

    Adding or removing an OU spoke changes a list of OU IDs, not the number of resources, and the
    spoke template is embedded once per level. Auto-deployment: an account that joins one of the
    OUs gets the spoke stack, one that leaves has it removed. Deployed to the organization's
    management account or, with `organization.stack_set_delegated_admin`, to that delegated
    StackSets administrator, which then acts with `CallAs: DELEGATED_ADMIN`. `spoke_templates`
    maps each level in use to its synthesized, account-agnostic spoke template.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GovernanceConfig,
        spoke_templates: Mapping[AccessLevel, Mapping[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        organization = config.organization
        if organization is None:
            raise ValueError("OuRolloutStack: OU spokes need organization in config")
        call_as = "DELEGATED_ADMIN" if organization.stack_set_delegated_admin else "SELF"
        self.stack_sets: dict[AccessLevel, cloudformation.CfnStackSet] = {}
        for level in AccessLevel:
            ous = [s.ou for s in config.ou_spokes if s.access is level and s.ou]
            if not ous:
                continue
            if level not in spoke_templates:
                raise ValueError(f"OuRolloutStack: no spoke template for access level {level.value!r}")
            groups = [
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=ous[start : start + MAX_OUS_PER_INSTANCES_GROUP]
                    ),
                    regions=[config.region],
                )
                for start in range(0, len(ous), MAX_OUS_PER_INSTANCES_GROUP)
            ]
            self.stack_sets[level] = cloudformation.CfnStackSet(
                self,
                f"Spoke{level.name.title().replace('_', '')}",
                stack_set_name=config.stack_set_name(level),
                description=f"Model card governance spoke ({level.value}) for {len(ous)} OU(s)",
                permission_model="SERVICE_MANAGED",
                call_as=call_as,
                auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                    enabled=True, retain_stacks_on_account_removal=False
                ),
                capabilities=["CAPABILITY_NAMED_IAM"],
                managed_execution={"Active": True},
                operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                    failure_tolerance_percentage=0, max_concurrent_percentage=25, region_concurrency_type="PARALLEL"
                ),
                stack_instances_group=groups,
                # Compact JSON: the body is measured against the StackSet TemplateBody quota.
                template_body=json.dumps(spoke_templates[level], separators=(",", ":")),
            )
