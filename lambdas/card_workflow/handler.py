"""Lambda entry points of the approval workflow.

`decide`: the decision endpoint's function URL requests (decisions.py); environment LEDGER_TABLE,
HUB_ACCOUNT, APPROVERS, NAMED_ROLES, APPROVAL_POLICY, TOPIC_ARN, RECHECK_QUEUE_URL.

`handler`: card status events (ledger, review notice, approval attribution, evidence, package
approval), package state events (the approval gate), and the recheck queue's messages (approvals
whose CloudTrail record was not there yet). `follow_exports`: export job state change events, and
the delayed queue that looks at export jobs whose event was lost.

Environment (set by the ApprovalWorkflow construct): LEDGER_TABLE, TOPIC_ARN, EVIDENCE_BUCKET,
FOLLOW_UP_QUEUE_URL, APPROVAL_ROLE_NAME, HUB_ACCOUNT, ARCHIVED_REJECTS_PACKAGE, LINK_TABLE, DEAD_LETTER_QUEUE_URL,
APPROVERS (JSON list of principal ARNs), APPROVER_MAY_NOT_EDIT, RECHECK_QUEUE_URL; optional:
NAMED_ROLES (JSON list of approver roles whose sessions must carry a source identity),
DECISION_ROLE_ARN (the decision endpoint's role), APPROVAL_POLICY (governance_config's
approval_policy_json; without it one person of APPROVERS approves),
FOLLOW_UP_DELAY_SECONDS (default 30), ATTRIBUTION_DEADLINE_SECONDS (1800), RECHECK_DELAY_SECONDS (300).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from shared.metrics import thresholds_from
from shared.runtime import aws_clients, dead_letter

from card_workflow.anchors import AppendRecorder, anchor_head
from card_workflow.decisions import DecisionSettings, handle_decision
from card_workflow.notices import NOTICE_CLIENT_CONFIG
from card_workflow.reviews import SCHEDULED_EVENT, sweep_reviews
from card_workflow.tiers import policy_from_environment
from card_workflow.workflow import (
    MODEL_PACKAGE_STATE_CHANGE,
    CardGone,
    MalformedEvent,
    WorkflowSettings,
    follow_export,
    follow_export_event,
    gate_package_approval,
    handle_card_event,
    hinted_card,
    recheck_card,
)

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
SERVICES = ("sagemaker", "dynamodb", "sns", "s3", "sqs", "sts", "cloudtrail", "events")


def settings_from_environment(environ: Any = os.environ) -> WorkflowSettings:
    return WorkflowSettings(
        ledger_table=environ["LEDGER_TABLE"],
        topic_arn=environ["TOPIC_ARN"],
        evidence_bucket=environ["EVIDENCE_BUCKET"],
        follow_up_queue_url=environ["FOLLOW_UP_QUEUE_URL"],
        approval_role_name=environ["APPROVAL_ROLE_NAME"],
        hub_account=environ["HUB_ACCOUNT"],
        region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        archived_rejects_package=environ.get("ARCHIVED_REJECTS_PACKAGE") == "true",
        link_table=environ.get("LINK_TABLE", ""),
        follow_up_delay_seconds=int(environ.get("FOLLOW_UP_DELAY_SECONDS", "30")),
        approvers=frozenset(json.loads(environ.get("APPROVERS", "[]"))),
        approver_may_not_edit=environ.get("APPROVER_MAY_NOT_EDIT", "true") == "true",
        named_roles=frozenset(json.loads(environ.get("NAMED_ROLES", "[]"))),
        recheck_queue_url=environ.get("RECHECK_QUEUE_URL", ""),
        attribution_deadline_seconds=int(environ.get("ATTRIBUTION_DEADLINE_SECONDS", "1800")),
        recheck_delay_seconds=int(environ.get("RECHECK_DELAY_SECONDS", "300")),
        metric_thresholds=thresholds_from(json.loads(environ.get("METRIC_THRESHOLDS") or "{}")),
        decision_role=environ.get("DECISION_ROLE_ARN", ""),
        policy=policy_from_environment(environ.get("APPROVAL_POLICY")),
    )


def make_clients() -> dict[str, Any]:
    # SNS makes one attempt per call (notices.publish retries throttling itself): botocore's retry
    # would resend a notice whose answer was lost.
    return aws_clients(SERVICES, configs={"sns": NOTICE_CLIENT_CONFIG})


@contextmanager
def anchoring(clients: dict[str, Any], settings: WorkflowSettings) -> Iterator[dict[str, Any]]:
    """The clients, their DynamoDB client noting appends; on the way out, even when the step
    failed after appending, each card appended to gets its chain head anchored (anchors.py)."""
    recorder = AppendRecorder(clients["dynamodb"])
    try:
        yield {**clients, "dynamodb": recorder}
    finally:
        for card_arn in sorted(recorder.cards):
            anchor = anchor_head(
                clients["dynamodb"], clients["s3"], settings.ledger_table, settings.evidence_bucket, card_arn
            )
            LOG.info(json.dumps({"anchored": str(anchor)}))


def handler(event: dict[str, Any], context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = clients or make_clients()
    settings = settings_from_environment()
    with anchoring(clients, settings) as anchored:
        return handle(event, anchored, settings)


def handle(event: dict[str, Any], clients: dict[str, Any], settings: WorkflowSettings) -> dict[str, Any]:
    if "Records" in event:
        return recheck_approvals(event, clients)
    if event.get("detail-type") == SCHEDULED_EVENT:
        # The daily review sweep. Whoever invokes it, it reads the wall clock, the ledger and
        # SageMaker only: an event's time or content chooses nothing.
        done = sweep_reviews(
            datetime.now(UTC),
            sagemaker=clients["sagemaker"],
            dynamodb=clients["dynamodb"],
            sns=clients["sns"],
            sts=clients["sts"],
            settings=settings,
        )
        LOG.info(json.dumps({"sweep": done}))
        return {"outcome": f"swept {len(done)} approvals"}
    try:
        if event.get("detail-type") == MODEL_PACKAGE_STATE_CHANGE:
            outcome = gate_package_approval(
                event,
                sagemaker=clients["sagemaker"],
                dynamodb=clients["dynamodb"],
                sns=clients["sns"],
                sts=clients["sts"],
                settings=settings,
            )
        else:
            outcome = handle_card_event(event, settings=settings, **clients)
    except CardGone as gone:
        # Retrying cannot bring a deleted card back; the status change is already in the ledger.
        LOG.warning(json.dumps({"event_id": event.get("id"), "dropped": str(gone)}))
        return {"outcome": f"dropped: {gone}"}
    except MalformedEvent as error:
        reason = f"MalformedEvent: {error}"
        LOG.error(json.dumps({"event_id": event.get("id"), "rejected": reason}))
        dead_letter(clients["sqs"], os.environ["DEAD_LETTER_QUEUE_URL"], event, reason)
        return {"outcome": "dead-lettered", "reason": reason}
    LOG.info(json.dumps({"event_id": event.get("id"), "outcome": outcome}))
    return {"outcome": outcome}


def recheck_approvals(event: dict[str, Any], clients: dict[str, Any]) -> dict[str, Any]:
    """SQS batch from the recheck queue: each message names a card to decide again about, a hint
    only (workflow.recheck_card reads the card and the ledger); a message that names no card, or a
    card since deleted, is logged and dropped: retrying it cannot change what it says."""
    settings = settings_from_environment()
    failures = []
    for record in event.get("Records", []):
        try:
            card_name = hinted_card(json.loads(record["body"]))
            outcome = recheck_card(card_name, settings=settings, **clients)
            LOG.info(json.dumps({"message_id": record.get("messageId"), "outcome": outcome}))
        except (CardGone, MalformedEvent, json.JSONDecodeError) as dropped:
            LOG.warning(json.dumps({"message_id": record.get("messageId"), "dropped": str(dropped)}))
        except Exception as error:  # reported per record; SQS redrives it, then dead-letters it
            LOG.error(json.dumps({"message_id": record.get("messageId"), "error": f"{type(error).__name__}: {error}"}))
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}


def follow_exports(
    event: dict[str, Any], context: Any = None, *, clients: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The export follower: an export job's state change event from EventBridge, or a batch of the
    follow-up queue (the look for an event that was lost). A record that fails is reported so SQS
    retries it, then dead-letters it; an export the hub refuses to record, or that failed, is
    ledgered and parked on the dead-letter queue, whose alarm tells the hub's administrators."""
    clients = clients or make_clients()
    settings = settings_from_environment()
    # Not anchored here: the bucket policy lets only the workflow's role write evidence/, and the
    # follower has a role of its own; its entries are anchored by the card's next workflow append.
    return follow_export_events(event, clients, settings)


