"""The approval ledger: append-only, and tamper-evident through one hash chain per card.

Every entry of a card carries `Seq` (1, 2, 3...), `PrevHash` (the `Hash` of entry `Seq - 1`, or
GENESIS for the first) and `Hash` (SHA-256 over all its other attributes, canonical JSON). Beside
each entry a link item `chain#<Seq>` names the entry and repeats its hash. Entry and link are
written in one DynamoDB transaction of two conditional puts: the entry only if its key is new (a
duplicate delivery writes nothing), the link only if its sequence number is free (two concurrent
writers cannot both take it; the loser reads the new head and tries again). No update and no
delete is ever issued.

`verify_card` recomputes a chain and returns its first broken link; `verify_table` does it for a
whole table. They take plain items, so a report can verify what it has already read.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
# The ledger's sparse global secondary index of effective approvals (governance_constructs.
# approval_ledger): DynamoDB writes an item into a global secondary index only when the item has
# the index's key attributes, so only the entries that carry EFFECTIVE_KEY are in it (DynamoDB
# Developer Guide, "Take advantage of sparse indexes": "Global secondary indexes are sparse by
# default ... only items in the base table that contain those attributes appear in the index").
# The daily review sweep Queries it instead of scanning a ledger that only grows.
EFFECTIVE_INDEX = "effective-approvals"
EFFECTIVE_KEY = "EffectiveApproval"
EFFECTIVE_VALUE = "approval-effective"
CHAIN_PREFIX = "chain#"
SEQ_WIDTH = 10
MAX_RACES = 20  # concurrent appends to one card that may take the head first


class LedgerBusy(RuntimeError):
    """Other writers kept taking the chain head; the caller retries the whole event."""


def entry_hash(item: Mapping[str, str]) -> str:
    canonical = json.dumps({k: v for k, v in item.items() if k != "Hash"}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(item: Mapping[str, Any]) -> dict[str, str]:
    return {k: v["S"] for k, v in item.items() if "S" in v}


def _typed(item: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"S": v} for k, v in item.items()}


def chain_head(dynamodb: Any, table: str, card_arn: str) -> tuple[int, str]:
    """The last link of the card's chain: (its Seq, its hash), or (0, GENESIS) for a new card."""
    found = dynamodb.query(
        TableName=table,
        KeyConditionExpression="CardArn = :a AND begins_with(EntryKey, :p)",
        ExpressionAttributeValues={":a": {"S": card_arn}, ":p": {"S": CHAIN_PREFIX}},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    ).get("Items", [])
    if not found:
        return 0, GENESIS
    link = _plain(found[0])
    return int(link["EntryKey"].removeprefix(CHAIN_PREFIX)), link["Hash"]


def get_entry(dynamodb: Any, table: str, card_arn: str, entry_key: str) -> dict[str, str] | None:
    found = dynamodb.query(
        TableName=table,
        KeyConditionExpression="CardArn = :a AND EntryKey = :k",
        ExpressionAttributeValues={":a": {"S": card_arn}, ":k": {"S": entry_key}},
        ConsistentRead=True,
    ).get("Items", [])
    return _plain(found[0]) if found else None


def append_entry(dynamodb: Any, table: str, card_arn: str, entry_key: str, attributes: Mapping[str, str]) -> bool:
    """Append one entry to the card's chain; False when the entry is already there.

    The entry carries this call's AppendId, so when DynamoDB applied the write but its answer was
    lost (the retry then finds the entry), the entry is recognised as this call's own.
    """
    append_id = uuid.uuid4().hex
    for _ in range(MAX_RACES):
        seq, previous = chain_head(dynamodb, table, card_arn)
        item = {k: v for k, v in attributes.items() if v}
        item.update(
            CardArn=card_arn,
            EntryKey=entry_key,
            Seq=f"{seq + 1:0{SEQ_WIDTH}d}",
            PrevHash=previous,
            AppendId=append_id,
        )
        item["Hash"] = entry_hash(item)
        link = {
            "CardArn": card_arn,
            "EntryKey": f"{CHAIN_PREFIX}{seq + 1:0{SEQ_WIDTH}d}",
            "Entry": entry_key,
            "Hash": item["Hash"],
        }
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _typed(entry),
                            "ConditionExpression": "attribute_not_exists(EntryKey)",
                        }
                    }
                    for entry in (item, link)
                ]
            )
            return True
        except dynamodb.exceptions.TransactionCanceledException as cancelled:
            reasons = cancelled.response.get("CancellationReasons") or [{}, {}]
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                existing = get_entry(dynamodb, table, card_arn, entry_key)
                return existing is not None and existing.get("AppendId") == append_id
            if reasons[-1].get("Code") != "ConditionalCheckFailed":
                raise
            # Another writer took this sequence number: read the new head and try again.
    raise LedgerBusy(f"ledger of {card_arn}: the chain head kept moving ({MAX_RACES} attempts)")


