"""RAM shares of the hub's model cards, one per access level in use."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ram as ram
from constructs import Construct

from governance_config import AccessLevel, Organization, Spoke
from governance_constructs.aws_facts import (
    EDIT_PERMISSION_NAME,
    EXPORT_PERMISSION_NAME,
    MODEL_CARD_RESOURCE_TYPE,
    READ_ACTIONS,
    aws_managed_permission_arn,
    ou_arn,
)


class ModelCardShares(Construct):
    """A RAM resource share of type sagemaker:ModelCard for each access level.

    `read` needs a customer-managed permission: the AWS-managed AWSRAMPermissionSageMakerModelCards
    includes UpdateModelCard, so it would let read-only spokes edit.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        partition: str,
        share_names: dict[AccessLevel, str],
        read_permission_name: str,
        card_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.shares: dict[AccessLevel, ram.CfnResourceShare] = {}
        self.read_permission: ram.CfnPermission | None = None
        levels = [level for level in AccessLevel if any(s.access is level for s in spokes)]
        for level in levels:
            if level not in share_names:
                raise ValueError(f"ModelCardShares: no share name for access level {level.value!r}")
            principals = [self._principal(s, organization, partition) for s in spokes if s.access is level]
            share = ram.CfnResourceShare(
                self,
                f"Share{level.name.title().replace('_', '')}",
                name=share_names[level],
                principals=principals,
                resource_arns=list(card_arns),
                permission_arns=[self._permission_arn(level, partition, read_permission_name)],
                # Inside an organization, nothing may leave it; outside, spokes must accept an invitation.
                allow_external_principals=organization is None,
            )
            share.apply_removal_policy(RemovalPolicy.RETAIN)
            self.shares[level] = share

    def _permission_arn(self, level: AccessLevel, partition: str, read_permission_name: str) -> str:
        if level is AccessLevel.EDIT:
            return aws_managed_permission_arn(partition, EDIT_PERMISSION_NAME)
        if level is AccessLevel.EDIT_EXPORT:
            return aws_managed_permission_arn(partition, EXPORT_PERMISSION_NAME)
        if self.read_permission is None:
            self.read_permission = ram.CfnPermission(
                self,
                "ReadOnlyPermission",
                name=read_permission_name,
                resource_type=MODEL_CARD_RESOURCE_TYPE,
                policy_template={"Effect": "Allow", "Action": list(READ_ACTIONS)},
            )
            self.read_permission.apply_removal_policy(RemovalPolicy.RETAIN)
        return self.read_permission.attr_arn

    @staticmethod
    def _principal(spoke: Spoke, organization: Organization | None, partition: str) -> str:
        if spoke.account:
            return spoke.account
        if organization is None or organization.management_account is None or spoke.ou is None:
            raise ValueError(
                f"ModelCardShares: OU spoke {spoke.name!r} needs an organization with a management account"
            )
        return ou_arn(partition, organization.management_account, organization.id, spoke.ou)
