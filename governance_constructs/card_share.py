"""RAM shares of the hub's model cards: who may read, and who may edit which cards."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ram as ram
from constructs import Construct

from governance_config import AccessLevel, Organization, Sharing, Spoke
from governance_constructs.aws_facts import (
    EDIT_PERMISSION_NAME,
    EXPORT_PERMISSION_NAME,
    MODEL_CARD_RESOURCE_TYPE,
    READ_ACTIONS,
    aws_managed_permission_arn,
    organization_arn,
    ou_arn,
)
from governance_constructs.nested_chunks import NestedChunks

# Nested stacks for the owner shares: at 80 % of 500 resources each, room for 3,200 editing spokes.
OWNER_SHARE_CHUNKS = 8


class ModelCardShares(Construct):
    """The hub's RAM shares of type sagemaker:ModelCard; the auto-linker only adds cards to them.

    With `own-account` sharing (the default), `ShareRead` gives every spoke read-only access to
    every card (inside an organization with a management account configured: every account of
    the organization, one principal whatever the number of spokes), and each account spoke that
    may edit gets a share of its own (`Owner<account>`, named by `owner_share_name`) with its
    access level, holding only the cards of packages that account registered. A principal reached
    by several shares of a resource gets the union of their permissions, so the owner edits its
    own cards and reads everyone else's.

    An OU spoke has no owner share: the hub learns a package's account from the event, never its
    OU, and sharing a card with the whole OU at edit level would let every account in it edit. Its
    accounts therefore read every card, their own included (list an account as an account spoke to
    let it edit its own cards).

    With `all-spokes` sharing, there is one share per access level in use, each spoke at its level
    on every card.

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
        sharing: Sharing,
        share_names: dict[AccessLevel, str],
        owner_share_name: Callable[[str], str],
        read_permission_name: str,
        card_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.shares: dict[AccessLevel, ram.CfnResourceShare] = {}
        self.owner_shares: dict[str, ram.CfnResourceShare] = {}
        self.owner_share_stacks: NestedChunks | None = None
        self.read_permission: ram.CfnPermission | None = None
        self._organization = organization
        self._partition = partition
        self._read_permission_name = read_permission_name
        if not spokes:
            raise ValueError("ModelCardShares: at least one spoke is needed")
        missing = [level.value for level in AccessLevel if level not in share_names]
        if missing:
            raise ValueError(f"ModelCardShares: no share name for access level {missing[0]!r}")

        if sharing is Sharing.ALL_SPOKES:
            for level in AccessLevel:
                at_level = [s for s in spokes if s.access is level]
                if at_level:
                    self.shares[level] = self._share(
                        f"Share{level.name.title().replace('_', '')}", share_names[level], at_level, level, card_arns
                    )
        else:
            self.shares[AccessLevel.READ] = self._share(
                "ShareRead", share_names[AccessLevel.READ], spokes, AccessLevel.READ, card_arns, whole_organization=True
            )
            owners = [s for s in spokes if s.account and s.access.can_edit]
            # One share per editing account spoke: they live in nested stacks so the hub stack
            # stays inside 500 resources with a thousand spokes.
            self.owner_share_stacks = NestedChunks(self, "OwnerShares", chunks=OWNER_SHARE_CHUNKS) if owners else None
            for spoke in owners:
                assert spoke.account is not None and self.owner_share_stacks is not None
                self.owner_shares[spoke.account] = self._share(
                    f"Owner{spoke.account}",
                    owner_share_name(spoke.account),
                    [spoke],
                    spoke.access,
                    [],
                    scope=self.owner_share_stacks.scope_for(spoke.account),
                )

    @property
    def every_card_share_arns(self) -> list[str]:
        """The shares each new card joins, whoever registered its package."""
        return [share.attr_arn for share in self.shares.values()]

    def _share(
        self,
        construct_id: str,
        name: str,
        spokes: Sequence[Spoke],
        level: AccessLevel,
        card_arns: Sequence[str],
        *,
        scope: Construct | None = None,
        whole_organization: bool = False,
    ) -> ram.CfnResourceShare:
        organization = self._organization
        if whole_organization and organization is not None and organization.management_account is not None:
            # One principal however many spokes: RAM has no conditions, and a list of a thousand
            # accounts would meet its principals-per-share quota (aws_quotas).
            principals = [organization_arn(self._partition, organization.management_account, organization.id)]
        else:
            principals = [self._principal(s) for s in spokes]
        share = ram.CfnResourceShare(
            scope or self,
            construct_id,
            name=name,
            principals=principals,
            resource_arns=list(card_arns) or None,
            permission_arns=[self._permission_arn(level)],
            # Inside an organization, nothing may leave it; outside, spokes must accept an invitation.
            allow_external_principals=self._organization is None,
        )
        share.apply_removal_policy(RemovalPolicy.RETAIN)
        return share

    def _permission_arn(self, level: AccessLevel) -> str:
        if level is AccessLevel.EDIT:
            return aws_managed_permission_arn(self._partition, EDIT_PERMISSION_NAME)
        if level is AccessLevel.EDIT_EXPORT:
            return aws_managed_permission_arn(self._partition, EXPORT_PERMISSION_NAME)
        if self.read_permission is None:
            self.read_permission = ram.CfnPermission(
                self,
                "ReadOnlyPermission",
                name=self._read_permission_name,
                resource_type=MODEL_CARD_RESOURCE_TYPE,
                policy_template={"Effect": "Allow", "Action": list(READ_ACTIONS)},
            )
            self.read_permission.apply_removal_policy(RemovalPolicy.RETAIN)
        return self.read_permission.attr_arn

    def _principal(self, spoke: Spoke) -> str:
        if spoke.account:
            return spoke.account
        organization = self._organization
        if organization is None or organization.management_account is None or spoke.ou is None:
            raise ValueError(
                f"ModelCardShares: OU spoke {spoke.name!r} needs an organization with a management account"
            )
        return ou_arn(self._partition, organization.management_account, organization.id, spoke.ou)
