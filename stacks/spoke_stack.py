"""A spoke account: access to the shared cards, registry event forwarding, the approval-sync role."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from governance_config import AccessLevel, GovernanceConfig
from governance_constructs.approval_sync_role import ApprovalSyncRole
from governance_constructs.event_forwarding import RegistryEventForwarding
from governance_constructs.registry_reader_role import RegistryReaderRole
from governance_constructs.spoke_access import SharedCardAccess


class SpokeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: GovernanceConfig, access: AccessLevel, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.card_access = SharedCardAccess(
            self,
            "SharedCardAccess",
            access=access,
            hub_account=config.hub_account,
            region=config.region,
            partition=config.partition,
            exports_bucket_name=config.exports_bucket_name,
            card_key_arn=config.card_key_arn,
        )
        hub_bus_arn = (
            f"arn:{config.partition}:events:{config.region}:{config.hub_account}:event-bus/{config.event_bus_name}"
        )
        self.forwarding = RegistryEventForwarding(
            self,
            "RegistryEvents",
            hub_bus_arn=hub_bus_arn,
            role_name=config.registry_forwarding_role_name,
            rule_name=config.registry_forwarding_rule_name,
        )
        self.approval_sync = ApprovalSyncRole(
            self,
            "ApprovalSync",
            role_name=config.approval_sync_role_name,
            hub_account=config.hub_account,
            partition=config.partition,
            workflow_role_name=config.approval_workflow_role_name,
            # The stages the hub's workflow sets (approval_policy), and no others.
            lifecycle_stages=config.lifecycle_stages,
        )
        # The auto-linker reads a new version's evaluation reports through this role; the reconciler
        # reads the registry and the forwarding rule's state.
        readers = [config.auditor_role_name, config.auto_linker_role_name, config.reconciler_role_name]
        if config.report.weekly:
            readers.append(config.report_function_role_name)
        self.registry_reader = RegistryReaderRole(
            self,
            "RegistryReader",
            role_name=config.registry_reader_role_name,
            hub_account=config.hub_account,
            partition=config.partition,
            reader_role_names=readers,
            forwarding_rule_arn=self.forwarding.rule.rule_arn,
        )
        CfnOutput(self, "CardUserRoleArn", value=self.card_access.role.role_arn)
        CfnOutput(self, "CardUserPolicyArn", value=self.card_access.policy.managed_policy_arn)
