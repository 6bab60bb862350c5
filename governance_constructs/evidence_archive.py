"""The evidence bucket (approval snapshots and PDFs that no one can rewrite), and the exports bucket
where spokes' own export PDFs go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from governance_config import EXPORT_PREFIX, Organization, Spoke
from governance_constructs.nag import acknowledge, checkov_skip
from governance_constructs.spoke_principals import spoke_grantees

# Each exporting account writes and reads only under its own account ID.
OWN_EXPORTS = f"{EXPORT_PREFIX}/${{aws:PrincipalAccount}}/*"
# What the evidence bucket holds: approval evidence (the workflow's) and the weekly reports.
EVIDENCE_PREFIX = "evidence"
REPORTS_PREFIX = "reports"
# Where the workflow anchors the ledger's chain heads (lambdas/card_workflow/anchors.py).
ANCHORS_PREFIX = f"{EVIDENCE_PREFIX}/_anchors"
# How long an export version that is no longer current stays restorable.
NONCURRENT_EXPORT_LIFETIME = Duration.days(1)
# S3's API reference states no maximum for a bucket's default retention (DefaultRetention: Days or
# Years, an integer); the CDK's ObjectLockRetention refuses more than 100 years (36,500 days).
MAX_RETENTION_DAYS = 36500


class EvidenceArchive(Construct):
    """Versioned, KMS-encrypted, TLS-only bucket with S3 Object Lock in compliance mode.

    Compliance mode means no principal, the root user included, can delete or overwrite an object
    version before its retention ends (S3 User Guide, "Locking objects with Object Lock"); the
    retention comes from config, in days. Governance mode is never offered: a principal allowed
    s3:BypassGovernanceRetention could delete the evidence. Server access logs go to a
    second bucket. What anyone else wrote could never be deleted again, so the bucket policy gives
    each prefix one writer (`writers`: prefix -> the role ARN) and denies every other principal's
    PutObject there, and everyone's outside those prefixes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        retention_days: int,
        writers: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(f"EvidenceArchive: retention_days {retention_days} must be 1 to {MAX_RETENTION_DAYS}")
        for prefix, role_arn in writers.items():
            if not prefix or "/" in prefix or "*" in prefix:
                raise ValueError(f"EvidenceArchive: writers prefix {prefix!r} must be one folder name")
            if not role_arn.startswith("arn:") or ":role/" not in role_arn:
                raise ValueError(f"EvidenceArchive: writers[{prefix!r}] {role_arn!r} is not a role ARN")
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(365))],
        )
        # A log bucket that logged to another bucket would need a third, and so on: AWS's own
        # guidance is that the access-log target bucket does not log itself.
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the server access log target of the evidence bucket; S3 advises against "
            "logging a log bucket (it would log its own log deliveries).",
        )
        checkov_skip(
            self.access_logs,
            "CKV_AWS_18",
            "This is the server access log target of the evidence and exports buckets; S3 advises "
            "against logging a log bucket (it would log its own log deliveries).",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(retention_days)),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="evidence/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        for prefix, role_arn in writers.items():
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"OnlyItsWriterWrites{prefix.title()}",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:PutObject"],
                    resources=[self.bucket.arn_for_objects(f"{prefix}/*")],
                    # IfExists: a service writing on the writer's behalf (the PDF export) carries no
                    # principal ARN of its own; every IAM principal but the writer's role is refused.
                    conditions={"ArnNotEqualsIfExists": {"aws:PrincipalArn": role_arn}},
                )
            )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NothingOutsideTheWritersPrefixes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                not_resources=[self.bucket.arn_for_objects(f"{prefix}/*") for prefix in writers],
            )
        )


class ExportArchive(Construct):
    """Where spokes allowed to export write the PDFs they start: KMS-encrypted with the card key,
    TLS only, no Object Lock (these are working copies, not evidence) and expiring after
    `expiry_days`. Each exporting account may write and read only `exports/<its account ID>/`.

    Versioned, so a copy a spoke overwrote or deleted by mistake can be restored for a day; a
    version that stops being current (overwritten, deleted, or expired) is removed a day later, so
    no copy outlives `expiry_days` by more than a day.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        expiry_days: int,
        access_logs: s3.IBucket,
        spokes: Sequence[Spoke],
        organization: Organization | None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= expiry_days <= 3650:
            raise ValueError(f"ExportArchive: expiry_days {expiry_days} must be 1 to 3650")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # With a bucket key, S3 asks KMS with the bucket ARN as encryption context.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="exports/",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(expiry_days),
                    noncurrent_version_expiration=NONCURRENT_EXPORT_LIFETIME,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # S3 refuses ExpiredObjectDeleteMarker beside expiration days in one rule; once its
                # last version is gone, an expired copy's delete marker is all that is left.
                s3.LifecycleRule(expired_object_delete_marker=True),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index, grantee in enumerate(spoke_grantees(spokes, organization, include=lambda s: s.access.can_export)):
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"SpokesWriteTheirModelCardExports{index}",
                    principals=list(grantee.principals),
                    actions=["s3:PutObject", "s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(OWN_EXPORTS)],
                    conditions=grantee.conditions or None,
                )
            )