def follow_export_events(event: dict[str, Any], clients: dict[str, Any], settings: WorkflowSettings) -> dict[str, Any]:
    if "Records" not in event:
        outcome, alerts = follow_export_event(
            event, sagemaker=clients["sagemaker"], dynamodb=clients["dynamodb"], settings=settings
        )
        tell(clients, event, alerts)
        LOG.info(json.dumps({"event_id": event.get("id"), "outcome": outcome}))
        return {"outcome": outcome}
    failures = []
    for record in event.get("Records", []):
        try:
            outcome, alerts = follow_export(
                json.loads(record["body"]),
                sagemaker=clients["sagemaker"],
                dynamodb=clients["dynamodb"],
                sqs=clients["sqs"],
                settings=settings,
            )
            tell(clients, record, alerts)
            LOG.info(json.dumps({"message_id": record.get("messageId"), "outcome": outcome}))
        except (MalformedEvent, json.JSONDecodeError) as dropped:
            LOG.warning(json.dumps({"message_id": record.get("messageId"), "dropped": str(dropped)}))
        except Exception as error:  # reported per record; SQS redrives it to the dead-letter queue
            LOG.error(json.dumps({"message_id": record.get("messageId"), "error": f"{type(error).__name__}: {error}"}))
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}


def tell(clients: dict[str, Any], received: Any, alerts: list[str]) -> None:
    for alert in alerts:
        LOG.error(json.dumps({"evidence": alert}))
        dead_letter(clients["sqs"], os.environ["DEAD_LETTER_QUEUE_URL"], received, alert)


