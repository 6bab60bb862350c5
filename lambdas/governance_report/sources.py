"""Reading what the report is built from: the hub's records and every account's registry.

Each data source is one small function or method, so a new hub record (a link table, an
attribution item in the ledger) is read by changing one place. Every list call is paginated;
describes run on a bounded thread pool; retries are botocore's standard mode.

What the report trusts: the hub's own records decide which package a card governs (the link
table, written by the auto-linker when it created the card) and who approved what (the ledger).
Card content is data written by spoke teams: it is shown, never used to link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from card_workflow.anchors import Anchor, read_anchors, truncations
from card_workflow.approval_policy import ApprovalPolicy
from card_workflow.ledger import scan_table, verify_card
from card_workflow.tiers import created_at, package_group
from shared.card_links import GROUP_PREFIX
from shared.metrics import Threshold, number_metrics

# Throttling and 5xx are retried with exponential backoff and jitter; a report of a large
# organization makes thousands of describe calls.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=16)
EVIDENCE_PREFIX = "evidence/"
# Ledger item kinds the report reads besides status changes (the workflow writes them).
EVIDENCE_PDF_KIND = "evidence-pdf"
APPROVAL_EFFECTIVE_KIND = "approval-effective"
REVERTED_KINDS = frozenset({"approval-refused", "package-approval-reverted"})

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress callback that says nothing."""


@dataclass(frozen=True)
class ReportSettings:
    hub_account: str
    region: str
    ledger_table: str
    link_table: str
    evidence_bucket: str
    spoke_accounts: tuple[str, ...]
    registry_role_name: str
    pending_review_days: int = 14
    # Principals whose approval counts; empty means every approval the ledger attributes.
    approvers: tuple[str, ...] = ()
    workers: int = 8
    partition: str = "aws"
    # Metric name -> the largest acceptable change against the group's last approved version.
    metric_thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    # The approval policy (card_workflow.approval_policy); None: one person of the approvers.
    policy: ApprovalPolicy | None = None


@dataclass(frozen=True)
class PackageVersion:
    account: str
    group: str
    version: int
    arn: str
    approval_status: str
    created: str


@dataclass(frozen=True)
class Card:
    name: str
    arn: str
    version: int
    status: str
    risk_rating: str
    purpose: str
    last_modified: str
    # (evaluation, metric group, metric name) -> value, for the card's number metrics.
    metrics: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    # What the approval policy weighs besides the rating, as the workflow reads it (tiers.card_verdict):
    # the content's model package group (its declared tier; the workflow refuses an approval whose
    # content names another package than the hub's link) and the CreationTime (decisions on an
    # earlier card of the same name do not count).
    group: str = ""
    created: str = ""


@dataclass(frozen=True)
class Registry:
    account: str
    packages: tuple[PackageVersion, ...]
    # package ARN -> names of the endpoints that serve it
    endpoints: Mapping[str, tuple[str, ...]]
    error: str = ""


@dataclass
class HubRecords:
    cards: dict[str, Card]
    # card ARN -> its ledger items, oldest first
    ledger: dict[str, list[dict[str, str]]]
    # package ARN -> the name of the card the hub created for it
    links: dict[str, str]
    evidence_keys: set[str] = field(default_factory=set)
    # card ARN -> the newest chain head the workflow anchored in the evidence bucket
    anchors: dict[str, Anchor] = field(default_factory=dict)
    # package ARN -> `<name> <card ARN> <CreationTime>` of each name taken before the hub made its card
    squats: dict[str, list[str]] = field(default_factory=dict)
    # model package group (its versions' ARN without the version) -> the rating of its latest
    # effective approval (shared.card_links.record_group_approval)
    model_ratings: dict[str, str] = field(default_factory=dict)


