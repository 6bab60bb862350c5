"""Levels, not only edges: what each registry and the hub hold, what should follow from it, and the
few idempotent effects that close the gap.

The auto-linker and the approval workflow act on events, and events get lost: delivered once,
parked in a dead-letter queue after Lambda's two retries, or never sent by a spoke whose forwarding
rule was disabled. The reconciler runs on a schedule and works from what it reads, never from what
it is given: its invocation payload is ignored. It reads every registry (through each spoke's
registry-reader role), the hub's link table, cards and ledger, and decides (`decide`, a pure
function) what is missing:

- a package version without its own hub-made card: the auto-linker is handed a creation event
  made from the package as its registry describes it (the linker decides, as for any event);
- a package Approved that no effective approval governs: the approval gate is handed the package's
  state, and reverts it (the gate decides from the card and the ledger, as for any event);
- an effective approval without its effects (package status, evidence JSON, export job): the
  workflow is asked to recheck the card (it settles from SageMaker and the ledger alone);
- a card Approved in SageMaker whose status change the ledger never recorded (its event lost): the
  workflow is handed the card's state change, made from its description, and judges who set it;
- a spoke whose events stopped (a package with no card, an approval the gate never saw, a
  forwarding rule disabled or without its target): recorded and told to the hub's administrators;
- a name someone took before the hub made its card (the plan records it): recorded and told;
- dead-lettered events: handed back to their function, a bounded number of times, except the ones
  whose reason is permanent (a malformed event), which are reported.

Each action is recorded in the ledger as the reconciler's (key `reconciler#...`, written once), so
a run that finds nothing to do writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from card_workflow.approval_policy import stage_of
from shared.card_links import (
    PLAN_PREFIX,
    CardLink,
    PackagePlan,
    link_from_item,
    link_matches,
    package_plan_from_item,
    timestamp,
)
from shared.card_names import PACKAGE_ARN
from shared.runtime import object_exists

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
# What no retry can fix: the handlers' own dead-letter reasons for events they refuse.
PERMANENT_REASONS = ("MalformedEvent", "InvalidCard", "CardConflict", "CardGone")
RECONCILER = "reconciler"


class Dispatch(Protocol):
    """Where the reconciler's decisions go: the functions that own each effect."""

    def link(self, event: Mapping[str, Any]) -> Any: ...

    def gate(self, event: Mapping[str, Any]) -> Any: ...

    def card_event(self, event: Mapping[str, Any]) -> Any: ...

    def recheck(self, card_name: str) -> Any: ...

    def redrive(self, function: str, event: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class ReconcilerSettings:
    hub_account: str
    region: str
    partition: str
    link_table: str
    ledger_table: str
    evidence_bucket: str
    topic_arn: str
    # The spokes' registry-reader role; the hub's own registry is read with the hub's clients.
    reader_role_name: str
    # Spoke accounts from config (outside an organization); accounts the link table names join them.
    spoke_accounts: Sequence[str] = ()
    # Each spoke's forwarding rule (fixed name from config) and the hub bus it must target.
    forwarding_rule_name: str = ""
    hub_bus_arn: str = ""
    # Packages younger than this are the events' to handle: the reconciler leaves them alone.
    grace_seconds: int = 900
    # Dead-letter queue URL -> the function whose failed events it holds.
    dead_letter_queues: Mapping[str, str] = field(default_factory=dict)
    max_redrives: int = 3
    # The approval policy's `on_approval` lifecycle stage (Stage, StageStatus): as much an approval
    # as the Approved status (card_workflow.workflow.gate_package_approval). None: no such stage.
    deployable_stage: tuple[str, str] | None = None


@dataclass(frozen=True)
class Package:
    """One version in a registry, as ListModelPackages summarises it."""

    account: str
    group: str
    version: int
    arn: str
    created: str
    status: str
    stage: tuple[str, str] = ("", "")  # ModelLifeCycle Stage and StageStatus, empty without one


@dataclass(frozen=True)
class Card:
    """One hub card as ListModelCards (and, for Approved ones, DescribeModelCard) tell it."""

    name: str
    arn: str
    created: str
    status: str
    version: int | None = None
    effective: bool = False  # the ledger holds an effective approval of `version`
    evidence: bool = False  # evidence JSON and an export job of `version` exist
    # The ledger holds the status change the card is in now (its event reached the workflow).
    recorded: bool = True
    modified: str = ""


@dataclass(frozen=True)
class Forwarding:
    account: str
    state: str  # ENABLED, DISABLED, MISSING, or UNKNOWN (not readable: the role predates the grant)
    targets_hub: bool


@dataclass(frozen=True)
class Levels:
    now: datetime
    packages: Sequence[Package]
    plans: Mapping[str, PackagePlan]
    links: Mapping[str, CardLink]
    cards: Mapping[str, Card]
    forwarding: Sequence[Forwarding] = ()
    unreadable: Mapping[str, str] = field(default_factory=dict)  # account -> why its registry was not read
    # Packages whose events this run found dead-lettered: received, so not a silent spoke's.
    dead_lettered: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Action:
    kind: str  # link, revert, settle, alert-silent, alert-squat, alert-forwarding, alert-unreadable
    subject: str  # the package ARN, card name or account the action is about
    key: str  # the ledger key that records it once
    reason: str
    package: Package | None = None


# --- Decide (pure) --------------------------------------------------------------------------------


def own_card(package: Package, levels: Levels) -> Card | None:
    """The card the hub made and bound for this very package (ARN and CreationTime), if it exists."""
    plan = levels.plans.get(package.arn)
    if plan is None or plan.package_created != package.created:
        return None
    link = levels.links.get(plan.card_name)
    card = levels.cards.get(plan.card_name)
    if link is None or card is None or link.package_arn != package.arn or link.package_created != package.created:
        return None
    return card if link_matches(link, {"ModelCardArn": card.arn, "CreationTime": card.created}) else None


def decide(levels: Levels, settings: ReconcilerSettings) -> list[Action]:
    """What the levels call for, in the order it is done; nothing when every level is as it should be."""
    actions: list[Action] = []
    settled_before = levels.now - timedelta(seconds=settings.grace_seconds)
    silent: dict[str, list[str]] = {}
    for package in levels.packages:
        card = own_card(package, levels)
        old = _parse(package.created) < settled_before
        if card is None and old:
            actions.append(
                Action(
                    "link",
                    package.arn,
                    f"{RECONCILER}#link#{package.created}",
                    "no card of the hub governs this version: its creation event was lost or dead-lettered",
                    package,
                )
            )
            if package.arn not in levels.dead_lettered:
                silent.setdefault(package.account, []).append(f"v{package.version} of {package.group} has no card")
        deployable = settings.deployable_stage is not None and package.stage == settings.deployable_stage
        claimed = "Approved" if package.status == "Approved" else f"stage {'/'.join(package.stage)}"
        if (package.status == "Approved" or deployable) and not (card and card.status == "Approved" and card.effective):
            why = (
                f"model card {card.name} is {card.status}"
                + ("" if card.status != "Approved" else " but not by an approver")
                if card
                else "no card of the hub governs it"
            )
            actions.append(
                Action(
                    "revert", package.arn, f"{RECONCILER}#revert#{package.created}", f"{claimed}, but {why}", package
                )
            )
            silent.setdefault(package.account, []).append(f"v{package.version} of {package.group} {claimed} ({why})")
    by_card = {plan.card_name: arn for arn, plan in levels.plans.items()}
    statuses = {p.arn: p.status for p in levels.packages}
    for name, card in sorted(levels.cards.items()):
        if card.status != "Approved" or not card.effective or name not in levels.links:
            continue
        package_arn = levels.links[name].package_arn
        # Only a package still waiting for its approval is the approval's to set: Rejected is someone's
        # decision against deploying it, which the reconciler does not overturn.
        package_done = (
            statuses.get(package_arn, "Approved") != "PendingManualApproval" or by_card.get(name) != package_arn
        )
        if not (package_done and card.evidence):
            missing = [w for w, ok in (("package status", package_done), ("evidence", card.evidence)) if not ok]
            actions.append(
                Action(
                    "settle",
                    name,
                    f"{RECONCILER}#settle#{card.version}",
                    f"v{card.version} is effectively approved but lacks its {' and '.join(missing)}",
                )
            )
    for name, card in sorted(levels.cards.items()):
        if card.status == "Approved" and not card.effective and not card.recorded:
            actions.append(
                Action(
                    "judge",
                    name,
                    f"{RECONCILER}#judge#{card.version}#{card.modified}",
                    f"v{card.version} was set Approved at {card.modified}, and the workflow never heard of it",
                )
            )
    for arn, plan in sorted(levels.plans.items()):
        for squat in plan.squatted:
            name, squat_arn, created = [*squat.split(" "), "", ""][:3]
            actions.append(
                Action(
                    "alert-squat",
                    squat_arn,
                    f"{RECONCILER}#squat#{created}",
                    f"card name {name} was taken before the hub made the card of {arn}; that card governs "
                    f"nothing, and the version's card is {plan.card_name}",
                )
            )
    for forwarding in levels.forwarding:
        if forwarding.state == "UNKNOWN":
            continue
        if forwarding.state != "ENABLED" or not forwarding.targets_hub:
            state = forwarding.state if forwarding.state != "ENABLED" else "ENABLED without the hub bus as its target"
            actions.append(
                Action(
                    "alert-forwarding",
                    forwarding.account,
                    f"{RECONCILER}#forwarding#{state}#{levels.now.date().isoformat()}",
                    f"the forwarding rule {settings.forwarding_rule_name} of {forwarding.account} is {state}",
                )
            )
    for account, what in sorted(silent.items()):
        actions.append(
            Action(
                "alert-silent",
                account,
                f"{RECONCILER}#silent#{_digest(what)}",
                f"the hub received no event for {len(what)} change(s) in {account}: " + "; ".join(sorted(what)[:20]),
            )
        )
    for account, why in sorted(levels.unreadable.items()):
        actions.append(
            Action(
                "alert-unreadable",
                account,
                f"{RECONCILER}#unreadable#{levels.now.date().isoformat()}",
                f"the registry of {account} could not be read: {why}",
            )
        )
    return actions


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.min.replace(tzinfo=UTC)


def _digest(lines: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


# --- Read -----------------------------------------------------------------------------------------


def pages(call: Callable[..., Mapping[str, Any]], key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a paged List call (NextToken), page after page."""
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def registry_packages(sagemaker: Any, account: str) -> list[Package]:
    """Every versioned package of a registry: ListModelPackageGroups, then ListModelPackages per group."""
    found = []
    for group in pages(sagemaker.list_model_package_groups, "ModelPackageGroupSummaryList", MaxResults=100):
        name = group["ModelPackageGroupName"]
        for summary in pages(
            sagemaker.list_model_packages,
            "ModelPackageSummaryList",
            ModelPackageGroupName=name,
            ModelPackageType="Versioned",
            MaxResults=100,
        ):
            arn = summary["ModelPackageArn"]
            if not PACKAGE_ARN.match(arn) or arn.split(":")[4] != account:
                continue
            found.append(
                Package(
                    account=account,
                    group=name,
                    version=int(summary.get("ModelPackageVersion") or arn.rsplit("/", 1)[-1]),
                    arn=arn,
                    created=timestamp(summary.get("CreationTime")),
                    status=str(summary.get("ModelApprovalStatus") or ""),
                    stage=stage_of(summary),
                )
            )
    return found


def link_records(dynamodb: Any, table: str) -> tuple[dict[str, PackagePlan], dict[str, CardLink]]:
    """Every plan and card link of the hub's link table (a paged, consistent Scan)."""
    plans: dict[str, PackagePlan] = {}
    links: dict[str, CardLink] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            key = item["CardName"]["S"]
            if key.startswith(PLAN_PREFIX):
                plan = package_plan_from_item(key.removeprefix(PLAN_PREFIX), item)
                if plan is not None:
                    plans[plan.package_arn] = plan
            elif "PackageArn" in item:
                links[key] = link_from_item(key, item)
        if "LastEvaluatedKey" not in page:
            return plans, links
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def hub_cards(sagemaker: Any, dynamodb: Any, s3: Any, settings: ReconcilerSettings) -> dict[str, Card]:
    """Every hub card; for Approved ones, their version, whether the approval took effect, and its evidence."""
    from shared.runtime import metadata_only

    cards: dict[str, Card] = {}
    for summary in pages(sagemaker.list_model_cards, "ModelCardSummaries", MaxResults=100):
        name, status = summary["ModelCardName"], summary.get("ModelCardStatus", "")
        card = Card(name, summary["ModelCardArn"], timestamp(summary.get("CreationTime")), status)
        if status == "Approved":
            described = sagemaker.describe_model_card(
                ModelCardName=name, **metadata_only(sagemaker, "DescribeModelCard")
            )
            version = int(described["ModelCardVersion"])
            items = _version_entries(dynamodb, settings.ledger_table, card.arn, version)
            entries = {item.get("Kind", {}).get("S", "") for item in items}
            effective = "approval-effective" in entries
            evidence = "export-job" in entries and object_exists(
                s3, settings.evidence_bucket, f"evidence/{name}/v{version}/approval.json"
            )
            modified = timestamp(described.get("LastModifiedTime"))
            recorded = any(
                item.get("Kind", {}).get("S") == "status"
                and item.get("Status", {}).get("S") == "Approved"
                and _close(item.get("ModifiedAt", {}).get("S", ""), modified)
                for item in items
            )
            card = Card(name, card.arn, card.created, status, version, effective, evidence, recorded, modified)
        cards[name] = card
    return cards


def _close(recorded: str, modified: str) -> bool:
    """The same moment, as the workflow's ledger and SageMaker's description write it."""
    try:
        return (
            bool(recorded and modified)
            and abs((datetime.fromisoformat(timestamp(recorded)) - datetime.fromisoformat(modified)).total_seconds())
            < 0.002
        )
    except ValueError:
        return False


def _version_entries(dynamodb: Any, table: str, card_arn: str, version: int) -> list[dict[str, Any]]:
    """The ledger items this card has for one version."""
    kinds: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "CardArn = :a AND begins_with(EntryKey, :v)",
        "ExpressionAttributeValues": {":a": {"S": card_arn}, ":v": {"S": f"{version:08d}#"}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**kwargs)
        kinds += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return kinds
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def forwarding_state(events: Any, settings: ReconcilerSettings, account: str) -> Forwarding:
    """The spoke's forwarding rule as EventBridge describes it (DescribeRule, ListTargetsByRule)."""
    try:
        rule = events.describe_rule(Name=settings.forwarding_rule_name)
    except events.exceptions.ResourceNotFoundException:
        return Forwarding(account, "MISSING", False)
    except events.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"):
            return Forwarding(account, "UNKNOWN", True)
        raise
    targets = list(pages(events.list_targets_by_rule, "Targets", Rule=settings.forwarding_rule_name))
    return Forwarding(account, str(rule.get("State", "")), any(t.get("Arn") == settings.hub_bus_arn for t in targets))


@dataclass(frozen=True)
class Registry:
    """Clients that read one account's registry (and its forwarding rule)."""

    sagemaker: Any
    events: Any | None


def read_levels(
    *,
    sagemaker: Any,
    dynamodb: Any,
    s3: Any,
    registry_of: Callable[[str], Registry],
    settings: ReconcilerSettings,
    now: datetime,
) -> Levels:
    plans, links = link_records(dynamodb, settings.link_table)
    accounts = sorted({settings.hub_account, *settings.spoke_accounts, *(link.account for link in links.values())})
    packages: list[Package] = []
    forwarding: list[Forwarding] = []
    unreadable: dict[str, str] = {}
    for account in accounts:
        try:
            registry = registry_of(account)
            packages += registry_packages(registry.sagemaker, account)
            if account != settings.hub_account and registry.events is not None and settings.forwarding_rule_name:
                forwarding.append(forwarding_state(registry.events, settings, account))
        except Exception as error:  # one unreadable spoke must not hide the others
            if type(error).__name__ in ("ThrottlingException", "RetryQuotaReached"):
                raise
            unreadable[account] = f"{type(error).__name__}: {error}"[:300]
    cards = hub_cards(sagemaker, dynamodb, s3, settings)
    return Levels(now, packages, plans, links, cards, forwarding, unreadable)


# --- Act ------------------------------------------------------------------------------------------


@dataclass
class RunReport:
    done: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # The resources (package ARNs) of the dead-lettered events this run saw.
    dead_lettered: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {"done": self.done, "reported": self.reported, "counts": self.counts}


def package_event(described: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    """The state change SageMaker sends for a package, made from its description (what the registry
    holds, read by the hub): a creation event has no UpdatedModelPackageFields."""
    detail = {k: _plain(v) for k, v in described.items() if k not in ("ResponseMetadata", "ModelPackageName")}
    return {
        "version": "0",
        "id": f"{RECONCILER}-{described['ModelPackageArn']}-{timestamp(described.get('CreationTime'))}",
        "detail-type": MODEL_PACKAGE_STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": account,
        "region": region,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "resources": [described["ModelPackageArn"]],
        "detail": detail,
    }


def card_event(card_name: str, sagemaker: Any, settings: ReconcilerSettings) -> dict[str, Any]:
    """The state change SageMaker sends for a card, made from its description now: the workflow
    judges it as it judges any (who set it, from CloudTrail; a hint, never an instruction)."""
    from shared.runtime import metadata_only

    described = sagemaker.describe_model_card(ModelCardName=card_name, **metadata_only(sagemaker, "DescribeModelCard"))
    detail = {
        key: _plain(described.get(key))
        for key in ("ModelCardName", "ModelCardVersion", "ModelCardStatus", "LastModifiedTime", "CreationTime")
    }
    detail |= {
        "LastModifiedBy": _plain(described.get("LastModifiedBy") or {}),
        "CreatedBy": _plain(described.get("CreatedBy") or {}),
        "AccountId": settings.hub_account,
    }
    return {
        "version": "0",
        "id": f"{RECONCILER}-{card_name}-{detail['ModelCardVersion']}-{detail['LastModifiedTime']}",
        "detail-type": "SageMaker Model Card State Change",
        "source": "aws.sagemaker",
        "account": settings.hub_account,
        "region": settings.region,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "resources": [described["ModelCardArn"]],
        "detail": detail,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def act(
    actions: Sequence[Action],
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    registry_of: Callable[[str], Registry],
    dispatch: Dispatch,
    settings: ReconcilerSettings,
    report: RunReport,
) -> None:
    """Perform each action once: its ledger entry says it was done (by the reconciler)."""
    from card_workflow.ledger import append_entry, get_entry
    from card_workflow.notices import send_once

    for action in actions:
        ledger_arn = _ledger_arn(action, settings)
        # An alert is sent once; a link, revert or settle is asked for as long as the level calls for it.
        recorded = get_entry(dynamodb, settings.ledger_table, ledger_arn, action.key) is not None
        if recorded and action.kind.startswith("alert-"):
            continue
        if action.kind == "link" and action.package is not None:
            described = registry_of(action.package.account).sagemaker.describe_model_package(
                ModelPackageName=action.package.arn
            )
            outcome = dispatch.link(package_event(described, action.package.account, settings.region))
        elif action.kind == "revert" and action.package is not None:
            described = registry_of(action.package.account).sagemaker.describe_model_package(
                ModelPackageName=action.package.arn
            )
            approved = described.get("ModelApprovalStatus") == "Approved"
            if not approved and stage_of(described) != settings.deployable_stage:
                continue  # reverted since it was listed
            event = package_event(described, action.package.account, settings.region)
            event["detail"]["UpdatedModelPackageFields"] = ["ModelApprovalStatus" if approved else "ModelLifeCycle"]
            outcome = dispatch.gate(event)
        elif action.kind == "settle":
            outcome = dispatch.recheck(action.subject)
        elif action.kind == "judge":
            outcome = dispatch.card_event(card_event(action.subject, sagemaker, settings))
        else:
            outcome = send_once(
                dynamodb,
                sns,
                table=settings.ledger_table,
                topic_arn=settings.topic_arn,
                card_arn=ledger_arn,
                key=f"{action.key}#notice",
                subject=_subject(action),
                message=f"{action.reason}.\nFound by the reconciler; see the governance report.",
                version=0,
            )
        append_entry(
            dynamodb,
            settings.ledger_table,
            ledger_arn,
            action.key,
            {
                "Kind": f"{RECONCILER}-{action.kind}",
                "Subject": action.subject,
                "Reason": action.reason[:2000],
                "By": RECONCILER,
                "Outcome": _brief(outcome),
            },
        )
        report.done.append(f"{action.kind} {action.subject}: {action.reason}")
        report.counts[action.kind] = report.counts.get(action.kind, 0) + 1


def _ledger_arn(action: Action, settings: ReconcilerSettings) -> str:
    """Where the reconciler's entry goes: the card's own chain for a card, the package's for a package,
    and a chain of the account's for what concerns a whole spoke."""
    if action.kind in ("settle", "judge"):
        return (
            f"arn:{settings.partition}:sagemaker:{settings.region}:{settings.hub_account}:model-card/{action.subject}"
        )
    if action.subject.startswith("arn:"):
        return action.subject
    return f"arn:{settings.partition}:sagemaker:{settings.region}:{action.subject}:model-package-group/*"


def _subject(action: Action) -> str:
    titles = {
        "alert-squat": "A model card name was taken before the hub made the card",
        "alert-forwarding": f"Event forwarding of {action.subject} is broken",
        "alert-silent": f"No events from {action.subject}",
        "alert-unreadable": f"The registry of {action.subject} could not be read",
    }
    return titles.get(action.kind, f"Reconciler: {action.kind} {action.subject}")[:100]


def _brief(outcome: Any) -> str:
    text = outcome if isinstance(outcome, str) else json.dumps(outcome, default=str, sort_keys=True)
    return text[:500]


# --- Dead letters ---------------------------------------------------------------------------------


def redrive_dead_letters(
    *, sqs: Any, dynamodb: Any, dispatch: Dispatch, settings: ReconcilerSettings, report: RunReport
) -> None:
    """Hand each dead-lettered event back to its function, at most `max_redrives` times; leave and
    report the ones whose reason is permanent (retrying cannot change a malformed event)."""
    for url, function in sorted(settings.dead_letter_queues.items()):
        kept: list[str] = []
        _redrive_queue(
            url, function, kept, sqs=sqs, dynamodb=dynamodb, dispatch=dispatch, settings=settings, report=report
        )
        # What stays is visible again at once, for the next run and for whoever looks at the queue.
        for receipt in kept:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)


def _redrive_queue(
    url: str,
    function: str,
    kept: list[str],
    *,
    sqs: Any,
    dynamodb: Any,
    dispatch: Dispatch,
    settings: ReconcilerSettings,
    report: RunReport,
) -> None:
    for _ in range(100):  # at most 1,000 messages a run: the rest wait for the next
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            reason = _reason(message)
            label = f"{function}: {reason or 'no reason given'}"
            if reason.startswith(PERMANENT_REASONS):
                report.reported.append(f"dead letter kept ({label})")
                kept.append(message["ReceiptHandle"])
                continue
            try:
                event = json.loads(message["Body"])
            except ValueError:
                report.reported.append(f"dead letter kept (not JSON; {label})")
                kept.append(message["ReceiptHandle"])
                continue
            if isinstance(event, Mapping):
                report.dead_lettered |= {str(r) for r in event.get("resources") or [] if isinstance(r, str)}
            count = _count_redrive(dynamodb, settings.link_table, message.get("MessageId", ""), event)
            if count > settings.max_redrives:
                report.reported.append(f"dead letter kept after {settings.max_redrives} redrives ({label})")
                kept.append(message["ReceiptHandle"])
                continue
            dispatch.redrive(function, event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            report.done.append(f"redrive to {function} ({count} of {settings.max_redrives}): {reason}")
            report.counts["redrive"] = report.counts.get("redrive", 0) + 1


def _reason(message: Mapping[str, Any]) -> str:
    """The handler's own Reason, or what Lambda's dead-letter message says (ErrorCode, ErrorMessage)."""
    attributes = message.get("MessageAttributes") or {}
    # EventBridge names its own attributes ERROR_CODE and ERROR_MESSAGE (a target it could not reach).
    for name in ("Reason", "ErrorMessage", "ErrorCode", "ERROR_MESSAGE", "ERROR_CODE"):
        value = attributes.get(name, {}).get("StringValue")
        if value:
            return str(value)
    return ""


def _count_redrive(dynamodb: Any, table: str, message_id: str, event: Any) -> int:
    """How often this event has been handed back (the event's id, else the message's), counted once per redrive."""
    key = str(event.get("id") if isinstance(event, Mapping) and event.get("id") else message_id)
    answer = dynamodb.update_item(
        TableName=table,
        Key={"CardName": {"S": f"redrive#{key}"}},
        UpdateExpression="ADD Redrives :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["Redrives"]["N"])


# --- One run --------------------------------------------------------------------------------------


def reconcile(
    *,
    sagemaker: Any,
    dynamodb: Any,
    s3: Any,
    sns: Any,
    sqs: Any,
    registry_of: Callable[[str], Registry],
    dispatch: Dispatch,
    settings: ReconcilerSettings,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> RunReport:
    """Read, decide, act; then hand dead letters back. Returns what was done and reported."""
    report = RunReport()
    progress("redriving dead letters")
    redrive_dead_letters(sqs=sqs, dynamodb=dynamodb, dispatch=dispatch, settings=settings, report=report)
    progress("reading registries, links, cards and ledger")
    levels = read_levels(
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        s3=s3,
        registry_of=registry_of,
        settings=settings,
        now=now or datetime.now(UTC),
    )
    levels = dataclasses.replace(levels, dead_lettered=frozenset(report.dead_lettered))
    progress(f"read {len(levels.packages)} package versions, {len(levels.cards)} cards")
    actions = decide(levels, settings)
    progress(f"{len(actions)} action(s) to take")
    act(
        actions,
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        sns=sns,
        registry_of=registry_of,
        dispatch=dispatch,
        settings=settings,
        report=report,
    )
    return report
