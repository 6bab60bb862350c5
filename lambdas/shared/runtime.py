"""What every hub Lambda does the same way: retry AWS calls, and park what no retry can fix."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config

# Throttling and 5xx are retried by botocore with exponential backoff and jitter.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


def dead_letter(sqs: Any, queue_url: str, event: Any, reason: str) -> None:
    """Park an event that no retry can fix, with the reason, instead of retrying it for hours."""
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(event),
        MessageAttributes={"Reason": {"DataType": "String", "StringValue": reason[:1024]}},
    )
