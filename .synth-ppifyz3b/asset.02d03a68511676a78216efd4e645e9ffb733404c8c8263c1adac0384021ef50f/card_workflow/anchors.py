"""Anchors of the approval ledger: each card's chain head, copied where no one can rewrite it.

The hash chain shows an entry changed or removed from the middle of a card's chain, but not its
newest entries removed, nor the whole chain: what is left still verifies. So after the workflow
appends to a card's chain it writes the new head (card ARN, sequence number, hash) to the evidence
bucket, under the workflow's own `evidence/` prefix, where Object Lock (compliance mode) keeps it
for the retention whoever changes the table or its policy. A verifier then compares: the table's
chain must still hold the highest anchored sequence number with the same hash.

Cost: one S3 PUT per workflow event that appended (the head after the event; a head anchors every entry
before it through the chain), at most one per ledger entry: $0.005 per 1,000 entries at S3
Standard PUT prices (us-east-1), plus storage of a ~200-byte object for the retention. Reading
costs one LIST per 1,000 anchor versions and one GET per anchored card.

A head appended but not anchored (the function stopped between the two writes) is anchored by
the card's next append, as are the export follower's entries (its role may not write evidence/);
until then truncation back to the previous anchor is what can be shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from card_workflow.ledger import CHAIN_PREFIX, SEQ_WIDTH, chain_head

# Model card names are letters, digits and hyphens: "_anchors" can never be a card's evidence folder.
ANCHOR_PREFIX = "evidence/_anchors/"


class AnchorConflict(RuntimeError):
    """The bucket already anchors this sequence number with another hash."""


@dataclass(frozen=True)
class Anchor:
    card_arn: str
    seq: int
    hash: str

    @property
    def key(self) -> str:
        return anchor_key(self.card_arn, self.seq)

    def body(self) -> bytes:
        return json.dumps({"CardArn": self.card_arn, "Seq": self.seq, "Hash": self.hash}, sort_keys=True).encode()

    @classmethod
    def parse(cls, body: bytes) -> Anchor:
        fields = json.loads(body)
        return cls(str(fields["CardArn"]), int(fields["Seq"]), str(fields["Hash"]))


def anchor_key(card_arn: str, seq: int) -> str:
    # The card's name, not its ARN: one folder per card, and zero-padded so keys sort by sequence.
    return f"{ANCHOR_PREFIX}{card_arn.rsplit('/', 1)[-1]}/{seq:0{SEQ_WIDTH}d}.json"


def newest_anchor_keys(keys: Iterable[str]) -> list[str]:
    """Of every key in the bucket, each card's highest anchored sequence number's key."""
    newest: dict[str, str] = {}
    for key in keys:
        if key.startswith(ANCHOR_PREFIX) and key.endswith(".json"):
            folder = key.removeprefix(ANCHOR_PREFIX).rsplit("/", 1)[0]
            newest[folder] = max(newest.get(folder, key), key)
    return sorted(newest.values())


# --- Writing --------------------------------------------------------------------------------------


def write_anchor(s3: Any, bucket: str, anchor: Anchor) -> bool:
    """Put the anchor unless its key is taken; False when it already was, with the same body.

    Conditional (If-None-Match) because Object Lock keeps every version: an unconditional retry
    would pile up versions of one anchor for the retention.
    """
    try:
        s3.put_object(
            Bucket=bucket, Key=anchor.key, Body=anchor.body(), ContentType="application/json", IfNoneMatch="*"
        )
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
    existing = s3.get_object(Bucket=bucket, Key=anchor.key)["Body"].read()
    if Anchor.parse(existing) != anchor:
        raise AnchorConflict(f"{anchor.key} anchors {existing.decode()!r}, the ledger's head is {anchor}")
    return False


def anchor_head(dynamodb: Any, s3: Any, table: str, bucket: str, card_arn: str) -> Anchor | None:
    seq, head = chain_head(dynamodb, table, card_arn)
    if seq == 0:
        return None
    anchor = Anchor(card_arn, seq, head)
    write_anchor(s3, bucket, anchor)
    return anchor


class AppendRecorder:
    """A DynamoDB client that notes the cards whose ledger a transaction wrote to, so the edge can
    anchor them once the event is handled, whichever step appended."""

    def __init__(self, dynamodb: Any) -> None:
        self._dynamodb = dynamodb
        self.cards: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dynamodb, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        answer = self._dynamodb.transact_write_items(**kwargs)
        for action in kwargs.get("TransactItems", []):
            item = action.get("Put", {}).get("Item", {})
            if item.get("EntryKey", {}).get("S", "").startswith(CHAIN_PREFIX):
                self.cards.add(item["CardArn"]["S"])
        return answer


# --- Reading and comparing ------------------------------------------------------------------------


def read_anchors(s3: Any, bucket: str) -> dict[str, Anchor]:
    """Card ARN -> its newest anchor, each read in the version the workflow wrote.

    From the versions, not the current objects: Object Lock keeps versions, not the current view,
    so someone who lifted the bucket policy could hide an anchor behind a delete marker or put a
    newer version over it. The workflow writes each key once, so its version is the oldest.
    """
    first: dict[str, tuple[Any, str]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=ANCHOR_PREFIX):
        for version in page.get("Versions", []):
            key, when = version["Key"], version["LastModified"]
            if key not in first or when < first[key][0]:
                first[key] = (when, version["VersionId"])
    anchors = (
        Anchor.parse(s3.get_object(Bucket=bucket, Key=key, VersionId=first[key][1])["Body"].read())
        for key in newest_anchor_keys(first)
    )
    return {anchor.card_arn: anchor for anchor in anchors}


@dataclass(frozen=True)
class Truncation:
    card_arn: str
    entries: int
    anchor: Anchor

    @property
    def what(self) -> str:
        """What is missing, without the card."""
        found = f"has {self.entries} entries, the evidence bucket anchors entry {self.anchor.seq} ({self.anchor.hash})"
        return f"{found}: the whole chain was deleted" if self.entries == 0 else found

    def __str__(self) -> str:
        return f"{self.card_arn} {self.what}"


def truncation(card_arn: str, items: Iterable[Mapping[str, str]], anchor: Anchor) -> Truncation | None:
    """Whether the card's chain in the table no longer reaches its anchored head."""
    items = list(items)
    anchored = f"{CHAIN_PREFIX}{anchor.seq:0{SEQ_WIDTH}d}"
    link = next((i for i in items if i["EntryKey"] == anchored), None)
    if link is not None and link.get("Hash") == anchor.hash:
        return None
    entries = sum(1 for i in items if not i["EntryKey"].startswith(CHAIN_PREFIX))
    return Truncation(card_arn, entries, anchor)


def truncations(ledger: Mapping[str, Iterable[Mapping[str, str]]], anchors: Mapping[str, Anchor]) -> list[Truncation]:
    """Every anchored card whose chain does not reach its anchor, a card with no items at all included."""
    found = (truncation(card, ledger.get(card, ()), anchors[card]) for card in sorted(anchors))
    return [t for t in found if t is not None]
