"""One row per model package version, and the findings: each names the rule that flags it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from card_workflow.approval_policy import default_policy, review_state, suspension_state
from card_workflow.reviews import content_changes
from card_workflow.reviews import latest_approval as effective_approval
from card_workflow.tiers import card_verdict, counting_decisions
from shared.metrics import changes_between, regressions

from governance_report.sources import (
    EVIDENCE_PREFIX,
    Approval,
    HubRecords,
    PackageVersion,
    Registry,
    ReportSettings,
    approvals,
    broken_chains,
    evidence_pdfs,
    pending_since,
    reverted_attempts,
    truncated_chains,
)

# Rule ID -> what it flags. The order is the order findings are listed in.
RULES: dict[str, str] = {
    "ledger-chain-broken": "The approval ledger's hash chain does not verify: an entry was changed or removed.",
    "ledger-truncated": (
        "A card's chain in the approval ledger ends before the head anchored in the evidence bucket, "
        "or is gone: its newest entries or the whole chain were deleted."
    ),
    "registry-unreadable": "An account's model registry could not be read, so its versions are not in the report.",
    "approved-package-without-approved-card": (
        "A model package is Approved, but the current version of its card was not approved by an approver."
    ),
    "deployed-not-approved": "A model package serves an endpoint but is not Approved.",
    "approval-reverted": "An approval attempt was reverted by the hub.",
    "version-without-card": "A model package version has no model card.",
    "card-name-squatted": (
        "A card name the hub planned for a version was taken first by a card the hub did not make; "
        "that card governs nothing, and the version's card has another name."
    ),
    "approved-without-evidence-pdf": "A card version is Approved but the evidence bucket has no PDF export of it.",
    "review-overdue": "A card has waited in PendingReview longer than the configured number of days.",
    "metric-regression": (
        "A version's metric moved further from the group's last approved version than metric_thresholds allows."
    ),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    account: str
    subject: str
    message: str


@dataclass
class Row:
    account: str
    model_package_group: str
    model_package_version: int
    model_package_arn: str
    approval_status: str
    card_name: str = ""
    card_arn: str = ""
    card_version: int | None = None
    card_status: str = ""
    risk_rating: str = ""
    purpose: str = ""
    approved_by: str = ""
    approved_at: str = ""
    approved_card_version: int | None = None
    evidence: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    # Against the group's last approved version, e.g. "... / auc: 0.912 -> 0.874 (-0.038)".
    metric_changes: list[str] = field(default_factory=list)
    # The approval policy on the card's current version: its tier, who approved (and when), which
    # groups are still missing; the effective approval's review due date; a standing suspension.
    tier: str = ""
    decisions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    review_due: str = ""
    overdue: bool = False
    suspended: bool = False


@dataclass
class Report:
    generated_at: str
    hub_account: str
    accounts: list[str]
    pending_review_days: int
    rows: list[Row]
    findings: list[Finding]

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        return {
            "findings": dict(Counter(f.rule for f in self.findings)),
            "card_status": dict(sorted(Counter(r.card_status or "no card" for r in self.rows).items())),
            "risk_rating": dict(sorted(Counter(r.risk_rating or "no card" for r in self.rows).items())),
            "approval_status": dict(sorted(Counter(r.approval_status or "none" for r in self.rows).items())),
            "account": dict(sorted(Counter(r.account for r in self.rows).items())),
            "tier": dict(sorted(Counter(r.tier for r in self.rows if r.tier).items())),
            "approval_policy": {
                "partially approved": sum(1 for r in self.rows if r.decisions and r.missing),
                "overdue": sum(1 for r in self.rows if r.overdue),
                "suspended": sum(1 for r in self.rows if r.suspended),
            },
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "hub_account": self.hub_account,
            "accounts": self.accounts,
            "pending_review_days": self.pending_review_days,
            "rules": RULES,
            "summary": self.summary,
            "findings": [asdict(f) for f in self.findings],
            "rows": [asdict(r) for r in self.rows],
        }


def parse_time(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def build_report(
    hub: HubRecords,
    registries: Sequence[Registry],
    settings: ReportSettings,
    *,
    now: datetime,
) -> Report:
    findings: list[Finding] = []
    for card_arn, problem in broken_chains(hub.ledger):
        findings.append(Finding("ledger-chain-broken", settings.hub_account, card_arn, problem))
    for card_arn, problem in truncated_chains(hub.ledger, hub.anchors):
        findings.append(Finding("ledger-truncated", settings.hub_account, card_arn, problem))
    for registry in registries:
        if registry.error:
            findings.append(Finding("registry-unreadable", registry.account, registry.account, registry.error))

    rows = [
        package_row(package, registry, hub, settings, findings, now)
        for registry in registries
        for package in sorted(registry.packages, key=lambda p: (p.group, p.version))
    ]
    metric_findings(rows, hub, settings, findings)
    rows_by_card = {row.card_name: row for row in rows if row.card_name}
    for card in sorted(hub.cards.values(), key=lambda c: c.name):
        row = rows_by_card.get(card.name)
        account = row.account if row else settings.hub_account
        entries = hub.ledger.get(card.arn, [])
        for attempt in reverted_attempts(entries):
            add(findings, row, Finding("approval-reverted", account, card.arn, attempt_message(card.name, attempt)))
        if card.status == "Approved" and not evidence_pdfs(entries, card.version, hub.evidence_keys):
            message = f"{card.name} v{card.version} is Approved; the ledger records no PDF of it in the evidence bucket"
            add(findings, row, Finding("approved-without-evidence-pdf", account, card.arn, message))
        if card.status == "PendingReview":
            since_text = pending_since(entries, card.version) or card.last_modified
            since = parse_time(since_text)
            if since is not None and now - since > timedelta(days=settings.pending_review_days):
                days = (now - since).days
                message = f"{card.name} v{card.version} in PendingReview since {since_text} ({days} days)"
                add(findings, row, Finding("review-overdue", account, card.arn, message))

    for package_arn, squats in sorted(hub.squats.items()):
        for squat in squats:
            name, card_arn = [*squat.split(" "), ""][:2]
            message = (
                f"{name} was created by someone else before the hub made the card of {package_arn}; "
                f"it governs nothing (the version's card is {hub.links.get(package_arn, 'not made yet')})"
            )
            findings.append(Finding("card-name-squatted", package_arn.split(":")[4], card_arn or name, message))
    order = {rule: index for index, rule in enumerate(RULES)}
    findings.sort(key=lambda f: (order[f.rule], f.account, f.subject))
    return Report(
        generated_at=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        hub_account=settings.hub_account,
        accounts=[r.account for r in registries],
        pending_review_days=settings.pending_review_days,
        rows=rows,
        findings=findings,
    )


def metric_findings(rows: Sequence[Row], hub: HubRecords, settings: ReportSettings, findings: list[Finding]) -> None:
    """Each version's metric changes against the last earlier version of its group whose card's
    current version an approver approved; a change beyond its threshold is a finding."""
    baseline: dict[tuple[str, str], Row] = {}
    for row in sorted(rows, key=lambda r: (r.account, r.model_package_group, r.model_package_version)):
        group = (row.account, row.model_package_group)
        card = hub.cards.get(row.card_name) if row.card_name else None
        base = baseline.get(group)
        base_card = hub.cards.get(base.card_name) if base is not None else None
        if card is not None and base is not None and base_card is not None:
            changes = changes_between(base_card.metrics, card.metrics)
            row.metric_changes = [c.line() for c in changes]
            for line in regressions(changes, settings.metric_thresholds):
                message = f"{card.name} v{card.version} against {base_card.name} v{base_card.version}: {line}"
                add(findings, row, Finding("metric-regression", row.account, card.arn, message))
        if card is not None and row.card_status == "Approved" and row.approved_card_version == row.card_version:
            baseline[group] = row


def add(findings: list[Finding], row: Row | None, finding: Finding) -> None:
    findings.append(finding)
    if row is not None and finding.rule not in row.findings:
        row.findings.append(finding.rule)


def policy_columns(
    row: Row,
    card: Any,
    entries: Sequence[Mapping[str, str]],
    settings: ReportSettings,
    now: datetime,
    model_rating: str | None = None,
) -> None:
    """The approval policy's view of the card (see Row), at the tier the workflow applies
    (tiers.card_verdict): the strictest of the current version's rating, the rating the last
    approved version was approved at, the model's last approval's (`model_rating`, from the hub's
    link table) and the declared tier. The report reads no earlier card
    version: an `approval-effective` entry written before the workflow recorded its rating counts
    as Unknown, the strictest tier (fail closed: the report may ask for more than the workflow
    did, never for less)."""
    # Without approvers configured the report counts every approval the ledger attributes (sources.approvals).
    policy = settings.policy or default_policy(sorted(settings.approvers) or ["arn:*:*:*:*:*"])
    verdict = card_verdict(
        policy,
        entries,
        card_name=card.name,
        version=card.version,
        rating=card.risk_rating or None,
        group=card.group or None,
        card_created=card.created or None,
        model_rating=model_rating,
    )
    row.tier = verdict.rating
    when = {
        d.person: d.at.isoformat()
        for d in counting_decisions(entries, card.version, card_created=card.created or None)
        if d.decision == "approve"
    }
    seated = [who for _, who in verdict.places if who] + list(verdict.others)
    row.decisions = [f"{who} ({when.get(who, '')})" for who in seated]
    row.missing = [group for group, who in verdict.places if not who] if not verdict.effective else []
    row.suspended = suspension_state(policy, entries).suspended
    approval = effective_approval(card.arn, entries)
    if approval is not None:
        state = review_state(policy, approval.approved_at, now, triggers=content_changes(entries, approval))
        row.review_due = state.due.isoformat() if state.due else ""
        expired = any(e.get("Kind") == "review-expired" for e in entries)
        row.overdue = state.overdue or expired


def package_row(
    package: PackageVersion,
    registry: Registry,
    hub: HubRecords,
    settings: ReportSettings,
    findings: list[Finding],
    now: datetime | None = None,
) -> Row:
    now = now or datetime.now(UTC)
    row = Row(
        account=package.account,
        model_package_group=package.group,
        model_package_version=package.version,
        model_package_arn=package.arn,
        approval_status=package.approval_status,
        endpoints=list(registry.endpoints.get(package.arn, ())),
    )
    name = hub.links.get(package.arn)
    card = hub.cards.get(name) if name else None
    if card is None:
        message = f"{label(package)} has no card"
        add(findings, row, Finding("version-without-card", package.account, package.arn, message))
    else:
        approval = latest_approval(approvals(hub.ledger.get(card.arn, []), settings.approvers))
        row.card_name, row.card_arn, row.card_version = card.name, card.arn, card.version
        row.card_status, row.risk_rating, row.purpose = card.status, card.risk_rating, card.purpose
        if approval is not None:
            row.approved_by, row.approved_at, row.approved_card_version = approval.by, approval.at, approval.version
            prefix = f"{EVIDENCE_PREFIX}{card.name}/v{approval.version}/"
            keys = sorted(k for k in hub.evidence_keys if k.startswith(prefix))
            row.evidence = [f"s3://{settings.evidence_bucket}/{key}" for key in keys]
        model_rating = hub.model_ratings.get(package.arn.rsplit("/", 1)[0])
        policy_columns(row, card, hub.ledger.get(card.arn, []), settings, now, model_rating)
        card_approved = card.status == "Approved" and approval is not None and approval.version == card.version
        if package.approval_status == "Approved" and not card_approved:
            state = f"{card.name} v{card.version} is {card.status}"
            if card.status == "Approved":
                state += ", with no approval by an approver in the ledger"
            message = f"{label(package)} is Approved; {state}"
            add(findings, row, Finding("approved-package-without-approved-card", package.account, package.arn, message))
    if row.endpoints and package.approval_status != "Approved":
        status = package.approval_status or "without status"
        message = f"{label(package)} is {status}; serves {', '.join(row.endpoints)}"
        add(findings, row, Finding("deployed-not-approved", package.account, package.arn, message))
    return row


def attempt_message(card_name: str, attempt: Mapping[str, str]) -> str:
    """What the ledger says of a reverted approval: who set the card Approved and why it did not
    count, or which package was approved by hand before its card."""
    if attempt.get("Kind") == "package-approval-reverted":
        package = attempt.get("Package", "")
        return f"{card_name}: package {package} set Approved by hand; reverted ({attempt.get('Reason', '')})"
    version, principal = attempt.get("Version", "?"), attempt.get("Principal", "unknown")
    return f"{card_name} v{version} set Approved by {principal}; refused ({attempt.get('Reason', '')})"


def latest_approval(found: Sequence[Approval]) -> Approval | None:
    return max(found, key=lambda a: (a.version, a.at), default=None)


def label(package: PackageVersion) -> str:
    return f"{package.group} v{package.version} in {package.account}"