DECISION_SERVICES = ("sagemaker", "dynamodb", "sns", "sqs")


def decision_settings_from_environment(environ: Any = os.environ) -> DecisionSettings:
    return DecisionSettings(
        ledger_table=environ["LEDGER_TABLE"],
        hub_account=environ["HUB_ACCOUNT"],
        region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        approvers=frozenset(json.loads(environ.get("APPROVERS", "[]"))),
        named_roles=frozenset(json.loads(environ.get("NAMED_ROLES", "[]"))),
        policy=policy_from_environment(environ.get("APPROVAL_POLICY")),
        topic_arn=environ.get("TOPIC_ARN", ""),
        recheck_queue_url=environ.get("RECHECK_QUEUE_URL", ""),
        link_table=environ.get("LINK_TABLE", ""),
    )


def decide(event: dict[str, Any], context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    """The decision endpoint (a function URL): answers every request, refusals included, in JSON.

    Not anchored here: the bucket policy lets only the workflow's role write; the card's Approved
    status event, which follows at once, appends and anchors the chain head.
    """
    clients = clients or aws_clients(DECISION_SERVICES, configs={"sns": NOTICE_CLIENT_CONFIG})
    settings = decision_settings_from_environment()
    try:
        result = handle_decision(
            event,
            sagemaker=clients["sagemaker"],
            dynamodb=clients["dynamodb"],
            sns=clients.get("sns"),
            sqs=clients.get("sqs"),
            settings=settings,
        )
    except Exception as error:
        # Raised on: the function's error alarm tells the hub, and Lambda answers the caller with an
        # error; a decision is idempotent (keyed by version and person), so deciding again is safe.
        LOG.error(json.dumps({"decision": "failed", "error": f"{type(error).__name__}: {error}"}))
        raise
    LOG.info(json.dumps({"decision": json.loads(result["body"]), "status": result["statusCode"]}))
    return result
