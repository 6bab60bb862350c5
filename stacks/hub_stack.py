"""The central model-card account: cards, their key, shares, bus, evidence and ledger."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from governance_config import AccessLevel, GovernanceConfig
from governance_constructs.approval_ledger import ApprovalLedger
from governance_constructs.approval_workflow import ApprovalWorkflow
from governance_constructs.auto_linker import AutoLinker
from governance_constructs.card_key import ModelCardKey
from governance_constructs.card_share import ModelCardShares
from governance_constructs.declared_card import DeclaredModelCard, card_construct_id
from governance_constructs.evidence_archive import EVIDENCE_PREFIX, REPORTS_PREFIX, EvidenceArchive, ExportArchive
from governance_constructs.governance_bus import GovernanceEventBus
from governance_constructs.governance_report import GovernanceReport
from governance_constructs.reconciler import Reconciler
from governance_constructs.reviewer_role import ReviewerRole


class HubStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: GovernanceConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.card_key = ModelCardKey(
            self,
            "CardKey",
            alias=config.card_key_alias,
            hub_account=config.hub_account,
            region=config.region,
            partition=config.partition,
            spokes=config.spokes,
            organization=config.organization,
            exports_bucket_name=config.exports_bucket_name,
        )
        self.cards = [
            DeclaredModelCard(self, card_construct_id(card.name), card=card, key=self.card_key.key)
            for card in config.cards
        ]
        self.shares = ModelCardShares(
            self,
            "CardShares",
            spokes=config.spokes,
            organization=config.organization,
            partition=config.partition,
            sharing=config.sharing,
            share_names={level: config.share_name(level) for level in AccessLevel},
            owner_share_name=config.owner_share_name,
            read_permission_name=config.read_permission_name,
            card_arns=[card.card_arn for card in self.cards],
        )
        self.bus = GovernanceEventBus(
            self,
            "GovernanceBus",
            bus_name=config.event_bus_name,
            spokes=config.spokes,
            organization=config.organization,
            forwarding_role_arn_pattern=f"arn:{config.partition}:iam::*:role/{config.registry_forwarding_role_name}",
        )
        self.evidence = EvidenceArchive(
            self,
            "Evidence",
            bucket_name=config.evidence_bucket_name,
            key=self.card_key.key,
            retention_days=config.evidence_retention_days,
            writers={
                EVIDENCE_PREFIX: config.hub_role_arn(config.approval_workflow_role_name),
                REPORTS_PREFIX: config.hub_role_arn(config.report_function_role_name),
            },
        )
        self.exports = ExportArchive(
            self,
            "Exports",
            bucket_name=config.exports_bucket_name,
            key=self.card_key.key,
            expiry_days=config.export_expiry_days,
            access_logs=self.evidence.access_logs,
            spokes=config.spokes,
            organization=config.organization,
        )
        self.ledger = ApprovalLedger(self, "Ledger", key=self.card_key.key)
        self.auto_linker = AutoLinker(
            self,
            "AutoLink",
            key=self.card_key.key,
            governance_bus=self.bus.bus,
            share_arns=self.shares.every_card_share_arns,
            owner_share_prefix=config.owner_share_prefix if self.shares.owner_shares else None,
            carry_over=config.carry_over_sections,
            carry_over_from=config.carry_over_from,
            template_cards=config.template_cards,
            role_name=config.auto_linker_role_name,
            registry_reader_role_name=config.registry_reader_role_name,
            spokes=config.spokes,
            organization=config.organization,
        )

        self.reviewer = ReviewerRole(
            self,
            "Reviewer",
            role_name=config.reviewer_role_name,
            key=self.card_key.key,
            reviewer_principals=config.reviewer_principals,
        )
        self.workflow = ApprovalWorkflow(
            self,
            "Workflow",
            key=self.card_key.key,
            ledger=self.ledger,
            card_links=self.auto_linker.links,
            evidence_bucket=self.evidence.bucket,
            governance_bus=self.bus.bus,
            reviewers=config.reviewers,
            workflow_role_name=config.approval_workflow_role_name,
            approval_sync_role_name=config.approval_sync_role_name,
            spokes=config.spokes,
            organization=config.organization,
            archived_rejects_package=config.archived_rejects_package,
            approvers=config.approver_arns,
            # Its trust policy admits only sessions with a source identity, so each names a person.
            named_roles=(config.reviewer_role_arn,),
            approver_may_not_edit=config.approver_may_not_edit,
            attribution_deadline=Duration.minutes(config.approval_attribution_minutes),
            metric_thresholds=config.metric_thresholds_json,
            decision_invokers=[self.reviewer.role],
            approval_policy=config.approval_policy_json if config.approval_policy is not None else "",
            lifecycle_stages=config.lifecycle_stages,
            recheck_senders=(config.hub_role_arn(config.reconciler_role_name),),
        )
        self.reconciler = Reconciler(
            self,
            "Reconciler",
            interval=Duration.minutes(config.reconcile_interval_minutes),
            role_name=config.reconciler_role_name,
            key=self.card_key.key,
            ledger=self.ledger,
            card_links=self.auto_linker.links,
            evidence_bucket=self.evidence.bucket,
            topic=self.workflow.topic,
            recheck_queue=self.workflow.recheck,
            auto_linker=self.auto_linker.handler.function,
            workflow=self.workflow.handler.function,
            dead_letters={
                "auto_link": self.auto_linker.handler.dead_letters.queue,
                "card_workflow": self.workflow.handler.dead_letters.queue,
            },
            registry_reader_role_name=config.registry_reader_role_name,
            forwarding_rule_name=config.registry_forwarding_rule_name,
            hub_bus_arn=self.bus.bus.event_bus_arn,
            spokes=config.spokes,
            organization=config.organization,
            deployable_stage=(
                f"{stage.stage}/{stage.stage_status}"
                if config.approval_policy and (stage := config.approval_policy.on_approval)
                else ""
            ),
        )
        # The workflow appends status, verdicts and notices; its export follower appends PDFs; the
        # decision endpoint appends approvers' decisions; the reconciler appends what it did and the
        # notices it sent.
        self.ledger.only_written_by(
            [
                self.workflow.handler.role,
                self.workflow.follower.role,
                self.workflow.decisions.role,
                self.reconciler.function.role,
            ]
        )
        self.report = GovernanceReport(
            self,
            "Report",
            key=self.card_key.key,
            ledger=self.ledger,
            card_links=self.auto_linker.links,
            evidence_bucket=self.evidence.bucket,
            review_topic=self.workflow.topic,
            auditor_role_name=config.auditor_role_name,
            function_role_name=config.report_function_role_name,
            registry_reader_role_name=config.registry_reader_role_name,
            spokes=config.spokes,
            organization=config.organization,
            pending_review_days=config.report.pending_review_days,
            metric_thresholds=config.metric_thresholds_json,
            weekly=config.report.weekly,
            approval_policy=config.approval_policy_json if config.approval_policy is not None else "",
        )

        CfnOutput(self, "CardKeyArn", value=self.card_key.key.key_arn, description="Set as hub.card_key_arn in config")
        CfnOutput(self, "GovernanceBusArn", value=self.bus.bus.event_bus_arn)
        CfnOutput(self, "EvidenceBucketName", value=self.evidence.bucket.bucket_name)
        CfnOutput(self, "ExportsBucketName", value=self.exports.bucket.bucket_name)
        CfnOutput(self, "LedgerTableName", value=self.ledger.table.table_name)
        CfnOutput(self, "ReviewTopicArn", value=self.workflow.topic.topic_arn)
        CfnOutput(self, "ReviewerRoleArn", value=self.reviewer.role.role_arn, description="Assume it to approve cards")
        CfnOutput(
            self,
            "DecisionUrl",
            value=self.workflow.decision_url.url,
            description="Approvers decide here: scripts/review approve CARD --version N --comment TEXT --url URL",
        )
        CfnOutput(self, "CardLinkTableName", value=self.auto_linker.links.table_name)
        CfnOutput(self, "AuditorRoleArn", value=self.report.auditor.role_arn)
        CfnOutput(
            self,
            "ReconcilerFunctionName",
            value=self.reconciler.function.function.function_name,
            description="scripts/reconcile --function",
        )
        for level, share in self.shares.shares.items():
            CfnOutput(self, f"ShareArn{level.name.title().replace('_', '')}", value=share.attr_arn)
