"""Notices to reviewers, each sent once even when answers are lost and events are retried.

SNS standard topics do not deduplicate and e-mail cannot subscribe to a FIFO topic, so the
workflow makes the sending itself happen once:
1. claim: a conditional ledger put `<key>#claim-<n>` (a lost answer is recognised as this call's
   own write by its AppendId, see ledger.append_entry);
2. publish, with SNS's refusals (throttling) retried and a lost answer NOT retried: a request that
   reached SNS and whose answer never came back counts as sent;
3. record `<claim>#sent`, or `<claim>#failed` when SNS refused it; a failed claim lets the next
   delivery claim `<n + 1>`.
Another delivery that finds a claim without an outcome waits (it raises, and Lambda retries it)
until the claim is older than CLAIM_EXPIRY_SECONDS; then the claimer is taken to have died before
publishing and the notice is claimed again. That one case (a claimer dying between publish and its
record) can repeat a notice; no case loses one.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff, RetryContext, ThrottledRetryableChecker

from card_workflow.ledger import append_entry, get_entry

# The SNS client that sends notices makes one attempt per call: botocore's own retry would resend a
# Publish whose answer was lost. Throttling is retried here, with botocore's checker and backoff.
NOTICE_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})
PUBLISH_ATTEMPTS = 8
CLAIM_EXPIRY_SECONDS = 300  # five times the workflow function's timeout
MAX_CLAIMS = 20
# SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
# 100 characters long"; messages "at most 256 KB in size (262,144 bytes, not 262,144 characters)".
MAX_SUBJECT = 99
MAX_MESSAGE_BYTES = 262_144
CUT = "\n... (cut: the notice would exceed what SNS delivers; open the card for the rest)"


def as_data(text: str, width: int | None = None) -> str:
    """Text a spoke wrote, as one line that cannot pass for the notice's own: every control,
    format and line-separator character is shown escaped (a newline as \\n), then shortened."""
    shown = "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch)[0] == "C" or ch in "\u2028\u2029"
        else ch
        for ch in text
    )
    if width is not None and len(shown) > width:
        shown = shown[: width - 3] + "..."
    return shown


def subject_line(subject: str) -> str:
    return as_data(subject, MAX_SUBJECT)


def fit_message(message: str) -> str:
    """The message, cut at a line boundary when its UTF-8 form is more than SNS takes."""
    if len(message.encode()) <= MAX_MESSAGE_BYTES:
        return message
    budget = MAX_MESSAGE_BYTES - len(CUT.encode())
    kept: list[str] = []
    for line in message.split("\n"):
        size = len(line.encode()) + 1
        if size > budget:
            break
        kept.append(line)
        budget -= size
    return "\n".join(kept) + CUT


class PublishRefused(RuntimeError):
    """SNS answered with an error: nothing was published."""


class NoticeInProgress(RuntimeError):
    """Another delivery claimed this notice and has not recorded the outcome yet; retry later."""


def publish(sns: Any, *, topic_arn: str, subject: str, message: str, sleep: Any = time.sleep) -> str:
    """One Publish. Throttling is retried; an answer lost after the request went out is not."""
    throttled, backoff = ThrottledRetryableChecker(), ExponentialBackoff()
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)
            return "sent"
        except (ReadTimeoutError, ConnectionClosedError):
            return "sent (SNS's answer was lost)"
        except ClientError as error:
            context = RetryContext(attempt_number=attempt, parsed_response=error.response)
            if attempt < PUBLISH_ATTEMPTS and throttled.is_retryable(context):
                sleep(backoff.delay_amount(context))
                continue
            raise PublishRefused(f"SNS refused the notice: {error.response['Error'].get('Code')}") from error
    raise PublishRefused("unreachable")  # pragma: no cover - the loop returns or raises


def send_once(
    dynamodb: Any,
    sns: Any,
    *,
    table: str,
    topic_arn: str,
    card_arn: str,
    key: str,
    subject: str,
    message: str,
    version: int,
    now: Any = lambda: datetime.now(UTC),
) -> str:
    """Send the notice identified by (card, key) once; returns what happened, for the log."""
    subject, message = subject_line(subject), fit_message(message)
    for claim in range(1, MAX_CLAIMS + 1):
        claim_key = f"{key}#claim-{claim}"
        claimed_at = now().isoformat(timespec="seconds")
        mine = append_entry(
            dynamodb,
            table,
            card_arn,
            claim_key,
            {"Kind": "notice-claim", "Version": str(version), "Detail": subject, "ClaimedAt": claimed_at},
        )
        if not mine:
            if get_entry(dynamodb, table, card_arn, f"{claim_key}#sent") is not None:
                return "notice already sent"
            if get_entry(dynamodb, table, card_arn, f"{claim_key}#failed") is not None:
                continue
            held = get_entry(dynamodb, table, card_arn, claim_key) or {}
            since = datetime.fromisoformat(held.get("ClaimedAt", claimed_at))
            if (now() - since).total_seconds() < CLAIM_EXPIRY_SECONDS:
                raise NoticeInProgress(f"notice {key} of {card_arn} is being sent by another delivery")
            continue
        try:
            outcome = publish(sns, topic_arn=topic_arn, subject=subject, message=message)
        except PublishRefused as refused:
            append_entry(
                dynamodb,
                table,
                card_arn,
                f"{claim_key}#failed",
                {"Kind": "notice-failed", "Version": str(version), "Detail": str(refused)},
            )
            raise
        append_entry(
            dynamodb,
            table,
            card_arn,
            f"{claim_key}#sent",
            {"Kind": "notice-sent", "Version": str(version), "Detail": f"{subject}: {outcome}"},
        )
        return f"notice {outcome}"
    raise NoticeInProgress(f"notice {key} of {card_arn}: {MAX_CLAIMS} claims without a sent notice")
