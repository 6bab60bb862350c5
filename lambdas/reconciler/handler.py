"""Lambda entry point of the reconciler: scheduled by an EventBridge rule; the event is not read.

Whatever the payload (a schedule's event, or anything a caller allowed lambda:InvokeFunction
sends), the run reads the same levels and decides the same way: a crafted payload changes nothing.

Environment (set by the Reconciler construct): HUB_ACCOUNT, PARTITION, LINK_TABLE, LEDGER_TABLE,
EVIDENCE_BUCKET, TOPIC_ARN, REGISTRY_ROLE_NAME, SPOKE_ACCOUNTS (comma-separated; empty inside an
organization, where the accounts the link table names are read), FORWARDING_RULE_NAME, HUB_BUS_ARN,
GRACE_SECONDS, AUTO_LINK_DEAD_LETTERS and WORKFLOW_DEAD_LETTERS (the two functions' dead-letter
queue URLs), MAX_REDRIVES,
AUTO_LINK_FUNCTION, WORKFLOW_FUNCTION, RECHECK_QUEUE_URL.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.runtime import aws_clients

from reconciler.reconcile import Dispatch, ReconcilerSettings, Registry, RunReport, reconcile

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
SERVICES = ("sagemaker", "dynamodb", "s3", "sns", "sqs", "sts", "lambda")


def settings_from_environment(environ: Mapping[str, str] = os.environ) -> ReconcilerSettings:
    return ReconcilerSettings(
        hub_account=environ["HUB_ACCOUNT"],
        region=environ.get("AWS_REGION", ""),
        partition=environ.get("PARTITION") or "aws",
        link_table=environ["LINK_TABLE"],
        ledger_table=environ["LEDGER_TABLE"],
        evidence_bucket=environ["EVIDENCE_BUCKET"],
        topic_arn=environ["TOPIC_ARN"],
        reader_role_name=environ["REGISTRY_ROLE_NAME"],
        spoke_accounts=[a for a in environ.get("SPOKE_ACCOUNTS", "").split(",") if a],
        forwarding_rule_name=environ.get("FORWARDING_RULE_NAME", ""),
        hub_bus_arn=environ.get("HUB_BUS_ARN", ""),
        grace_seconds=int(environ.get("GRACE_SECONDS") or 900),
        dead_letter_queues={
            url: function
            for url, function in (
                (environ.get("AUTO_LINK_DEAD_LETTERS"), "auto_link"),
                (environ.get("WORKFLOW_DEAD_LETTERS"), "card_workflow"),
            )
            if url
        },
        max_redrives=int(environ.get("MAX_REDRIVES") or 3),
        deployable_stage=deployable_stage(environ.get("DEPLOYABLE_STAGE", "")),
    )


def deployable_stage(value: str) -> tuple[str, str] | None:
    """DEPLOYABLE_STAGE is `<Stage>/<StageStatus>` (neither may hold a slash: config's pattern)."""
    stage, _, status = value.partition("/")
    return (stage, status) if stage and status else None


class LambdaDispatch:
    """Each effect goes to the function that owns it: the auto-linker and the workflow are invoked
    asynchronously with the event the reconciler made from what it read (each decides for itself,
    as for any event), and a card to recheck goes to the workflow's recheck queue."""

    def __init__(self, lambda_client: Any, sqs: Any, environ: Mapping[str, str] = os.environ) -> None:
        self.lambda_client, self.sqs = lambda_client, sqs
        self.functions = {"auto_link": environ["AUTO_LINK_FUNCTION"], "card_workflow": environ["WORKFLOW_FUNCTION"]}
        self.recheck_queue_url = environ["RECHECK_QUEUE_URL"]

    def _invoke(self, function: str, event: Mapping[str, Any]) -> str:
        answer = self.lambda_client.invoke(
            FunctionName=self.functions[function], InvocationType="Event", Payload=json.dumps(event).encode()
        )
        return f"{function} invoked ({answer.get('StatusCode')})"

    def link(self, event: Mapping[str, Any]) -> str:
        return self._invoke("auto_link", event)

    def gate(self, event: Mapping[str, Any]) -> str:
        return self._invoke("card_workflow", event)

    def card_event(self, event: Mapping[str, Any]) -> str:
        return self._invoke("card_workflow", event)

    def recheck(self, card_name: str) -> str:
        self.sqs.send_message(QueueUrl=self.recheck_queue_url, MessageBody=json.dumps({"card_name": card_name}))
        return f"recheck of {card_name} queued"

    def redrive(self, function: str, event: Mapping[str, Any]) -> str:
        return self._invoke(function, event)


def registries(clients: dict[str, Any], settings: ReconcilerSettings) -> Any:
    """One account's registry clients: the hub's own, or a spoke's registry-reader role's."""
    import boto3

    made: dict[str, Registry] = {}

    def registry_of(account: str) -> Registry:
        if account == settings.hub_account:
            return Registry(clients["sagemaker"], None)
        if account not in made:
            credentials = clients["sts"].assume_role(
                RoleArn=f"arn:{settings.partition}:iam::{account}:role/{settings.reader_role_name}",
                RoleSessionName="model-card-reconciler",
            )["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=clients["sagemaker"].meta.region_name,
            )
            config = clients["sagemaker"].meta.config
            made[account] = Registry(
                session.client("sagemaker", config=config), session.client("events", config=config)
            )
        return made[account]

    return registry_of


def run(
    clients: dict[str, Any],
    settings: ReconcilerSettings,
    dispatch: Dispatch,
    *,
    registry_of: Callable[[str], Registry] | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> RunReport:
    """One reconcile() with the clients of SERVICES, by service name; the spokes' registries read
    through their registry-reader roles unless `registry_of` says otherwise."""
    return reconcile(
        sagemaker=clients["sagemaker"],
        dynamodb=clients["dynamodb"],
        s3=clients["s3"],
        sns=clients["sns"],
        sqs=clients["sqs"],
        registry_of=registry_of or registries(clients, settings),
        dispatch=dispatch,
        settings=settings,
        now=now,
        progress=progress,
    )


def handler(event: Any, context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = clients or aws_clients(SERVICES)
    settings = settings_from_environment()
    report = run(
        clients,
        settings,
        LambdaDispatch(clients["lambda"], clients["sqs"]),
        progress=lambda line: LOG.info(json.dumps({"progress": line})),
    )
    LOG.info(json.dumps(report.as_json()))
    return report.as_json()
