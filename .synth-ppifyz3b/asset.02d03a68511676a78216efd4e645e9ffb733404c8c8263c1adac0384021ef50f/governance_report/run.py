"""Producing the report: the hub's records and every registry, read with bounded concurrency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from governance_report.findings import Report, build_report
from governance_report.sources import (
    HubClients,
    Progress,
    Registry,
    ReportSettings,
    quiet,
    read_hub,
    read_links,
    read_registry,
    registry_client,
)

# Registries read at once; each also runs its own bounded pool of describe calls.
ACCOUNTS_AT_ONCE = 4


def accounts_of(settings: ReportSettings, linked: Iterable[str] = ()) -> list[str]:
    """The hub first (registries may live there too), then each configured spoke, then every
    other account the hub has linked a card for (accounts of OU spokes are not in the config)."""
    return list(dict.fromkeys([settings.hub_account, *settings.spoke_accounts, *sorted(linked)]))


def read_account(sagemaker: Any, settings: ReportSettings, account: str, progress: Progress) -> Registry:
    """One account's registry, or a Registry that says why it could not be read: one account the
    report cannot see must not hide the other accounts, and the report flags it."""
    try:
        return read_registry(sagemaker, account, settings, progress)
    except (ClientError, BotoCoreError) as error:
        return unreadable(account, error, progress)


def unreadable(account: str, error: Exception, progress: Progress) -> Registry:
    progress(f"account {account}: cannot read the registry ({error})")
    return Registry(account, (), {}, error=f"cannot read the registry of {account}: {error}")


def produce_report(
    session: boto3.Session,
    settings: ReportSettings,
    *,
    now: datetime | None = None,
    progress: Progress = quiet,
    accounts: Sequence[str] | None = None,
) -> Report:
    # Clients are made here, in one thread (boto3 sessions are not thread-safe; clients are).
    hub = HubClients.of(session)
    if accounts is None:
        linked = {arn.split(":")[4] for arn in read_links(hub.dynamodb, settings.link_table)}
        accounts = accounts_of(settings, linked)
    clients: dict[str, Any] = {}
    failed: dict[str, Registry] = {}
    for account in accounts:
        try:
            clients[account] = registry_client(session, hub, settings, account)
        except (ClientError, BotoCoreError) as error:
            failed[account] = unreadable(account, error, progress)
    with ThreadPoolExecutor(max_workers=ACCOUNTS_AT_ONCE + 1) as pool:
        hub_records = pool.submit(read_hub, hub, settings, progress)
        futures = {a: pool.submit(read_account, c, settings, a, progress) for a, c in clients.items()}
        records = hub_records.result()
        read = [failed[a] if a in failed else futures[a].result() for a in accounts]
    progress(f"{sum(len(r.packages) for r in read)} versions in {len(read)} accounts read")
    return build_report(records, read, settings, now=now or datetime.now(UTC))
