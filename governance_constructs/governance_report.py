"""The governance report in the hub: the auditor role that reads it, and the optional weekly
function that publishes it into the evidence bucket and tells reviewers about findings."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from governance_config import Organization, Spoke
from governance_constructs.approval_ledger import ApprovalLedger
from governance_constructs.evidence_archive import ANCHORS_PREFIX, EVIDENCE_PREFIX, REPORTS_PREFIX
from governance_constructs.hub_function import RUNTIME, HubFunction
from governance_constructs.nag import acknowledge, nag_arn
from governance_constructs.registry_reader_role import acknowledge_registry_reads, registry_read_statements
from governance_constructs.spoke_principals import spoke_role_statements

# The Lambda runtime ships boto3 only; the page is rendered with Jinja2 (and its MarkupSafe).
TEMPLATE_ENGINE = ("jinja2", "markupsafe")


def template_engine_layer_folder() -> str:
    """A Lambda layer folder (`python/<package>`) holding Jinja2 and MarkupSafe as installed here.

    Copied from this environment, so synthesis needs no network and no Docker. Only Python source
    is copied: MarkupSafe then uses its pure-Python escaping, whatever the Lambda's Python version.
    The folder is named by the versions, so its content (and the asset hash) is stable.
    """
    versions = "-".join(f"{name}{importlib.metadata.version(name)}" for name in TEMPLATE_ENGINE)
    folder = Path(tempfile.gettempdir()) / f"model-card-governance-layer-{versions}"
    if folder.is_dir():
        return str(folder)
    staging = Path(tempfile.mkdtemp(prefix="layer-", dir=tempfile.gettempdir()))
    for name in TEMPLATE_ENGINE:
        distribution = importlib.metadata.distribution(name)
        source = Path(str(distribution.locate_file(name)))
        shutil.copytree(
            source,
            staging / "python" / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.c", "*.pyi"),
        )
        for file in distribution.files or []:
            if "LICENSE" in file.name.upper():
                shutil.copyfile(Path(str(file.locate())), staging / "python" / f"{name}-{file.name}")
    try:
        os.rename(staging, folder)
    except OSError:  # another synthesis staged it first; theirs is identical
        shutil.rmtree(staging, ignore_errors=True)
    return str(folder)


class GovernanceReport(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        ledger: ApprovalLedger,
        card_links: dynamodb.ITable,
        evidence_bucket: s3.IBucket,
        review_topic: sns.ITopic,
        auditor_role_name: str,
        function_role_name: str,
        registry_reader_role_name: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        pending_review_days: int,
        metric_thresholds: str = "{}",
        weekly: bool,
        approval_policy: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._key, self._ledger, self._links, self._bucket = key, ledger, card_links, evidence_bucket
        self._reader_role_name, self._spokes, self._organization = registry_reader_role_name, spokes, organization

        # Who in the hub may read the report's sources is the hub's own choice (an identity policy
        # there that allows sts:AssumeRole on this role); the role itself can change nothing.
        self.auditor = iam.Role(
            self,
            "AuditorRole",
            role_name=auditor_role_name,
            description="Reads the approval ledger, the evidence, the model cards and (through the spokes' "
            "registry-reader roles) every registry, for the governance report; changes nothing",
            assumed_by=iam.AccountPrincipal(stack.account),
            max_session_duration=Duration.hours(4),
        )
        self._grant_report_reading(self.auditor)

        self.function: HubFunction | None = None
        self.schedule: events.Rule | None = None
        if weekly:
            self.function = HubFunction(
                self,
                "Weekly",
                source="governance_report",
                description="Publishes the weekly model card governance report",
                role_name=function_role_name,
                timeout_seconds=900,
                environment={
                    "HUB_ACCOUNT": stack.account,
                    "LEDGER_TABLE": ledger.table.table_name,
                    "LINK_TABLE": card_links.table_name,
                    "EVIDENCE_BUCKET": evidence_bucket.bucket_name,
                    "TOPIC_ARN": review_topic.topic_arn,
                    # Inside an organization the hub stays the same as spokes come and go: the
                    # report then reads every account the link table names (see run.py).
                    "SPOKE_ACCOUNTS": "" if organization else ",".join(s.account for s in spokes if s.account),
                    "REGISTRY_ROLE_NAME": registry_reader_role_name,
                    "PENDING_REVIEW_DAYS": str(pending_review_days),
                    "METRIC_THRESHOLDS": metric_thresholds,
                    # Tiers, decisions missing, review due dates (card_workflow.approval_policy).
                    **({"APPROVAL_POLICY": approval_policy} if approval_policy else {}),
                },
            )
            self.template_engine = lambda_.LayerVersion(
                self,
                "TemplateEngine",
                code=lambda_.Code.from_asset(template_engine_layer_folder()),
                compatible_runtimes=[RUNTIME],
                description="Jinja2 and MarkupSafe (pure Python) for the governance report page",
            )
            self.function.function.add_layers(self.template_engine)
            role = self.function.role
            self._grant_report_reading(role)
            # The report goes only under reports/; Object Lock's default retention applies to it.
            # Not grant_put: it adds kms:GenerateDataKey* and kms:ReEncrypt*, wildcards; the key grant below is exact.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[evidence_bucket.arn_for_objects(f"{REPORTS_PREFIX}/*")]
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:Publish"], resources=[review_topic.topic_arn])
            )
            key.grant(role, "kms:GenerateDataKey")
            self.schedule = events.Rule(
                self,
                "WeeklySchedule",
                description="Monday 06:00 UTC: the governance report",
                schedule=events.Schedule.cron(minute="0", hour="6", week_day="MON"),
            )
            self.function.on(self.schedule)

    def _grant_report_reading(self, role: iam.Role) -> None:
        stack = Stack.of(self)
        self._ledger.grant(role, "dynamodb:Scan", "dynamodb:Query")
        self._links.grant(role, "dynamodb:Scan")
        self._key.grant(role, "kms:Decrypt")
        # The bucket holds only evidence/ and reports/ (exports have their own bucket): listing it
        # shows the report nothing else.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self._bucket.bucket_arn])
        )
        objects = [self._bucket.arn_for_objects(f"{prefix}/*") for prefix in (EVIDENCE_PREFIX, REPORTS_PREFIX)]
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))
        # The ledger's anchors are read in the versions the workflow wrote, past any delete marker
        # or later version (anchors.py); each action matches only its own resource's type.
        anchors = self._bucket.arn_for_objects(f"{ANCHORS_PREFIX}/*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObjectVersion", "s3:ListBucketVersions"], resources=[self._bucket.bucket_arn, anchors]
            )
        )
        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"], resources=[cards]
            )
        )
        statements = registry_read_statements(stack)
        # ListModelCards has no resource type either; it joins the registry's List actions.
        statements[0].add_actions("sagemaker:ListModelCards")
        for statement in statements:
            role.add_to_principal_policy(statement)
        # As the approval workflow does for the sync roles: the reader role in exactly the spokes.
        statements, any_account = spoke_role_statements(
            self._reader_role_name, self._spokes, self._organization, stack.partition
        )
        for statement in statements:
            role.add_to_principal_policy(statement)
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge_registry_reads(policy, stack)
        for resource in (cards, *objects, anchors):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, resource)}]",
                "Cards and evidence objects are created at run time, one per model version; the grant "
                "is read-only, held to this account and region, and evidence to its two prefixes.",
            )
        if any_account is not None:
            # On the role: with many spokes the CDK moves statements into OverflowPolicy managed policies.
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{nag_arn(stack, any_account)}]",
                "Spoke accounts under OUs are not known at synth (accounts join and leave OUs); each "
                "statement names the registry-reader role and requires the role's account to be a configured "
                "spoke account (aws:ResourceAccount) or under a configured OU (aws:ResourceOrgPaths).",
            )
