"""The hub's own record of which model package each card governs.

Card content is data a spoke may rewrite (an edit share includes UpdateModelCard), so it can never
say which package the hub approves. The auto-linker writes one link item per card when it creates
the card, in a table only hub functions can reach; the approval workflow and the package gate read
it and nothing else. The item also keeps the card's last approved version, which the auto-linker
clones the next package version's card from.

Table: partition key `CardName` (string). Attributes: `PackageArn`, `Account`, `Group`, `Version`
(number), `LinkedAt`, and `ApprovedCardVersion` (number, once a version of the card is approved).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.card_names import PACKAGE_ARN, card_name_for


class LinkConflict(RuntimeError):
    """The card name is already linked to another package."""


@dataclass(frozen=True)
class CardLink:
    card_name: str
    package_arn: str
    account: str
    group: str
    version: int
    approved_card_version: int | None = None

    @classmethod
    def for_package(cls, package_arn: str) -> CardLink:
        match = PACKAGE_ARN.match(package_arn)
        if not match:
            raise ValueError(f"{package_arn!r} is not a versioned model package ARN")
        account, group, version = match.group(3), match.group(4), int(match.group(5))
        return cls(card_name_for(account, group, version), package_arn, account, group, version)


def record_card_link(dynamodb: Any, table: str, link: CardLink) -> None:
    """Write the link once; writing the same link again is a no-op, another package's is a conflict."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"CardName": {"S": link.card_name}},
            UpdateExpression="SET PackageArn = :p, Account = :a, #g = :g, Version = :v, "
            "LinkedAt = if_not_exists(LinkedAt, :t)",
            ConditionExpression="attribute_not_exists(PackageArn) OR PackageArn = :p",
            ExpressionAttributeNames={"#g": "Group"},
            ExpressionAttributeValues={
                ":p": {"S": link.package_arn},
                ":a": {"S": link.account},
                ":g": {"S": link.group},
                ":v": {"N": str(link.version)},
                ":t": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
            },
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        existing = card_link(dynamodb, table, link.card_name)
        linked = existing.package_arn if existing else "another package"
        raise LinkConflict(f"card {link.card_name} is linked to {linked}, not {link.package_arn}") from None


def card_link(dynamodb: Any, table: str, card_name: str) -> CardLink | None:
    """The package the hub linked this card to, or None for a card the auto-linker did not create."""
    item = dynamodb.get_item(TableName=table, Key={"CardName": {"S": card_name}}, ConsistentRead=True).get("Item")
    if not item or "PackageArn" not in item:
        return None
    approved = item.get("ApprovedCardVersion", {}).get("N")
    return CardLink(
        card_name=card_name,
        package_arn=item["PackageArn"]["S"],
        account=item["Account"]["S"],
        group=item["Group"]["S"],
        version=int(item["Version"]["N"]),
        approved_card_version=int(approved) if approved else None,
    )


def approved_card_version(dynamodb: Any, table: str, card_name: str) -> int | None:
    """The highest version of this card whose approval took effect, if any (template cards too)."""
    item = dynamodb.get_item(TableName=table, Key={"CardName": {"S": card_name}}, ConsistentRead=True).get("Item")
    approved = (item or {}).get("ApprovedCardVersion", {}).get("N")
    return int(approved) if approved else None


def record_approved_version(dynamodb: Any, table: str, card_name: str, version: int) -> bool:
    """Remember an effective approval of `version`; an older or repeated one leaves the record as is."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"CardName": {"S": card_name}},
            UpdateExpression="SET ApprovedCardVersion = :v",
            ConditionExpression="attribute_not_exists(ApprovedCardVersion) OR ApprovedCardVersion < :v",
            ExpressionAttributeValues={":v": {"N": str(version)}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def record_imported(dynamodb: Any, table: str, card_name: str, imported: str) -> None:
    """What the hub read from the package for the card (JSON), kept once: a retried creation reads
    again but the card keeps what the first delivery wrote into it."""
    dynamodb.update_item(
        TableName=table,
        Key={"CardName": {"S": card_name}},
        UpdateExpression="SET Imported = if_not_exists(Imported, :i)",
        ExpressionAttributeValues={":i": {"S": imported}},
    )


def imported_record(dynamodb: Any, table: str, card_name: str) -> dict[str, Any] | None:
    """What the auto-linker read from the package when it created the card, None if nothing was."""
    item = dynamodb.get_item(TableName=table, Key={"CardName": {"S": card_name}}, ConsistentRead=True).get("Item")
    text = (item or {}).get("Imported", {}).get("S")
    if not text:
        return None
    record: dict[str, Any] = json.loads(text)
    return record


def content_names_other_package(content: Mapping[str, Any], link: CardLink) -> str | None:
    """Why the card's content disagrees with the hub's link, or None when it agrees (or is silent)."""
    details = content.get("model_package_details")
    named = details.get("model_package_arn") if isinstance(details, Mapping) else None
    if named is None or named == link.package_arn:
        return None
    return f"content names model package {named!r}, but the hub linked {link.card_name} to {link.package_arn}"