def bounded_map(function: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """`function` over `items` with at most `workers` calls in flight, results in input order."""
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def iso(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text.replace("+00:00", "Z")
    return str(value)


# --- The hub -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubClients:
    """Made once, in one thread: boto3 sessions are not thread-safe, its clients are."""

    sagemaker: Any
    dynamodb: Any
    s3: Any
    sts: Any

    @classmethod
    def of(cls, session: boto3.Session) -> HubClients:
        return cls(*(session.client(name, config=RETRIES) for name in ("sagemaker", "dynamodb", "s3", "sts")))


def read_hub(clients: HubClients, settings: ReportSettings, progress: Progress = quiet) -> HubRecords:
    sagemaker, dynamodb, s3 = clients.sagemaker, clients.dynamodb, clients.s3
    names = list(card_names(sagemaker))
    progress(f"hub {settings.hub_account}: {len(names)} model cards")
    cards = bounded_map(lambda name: describe_card(sagemaker, name), names, settings.workers)
    ledger = read_ledger(dynamodb, settings.ledger_table)
    progress(f"hub {settings.hub_account}: ledger of {len(ledger)} cards")
    squats: dict[str, list[str]] = {}
    ratings: dict[str, str] = {}
    links = read_links(dynamodb, settings.link_table, squats, ratings)
    evidence = set(evidence_keys(s3, settings.evidence_bucket))
    progress(f"hub {settings.hub_account}: {len(links)} linked versions, {len(evidence)} evidence objects")
    anchors = read_anchors(s3, settings.evidence_bucket)
    return HubRecords({card.name: card for card in cards}, ledger, links, evidence, anchors, squats, ratings)


def card_names(sagemaker: Any) -> Iterator[str]:
    for page in sagemaker.get_paginator("list_model_cards").paginate():
        for summary in page.get("ModelCardSummaries", []):
            yield summary["ModelCardName"]


def describe_card(sagemaker: Any, name: str) -> Card:
    card = sagemaker.describe_model_card(ModelCardName=name)
    risk_rating, purpose = shown_content(card.get("Content"))
    return Card(
        name=name,
        arn=card["ModelCardArn"],
        version=int(card["ModelCardVersion"]),
        status=card["ModelCardStatus"],
        risk_rating=risk_rating,
        purpose=purpose,
        last_modified=iso(card.get("LastModifiedTime")),
        metrics=card_metrics(card.get("Content")),
        group=card_group(card.get("Content")),
        created=created_at(card.get("CreationTime")) or "",
    )


def card_group(content: Any) -> str:
    try:
        parsed = json.loads(content or "{}")
    except ValueError:
        return ""
    return (package_group(parsed) or "") if isinstance(parsed, Mapping) else ""


def card_metrics(content: Any) -> dict[tuple[str, str, str], float]:
    try:
        parsed = json.loads(content or "{}")
    except ValueError:
        return {}
    return number_metrics(parsed) if isinstance(parsed, Mapping) else {}


MAX_PURPOSE = 200


def shown_content(content: Any) -> tuple[str, str]:
    """What the report shows of a card's content: its risk rating (`Unknown` when unreadable) and
    its purpose, shortened. Both are text a spoke team wrote; the page escapes them."""
    try:
        parsed = json.loads(content or "{}")
        uses = parsed.get("intended_uses") or {}
        overview = parsed.get("model_overview") or {}
        rating, purpose = uses.get("risk_rating"), uses.get("purpose_of_model") or overview.get("model_description")
    except (ValueError, AttributeError):
        return "Unknown", ""
    rating = rating if isinstance(rating, str) and rating else "Unknown"
    purpose = purpose if isinstance(purpose, str) else ""
    return rating, purpose if len(purpose) <= MAX_PURPOSE else purpose[: MAX_PURPOSE - 3] + "..."


def read_ledger(dynamodb: Any, table: str) -> dict[str, list[dict[str, str]]]:
    """Every ledger item, chain links included (the chain is verified from them), grouped by
    card; one paginated scan instead of a query per card."""
    ledger: dict[str, list[dict[str, str]]] = {}
    for item in scan_table(dynamodb, table):
        ledger.setdefault(item["CardArn"], []).append(item)
    for entries in ledger.values():
        entries.sort(key=lambda e: e["EntryKey"])
    return ledger


def read_links(
    dynamodb: Any,
    table: str,
    squats: dict[str, list[str]] | None = None,
    ratings: dict[str, str] | None = None,
) -> dict[str, str]:
    """The hub's record of which package version each of its cards was created for (the link
    table: one item per card, `CardName` -> `PackageArn`). A package's plan (shared.card_links)
    names its card where it has one: after a group was created again, the old card's item still
    names the same ARN. Names found taken before the hub made its card go into `squats`; each
    model's last approved rating (items `group#<ARN without version>`) into `ratings`."""
    links: dict[str, str] = {}
    planned: dict[str, str] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            key = item["CardName"]["S"]
            if key.startswith("package#") and "PlannedCard" in item:
                planned[key.removeprefix("package#")] = item["PlannedCard"]["S"]
                if squats is not None and item.get("Squatted", {}).get("SS"):
                    squats[key.removeprefix("package#")] = sorted(item["Squatted"]["SS"])
            elif key.startswith(GROUP_PREFIX) and "Rating" in item:
                if ratings is not None:
                    ratings[key.removeprefix(GROUP_PREFIX)] = item["Rating"]["S"]
            elif "PackageArn" in item:
                links[item["PackageArn"]["S"]] = key
    return {**links, **planned}


def evidence_keys(s3: Any, bucket: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=EVIDENCE_PREFIX):
        for item in page.get("Contents", []):
            yield item["Key"]


# --- The ledger's meaning -------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    version: int
    by: str
    at: str


def status_entries(entries: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]]:
    return [e for e in entries if e.get("Kind") == "status"]


def approvals(entries: Sequence[Mapping[str, str]], approvers: Sequence[str]) -> list[Approval]:
    """The approvals the workflow made effective (`approval-effective` entries), oldest first.

    The workflow writes one only after CloudTrail showed an approver set the status, so an
    Approved status without one (a spoke's, or one the hub could not attribute) does not count.
    With `approvers` given, the entry's principal (the role) or its exact caller must be one.
    """
    status_times = {e["EntryKey"]: e.get("ModifiedAt", "") for e in status_entries(entries)}
    found = []
    for entry in entries:
        if entry.get("Kind") != APPROVAL_EFFECTIVE_KIND:
            continue
        principal, caller = entry.get("Principal", ""), entry.get("Caller", "")
        if approvers and principal not in approvers and caller not in approvers:
            continue
        # The entry is keyed after the status change it made effective: "<change>#approval-effective".
        change = entry["EntryKey"].rsplit("#", 1)[0]
        found.append(Approval(int(entry["Version"]), approved_by(entry), status_times.get(change, "")))
    return sorted(found, key=lambda a: (a.version, a.at))


def approved_by(entry: Mapping[str, str]) -> str:
    """The person who approved, and the caller that carried the approval: a role session names the
    person only through its source identity; entries written before the ledger kept a `Person`, or
    whose person is the caller itself, show the caller alone."""
    caller = entry.get("Caller", "") or entry.get("Principal", "")
    person = entry.get("Person", "")
    return f"{person} ({caller})" if person and person != caller else caller


def evidence_pdfs(entries: Sequence[Mapping[str, str]], version: int, keys: set[str]) -> list[str]:
    """The PDFs of a card version that the ledger records and the evidence bucket holds."""
    found = []
    for entry in entries:
        if entry.get("Kind") != EVIDENCE_PDF_KIND or entry.get("Version") != str(version):
            continue
        uri = entry.get("Detail", "")
        key = uri.split("/", 3)[3] if uri.startswith("s3://") and uri.count("/") >= 3 else ""
        if key in keys:
            found.append(uri)
    return found


def reverted_attempts(entries: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]]:
    return [e for e in entries if e.get("Kind") in REVERTED_KINDS]


