"""The hub's KMS key for model cards, usable by spokes only for this hub's cards."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.aws_facts import (
    CARD_ENCRYPTION_CONTEXT_KEY,
    S3_ENCRYPTION_CONTEXT_KEY,
    model_card_arn,
    via_services,
)
from governance_constructs.nag import checkov_skip
from governance_constructs.spoke_principals import SpokeGrantee, merge_conditions, organization_grantee


def _not_the_hub(grantee: SpokeGrantee | None, hub_account: str) -> SpokeGrantee | None:
    """Keep a `*` grantee off the hub's own principals; spoke account principals never match them."""
    if grantee is None or not any(isinstance(p, iam.AnyPrincipal) for p in grantee.principals):
        return grantee
    outside_hub = {"StringNotEquals": {"aws:PrincipalAccount": hub_account}}
    return SpokeGrantee(grantee.principals, merge_conditions(grantee.conditions, outside_hub))


class ModelCardKey(Construct):
    """Customer-managed key (rotation on) for cards, the evidence bucket and the ledger.

    Spokes get kms:Decrypt (and, if they may edit, kms:GenerateDataKey) only through SageMaker or
    S3 in the hub region, and only with the encryption context of a card of this hub; read-only
    spokes never encrypt. kms:GrantIsForAWSResource is left out on purpose: it is only set on
    CreateGrant calls, so on Decrypt it never matches and would deny every spoke. Spokes allowed to
    export may also write and read export PDFs in the exports bucket: that bucket uses an S3 Bucket
    Key, so S3's encryption context is the bucket's ARN, not the object's.

    The policy does not grow with the number of spokes inside an organization: each statement
    admits principals of the organization (`aws:PrincipalOrgID`, a global condition key present
    in every signed request) and holds them to `kms:ViaService` and the encryption context, both
    listed for kms:Decrypt and kms:GenerateDataKey in the Service Authorization Reference (AWS Key
    Management Service). Which spoke reaches which card stays decided by the RAM shares:
    SageMaker asks KMS for a card's key only on behalf of a caller the share admits (a read-only
    share has no UpdateModelCard, so no encryption), and S3 only for a request the exports
    bucket's policy admits. Outside an organization the statements list the spoke accounts (only
    the editing ones for encryption, only the exporting ones for exports). A key policy holds at
    most 32 KB (KMS quotas).

    Every `*` statement also requires `aws:PrincipalAccount` not to be the hub's. Within the key's
    own account a key policy statement that matches a principal allows on its own, without any IAM
    policy (KMS Developer Guide, "Key policies"; IAM User Guide, "Policy evaluation for requests
    within a single account"), so `aws:PrincipalOrgID` alone would let every hub principal, a hub
    developer included, decrypt any card through SageMaker. Hub principals get the key only through
    the statement that delegates to the hub's IAM policies (`arn:aws:iam::<hub>:root`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        hub_account: str,
        region: str,
        partition: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        exports_bucket_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Encrypts SageMaker model cards, their evidence and approval ledger",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        card_use = {
            "StringEquals": {"kms:ViaService": via_services(region, "sagemaker", "s3")},
            "StringLike": {CARD_ENCRYPTION_CONTEXT_KEY: model_card_arn(partition, region, hub_account)},
        }
        users = _not_the_hub(organization_grantee(spokes, organization), hub_account)
        if users is not None:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SpokesUseKeyForSharedModelCards",
                    principals=list(users.principals),
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions=merge_conditions(users.conditions, card_use),
                )
            )
        editors = _not_the_hub(
            organization_grantee(spokes, organization, include=lambda s: s.access.can_edit), hub_account
        )
        if editors is not None:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SpokesEncryptSharedModelCards",
                    principals=list(editors.principals),
                    actions=["kms:GenerateDataKey"],
                    resources=["*"],
                    conditions=merge_conditions(editors.conditions, card_use),
                )
            )
        export_use = {
            "StringEquals": {
                "kms:ViaService": via_services(region, "s3"),
                S3_ENCRYPTION_CONTEXT_KEY: f"arn:{partition}:s3:::{exports_bucket_name}",
            },
        }
        exporters = _not_the_hub(
            organization_grantee(spokes, organization, include=lambda s: s.access.can_export), hub_account
        )
        if exporters is not None:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SpokesEncryptModelCardExports",
                    principals=list(exporters.principals),
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],
                    conditions=merge_conditions(exporters.conditions, export_use),
                )
            )
        if organization is not None:
            checkov_skip(
                self.key,
                "CKV_AWS_33",
                "Principal * appears only in the spokes' statements, each held by aws:PrincipalOrgID to "
                "this organization, by kms:ViaService to SageMaker or S3 in the hub region and by the "
                "encryption context to this hub's model cards or its exports bucket; naming accounts "
                "instead would grow the 32 KB key policy with every spoke account of every OU.",
            )
