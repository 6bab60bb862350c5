"""What a spoke's users may do with the hub's shared cards, as an IAM managed policy and role."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from governance_config import EXPORT_PREFIX, AccessLevel
from governance_constructs.aws_facts import (
    CARD_ENCRYPTION_CONTEXT_KEY,
    EDIT_ACTIONS,
    EXPORT_CARD_ACTIONS,
    EXPORT_JOB_ACTIONS,
    READ_ACTIONS,
    S3_ENCRYPTION_CONTEXT_KEY,
    model_card_arn,
    model_card_export_job_arn,
    via_services,
)
from governance_constructs.nag import acknowledge


class SharedCardAccess(Construct):
    """A managed policy with exactly the card actions of the spoke's access level, and a role with it.

    Every resource is in the hub account: the cards (`model-card/*`), their export jobs, the hub key
    (only with a card's encryption context; kms:GenerateDataKey only for levels that edit) and, for
    export, this account's own prefix of the hub's exports bucket. There is no
    sagemaker:DeleteModelCard, and nothing in any other account. sagemaker:Search, which the SageMaker
    Python SDK needs, is the one grant on `*`: it finds only this account's own resources. What a
    spoke may do to a given card is further held by RAM: with own-account sharing it edits only its
    own cards.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access: AccessLevel,
        hub_account: str,
        region: str,
        partition: str,
        exports_bucket_name: str,
        card_key_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        cards = model_card_arn(partition, region, hub_account)
        card_actions = list(READ_ACTIONS)
        if access.can_edit:
            card_actions += EDIT_ACTIONS
        if access.can_export:
            card_actions += EXPORT_CARD_ACTIONS
        statements = [
            iam.PolicyStatement(sid="UseSharedModelCards", actions=card_actions, resources=[cards]),
            # ListResources has no resource-level permissions; it is how a spoke user finds the cards.
            iam.PolicyStatement(sid="FindSharedModelCards", actions=["ram:ListResources"], resources=["*"]),
            # The SageMaker Python SDK searches while it loads a card with model package details
            # (v2's ModelCard.load); without this every auto-linked card fails to load. Search has no
            # resource type (Service Authorization Reference) and answers "only ... resources from
            # your account" (API reference, SearchRequest CrossAccountFilterOption): nothing of the hub.
            iam.PolicyStatement(sid="SearchForTheSageMakerSdk", actions=["sagemaker:Search"], resources=["*"]),
        ]
        key_resource = card_key_arn or f"arn:{partition}:kms:{region}:{hub_account}:key/*"
        statements.append(
            iam.PolicyStatement(
                sid="DecryptSharedModelCards",
                actions=["kms:Decrypt", "kms:GenerateDataKey"] if access.can_edit else ["kms:Decrypt"],
                resources=[key_resource],
                conditions={
                    "StringEquals": {"kms:ViaService": via_services(region, "sagemaker", "s3")},
                    "StringLike": {CARD_ENCRYPTION_CONTEXT_KEY: cards},
                },
            )
        )
        exports_bucket = f"arn:{partition}:s3:::{exports_bucket_name}"
        export_objects = f"{exports_bucket}/{EXPORT_PREFIX}/${{aws:PrincipalAccount}}/*"
        if access.can_export:
            statements += [
                iam.PolicyStatement(
                    sid="FollowModelCardExports",
                    actions=list(EXPORT_JOB_ACTIONS),
                    resources=[model_card_export_job_arn(partition, region, hub_account)],
                ),
                iam.PolicyStatement(
                    sid="WriteModelCardExports", actions=["s3:PutObject", "s3:GetObject"], resources=[export_objects]
                ),
                iam.PolicyStatement(
                    sid="EncryptModelCardExports",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[key_resource],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": via_services(region, "s3"),
                            # The exports bucket uses an S3 Bucket Key: the context is the bucket ARN.
                            S3_ENCRYPTION_CONTEXT_KEY: exports_bucket,
                        },
                    },
                ),
            ]
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Shared SageMaker model cards of hub {hub_account} ({access.value})",
            statements=statements,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.AccountRootPrincipal(),
            description=f"Users of the model cards shared by hub {hub_account} ({access.value})",
            managed_policies=[self.policy],
        )
        self._acknowledge_wildcards(
            cards=cards,
            key_resource=None if card_key_arn else key_resource,
            export_objects=export_objects if access.can_export else None,
            export_jobs=model_card_export_job_arn(partition, region, hub_account) if access.can_export else None,
        )

    def _acknowledge_wildcards(
        self, *, cards: str, key_resource: str | None, export_objects: str | None, export_jobs: str | None
    ) -> None:
        findings = {
            f"Resource::{cards}": "Cards are created at run time, one per model package version, so their "
            "names are not known at synth; the ARN is pinned to the hub account and region, and RAM "
            "still admits only cards that are in a share with this account.",
            "Resource::*": "ram:ListResources and sagemaker:Search support no resource-level permission (Service "
            "Authorization Reference, AWS RAM and Amazon SageMaker AI). ListResources only lists what is already "
            "shared with this account; Search (which the SageMaker Python SDK calls to load a card) answers "
            "only this account's own SageMaker resources, never the hub's (API reference, SearchRequest).",
        }
        if key_resource:
            findings[f"Resource::{key_resource}"] = (
                "The hub key's ID is generated when the hub deploys; set hub.card_key_arn in config to pin "
                "it. Until then the statement is held to the hub account and region, to use through "
                "SageMaker or S3, and to the encryption context of the hub's model cards."
            )
        if export_objects:
            # cdk-nag writes a policy variable ${x} as <x>.
            findings[f"Resource::{export_objects.replace('${', '<').replace('}', '>')}"] = (
                "Export PDFs are written under per-card, per-version keys chosen at run time; the grant "
                "is limited to this account's own prefix of the hub's exports bucket."
            )
        if export_jobs:
            findings[f"Resource::{export_jobs}"] = (
                "Export job names are chosen when a job starts; the ARN is held to jobs of the hub's cards."
            )
        for finding, reason in findings.items():
            acknowledge(self.policy, f"AwsSolutions-IAM5[{finding}]", reason)