def pending_since(entries: Sequence[Mapping[str, str]], version: int) -> str | None:
    """When the version last went to PendingReview, by the ledger."""
    times = [
        e.get("ModifiedAt", "")
        for e in status_entries(entries)
        if e.get("Status") == "PendingReview" and e.get("Version") == str(version)
    ]
    return max(times) if times else None


def broken_chains(ledger: Mapping[str, Sequence[Mapping[str, str]]]) -> list[tuple[str, str]]:
    """(card ARN, its first broken link) for every card whose hash chain does not verify, by the
    workflow's own verifier (the one `scripts/verify-ledger` runs)."""
    found = []
    for card_arn in sorted(ledger):
        broken = verify_card(card_arn, ledger[card_arn])
        if broken is not None:
            found.append((card_arn, broken.where))
    return found


def truncated_chains(
    ledger: Mapping[str, Sequence[Mapping[str, str]]], anchors: Mapping[str, Anchor]
) -> list[tuple[str, str]]:
    """(card ARN, what is missing) for every card whose chain no longer reaches the head the
    workflow anchored in the evidence bucket, by the check `scripts/verify-ledger --bucket` runs."""
    return [(cut.card_arn, cut.what) for cut in truncations(ledger, anchors)]


# --- Every account's registry ---------------------------------------------------------------------


