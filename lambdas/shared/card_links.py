"""The hub's own record of which model package each card governs.

Card content is data a spoke may rewrite (an edit share includes UpdateModelCard), so it can never
say which package the hub approves. The auto-linker writes one link item per card when it creates
the card, in a table only hub functions can reach; the approval workflow and the package gate read
it and nothing else. The item also keeps the card's last approved version, which the auto-linker
clones the next package version's card from.

Identity. Card names are predictable and any hub principal allowed sagemaker:CreateModelCard can
take one first; a package group deleted and created again numbers its versions from 1 again, so a
package ARN names different packages over time (DescribeModelPackage's CreationTime tells them
apart); a card deleted and created again keeps its name and ARN (DescribeModelCard's CreationTime
tells them apart). So a link binds a card only once the auto-linker has created it: it records what
SageMaker returned (card ARN and CreationTime) and the package's CreationTime, and `link_matches`
holds every later reading to them. Before creating, the auto-linker records a plan for the package
(item `package#<package ARN>`): the package's CreationTime, the card name chosen and a random nonce.
A name someone else took first, or a name bound to an earlier package of the same ARN, is passed
over for `<name>-n<nonce>`, which no one can know before the plan is written.

Table: partition key `CardName` (string). A card item: `PackageArn`, `Account`, `Group`, `Version`
(number), `LinkedAt`, `CardArn`, `CardCreated`, `PackageCreated`, and `ApprovedCardVersion`
(number, once a version of the card is approved). A plan item (`package#<ARN>`; `#` is outside the
card name pattern, so the two never meet): `PlannedCard`, `PackageCreated`, `Nonce`, `PlannedAt`,
`Squatted` (string set of `<name> <card ARN> <CreationTime>` for names found taken first).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.card_names import PACKAGE_ARN, card_name_for, card_name_for_package
from shared.runtime import metadata_only


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
    # What SageMaker returned when the auto-linker created the card, and the package's own
    # CreationTime; empty on a link written before cards were bound (it binds nothing).
    card_arn: str = ""
    card_created: str = ""
    package_created: str = ""
    linked_at: str = ""

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
    return link_from_item(card_name, item)


def link_from_item(card_name: str, item: Mapping[str, Any]) -> CardLink:
    approved = item.get("ApprovedCardVersion", {}).get("N")
    return CardLink(
        card_name=card_name,
        package_arn=item["PackageArn"]["S"],
        account=item["Account"]["S"],
        group=item["Group"]["S"],
        version=int(item["Version"]["N"]),
        approved_card_version=int(approved) if approved else None,
        card_arn=item.get("CardArn", {}).get("S", ""),
        card_created=item.get("CardCreated", {}).get("S", ""),
        package_created=item.get("PackageCreated", {}).get("S", ""),
        linked_at=item.get("LinkedAt", {}).get("S", ""),
    )


# --- Identity -------------------------------------------------------------------------------------

PLAN_PREFIX = "package#"
NONCE_BYTES = 4  # 8 hex digits: `-n` and the nonce add 10 characters to a name of at most 63


def timestamp(value: Any) -> str:
    """A CreationTime as one comparable text, whether it came as a datetime (an SDK's Describe) or
    as ISO 8601 text (an event's detail): UTC, to the millisecond (what SageMaker's times carry)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def link_matches(link: CardLink | None, described: Mapping[str, Any]) -> bool:
    """Is the card SageMaker describes now the very card the auto-linker created for this link?

    A card deleted and created again under the same name has the same name and ARN, but not the
    same CreationTime; a card someone else created first was never bound. A link without a bound
    card (written before binding) matches nothing: the hub cannot tell who made that card.
    """
    if link is None:
        return False
    if not link.card_arn:
        return legacy_match(link, described)
    return described.get("ModelCardArn") == link.card_arn and timestamp(described.get("CreationTime")) == (
        link.card_created
    )


# LinkedAt is kept to the second: a card made right after its link may show an earlier millisecond.
LEGACY_SLACK = timedelta(seconds=1)


def legacy_match(link: CardLink, described: Mapping[str, Any]) -> bool:
    """A link written before cards were bound (no CardArn): the auto-linker of that time wrote the
    link first and created the card after it, and refused a name it found taken. So the card it
    made was created after the link; a card someone else took the name with was created before.
    Such a link is bound (`bind_card`) when the auto-linker or the reconciler next meets it."""
    if not link.linked_at or described.get("ModelCardName", link.card_name) != link.card_name:
        return False
    created = timestamp(described.get("CreationTime"))
    if not created:
        return False
    linked = datetime.fromisoformat(link.linked_at)
    if linked.tzinfo is None:
        linked = linked.replace(tzinfo=UTC)
    return datetime.fromisoformat(created) >= linked - LEGACY_SLACK


@dataclass(frozen=True)
class PackagePlan:
    """Which card the hub makes (or made) for one package: the package ARN and its CreationTime."""

    package_arn: str
    package_created: str
    card_name: str
    nonce: str
    planned_at: str
    squatted: tuple[str, ...] = field(default=())


def package_plan(dynamodb: Any, table: str, package_arn: str) -> PackagePlan | None:
    item = dynamodb.get_item(
        TableName=table, Key={"CardName": {"S": PLAN_PREFIX + package_arn}}, ConsistentRead=True
    ).get("Item")
    return package_plan_from_item(package_arn, item) if item else None


def package_plan_from_item(package_arn: str, item: Mapping[str, Any]) -> PackagePlan | None:
    if "PlannedCard" not in item:
        return None
    return PackagePlan(
        package_arn=package_arn,
        package_created=item.get("PackageCreated", {}).get("S", ""),
        card_name=item["PlannedCard"]["S"],
        nonce=item.get("Nonce", {}).get("S", ""),
        planned_at=item.get("PlannedAt", {}).get("S", ""),
        squatted=tuple(sorted(item.get("Squatted", {}).get("SS", []))),
    )


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def record_plan(dynamodb: Any, table: str, plan: PackagePlan, replacing: PackagePlan | None) -> bool:
    """Write the plan if the package has none (or still has `replacing`); False if another writer won."""
    condition = (
        "attribute_not_exists(PlannedCard)"
        if replacing is None
        else "PlannedCard = :old_card AND PackageCreated = :old_created"
    )
    values: dict[str, Any] = {
        ":c": {"S": plan.card_name},
        ":pc": {"S": plan.package_created},
        ":n": {"S": plan.nonce},
        ":t": {"S": plan.planned_at},
    }
    if replacing is not None:
        values |= {":old_card": {"S": replacing.card_name}, ":old_created": {"S": replacing.package_created}}
    update = "SET PlannedCard = :c, PackageCreated = :pc, Nonce = :n, PlannedAt = :t"
    if plan.squatted:
        update += ", Squatted = :s"
        values[":s"] = {"SS": list(plan.squatted)}
    elif replacing is not None and replacing.squatted:
        update += " REMOVE Squatted"
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"CardName": {"S": PLAN_PREFIX + plan.package_arn}},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def bind_card(dynamodb: Any, table: str, link: CardLink) -> None:
    """Bind the card the auto-linker just created (or found it had created) to its package.

    Writing the same binding again is a no-op; a card item already bound to another card or package
    is a LinkConflict (the plan chose this name because no one held it).
    """
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"CardName": {"S": link.card_name}},
            UpdateExpression="SET PackageArn = :p, Account = :a, #g = :g, Version = :v, CardArn = :ca, "
            "CardCreated = :cc, PackageCreated = :pc, LinkedAt = if_not_exists(LinkedAt, :t)",
            ConditionExpression="attribute_not_exists(CardArn) OR (CardArn = :ca AND CardCreated = :cc "
            "AND PackageArn = :p AND PackageCreated = :pc)",
            ExpressionAttributeNames={"#g": "Group"},
            ExpressionAttributeValues={
                ":p": {"S": link.package_arn},
                ":a": {"S": link.account},
                ":g": {"S": link.group},
                ":v": {"N": str(link.version)},
                ":ca": {"S": link.card_arn},
                ":cc": {"S": link.card_created},
                ":pc": {"S": link.package_created},
                ":t": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
            },
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        existing = card_link(dynamodb, table, link.card_name)
        bound = f"{existing.card_arn or 'no card'} for {existing.package_arn}" if existing else "another card"
        raise LinkConflict(f"card {link.card_name} is bound to {bound}, not {link.package_arn}") from None


