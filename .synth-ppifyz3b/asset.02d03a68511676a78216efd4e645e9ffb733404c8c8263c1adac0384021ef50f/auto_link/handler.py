"""Lambda entry point: a `SageMaker Model Package State Change` event in, a linked card out.

Environment (set by the AutoLinker construct): CARD_KEY_ARN, SHARE_ARNS (comma-separated),
INDEX_TABLE, LINK_TABLE, OWNER_SHARE_PREFIX (optional), DEAD_LETTER_QUEUE_URL, CARRY_OVER
(comma-separated sections), CARRY_OVER_FROM (`approved` or `latest`), TEMPLATE_CARDS (JSON object of
model package group to the card that starts it, optional), READER_ROLE_NAME (the spokes'
registry-reader role, through which the package's reports are read; optional), HUB_ACCOUNT, PARTITION.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from shared.runtime import aws_clients, dead_letter

from auto_link.card_linker import (
    DEFAULT_CARRY_OVER,
    CardConflict,
    InvalidCard,
    LinkerSettings,
    MalformedEvent,
    link_new_version,
)

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
SERVICES = ("sagemaker", "ram", "dynamodb", "sqs", "sts")


def settings_from_environment(environ: Any = os.environ) -> LinkerSettings:
    return LinkerSettings(
        card_key_arn=environ["CARD_KEY_ARN"],
        share_arns=[a for a in environ.get("SHARE_ARNS", "").split(",") if a],
        index_table=environ["INDEX_TABLE"],
        link_table=environ["LINK_TABLE"],
        owner_share_prefix=environ.get("OWNER_SHARE_PREFIX") or None,
        carry_over=[s for s in environ.get("CARRY_OVER", "").split(",") if s] or DEFAULT_CARRY_OVER,
        carry_over_from=environ.get("CARRY_OVER_FROM") or "approved",
        template_cards=json.loads(environ.get("TEMPLATE_CARDS") or "{}"),
        reader_role_name=environ.get("READER_ROLE_NAME") or None,
        hub_account=environ.get("HUB_ACCOUNT", ""),
        partition=environ.get("PARTITION") or "aws",
    )


def handler(event: dict[str, Any], context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = clients or aws_clients(SERVICES)
    try:
        result = link_new_version(
            event,
            sagemaker=clients["sagemaker"],
            ram=clients["ram"],
            dynamodb=clients["dynamodb"],
            settings=settings_from_environment(),
            sts=clients.get("sts"),
        )
    except (MalformedEvent, InvalidCard, CardConflict) as error:
        reason = f"{type(error).__name__}: {error}"
        LOG.error(json.dumps({"event_id": event.get("id"), "rejected": reason}))
        dead_letter(clients["sqs"], os.environ["DEAD_LETTER_QUEUE_URL"], event, reason)
        return {"action": "dead-lettered", "reason": reason}
    LOG.info(
        json.dumps(
            {
                "event_id": event.get("id"),
                "action": result.action,
                "card": result.card_name,
                "source": result.source_card,
                "reason": result.reason,
                # Each report of the package left out of the card, and why.
                "not_imported": dict(result.not_imported or {}),
                # Earlier versions' cards someone deleted: the governance report lists their versions.
                "deleted_sources": list(result.deleted_sources),
            }
        )
    )
    if result.deleted_sources:
        LOG.warning(json.dumps({"event_id": event.get("id"), "clone_sources_deleted": list(result.deleted_sources)}))
    return {"action": result.action, "card": result.card_name, "source": result.source_card}
