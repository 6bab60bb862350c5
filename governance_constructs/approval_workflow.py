"""The approval workflow: card status events drive the ledger, review notices, evidence and package
approval; package events pass through the approval gate."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from governance_config import LifecycleStage, Organization, Spoke
from governance_constructs.approval_ledger import ApprovalLedger
from governance_constructs.aws_facts import (
    MODEL_CARD_EXPORT_JOB_STATE_CHANGE,
    MODEL_CARD_STATE_CHANGE,
    SAGEMAKER_SOURCE,
)
from governance_constructs.dead_letters import DeadLetterQueue
from governance_constructs.event_forwarding import model_package_state_change_pattern
from governance_constructs.hub_function import HubFunction
from governance_constructs.nag import acknowledge, nag_arn
from governance_constructs.package_updates import package_update_statements
from governance_constructs.spoke_principals import spoke_role_statements

EVIDENCE_PREFIX = "evidence"


class ApprovalWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        ledger: ApprovalLedger,
        card_links: dynamodb.ITable,
        evidence_bucket: s3.IBucket,
        governance_bus: events.IEventBus,
        reviewers: Sequence[str],
        workflow_role_name: str,
        approval_sync_role_name: str,
        spokes: Sequence[Spoke],
        organization: Organization | None,
        archived_rejects_package: bool,
        approvers: Sequence[str],
        approver_may_not_edit: bool,
        attribution_deadline: Duration,
        metric_thresholds: str = "{}",
        named_roles: Sequence[str] = (),
        decision_invokers: Sequence[iam.IRole] = (),
        approval_policy: str = "",
        lifecycle_stages: Sequence[LifecycleStage] = (),
        recheck_senders: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.topic = sns.Topic(
            self, "ReviewNotices", display_name="Model card reviews", master_key=key, enforce_ssl=True
        )
        for address in reviewers:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        self.follow_up_dead_letters = DeadLetterQueue(self, "FollowUpDeadLetters", purpose="export jobs not followed")
        self.follow_up = sqs.Queue(
            self,
            "ExportFollowUp",
            # The card key: the only roles that send and receive here hold it already, so it
            # costs no key of its own and no wider grant (SQS-managed SSE is not a KMS key, and
            # the AWS managed key alias/aws/sqs would let any role of the account decrypt).
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(180),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.follow_up_dead_letters.queue),
        )
        # Approvals whose CloudTrail record has not arrived come back here to be decided again.
        self.recheck_dead_letters = DeadLetterQueue(self, "RecheckDeadLetters", purpose="approvals not rechecked")
        self.recheck = sqs.Queue(
            self,
            "ApprovalRecheck",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            # Lambda's guidance for an SQS source: at least six times the function's timeout.
            visibility_timeout=Duration.seconds(360),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.recheck_dead_letters.queue),
        )
        common = {
            "LEDGER_TABLE": ledger.table.table_name,
            "TOPIC_ARN": self.topic.topic_arn,
            "EVIDENCE_BUCKET": evidence_bucket.bucket_name,
            "FOLLOW_UP_QUEUE_URL": self.follow_up.queue_url,
            "APPROVAL_ROLE_NAME": approval_sync_role_name,
            "HUB_ACCOUNT": stack.account,
            "ARCHIVED_REJECTS_PACKAGE": "true" if archived_rejects_package else "false",
            "LINK_TABLE": card_links.table_name,
            # The export job's own event records its PDF; the queue's first look, for an event that
            # is lost, waits the longest delay SQS allows (15 minutes).
            "FOLLOW_UP_DELAY_SECONDS": "900",
            "APPROVERS": json.dumps(list(approvers)),
            "APPROVER_MAY_NOT_EDIT": "true" if approver_may_not_edit else "false",
            "NAMED_ROLES": json.dumps(list(named_roles)),
            "RECHECK_QUEUE_URL": self.recheck.queue_url,
            "ATTRIBUTION_DEADLINE_SECONDS": str(int(attribution_deadline.to_seconds())),
            "RECHECK_DELAY_SECONDS": "300",
            "METRIC_THRESHOLDS": metric_thresholds,
        }
        if approval_policy:
            # governance_config's approval_policy_json; without it one person of APPROVERS approves.
            # Its size counts towards the function's 4 KB environment, which aws_quotas checks at synth.
            common["APPROVAL_POLICY"] = approval_policy
        self.handler = HubFunction(
            self,
            "Handler",
            source="card_workflow",
            description="Model card approval workflow and package approval gate",
            environment=common,
            role_name=workflow_role_name,
        )
        self.follower = HubFunction(
            self,
            "ExportFollower",
            source="card_workflow",
            entry="follow_exports",
            description="Follows model card export jobs into the evidence ledger",
            environment=common,
            timeout_seconds=120,
        )
        self.follower.function.add_event_source(
            event_sources.SqsEventSource(self.follow_up, batch_size=10, report_batch_item_failures=True)
        )
        self.handler.function.add_event_source(
            event_sources.SqsEventSource(self.recheck, batch_size=10, report_batch_item_failures=True)
        )

        cards = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*")
        export_jobs = stack.format_arn(service="sagemaker", resource="model-card", resource_name="*/export-job/*")
        packages = stack.format_arn(service="sagemaker", resource="model-package", resource_name="*/*")
        evidence = evidence_bucket.arn_for_objects(f"{EVIDENCE_PREFIX}/*")
        role = self.handler.role
        # The ledger is append-only for the workflow: PutItem (always with attribute_not_exists) and
        # Query; no UpdateItem, DeleteItem or BatchWriteItem.
        ledger.grant(role, "dynamodb:PutItem", "dynamodb:Query")
        # The daily review sweep finds the effective approvals (reviews.approved_cards): a Query of
        # the ledger's sparse index of them, never a Scan of the whole ledger.
        ledger.grant_effective_index(role)
        ledger.grant(self.follower.role, "dynamodb:PutItem", "dynamodb:Query")  # Query: the chain head
        # Which package a card governs, and the card's last effective approval (shared.card_links).
        card_links.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # UpdateModelCard: only to set an approval that is not an approver's back to PendingReview.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeModelCard",
                    "sagemaker:UpdateModelCard",
                    "sagemaker:CreateModelCardExportJob",
                ],
                resources=[cards],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[packages]))
        # Who set a card Approved: the account's CloudTrail event history.
        role.add_to_policy(iam.PolicyStatement(actions=["cloudtrail:LookupEvents"], resources=["*"]))
        # The hub's own packages: the approval status, and only the policy's lifecycle stages.
        for statement in package_update_statements(packages, lifecycle_stages):
            role.add_to_policy(statement)
        role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=[evidence]))
        # HeadObject on an evidence key not written yet answers 403, not 404, unless the role may list
        # the bucket (S3 API reference, HeadObject); that check carries no s3:prefix, so none is set.
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[evidence_bucket.bucket_arn]))
        self.follower.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeModelCardExportJob"], resources=[export_jobs])
        )
        self._grant_spoke_approval(role, stack, approval_sync_role_name, spokes, organization)
        self._decision_endpoint(key, ledger, card_links, cards, common, decision_invokers)
        # Not topic.grant_publish: it adds kms:GenerateDataKey*, a wildcard; the key grant below is exact.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        # Not grant_send_messages: on a queue with a key it adds kms:GenerateDataKey* and
        # kms:ReEncrypt*, wildcards; both roles' exact key grant below is what SendMessage needs.
        for sender, queue in ((role, self.follow_up), (role, self.recheck), (self.follower.role, self.follow_up)):
            sender.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                    resources=[queue.queue_arn],
                )
            )
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        key.grant(self.follower.role, "kms:Decrypt", "kms:GenerateDataKey")
        # Only the workflow's own roles send here. A hub principal allowed sqs:SendMessage by its IAM
        # policy alone (PowerUserAccess) would otherwise be allowed too: within one account an
        # identity-based policy suffices, but an explicit Deny in the queue policy overrides it (IAM
        # User Guide, "Policy evaluation logic"). `aws:PrincipalArn` is the role's ARN for its
        # sessions (IAM User Guide, "AWS global condition context keys"). Lambda's event source
        # mapping only receives and deletes; SQS itself moves messages to the dead-letter queues.
        # The reconciler (role ARNs in `recheck_senders`) asks for rechecks too; the decision endpoint
        # hints at a suspension for the workflow to act on (decisions.py).
        for queue, senders, others in (
            (self.recheck, (role, self.decisions.role), tuple(recheck_senders)),
            (self.follow_up, (role, self.follower.role), ()),
        ):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyTheWorkflowSends",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": [*(r.role_arn for r in senders), *others]}},
                )
            )

        for policy, resources in (
            (role.node.try_find_child("DefaultPolicy"), (cards, packages, evidence)),
            (self.follower.role.node.try_find_child("DefaultPolicy"), (export_jobs,)),
        ):
            assert policy is not None
            for resource in resources:
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{nag_arn(stack, resource)}]",
                    "Cards, package versions and evidence keys are created at run time, one per model "
                    "version; each grant is held to this account and region, and evidence to its prefix.",
                )
        workflow_policy = role.node.try_find_child("DefaultPolicy")
        assert workflow_policy is not None
        acknowledge(
            workflow_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudtrail:LookupEvents has no resource-level permission (Service Authorization Reference, "
            "AWS CloudTrail: LookupEvents lists no resource type and no condition key); it reads this "
            "account's event history, which the workflow needs to attribute card approvals.",
        )

        self.card_rule = events.Rule(
            self,
            "CardStatusRule",
            description="Model card status changes, to the approval workflow",
            event_pattern=events.EventPattern(source=[SAGEMAKER_SOURCE], detail_type=[MODEL_CARD_STATE_CHANGE]),
        )
        self.handler.on(self.card_rule)
        # Jobs on the hub's cards are the hub's, whoever started them (a spoke's too): their events
        # come to its default bus. Each is a hint; the follower checks the jobs its ledger names.
        self.export_rule = events.Rule(
            self,
            "ExportJobRule",
            description="Model card export job state changes, to the export follower",
            event_pattern=events.EventPattern(
                source=[SAGEMAKER_SOURCE], detail_type=[MODEL_CARD_EXPORT_JOB_STATE_CHANGE]
            ),
        )
        self.follower.on(self.export_rule)
        # The periodic review (reviews.sweep_reviews): reminders, overdue approvals, expiry. Daily:
        # review intervals and reminders are counted in days.
        self.review_schedule = events.Rule(
            self,
            "ReviewSweepSchedule",
            description="Daily sweep of effective approvals for review reminders and expiry",
            schedule=events.Schedule.rate(Duration.days(1)),
        )
        self.handler.on(self.review_schedule)
        self.gate_rules = []
        for rule_id, bus in (("GateDefaultBusRule", None), ("GateGovernanceBusRule", governance_bus)):
            rule = events.Rule(
                self,
                rule_id,
                description="Model package approvals, to the approval gate",
                event_bus=bus,
                event_pattern=model_package_state_change_pattern(),
            )
            self.handler.on(rule)
            self.gate_rules.append(rule)

    def _decision_endpoint(
        self,
        key: kms.IKey,
        ledger: ApprovalLedger,
        card_links: dynamodb.ITable,
        cards: str,
        common: dict[str, str],
        invokers: Sequence[iam.IRole],
    ) -> None:
        """Approvers' decisions (lambdas/card_workflow/decisions.py) behind a function URL that only
        SigV4-signed requests reach (AuthType AWS_IAM). The function judges who called: a same-account
        identity policy alone allows invoking (PowerUserAccess does), so the grants here only open
        the way for the approvers; other approvers need both actions in their own policy.
        """
        names = (
            "LEDGER_TABLE",
            "LINK_TABLE",
            "HUB_ACCOUNT",
            "APPROVERS",
            "NAMED_ROLES",
            "APPROVAL_POLICY",
            "TOPIC_ARN",
        )
        environment = {key: common[key] for key in names if key in common}
        environment["RECHECK_QUEUE_URL"] = self.recheck.queue_url
        self.decisions = HubFunction(
            self,
            "Decisions",
            source="card_workflow",
            entry="decide",
            description="Records approvers' decisions on exact card versions and sets the card Approved",
            environment=environment,
        )
        # The chain head (Query) and the decision entry (PutItem with attribute_not_exists).
        ledger.grant(self.decisions.role, "dynamodb:PutItem", "dynamodb:Query")
        # The tier: the package a card governs and its model's last approved rating (shared.card_links).
        card_links.grant(self.decisions.role, "dynamodb:GetItem")
        # MetadataOnly reads need no card key; a status-only update writes no content.
        self.decisions.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"],
                resources=[cards],
            )
        )
        # The ledger table is encrypted with the card key, which DynamoDB uses for the caller; the
        # topic and the recheck queue are too.
        key.grant(self.decisions.role, "kms:Decrypt", "kms:GenerateDataKey")
        # Partial approvals, rejections and suspensions are told to the reviewers at once.
        self.decisions.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        # A suspension is acted on by the workflow (only it may change packages): a hint naming the card.
        self.decisions.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                resources=[self.recheck.queue_arn],
            )
        )
        policy = self.decisions.role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(Stack.of(self), cards)}]",
            "Cards are created at run time, one per model version; the grant is held to this account "
            "and region, and the function sets only the status of the version an approver decided on.",
        )
        # The workflow knows the endpoint's own UpdateModelCard calls in CloudTrail by this role.
        self.handler.function.add_environment("DECISION_ROLE_ARN", self.decisions.role.role_arn)
        self.decision_url = self.decisions.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        # Function URLs created since October 2025 need lambda:InvokeFunction besides
        # lambda:InvokeFunctionUrl ("Control access to Lambda function URLs"); each is held to
        # calls through the URL with AuthType AWS_IAM.
        for index, invoker in enumerate(invokers):
            lambda_.CfnPermission(
                self,
                f"DecisionUrlInvoke{index}",
                action="lambda:InvokeFunctionUrl",
                function_name=self.decisions.function.function_arn,
                principal=invoker.role_arn,
                function_url_auth_type="AWS_IAM",
            )
            lambda_.CfnPermission(
                self,
                f"DecisionInvoke{index}",
                action="lambda:InvokeFunction",
                function_name=self.decisions.function.function_arn,
                principal=invoker.role_arn,
                invoked_via_function_url=True,
            )

    @staticmethod
    def _grant_spoke_approval(
        role: iam.IRole, stack: Stack, sync_role: str, spokes: Sequence[Spoke], organization: Organization | None
    ) -> None:
        """Only this role may assume the spokes' approval-sync roles (their trust names it), and only
        in the configured spokes (`spoke_role_statements`): an organization member that is no spoke
        gets no approval from the hub even if it creates a role of that name. Grows by one account ID
        per account spoke and one OU pattern per OU spoke; `aws_quotas` checks the role's policies
        (inline at most 10,240 characters together, a managed one 6,144; IAM quotas) at synthesis.
        """
        statements, any_account = spoke_role_statements(sync_role, spokes, organization, stack.partition)
        for statement in statements:
            role.add_to_principal_policy(statement)
        if any_account is None:
            return
        # On the role: with many spokes the CDK moves statements past its inline size into managed
        # policies of the role (OverflowPolicy), which the acknowledgement must cover too.
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, any_account)}]",
            "Spoke accounts under OUs are not known at synth (accounts join and leave OUs); each "
            "statement names the approval-sync role and requires the role's account to be a configured "
            "spoke account (aws:ResourceAccount) or under a configured OU (aws:ResourceOrgPaths).",
        )