def registry_client(session: boto3.Session, hub: HubClients, settings: ReportSettings, account: str) -> Any:
    """The hub's own SageMaker client for the hub; for a spoke, one in its read-only registry role.

    Made from the hub's session (its loaded service models are reused), in the calling thread."""
    if account == settings.hub_account:
        return hub.sagemaker
    credentials = hub.sts.assume_role(
        RoleArn=f"arn:{settings.partition}:iam::{account}:role/{settings.registry_role_name}",
        RoleSessionName="governance-report",
    )["Credentials"]
    return session.client(
        "sagemaker",
        region_name=settings.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        endpoint_url=hub.sagemaker.meta.endpoint_url,
        config=RETRIES,
    )


def read_registry(sagemaker: Any, account: str, settings: ReportSettings, progress: Progress = quiet) -> Registry:
    groups = list(package_groups(sagemaker))
    per_group = bounded_map(lambda group: list(group_packages(sagemaker, account, group)), groups, settings.workers)
    packages = tuple(p for found in per_group for p in found)
    endpoints = deployments(sagemaker, settings.workers)
    progress(f"account {account}: {len(groups)} groups, {len(packages)} versions, {len(endpoints)} deployed")
    return Registry(account, packages, endpoints)


def package_groups(sagemaker: Any) -> Iterator[str]:
    for page in sagemaker.get_paginator("list_model_package_groups").paginate():
        for summary in page.get("ModelPackageGroupSummaryList", []):
            yield summary["ModelPackageGroupName"]


def group_packages(sagemaker: Any, account: str, group: str) -> Iterator[PackageVersion]:
    pages = sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            if summary.get("ModelPackageVersion") is None:
                continue
            yield PackageVersion(
                account=account,
                group=summary.get("ModelPackageGroupName", group),
                version=int(summary["ModelPackageVersion"]),
                arn=summary["ModelPackageArn"],
                approval_status=summary.get("ModelApprovalStatus", ""),
                created=iso(summary.get("CreationTime")),
            )


def deployments(sagemaker: Any, workers: int) -> dict[str, tuple[str, ...]]:
    """Package ARN -> endpoints serving it: endpoint -> its config's variants -> each model's
    containers -> the model package they run."""
    names = [
        summary["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate()
        for summary in page.get("Endpoints", [])
    ]

    def packages_of(endpoint: str) -> list[str]:
        config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        variants = sagemaker.describe_endpoint_config(EndpointConfigName=config).get("ProductionVariants", [])
        found = []
        for variant in variants:
            model = sagemaker.describe_model(ModelName=variant["ModelName"])
            containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
            found += [c["ModelPackageName"] for c in containers if c.get("ModelPackageName")]
        return found

    served: dict[str, list[str]] = {}
    for endpoint, packages in zip(names, bounded_map(packages_of, names, workers), strict=True):
        for package in packages:
            served.setdefault(package, []).append(endpoint)
    return {package: tuple(sorted(set(endpoints))) for package, endpoints in served.items()}