def ledger_entries(dynamodb: Any, table: str, card_arn: str) -> list[dict[str, str]]:
    """Every entry of a card in the order it was appended (its chain), without the link items."""
    paginator = dynamodb.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        KeyConditionExpression="CardArn = :a",
        ExpressionAttributeValues={":a": {"S": card_arn}},
        ConsistentRead=True,
    )
    entries = [
        plain
        for page in pages
        for item in page.get("Items", [])
        if not (plain := _plain(item))["EntryKey"].startswith(CHAIN_PREFIX)
    ]
    return sorted(entries, key=lambda entry: (entry.get("Seq", "9" * SEQ_WIDTH), entry["EntryKey"]))


# --- Verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    card_arn: str
    seq: int
    entry_key: str
    reason: str

    @property
    def where(self) -> str:
        """The broken link and why, without the card."""
        return f"link {self.seq} ({self.entry_key or 'no entry'}): {self.reason}"

    def __str__(self) -> str:
        return f"{self.card_arn}: {self.where}"


@dataclass(frozen=True)
class ChainReport:
    cards: int
    entries: int
    broken: tuple[BrokenLink, ...]


def verify_card(card_arn: str, items: Iterable[Mapping[str, str]]) -> BrokenLink | None:
    """The first broken link of one card's chain, or None when every entry is in an intact chain."""
    entries: dict[str, Mapping[str, str]] = {}
    links: list[Mapping[str, str]] = []
    for item in items:
        if item["EntryKey"].startswith(CHAIN_PREFIX):
            links.append(item)
        else:
            entries[item["EntryKey"]] = item
    links.sort(key=lambda link: link["EntryKey"])
    previous = GENESIS
    for expected, link in enumerate(links, start=1):
        seq = int(link["EntryKey"].removeprefix(CHAIN_PREFIX))
        entry_key = link.get("Entry", "")
        if seq != expected:
            return BrokenLink(card_arn, expected, "", f"link {expected} is missing (next is {seq})")
        entry = entries.pop(entry_key, None)
        if entry is None:
            return BrokenLink(card_arn, seq, entry_key, "the entry this link names is missing")
        if entry.get("Seq") != f"{seq:0{SEQ_WIDTH}d}":
            return BrokenLink(card_arn, seq, entry_key, f"the entry says Seq {entry.get('Seq')!r}")
        if entry.get("PrevHash") != previous:
            return BrokenLink(card_arn, seq, entry_key, "PrevHash is not the hash of the previous entry")
        if entry_hash(entry) != entry.get("Hash"):
            return BrokenLink(card_arn, seq, entry_key, "the entry's content no longer matches its hash")
        if link.get("Hash") != entry.get("Hash"):
            return BrokenLink(card_arn, seq, entry_key, "the link's hash differs from the entry's")
        previous = entry["Hash"]
    if entries:
        orphan = min(entries)
        return BrokenLink(card_arn, len(links) + 1, orphan, "the entry is not in the chain")
    return None


def verify_items(items: Iterable[Mapping[str, str]]) -> ChainReport:
    """Verify every card found in `items` (plain string attributes, e.g. from a table scan)."""
    by_card: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for item in items:
        by_card[item["CardArn"]].append(item)
    broken = []
    for card_arn in sorted(by_card):
        result = verify_card(card_arn, by_card[card_arn])
        if result is not None:
            broken.append(result)
    entries = sum(1 for items in by_card.values() for i in items if not i["EntryKey"].startswith(CHAIN_PREFIX))
    return ChainReport(cards=len(by_card), entries=entries, broken=tuple(broken))


def scan_table(dynamodb: Any, table: str) -> Iterator[dict[str, str]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            yield _plain(item)


def verify_table(dynamodb: Any, table: str) -> ChainReport:
    return verify_items(scan_table(dynamodb, table))
