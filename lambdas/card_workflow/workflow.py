"""The approval workflow driven by `SageMaker Model Card State Change` events, and the package gate.

Every status event goes to the ledger once (the only status history there is: SageMaker does not
version status-only changes). Then, for the status the card still has:
- PendingReview: reviewers are told, once per version, what changed since the last approved
  version (or the source card of a fresh clone);
- Approved: the approval takes effect only when the hub's CloudTrail history shows a configured
  approver setting it on this version after the version was PendingReview (see attribution.py).
  Then the exact version is exported into the evidence bucket with a JSON snapshot beside it, and
  the linked model package is approved (in a spoke, through its approval-sync role). What cannot be
  attributed is refused: the card goes back to PendingReview, reviewers are told who tried, the
  ledger records it, no package changes. A record not there yet is looked for again later through
  the recheck queue, until the attribution deadline. A version whose content names another package
  than the one the hub linked the card to is refused the same way, whoever approved it;
  With an approval policy (approval_policy.py) the approval also needs its tier met by decisions
  on exactly that version, and the card must not be suspended; the package gets the policy's
  lifecycle stage in the same UpdateModelPackage call;
- Draft: a reviewer's request for changes is delivered to the spoke that owns the card;
- Archived: optionally, the linked package is rejected (an approver's `reject` decision on exactly
  that version attributes the archive).
The periodic review and suspensions are reviews.py's.
A status event that is no longer the card's status (an out-of-order or late delivery) is recorded
and nothing else: acting on it would notify or approve from a state the card has left.

Each step is idempotent. Its completion is itself appended to the ledger, so a retried event skips
what was done; evidence keys are derived from card and version, and the export job's name is a
nonce the ledger records before the job is asked for (evidence.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.card_links import (
    CardLink,
    card_link,
    content_names_other_package,
    governing_card,
    governing_link,
    imported_record,
    model_approved_rating,
    record_approved_version,
    record_group_approval,
)
from shared.card_names import CARD_NAME, card_name_for_package
from shared.metrics import Threshold, metric_changes, regressions
from shared.runtime import metadata_only, object_exists

from card_workflow.approval_policy import ApprovalPolicy, Stage, default_policy, lifecycle_for, stage_of
from card_workflow.approval_policy import Verdict as PolicyVerdict
from card_workflow.attribution import (
    CardCall,
    Decision,
    Verdict,
    card_calls,
    judge_approval,
    judge_decisions,
    judge_setter,
    parse_time,
)
from card_workflow.evidence import follow_card_exports, hinted_export_card, record_export_job
from card_workflow.ledger import EFFECTIVE_KEY, EFFECTIVE_VALUE, append_entry, get_entry, ledger_entries
from card_workflow.notices import as_data, send_once
from card_workflow.tiers import (
    APPROVAL_EFFECTIVE,
    APPROVED_RATING,
    APPROVED_TIER,
    UNKNOWN,
    card_verdict,
    package_group,
    risk_rating,
    suspended,
)

MODEL_CARD_STATE_CHANGE = "SageMaker Model Card State Change"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
PACKAGE_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-package/([^/]+)/([0-9]+)$")


class MalformedEvent(ValueError):
    """The event cannot be processed as it is; retrying will not help."""


class CardGone(LookupError):
    """The card no longer exists: recorded, logged and dropped, never retried."""


@dataclass(frozen=True)
class WorkflowSettings:
    ledger_table: str
    topic_arn: str
    evidence_bucket: str
    follow_up_queue_url: str
    approval_role_name: str
    hub_account: str
    region: str
    archived_rejects_package: bool = False
    # The hub's card-to-package links (shared.card_links); without it no package is ever changed.
    link_table: str = ""
    # First wait before looking at an export job; later waits double, up to 15 minutes.
    follow_up_delay_seconds: int = 30
    # Principals (role or user ARNs of the hub account) whose Approved status takes effect.
    approvers: frozenset[str] = frozenset()
    approver_may_not_edit: bool = True
    # Approver roles whose every session names a person (the reviewer role: its trust policy
    # requires a source identity); a record of one without a source identity is refused.
    named_roles: frozenset[str] = frozenset()
    recheck_queue_url: str = ""
    # How long an approval may wait for its CloudTrail record before it is refused, and how often
    # the record is looked for meanwhile.
    attribution_deadline_seconds: int = 1800
    recheck_delay_seconds: int = 300
    # Metric name -> the largest acceptable drop or rise against the review's baseline.
    metric_thresholds: dict[str, Threshold] = field(default_factory=dict)
    # The decision endpoint's role (decisions.py): the Approved status it sets is for the version
    # a decision names; on any other version it approves nothing.
    decision_role: str = ""
    # The approval policy (approval_policy.py); None: one person of `approvers`, no expiry.
    policy: ApprovalPolicy | None = None

    @property
    def approval_policy(self) -> ApprovalPolicy:
        return self.policy or default_policy(sorted(self.approvers))


@dataclass(frozen=True)
class CardStatusChange:
    event_id: str
    card_name: str
    card_arn: str
    version: int
    status: str
    modified_by: str
    modified_at: str

    @property
    def entry_key(self) -> str:
        # Sorted by version, then time; the same change delivered twice has the same key.
        return f"{self.version:08d}#{self.modified_at}#{self.status}"


def parse_card_event(event: Mapping[str, Any]) -> CardStatusChange:
    if event.get("detail-type") != MODEL_CARD_STATE_CHANGE:
        raise MalformedEvent(f"detail-type is {event.get('detail-type')!r}, expected {MODEL_CARD_STATE_CHANGE!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing")
    name, version, status = detail.get("ModelCardName"), detail.get("ModelCardVersion"), detail.get("ModelCardStatus")
    if not isinstance(name, str) or not CARD_NAME.match(name):
        raise MalformedEvent(f"detail.ModelCardName is missing or not a card name ({name!r})")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise MalformedEvent(f"detail.ModelCardVersion is missing or not a positive integer ({version!r})")
    if status not in STATUSES:
        raise MalformedEvent(f"detail.ModelCardStatus is {status!r}, not one of {', '.join(STATUSES)}")
    resources = event.get("resources") or []
    account = detail.get("AccountId") or event.get("account")
    arn = resources[0] if resources else f"arn:aws:sagemaker:{event.get('region')}:{account}:model-card/{name}"
    who = detail.get("LastModifiedBy") or {}
    modified_by = (
        who.get("UserProfileName") or who.get("UserProfileArn") or "unknown" if isinstance(who, Mapping) else "unknown"
    )
    modified_at = str(detail.get("LastModifiedTime") or event.get("time") or "")
    return CardStatusChange(str(event.get("id", "")), name, arn, version, status, modified_by or "unknown", modified_at)


def hub_card_arn(settings: WorkflowSettings, name: str) -> str:
    """The card's ARN as the hub knows it: its own account and region, whatever an event says.

    Cards live in the hub; an event's `resources` or `AccountId` is whatever its sender wrote (a
    direct Invoke, a forged queue message), and the ledger chain it names must not be its choice.
    """
    partition = (
        "aws-cn"
        if settings.region.startswith("cn-")
        else "aws-us-gov"
        if settings.region.startswith("us-gov-")
        else "aws"
    )
    return f"arn:{partition}:sagemaker:{settings.region}:{settings.hub_account}:model-card/{name}"


def recheck_hint(change: CardStatusChange) -> dict[str, str]:
    """A recheck message names a card and nothing else: what is decided is read again from SageMaker
    and the ledger when it arrives, so a message cannot choose a version, a status or a time."""
    return {"card_name": change.card_name}


def hinted_card(body: Any) -> str:
    """The card a recheck message names (earlier messages carried the whole card event)."""
    if not isinstance(body, Mapping):
        raise MalformedEvent("the recheck message is not a JSON object")
    name = body.get("card_name")
    if name is None:
        event = body.get("event")
        detail = event.get("detail") if isinstance(event, Mapping) else None
        name = detail.get("ModelCardName") if isinstance(detail, Mapping) else None
    if not isinstance(name, str) or not CARD_NAME.match(name):
        raise MalformedEvent(f"the recheck message names no card ({name!r})")
    return name


# --- The ledger (ledger.py): conditional puts only, one hash chain per card ----------------------


def has_entry(dynamodb: Any, table: str, card_arn: str, entry_key: str) -> bool:
    return get_entry(dynamodb, table, card_arn, entry_key) is not None


def record_status(dynamodb: Any, settings: WorkflowSettings, change: CardStatusChange) -> bool:
    return append_entry(
        dynamodb,
        settings.ledger_table,
        change.card_arn,
        change.entry_key,
        {
            "Kind": "status",
            "Version": str(change.version),
            "Status": change.status,
            "ModifiedBy": change.modified_by,
            "ModifiedAt": change.modified_at,
            "EventId": change.event_id,
            "RecordedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


# --- Reading cards --------------------------------------------------------------------------------


def describe_card(sagemaker: Any, name: str, version: int | None = None, *, metadata: bool = False) -> dict[str, Any]:
    """The card (a version of it); with `metadata`, its status, version and ARN without the content
    a reader needs the card key for (IncludedData=MetadataOnly, shared.runtime.metadata_only)."""
    included = metadata_only(sagemaker, "DescribeModelCard") if metadata else {}
    try:
        if version is None:
            card: dict[str, Any] = sagemaker.describe_model_card(ModelCardName=name, **included)
        else:
            card = sagemaker.describe_model_card(ModelCardName=name, ModelCardVersion=version, **included)
    except sagemaker.exceptions.ResourceNotFound:
        raise CardGone(f"model card {name} (version {version}) no longer exists") from None
    return card


def content_of(card: Mapping[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(card.get("Content") or "{}")
    return content


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, Mapping):
        flat: dict[str, str] = {}
        for key in sorted(value):
            flat.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        if all(not isinstance(v, (Mapping, list)) for v in value):
            return {prefix: json.dumps(value)}
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value if isinstance(value, str) else json.dumps(value)}


def diff_content(before: Mapping[str, Any], after: Mapping[str, Any], limit: int = 200) -> list[str]:
    """A readable field-by-field diff: one line per added, removed or changed field."""
    old, new = flatten(before), flatten(after)
    lines = []
    for path in sorted(old.keys() | new.keys()):
        # Paths and values are spoke-written: each line shows them escaped and shortened, so the
        # diff is data and never adds a line of its own to the notice.
        field = _short(path)
        if path not in old:
            lines.append(f"+ {field}: {_short(new[path])}")
        elif path not in new:
            lines.append(f"- {field}: {_short(old[path])}")
        elif old[path] != new[path]:
            lines.append(f"~ {field}: {_short(old[path])} -> {_short(new[path])}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more changed fields"]
    return lines


def _short(text: str, width: int = 160) -> str:
    return as_data(text, width)


def last_approved_version(dynamodb: Any, settings: WorkflowSettings, card_arn: str, before: int) -> int | None:
    """The last version whose approval took effect: an Approved status alone (a spoke's, refused)
    approved nothing and is no baseline."""
    approved = [
        int(entry["Version"])
        for entry in ledger_entries(dynamodb, settings.ledger_table, card_arn)
        if entry.get("Kind") == "approval-effective" and int(entry["Version"]) < before
    ]
    return max(approved, default=None)


def review_baseline(
    sagemaker: Any, dynamodb: Any, settings: WorkflowSettings, change: CardStatusChange, content: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """What the reviewer compares against: the last approved version, else the clone's source."""
    approved = last_approved_version(dynamodb, settings, change.card_arn, change.version)
    if approved is not None:
        return f"{change.card_name} v{approved} (last approved)", content_of(
            describe_card(sagemaker, change.card_name, approved)
        )
    source, source_version = clone_source(sagemaker, change, content)
    if source is not None and source_version is not None:
        try:
            base = describe_card(sagemaker, source, source_version)
        except CardGone:
            return f"{source} v{source_version} (source card, since deleted)", {}
        return f"{source} v{source_version} (the card this one was cloned from)", content_of(base)
    return "nothing (first version of a new card)", {}


def clone_source(sagemaker: Any, change: CardStatusChange, content: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The card this one was cloned from, as the hub wrote it into version 1.

    Later versions are spoke-written: a `cloned_from_card` edited there could point the diff at any
    card (the card itself, to show "no field changed"), so only the immutable first version counts.
    """
    first = content if change.version == 1 else content_of(describe_card(sagemaker, change.card_name, 1))
    info = first.get("additional_information")
    custom = info.get("custom_details") if isinstance(info, Mapping) else None
    if not isinstance(custom, Mapping):
        return None, None
    source, version = custom.get("cloned_from_card"), custom.get("cloned_from_card_version")
    if not isinstance(source, str) or source == "none" or not CARD_NAME.match(source):
        return None, None
    if not isinstance(version, str) or not version.isdigit() or int(version) < 1:
        return None, None
    return source, int(version)


def console_link(region: str, card_name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/model-cards/{card_name}"


@dataclass(frozen=True)
class EvidenceView:
    """What the review notice says of the package's evidence, decided from content alone."""

    metric_lines: list[str]
    regressions: list[str]
    edited_imports: list[str]


IMPORTED_SECTIONS = ("evaluation_details", "training_details")


def evidence_view(
    base: Mapping[str, Any],
    content: Mapping[str, Any],
    imported: Mapping[str, Any] | None,
    thresholds: Mapping[str, Threshold],
) -> EvidenceView:
    """Metric changes against the baseline, those beyond a threshold, and the sections the hub
    imported from the package that the card no longer holds as read."""
    changes = metric_changes(base, content)
    edited = [
        section
        for section in IMPORTED_SECTIONS
        if imported is not None and imported.get(section) and content.get(section) != imported.get(section)
    ]
    return EvidenceView(
        [_short(c.line(), 240) for c in changes],
        [_short(line, 300) for line in regressions(changes, thresholds)],
        edited,
    )


def review_notice(
    change: CardStatusChange, baseline: str, diff: list[str], region: str, evidence: EvidenceView | None = None
) -> tuple[str, str]:
    subject = f"Model card {change.card_name} v{change.version} awaits review"[:100]
    evidence = evidence or EvidenceView([], [], [])
    alarms = [f"METRIC REGRESSION beyond the configured threshold: {line}" for line in evidence.regressions]
    edits = [
        f"Edited since the hub imported it from the model package: {section} (the diff below shows how)"
        for section in evidence.edited_imports
    ]
    metrics = [f"Metric changes compared with {baseline}:", *evidence.metric_lines, ""] if evidence.metric_lines else []
    body = "\n".join(
        [
            *alarms,
            *([""] if alarms else []),
            f"Model card: {change.card_name} (version {change.version})",
            f"Submitted for review by: {as_data(change.modified_by, 200)} at {as_data(change.modified_at, 64)}",
            f"Open it: {console_link(region, change.card_name)}",
            "",
            *edits,
            *([""] if edits else []),
            *metrics,
            f"Changes compared with {baseline}:",
            *(diff or ["(no field changed)"]),
        ]
    )
    return subject, body


# --- Status steps ---------------------------------------------------------------------------------


def handle_card_event(
    event: Mapping[str, Any],
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    s3: Any,
    sqs: Any,
    sts: Any,
    cloudtrail: Any,
    settings: WorkflowSettings,
    now: datetime | None = None,
    events: Any = None,
) -> str:
    """Record the status change, then run the step for it; returns what was done, for the log."""
    parsed = parse_card_event(event)
    change = dataclasses.replace(parsed, card_arn=hub_card_arn(settings, parsed.card_name))
    recorded = record_status(dynamodb, settings, change)
    card = describe_card(sagemaker, change.card_name, change.version)
    if card.get("ModelCardStatus") != change.status:
        return f"recorded={recorded}; stale: the version is now {card.get('ModelCardStatus')}, no step run"
    content = content_of(card)
    if change.status == "PendingReview":
        baseline, base_content = review_baseline(sagemaker, dynamodb, settings, change, content)
        imported = imported_record(dynamodb, settings.link_table, change.card_name) if settings.link_table else None
        evidence = evidence_view(base_content, content, imported, settings.metric_thresholds)
        subject, body = review_notice(change, baseline, diff_content(base_content, content), settings.region, evidence)
        sent = send_once(
            dynamodb,
            sns,
            table=settings.ledger_table,
            topic_arn=settings.topic_arn,
            card_arn=change.card_arn,
            key=f"{change.version:08d}#review-notice",
            subject=subject,
            message=body,
            version=change.version,
        )
        return f"recorded={recorded}; review {sent}"
    if change.status == "Approved":
        latest = describe_card(sagemaker, change.card_name, metadata=True).get("ModelCardVersion")
        if latest != change.version:
            return f"recorded={recorded}; stale: version {change.version} is no longer current (now {latest})"
        return f"recorded={recorded}; " + settle_approval(
            change,
            content,
            sagemaker=sagemaker,
            dynamodb=dynamodb,
            sns=sns,
            s3=s3,
            sqs=sqs,
            sts=sts,
            cloudtrail=cloudtrail,
            settings=settings,
            now=now or datetime.now(UTC),
            card_created=card.get("CreationTime"),
        )
    if change.status == "Draft":
        requested = changes_requested(dynamodb, settings, change)
        if requested is not None:
            from card_workflow.reviews import tell_spoke

            told = tell_spoke(
                events,
                sts,
                dynamodb,
                settings,
                change.card_name,
                change.card_arn,
                f"{requested['EntryKey']}#spoke-told",
                {
                    "version": change.version,
                    "decision": "request-changes",
                    "comment": requested.get("Comment", ""),
                    "person": requested.get("Person", ""),
                },
            )
            return f"recorded={recorded}; changes requested by {requested.get('Person')}: {told}"
    if change.status == "Archived" and settings.archived_rejects_package:
        return f"recorded={recorded}; " + settle_archive(
            change,
            content,
            sagemaker=sagemaker,
            dynamodb=dynamodb,
            sns=sns,
            sqs=sqs,
            sts=sts,
            cloudtrail=cloudtrail,
            settings=settings,
            now=now or datetime.now(UTC),
        )
    return f"recorded={recorded}"


def settle_archive(
    change: CardStatusChange,
    content: Mapping[str, Any],
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    sqs: Any,
    sts: Any,
    cloudtrail: Any,
    settings: WorkflowSettings,
    now: datetime,
) -> str:
    """Reject the linked package when an approver archived the card; any other archive is recorded.

    Whoever may edit a card may archive it (IAM has no condition key for the status), so rejecting
    a package on an archive would give a spoke, or a hub principal who is no approver, a way to
    reject a package: the archive is attributed like an approval, and fails closed.
    """
    table = settings.ledger_table
    if get_entry(dynamodb, table, change.card_arn, f"{change.entry_key}#archive-refused") is not None:
        return "archive not by an approver: no model package changed"
    rejected = rejecting_decision(dynamodb, settings, change)
    if rejected is not None:
        append_entry(
            dynamodb,
            table,
            change.card_arn,
            f"{change.entry_key}#archive-effective",
            {
                "Kind": "archive-effective",
                "Version": str(change.version),
                "Principal": rejected.get("Principal", ""),
                "Caller": rejected.get("Caller", ""),
                "Person": rejected.get("Person", ""),
                "Decision": rejected["EntryKey"],
            },
        )
    elif get_entry(dynamodb, table, change.card_arn, f"{change.entry_key}#archive-effective") is None:
        try:
            archived_at = parse_time(change.modified_at)
        except ValueError:
            raise MalformedEvent(f"detail.LastModifiedTime {change.modified_at!r} is not a time") from None
        calls = card_calls(cloudtrail, card_name=change.card_name, card_arn=change.card_arn, around=archived_at)
        verdict = judge_setter(
            calls, status="Archived", approvers=settings.approvers, what="archive", named_roles=settings.named_roles
        )
        if verdict.outcome == "pending" and now < archived_at + timedelta(
            seconds=settings.attribution_deadline_seconds
        ):
            sqs.send_message(
                QueueUrl=settings.recheck_queue_url,
                MessageBody=json.dumps(recheck_hint(change)),
                DelaySeconds=max(0, min(900, settings.recheck_delay_seconds)),
            )
            return "archive not attributed yet: no CloudTrail record in the hub account; looking again later"
        if verdict.approver is None:
            offender = verdict.offender
            who = offender.caller_arn if offender else "unknown to the hub (no CloudTrail record in the hub account)"
            reason = verdict.reason if offender else "no CloudTrail record"
            append_entry(
                dynamodb,
                table,
                change.card_arn,
                f"{change.entry_key}#archive-refused",
                {"Kind": "archive-refused", "Version": str(change.version), "Principal": who, "Reason": reason},
            )
            return f"archive not by an approver ({reason}): no model package changed"
        append_entry(
            dynamodb,
            table,
            change.card_arn,
            f"{change.entry_key}#archive-effective",
            {
                "Kind": "archive-effective",
                "Version": str(change.version),
                "Principal": verdict.approver.principal,
                "Caller": verdict.approver.caller_arn,
                "Person": verdict.approver.person,
                "CloudTrailEventId": verdict.approver.event_id,
            },
        )
    package_arn = linked_package(dynamodb, sns, settings, change, content, sagemaker)
    if not package_arn:
        return "no model package changed"
    archived = f"Model card {change.card_name} v{change.version} archived"
    return set_package_status(sagemaker, sts, settings, package_arn, "Rejected", archived)


def changes_requested(dynamodb: Any, settings: WorkflowSettings, change: CardStatusChange) -> dict[str, str] | None:
    """The latest `request-changes` decision on exactly this version (decisions.py set it Draft for it)."""
    found = [
        e
        for e in ledger_entries(dynamodb, settings.ledger_table, change.card_arn)
        if e.get("Kind") == "decision"
        and e.get("Decision") == "request-changes"
        and e.get("Version") == str(change.version)
    ]
    return found[-1] if found else None


def rejecting_decision(dynamodb: Any, settings: WorkflowSettings, change: CardStatusChange) -> dict[str, str] | None:
    """An approver's `reject` decision on exactly this version (decisions.py archived the card for it):
    the archive is theirs. The person must still be in one of the policy's groups."""
    policy = settings.approval_policy
    for entry in ledger_entries(dynamodb, settings.ledger_table, change.card_arn):
        if entry.get("Kind") != "decision" or entry.get("Decision") != "reject":
            continue
        if entry.get("Version") != str(change.version) or not entry.get("Person"):
            continue
        if any(
            g.admits(entry.get("Principal", ""), entry["Person"], entry.get("Caller", ""))
            for g in policy.groups.values()
        ):
            return entry
    return None


# --- Approval authority ----------------------------------------------------------------------------


def _when(entry: Mapping[str, str]) -> datetime | None:
    try:
        return parse_time(entry["ModifiedAt"])
    except (KeyError, ValueError):
        return None


def judge(
    dynamodb: Any,
    cloudtrail: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    approved_at: datetime,
    card_created: Any = None,
) -> Verdict:
    """What the ledger's decisions, else the hub's CloudTrail history, say about this Approved status.

    A decision on exactly this version of this card (decisions.py) makes it effective; an Approved
    status set any other way is judged from CloudTrail, version-exact (attribution.judge_approval).
    """
    entries = ledger_entries(dynamodb, settings.ledger_table, change.card_arn)
    versions = [
        (when, e)
        for e in entries
        if e.get("Kind") == "status" and e.get("Version") == str(change.version) and (when := _when(e)) is not None
    ]
    reviewed = any(e.get("Status") == "PendingReview" and when < approved_at for when, e in versions)
    earlier = [when for when, _ in versions if when < approved_at]
    decisions = recorded_decisions(entries, change.version, card_created, since=min(earlier, default=None))
    calls = (
        []
        if decisions
        else card_calls(cloudtrail, card_name=change.card_name, card_arn=change.card_arn, around=approved_at)
    )
    author_calls: list[CardCall] | None = None
    if settings.approver_may_not_edit and earlier and (decisions or any(c.status == "Approved" for c in calls)):
        author_calls = card_calls(cloudtrail, card_name=change.card_name, card_arn=change.card_arn, around=min(earlier))
    decided = judge_decisions(
        decisions,
        version=change.version,
        author_calls=author_calls,
        approver_may_not_edit=settings.approver_may_not_edit,
    )
    if decided is not None:
        return decided
    endpoint = [
        c for c in calls if c.status == "Approved" and settings.decision_role and c.principal == settings.decision_role
    ]
    if endpoint:
        return Verdict(
            "refused",
            f"no approver's decision names version {change.version}: the hub's decision endpoint set Approved for a "
            "decision on another version",
            offender=endpoint[0],
        )
    return judge_approval(
        calls,
        approvers=settings.approvers,
        version=change.version,
        reviewed=reviewed,
        author_calls=author_calls,
        approver_may_not_edit=settings.approver_may_not_edit,
        new_version=not earlier,
        named_roles=settings.named_roles,
        previous_change=max(earlier, default=None),
    )


def recorded_decisions(
    entries: list[dict[str, str]], version: int, card_created: Any, *, since: datetime | None
) -> list[Decision]:
    """The approvers' decisions on exactly `version` of this card: the same card (its CreationTime,
    so a card deleted and created again under the name inherits none) and made after the version
    existed, as far as the ledger knows when it did (`since`, its first status change)."""
    found = []
    for entry in entries:
        if entry.get("Kind") != "decision" or entry.get("Version") != str(version):
            continue
        if not _same_time(card_created, entry.get("CardCreatedAt", "")):
            continue
        try:
            decided_at = parse_time(entry["DecidedAt"])
        except (KeyError, ValueError):
            continue
        if since is not None and decided_at < since:
            continue
        found.append(
            Decision(
                entry_key=entry["EntryKey"],
                version=version,
                decision=entry.get("Decision", ""),
                person=entry.get("Person", ""),
                principal=entry.get("Principal", ""),
                caller_arn=entry.get("Caller", ""),
                decided_at=decided_at,
            )
        )
    return found


def settle_approval(
    change: CardStatusChange,
    content: Mapping[str, Any],
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    s3: Any,
    sqs: Any,
    sts: Any,
    cloudtrail: Any,
    settings: WorkflowSettings,
    now: datetime,
    card_created: Any = None,
) -> str:
    """Make the approval effective, refuse it, or look again later; each outcome once per change.

    `card_created`: the card's CreationTime, which a decision must name (the same card)."""
    table = settings.ledger_table
    effective = get_entry(dynamodb, table, change.card_arn, f"{change.entry_key}#approval-effective")
    refused = get_entry(dynamodb, table, change.card_arn, f"{change.entry_key}#approval-refused")
    if refused is not None:
        return refuse_approval(sagemaker, dynamodb, sns, settings, change, refused["Principal"], refused["Reason"])
    if effective is None:
        mismatch = link_mismatch(dynamodb, settings, change.card_name, content)
        if mismatch is not None:
            # Fails closed before anyone's authority is looked at: approved, this version would be
            # evidence, and the card of record, for a package its content does not describe.
            who = f"the card event names {as_data(change.modified_by, 200)} (not attributed: refused on its content)"
            reason = f"the card's {as_data(mismatch, 2400)}"
            append_entry(
                dynamodb,
                table,
                change.card_arn,
                f"{change.entry_key}#approval-refused",
                {
                    "Kind": "approval-refused",
                    "Version": str(change.version),
                    "Principal": who,
                    "Reason": reason,
                    "CloudTrailEventId": "",
                    "EventId": change.event_id,
                },
            )
            return refuse_approval(sagemaker, dynamodb, sns, settings, change, who, reason)
        try:
            approved_at = parse_time(change.modified_at)
        except ValueError:
            raise MalformedEvent(f"detail.LastModifiedTime {change.modified_at!r} is not a time") from None
        verdict = judge(dynamodb, cloudtrail, settings, change, approved_at, card_created)
        if verdict.outcome == "pending":
            deadline = approved_at + timedelta(seconds=settings.attribution_deadline_seconds)
            if now < deadline:
                sqs.send_message(
                    QueueUrl=settings.recheck_queue_url,
                    MessageBody=json.dumps(recheck_hint(change)),
                    DelaySeconds=max(0, min(900, settings.recheck_delay_seconds)),
                )
                return f"approval not effective yet: {verdict.reason}; looking again later"
            verdict = Verdict(
                verdict.at_deadline,
                f"{verdict.reason} after {settings.attribution_deadline_seconds} s",
                approver=verdict.approver,
            )
        if verdict.outcome == "effective":
            unmet = policy_unmet(sagemaker, dynamodb, settings, change, content, card_created)
            if unmet is not None:
                verdict = Verdict("refused", unmet, offender=verdict.approver)
        if verdict.outcome == "refused":
            # The card event names a Studio user profile at most, and an IAM caller not at all.
            named = f"; the card event names {change.modified_by}" if change.modified_by != "unknown" else ""
            who = (
                verdict.offender.who
                if verdict.offender
                else "unknown to the hub (no CloudTrail record in the hub account; a call from another "
                f"account is recorded only there{named})"
            )
            append_entry(
                dynamodb,
                table,
                change.card_arn,
                f"{change.entry_key}#approval-refused",
                {
                    "Kind": "approval-refused",
                    "Version": str(change.version),
                    "Principal": who,
                    "Person": verdict.offender.person if verdict.offender else "",
                    "Reason": verdict.reason,
                    "CloudTrailEventId": verdict.offender.event_id if verdict.offender else "",
                    "EventId": change.event_id,
                },
            )
            return refuse_approval(sagemaker, dynamodb, sns, settings, change, who, verdict.reason)
        assert verdict.approver is not None
        decided = verdict.approver.event_name == "Decision"
        link = card_link(dynamodb, settings.link_table, change.card_name) if settings.link_table else None
        entries = ledger_entries(dynamodb, table, change.card_arn)
        policy = version_verdict(sagemaker, dynamodb, settings, change, content, card_created, entries)
        append_entry(
            dynamodb,
            table,
            change.card_arn,
            f"{change.entry_key}#approval-effective",
            {
                "Kind": APPROVAL_EFFECTIVE,
                # Puts the entry in the ledger's sparse index, which the review sweep Queries.
                EFFECTIVE_KEY: EFFECTIVE_VALUE,
                "Version": str(change.version),
                "Principal": verdict.approver.principal,
                "Caller": verdict.approver.caller_arn,
                "Person": verdict.approver.person,
                "CloudTrailEventId": "" if decided else verdict.approver.event_id,
                "Decision": verdict.approver.event_id if decided else "",
                "Reason": verdict.reason,
                "EventId": change.event_id,
                "ApprovedAt": change.modified_at,
                "Policy": f"{policy.rating} tier: {policy.text}",
                # What the next version's tier weighs (tiers.last_approved_rating): lowering the
                # rating is reviewed at the tier it lowers from.
                APPROVED_RATING: risk_rating(content) or UNKNOWN,
                APPROVED_TIER: policy.rating,
                # The package this approval approves (the hub's link now): the gate lets exactly
                # that package's approval by the workflow stand, whatever the card does next.
                "Package": link.package_arn if link is not None else "",
            },
        )
        approver = verdict.approver.caller_arn
    else:
        approver = effective.get("Caller") or effective["Principal"]
    done = [start_evidence(sagemaker, dynamodb, s3, sqs, settings, change, content, approver)]
    package_arn = linked_package(dynamodb, sns, settings, change, content, sagemaker)
    if package_arn:
        description = f"Approved with model card {change.card_name} v{change.version} by {approver}"
        done.append(approve_package(sagemaker, dynamodb, sts, settings, change, package_arn, description))
    else:
        done.append("no model package changed")
    if settings.link_table:
        record_approved_version(dynamodb, settings.link_table, change.card_name, change.version)
        if package_arn:
            # The model's next version gets a new card: its tier starts from this approval's rating.
            rating = risk_rating(content) or "Unknown"
            version = int(package_arn.rsplit("/", 1)[1])
            record_group_approval(dynamodb, settings.link_table, package_arn, version, change.version, rating)
    return f"approved by {approver}; " + "; ".join(done)


def policy_unmet(
    sagemaker: Any,
    dynamodb: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    content: Mapping[str, Any],
    card_created: Any,
) -> str | None:
    """Why the approval policy keeps this approval from taking effect, or None.

    Without an `approval_policy` section the verdict above is today's rule (one approver) and is
    final. With one, the tier must be met by decisions on exactly this version, whoever set the
    status; and a suspended card takes no approval until the incident group reinstates it."""
    entries = ledger_entries(dynamodb, settings.ledger_table, change.card_arn)
    if suspended(settings.approval_policy, entries):
        return f"model card {change.card_name} is suspended: the incident group reinstates it first"
    if settings.policy is None and not any(e.get("Kind") in ("suspend", "review-expired") for e in entries):
        return None
    verdict = version_verdict(sagemaker, dynamodb, settings, change, content, card_created, entries)
    if verdict.effective:
        return None
    return (
        f"the approval policy's {verdict.rating} tier is not met by decisions on version {change.version}: "
        f"{verdict.text}"
    )


def version_verdict(
    sagemaker: Any,
    dynamodb: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    content: Mapping[str, Any],
    card_created: Any,
    entries: list[dict[str, str]],
) -> PolicyVerdict:
    """The approval policy's verdict on the changed version, from the ledger (tiers.card_verdict)."""
    return card_verdict(
        settings.approval_policy,
        entries,
        card_name=change.card_name,
        version=change.version,
        rating=risk_rating(content),
        group=package_group(content),
        card_created=card_created,
        describe_rating=lambda version: risk_rating(content_of(describe_card(sagemaker, change.card_name, version))),
        model_rating=model_approved_rating(dynamodb, settings.link_table, change.card_name),
    )


def recorded_change(entries: list[dict[str, str]], card: Mapping[str, Any], card_arn: str) -> CardStatusChange | None:
    """The status change the card is in now, as the ledger recorded it from its event: the current
    version, the current status, and the time SageMaker gives for it. None when there is no such
    entry (a hint about a card that was never set so, or has moved on since)."""
    version, status, modified = card.get("ModelCardVersion"), card.get("ModelCardStatus"), card.get("LastModifiedTime")
    for entry in entries:
        if (
            entry.get("Kind") == "status"
            and entry.get("Version") == str(version)
            and entry.get("Status") == status
            and _same_time(modified, entry.get("ModifiedAt", ""))
        ):
            return CardStatusChange(
                entry.get("EventId", ""),
                str(card["ModelCardName"]),
                card_arn,
                int(entry["Version"]),
                entry["Status"],
                entry.get("ModifiedBy", "unknown"),
                entry["ModifiedAt"],
            )
    return None


def recheck_card(
    card_name: str,
    *,
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    s3: Any,
    sqs: Any,
    sts: Any,
    cloudtrail: Any,
    settings: WorkflowSettings,
    now: datetime | None = None,
    events: Any = None,
) -> str:
    """Decide again about the card a recheck message names, from SageMaker and the ledger alone.

    A suspended card's package is first made non-deployable (reviews.enforce_suspension), once.
    Anyone the queue policy lets send (the workflow's roles, the decision endpoint) could still be made to send a wrong
    hint, and a Lambda can be invoked with any payload: a hint about a card that is not Approved
    (or Archived) in SageMaker now, or whose current status the ledger never recorded from a status
    event, does nothing.
    """
    from card_workflow.reviews import enforce_suspension

    card = describe_card(sagemaker, card_name)
    # A suspension (decisions.py hints here after recording one) is acted on whatever the status.
    suspension = enforce_suspension(
        card_name,
        hub_card_arn(settings, card_name),
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        sns=sns,
        sts=sts,
        settings=settings,
        events=events,
    )
    if suspension is not None:
        return suspension
    status = card.get("ModelCardStatus")
    if status != "Approved" and not (status == "Archived" and settings.archived_rejects_package):
        return f"nothing to recheck: card {card_name} is {status}"
    card_arn = hub_card_arn(settings, card_name)
    change = recorded_change(ledger_entries(dynamodb, settings.ledger_table, card_arn), card, card_arn)
    if change is None:
        return f"nothing to recheck: the ledger records no {status} status of card {card_name} as it is now"
    content = content_of(describe_card(sagemaker, card_name, change.version))
    now = now or datetime.now(UTC)
    if status == "Archived":
        return settle_archive(
            change,
            content,
            sagemaker=sagemaker,
            dynamodb=dynamodb,
            sns=sns,
            sqs=sqs,
            sts=sts,
            cloudtrail=cloudtrail,
            settings=settings,
            now=now,
        )
    return settle_approval(
        change,
        content,
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        sns=sns,
        s3=s3,
        sqs=sqs,
        sts=sts,
        cloudtrail=cloudtrail,
        settings=settings,
        now=now,
        card_created=card.get("CreationTime"),
    )


def refuse_approval(
    sagemaker: Any,
    dynamodb: Any,
    sns: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    who: str,
    reason: str,
) -> str:
    """Undo an approval that is not effective: status back to PendingReview, reviewers told."""
    current = describe_card(sagemaker, change.card_name, metadata=True)
    # Only the refused change itself is undone: a later status change (a proper approval, or the
    # revert itself) has moved LastModifiedTime on.
    reverted = (
        current.get("ModelCardVersion") == change.version
        and current.get("ModelCardStatus") == "Approved"
        and _same_time(current.get("LastModifiedTime"), change.modified_at)
    )
    if reverted:
        # A status-only update: it changes the status of this version in place, no new version.
        sagemaker.update_model_card(ModelCardName=change.card_name, ModelCardStatus="PendingReview")
    subject = f"Approval of model card {change.card_name} v{change.version} refused"[:100]
    message = "\n".join(
        [
            f"Model card: {change.card_name} (version {change.version})",
            f"Set Approved at {change.modified_at} by: {who}",
            f"Not effective: {reason}.",
            "The card is back in PendingReview; no model package was changed and no evidence was written.",
            f"Open it: {console_link(settings.region, change.card_name)}",
            "",
            "To approve, an approver decides on the card's current version through the hub's decision "
            "endpoint, which records the exact version and the person:",
            f"  scripts/review approve {change.card_name} --version <current version> --comment '<why>'",
        ]
    )
    sent = send_once(
        dynamodb,
        sns,
        table=settings.ledger_table,
        topic_arn=settings.topic_arn,
        card_arn=change.card_arn,
        key=f"{change.entry_key}#refusal-notice",
        subject=subject,
        message=message,
        version=change.version,
    )
    card_now = "set back to PendingReview" if reverted else "already moved on"
    return f"approval refused ({reason}); card {card_now}; {sent}"


def _same_time(described: Any, recorded: str) -> bool:
    if not isinstance(described, datetime):
        return False
    try:
        return abs((described - parse_time(recorded)).total_seconds()) < 0.002
    except ValueError:
        return False


def effectively_approved(dynamodb: Any, settings: WorkflowSettings, card_arn: str, version: int) -> bool:
    """Does the ledger hold an effective approval of this exact version?"""
    found = dynamodb.query(
        TableName=settings.ledger_table,
        KeyConditionExpression="CardArn = :a AND begins_with(EntryKey, :v)",
        FilterExpression="Kind = :k",
        ExpressionAttributeValues={
            ":a": {"S": card_arn},
            ":v": {"S": f"{version:08d}#"},
            ":k": {"S": "approval-effective"},
        },
        ConsistentRead=True,
    )
    return bool(found.get("Items"))


def evidence_prefix(card_name: str, version: int) -> str:
    return f"evidence/{card_name}/v{version}"


def start_evidence(
    sagemaker: Any,
    dynamodb: Any,
    s3: Any,
    sqs: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    content: Mapping[str, Any],
    approver: str,
) -> str:
    """Snapshot the approved content and its ledger, start the PDF export, and hand the wait to a
    delayed queue message (no Lambda sleeps while SageMaker renders)."""
    prefix = evidence_prefix(change.card_name, change.version)
    snapshot_key = f"{prefix}/approval.json"
    snapshot = {
        "card_name": change.card_name,
        "card_arn": change.card_arn,
        "card_version": change.version,
        "approved_by": approver,
        "approved_at": change.modified_at,
        "content": content,
        "ledger": list(ledger_entries(dynamodb, settings.ledger_table, change.card_arn)),
        # The package's metrics and lineage as the hub read them when it created the card, with the
        # ETag (or version ID) of each report object: the card's own copy is the spoke's to edit.
        "package_evidence": (
            imported_record(dynamodb, settings.link_table, change.card_name) if settings.link_table else None
        ),
    }
    if not object_exists(s3, settings.evidence_bucket, snapshot_key):
        s3.put_object(
            Bucket=settings.evidence_bucket,
            Key=snapshot_key,
            Body=json.dumps(snapshot, indent=2, sort_keys=True).encode(),
            ContentType="application/json",
        )
    output = f"s3://{settings.evidence_bucket}/{prefix}"
    job = record_export_job(dynamodb, settings.ledger_table, change.card_arn, change.entry_key, change.version, output)
    job_name = job.job_arn.rsplit("/", 1)[-1]
    # Only the hub knows the name: a conflict is its own earlier call (a retried delivery).
    with contextlib.suppress(sagemaker.exceptions.ConflictException):
        sagemaker.create_model_card_export_job(
            ModelCardName=change.card_name,
            ModelCardVersion=change.version,
            ModelCardExportJobName=job_name,
            OutputConfig={"S3OutputPath": job.output_path},
        )
    # The job's completion event records the PDF; this look comes later, for an event that is lost.
    sqs.send_message(
        QueueUrl=settings.follow_up_queue_url,
        MessageBody=json.dumps(export_hint(change.card_name)),
        DelaySeconds=settings.follow_up_delay_seconds,
    )
    return f"evidence snapshot s3://{settings.evidence_bucket}/{snapshot_key}, export {job_name} started"


MAX_EXPORT_CHECKS = 40  # 40 checks, 30 s to 15 min apart by default: about 8 hours before giving up


def export_hint(card_name: str, attempt: int = 1) -> dict[str, Any]:
    """A follow-up message names a card (and how often it was looked at): the jobs to check and what
    they must be come from the ledger and SageMaker."""
    return {"card_name": card_name, "attempt": attempt}


def hinted_export(body: Any) -> tuple[str, int]:
    """The card and attempt a follow-up message names (earlier messages named the card's ARN)."""
    if not isinstance(body, Mapping):
        raise MalformedEvent("the follow-up message is not a JSON object")
    name = body.get("card_name")
    if name is None and isinstance(body.get("card_arn"), str):
        name = body["card_arn"].rsplit("/", 1)[-1]
    if not isinstance(name, str) or not CARD_NAME.match(name):
        raise MalformedEvent(f"the follow-up message names no card ({name!r})")
    attempt = body.get("attempt", 1)
    return name, attempt if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt > 0 else 1


def follow_export(
    message: Mapping[str, Any], *, sagemaker: Any, dynamodb: Any, sqs: Any, settings: WorkflowSettings
) -> tuple[str, list[str]]:
    """The fallback look at a card's export jobs; looks again later while one is still running.
    Returns what was done and what the hub's administrators must be told."""
    card_name, attempt = hinted_export(message)
    followed = follow_card_exports(
        hub_card_arn(settings, card_name),
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        table=settings.ledger_table,
        via="check",
    )
    if not followed.pending:
        return "; ".join(followed.done) or f"nothing to follow for {card_name}", followed.alerts
    if attempt >= MAX_EXPORT_CHECKS:
        raise RuntimeError(f"export of {card_name} still InProgress after {attempt} checks")
    sqs.send_message(
        QueueUrl=settings.follow_up_queue_url,
        MessageBody=json.dumps(export_hint(card_name, attempt + 1)),
        DelaySeconds=min(900, settings.follow_up_delay_seconds * 2 ** min(attempt, 5)),
    )
    return "; ".join([*followed.done, f"checking again (attempt {attempt + 1})"]), followed.alerts


def follow_export_event(
    event: Mapping[str, Any], *, sagemaker: Any, dynamodb: Any, settings: WorkflowSettings
) -> tuple[str, list[str]]:
    """An export job's state change: a hint to look at that card's export jobs now. An event that
    names no card of the hub changes nothing (the fallback look still comes)."""
    card_name = hinted_export_card(event, account=settings.hub_account, region=settings.region)
    if card_name is None:
        return "the event names no export job of a hub card: ignored", []
    followed = follow_card_exports(
        hub_card_arn(settings, card_name),
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        table=settings.ledger_table,
        via="event",
    )
    return "; ".join(followed.done) or f"nothing to follow for {card_name}", followed.alerts


# --- Model packages: approval sync and the gate ----------------------------------------------------


def package_client(sagemaker: Any, sts: Any, settings: WorkflowSettings, package_arn: str) -> Any:
    """The hub's own client for hub packages; for a spoke's, a client in the spoke's approval-sync role."""
    return spoke_client(sagemaker, sts, settings, package_arn)


def spoke_client(client: Any, sts: Any, settings: WorkflowSettings, package_arn: str) -> Any:
    """`client`'s service in the account that owns the package: the client itself for the hub, else
    a client in that spoke's approval-sync role."""
    match = PACKAGE_ARN.match(package_arn)
    if not match:
        raise MalformedEvent(f"model_package_details.model_package_arn {package_arn!r} is not a versioned package ARN")
    partition, _, account = match.group(1), match.group(2), match.group(3)
    if account == settings.hub_account:
        return client
    import boto3

    credentials = sts.assume_role(
        RoleArn=f"arn:{partition}:iam::{account}:role/{settings.approval_role_name}",
        RoleSessionName="model-card-approval",
    )["Credentials"]
    return boto3.client(
        client.meta.service_model.service_name,
        region_name=settings.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config,
    )


def link_mismatch(dynamodb: Any, settings: WorkflowSettings, card_name: str, content: Mapping[str, Any]) -> str | None:
    """Why this content cannot be approved as the card of the package the hub linked it to, if so."""
    link = card_link(dynamodb, settings.link_table, card_name) if settings.link_table else None
    return content_names_other_package(content, link) if link is not None else None


def linked_package(
    dynamodb: Any,
    sns: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    content: Mapping[str, Any],
    sagemaker: Any = None,
) -> str | None:
    """The package the hub linked this card to, from its own link record and never from the content.

    A card whose content names another package is reported to the reviewers (once per version and
    status) and governs no package: content is data a spoke wrote, not an instruction to the hub.
    """
    link: CardLink | None = card_link(dynamodb, settings.link_table, change.card_name) if settings.link_table else None
    # The card under this name now must be the one the auto-linker made and bound (card identity).
    if (
        link is not None
        and sagemaker is not None
        and governing_link(dynamodb, settings.link_table, sagemaker, change.card_name) is None
    ):
        link = None
    if link is None:
        return None
    mismatch = content_names_other_package(content, link)
    if mismatch is None:
        return link.package_arn
    send_once(
        dynamodb,
        sns,
        table=settings.ledger_table,
        topic_arn=settings.topic_arn,
        card_arn=change.card_arn,
        key=f"{change.entry_key}#link-mismatch",
        subject=f"Model card {change.card_name} v{change.version} names another package"[:100],
        message=f"Model card {change.card_name} v{change.version} was set {change.status} by "
        f"{as_data(change.modified_by, 200)}, but its {as_data(mismatch, 2400)}.\nNo model package was changed. "
        f"Review the card: {console_link(settings.region, change.card_name)}",
        version=change.version,
    )
    return None


def set_package_status(
    sagemaker: Any,
    sts: Any,
    settings: WorkflowSettings,
    package_arn: str,
    status: str,
    description: str,
    stage: Stage | None = None,
) -> str:
    """Set the package's approval status and, when `stage` is given, its lifecycle stage in the same
    UpdateModelPackage call (ModelLifeCycle: Stage, StageStatus, StageDescription; SageMaker API
    Reference, UpdateModelPackage), so no deployable status is ever seen with a stale stage."""
    client = package_client(sagemaker, sts, settings, package_arn)
    # Only the status is read: MetadataOnly needs no key of a model card the package may embed.
    described = client.describe_model_package(
        ModelPackageName=package_arn, **metadata_only(client, "DescribeModelPackage")
    )
    current = described.get("ModelApprovalStatus")
    stage_set = stage is None or stage_of(described) == (stage.stage, stage.status)
    if current == status and stage_set:
        return f"package already {status}"
    extra: dict[str, Any] = {}
    if stage is not None:
        extra["ModelLifeCycle"] = {
            "Stage": stage.stage,
            "StageStatus": stage.status,
            "StageDescription": description[:1024],
        }
    client.update_model_package(
        ModelPackageArn=package_arn, ModelApprovalStatus=status, ApprovalDescription=description[:1024], **extra
    )
    shown = f" (stage {stage.stage}/{stage.status})" if stage is not None else ""
    return f"package {package_arn} set {status}{shown}"


def approve_package(
    sagemaker: Any,
    dynamodb: Any,
    sts: Any,
    settings: WorkflowSettings,
    change: CardStatusChange,
    package_arn: str,
    description: str,
) -> str:
    """Approve the package of an effective approval, and record which change of the package that
    was (its LastModifiedTime): the gate knows the workflow's own approval by it, even when the card
    has moved on by the time the package's event arrives."""
    stage = lifecycle_for(settings.approval_policy, "approved")
    done = set_package_status(sagemaker, sts, settings, package_arn, "Approved", description, stage)
    client = package_client(sagemaker, sts, settings, package_arn)
    package = client.describe_model_package(
        ModelPackageName=package_arn, **metadata_only(client, "DescribeModelPackage")
    )
    modified = package.get("LastModifiedTime")
    if package.get("ModelApprovalStatus") == "Approved" and isinstance(modified, datetime):
        at = modified.astimezone(UTC).isoformat(timespec="microseconds")
        append_entry(
            dynamodb,
            settings.ledger_table,
            change.card_arn,
            f"package#{int(package_arn.rsplit('/', 1)[-1]):08d}#{at}#approved",
            {
                "Kind": "package-approved",
                "Version": str(change.version),
                "Package": package_arn,
                "PackageModifiedAt": at,
                "Approval": f"{change.entry_key}#approval-effective",
            },
        )
    return done


def approved_by_workflow(entries: list[dict[str, str]], package_arn: str, modified_at: Any) -> int | None:
    """The card version whose effective approval the workflow approved exactly this change of
    exactly this package with (its ledger's `package-approved` record), if it did."""
    effective = {
        entry["EntryKey"]: entry
        for entry in entries
        if entry.get("Kind") == "approval-effective" and entry.get("Package") == package_arn
    }
    if not isinstance(modified_at, str):
        return None
    try:
        when = parse_time(modified_at)
    except ValueError:
        return None
    for entry in entries:
        if (
            entry.get("Kind") == "package-approved"
            and entry.get("Package") == package_arn
            and entry.get("Approval") in effective
            and _same_change(modified_at, when, entry.get("PackageModifiedAt", ""))
        ):
            return int(entry["Version"])
    return None


def _same_change(text: str, when: datetime, recorded: str) -> bool:
    """Is the event's LastModifiedTime the recorded one? AWS's sample package event writes it in
    whole seconds ("2021-02-24T17:00:14Z") while DescribeModelPackage answers milliseconds: a
    whole-second time matches the recorded one's second."""
    if "." in text:
        return _same_time(when, recorded)
    try:
        return parse_time(recorded).replace(microsecond=0) == when
    except ValueError:
        return False


def gate_package_approval(
    event: Mapping[str, Any], *, sagemaker: Any, dynamodb: Any, sns: Any, sts: Any, settings: WorkflowSettings
) -> str:
    """A package set to Approved, or to the approval policy's deployable lifecycle stage
    (`on_approval`), goes back to PendingManualApproval and the `on_revert` stage unless the workflow
    approved exactly this change of it for an effective approval linked to exactly this package, or
    its card's current version is Approved and the ledger holds an effective approval of that version.

    The first is how the workflow's own approval passes even when the card has moved on (a spoke
    edit right after the approval) by the time the package's event arrives: it is judged by the
    approval that approved the package, not by the card's newest version.

    The stage counts as an approval because a deployment pipeline may act on it as on the status:
    whoever may call UpdateModelPackage in the package's account may set any stage the IAM policy
    allows (the condition keys sagemaker:ModelLifeCycle:stage and :stageStatus), and without the
    guardrail SCP that is anyone the spoke administrator allows.
    """
    detail = event.get("detail") or {}
    if event.get("detail-type") != MODEL_PACKAGE_STATE_CHANGE:
        return "not an approval"
    updated = detail.get("UpdatedModelPackageFields")
    deployable = settings.approval_policy.on_approval
    stage_claim = (
        deployable is not None
        and stage_of(detail) == (deployable.stage, deployable.status)
        and (updated is None or "ModelLifeCycle" in updated)
    )
    if detail.get("ModelApprovalStatus") != "Approved" and not stage_claim:
        return "not an approval"
    if not stage_claim and updated is not None and "ModelApprovalStatus" not in updated:
        return "approval status unchanged"
    group, version, arn = (
        detail.get("ModelPackageGroupName"),
        detail.get("ModelPackageVersion"),
        detail.get("ModelPackageArn"),
    )
    if not isinstance(group, str) or not isinstance(version, int) or not isinstance(arn, str):
        raise MalformedEvent("detail.ModelPackageGroupName, ModelPackageVersion and ModelPackageArn are required")
    if not PACKAGE_ARN.match(arn):
        raise MalformedEvent(f"detail.ModelPackageArn {arn!r} is not a versioned package ARN")
    # The card the hub linked to this very package (account, group and version), nothing else.
    # Its plan names it, and it must be the card the auto-linker made and bound for this very
    # package (card identity: shared.card_links.governing_card).
    card_name, card = (
        governing_card(dynamodb, settings.link_table, sagemaker, arn, detail.get("CreationTime"))
        if settings.link_table
        else (None, {})
    )
    card_name = card_name or card_name_for_package(arn)
    card_status, card_version = card.get("ModelCardStatus"), card.get("ModelCardVersion")
    card_arn = card.get("ModelCardArn") or (
        f"arn:aws:sagemaker:{settings.region}:{settings.hub_account}:model-card/{card_name}"
    )
    if card:
        entries = ledger_entries(dynamodb, settings.ledger_table, card_arn)
        approved_with = approved_by_workflow(entries, arn, detail.get("LastModifiedTime"))
        if approved_with is not None:
            return f"package {arn} approved by the workflow with card {card_name} v{approved_with}: approval stands"
    if card_status == "Approved" and isinstance(card_version, int):
        if effectively_approved(dynamodb, settings, card_arn, card_version):
            return f"card {card_name} is Approved: approval stands"
        reason = f"model card {card_name} v{card_version} is Approved, but not by an approver"
    else:
        reason = f"model card {card_name} is {card_status or 'missing'}"
    claimed = "Approved" if detail.get("ModelApprovalStatus") == "Approved" else "stage " + "/".join(stage_of(detail))
    client = package_client(sagemaker, sts, settings, arn)
    # Only an approval the package still has is undone: a late or replayed event of an approval
    # since rejected or reverted changes no package (its ledger item and notice are keyed once).
    described = client.describe_model_package(ModelPackageName=arn, **metadata_only(client, "DescribeModelPackage"))
    now_status = described.get("ModelApprovalStatus")
    undo: dict[str, Any] = {}
    back = settings.approval_policy.on_revert
    if deployable is not None and back is not None and stage_of(described) == (deployable.stage, deployable.status):
        undo["ModelLifeCycle"] = {
            "Stage": back.stage,
            "StageStatus": back.status,
            "StageDescription": f"Stage reverted: {reason}"[:1024],
        }
    # Approved (or no status at all) goes back to review; Rejected and PendingManualApproval stay.
    after_status = now_status if now_status in ("Rejected", "PendingManualApproval") else "PendingManualApproval"
    if now_status == "Approved" or undo:
        # The status goes with the stage in one call: the approval-sync role may call
        # UpdateModelPackage only with a ModelApprovalStatus, and none of them stays Approved.
        client.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=after_status,
            ApprovalDescription=f"Approval reverted: {reason}; approve the model card first",
            **undo,
        )
    after = after_status
    if undo and back is not None:
        after += f" and stage {back.stage}/{back.status}"
    # The revert is the card's history too: auditors and the report read it from the ledger. One
    # approval of the package is one change (its LastModifiedTime), however often it is delivered.
    change = f"package#{version:08d}#{detail.get('LastModifiedTime') or event.get('id', '')}"
    append_entry(
        dynamodb,
        settings.ledger_table,
        card_arn,
        f"{change}#reverted",
        {
            "Kind": "package-approval-reverted",
            "Version": str(card_version) if isinstance(card_version, int) else "",
            "Package": arn,
            "Reason": reason,
            "EventId": str(event.get("id", "")),
        },
    )
    send_once(
        dynamodb,
        sns,
        table=settings.ledger_table,
        topic_arn=settings.topic_arn,
        card_arn=card_arn,
        key=f"{change}#revert-notice",
        subject=f"Approval of {group} v{version} reverted"[:100],
        message=f"Model package {arn} was set to {claimed}, but {reason}.\n"
        f"It is back in {after}. Review the card: {console_link(settings.region, card_name)}",
        version=card_version if isinstance(card_version, int) else 0,
    )
    return f"reverted {arn}: {reason}"