def card_name_of_package(dynamodb: Any, table: str, package_arn: str, package_created: str = "") -> str | None:
    """The name of the card the hub planned for this package (this CreationTime, if given)."""
    plan = package_plan(dynamodb, table, package_arn)
    if plan is None or (package_created and plan.package_created != package_created):
        return None
    return plan.card_name


def governing_card(
    dynamodb: Any, table: str, sagemaker: Any, package_arn: str, package_created: Any = None
) -> tuple[str | None, dict[str, Any]]:
    """The package's own card (its name, and its metadata as described now), or (name, {}) when no
    card the hub made for this very package exists: the name was taken, the card deleted or made
    again, or the package is not the one the card was made for (a group created again)."""
    created = timestamp(package_created)
    name = card_name_of_package(dynamodb, table, package_arn, created)
    if name is None and package_plan(dynamodb, table, package_arn) is None:
        # A package linked before plans existed: its plain name's link, if that names this package.
        name, created = card_name_for_package(package_arn), ""
    if name is None:
        return None, {}
    link = card_link(dynamodb, table, name)
    if link is None or link.package_arn != package_arn or (created and link.package_created != created):
        return name, {}
    try:
        described: dict[str, Any] = sagemaker.describe_model_card(
            ModelCardName=name, **metadata_only(sagemaker, "DescribeModelCard")
        )
    except sagemaker.exceptions.ResourceNotFound:
        return name, {}
    return (name, described) if link_matches(link, described) else (name, {})


def governing_link(dynamodb: Any, table: str, sagemaker: Any, card_name: str) -> CardLink | None:
    """The card's link, if the card SageMaker has under this name now is the one the link bound."""
    link = card_link(dynamodb, table, card_name)
    if link is None:
        return None
    try:
        described = sagemaker.describe_model_card(
            ModelCardName=card_name, **metadata_only(sagemaker, "DescribeModelCard")
        )
    except sagemaker.exceptions.ResourceNotFound:
        return None
    return link if link_matches(link, described) else None


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


# --- The rating a model's last approval was given -------------------------------------------------

# Item `group#<package ARN without its version>`: `#` is outside the card name pattern, like the
# plans'. `LastApproved` orders approvals (package version, then card version, zero-padded) so that a
# late or repeated event never puts back an older one; `Rating` is that approval's risk rating.
GROUP_PREFIX = "group#"


def group_key(package_arn: str) -> str:
    """The model package group's item: its versions' ARNs without the version."""
    return GROUP_PREFIX + package_arn.rsplit("/", 1)[0]


def record_group_approval(
    dynamodb: Any, table: str, package_arn: str, package_version: int, card_version: int, rating: str
) -> bool:
    """Remember the rating of the group's latest effective approval; an older or repeated one leaves
    the record as is. A new version's card is a new card: without this, its own ledger has no approved
    version, and a rating lowered in the clone would be reviewed at the lowered tier."""
    order = f"{package_version:08d}#{card_version:08d}"
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"CardName": {"S": group_key(package_arn)}},
            UpdateExpression="SET LastApproved = :o, Rating = :r, ApprovedPackage = :p",
            ConditionExpression="attribute_not_exists(LastApproved) OR LastApproved < :o",
            ExpressionAttributeValues={":o": {"S": order}, ":r": {"S": rating}, ":p": {"S": package_arn}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def group_approved_rating(dynamodb: Any, table: str, package_arn: str) -> tuple[str, str] | None:
    """The rating of the group's latest effective approval and the package it approved, if any."""
    item = dynamodb.get_item(
        TableName=table, Key={"CardName": {"S": group_key(package_arn)}}, ConsistentRead=True
    ).get("Item")
    if not item or "Rating" not in item:
        return None
    return item["Rating"]["S"], item.get("ApprovedPackage", {}).get("S", "")


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
