"""What every hub Lambda does the same way: retry AWS calls, and park what no retry can fix."""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config

# Throttling, timeouts and 5xx are retried by botocore with exponential backoff and jitter. The
# budget (docs/new-versions.md, "Retries and the dead-letter queue"; boto3 guide "Retries";
# AWS SDKs and Tools Reference Guide, "Retry behavior"; botocore retries/standard.py and quota.py):
# - standard mode, 8 attempts: a throttled call waits rand(0,1) * min(2**i, 20) s before attempt
#   i+1, about 35 s on average over 7 retries and 71 s at most, within or just past the 60 s
#   function timeout;
# - each client keeps a retry quota of 500 tokens (a throttling retry costs 5, another retry 14, a
#   first-try success gives 1 back, a success after retries gives that retry's cost back; empty, it
#   refuses retries: RetryQuotaReached). Clients are reused by warm invocations (aws_clients), and
#   an environment runs one invocation, so one call, at a time: only ~14 calls that fail every
#   attempt empty it, which a burst of seconds does not;
# - then Lambda retries the invocation twice (about 1 and 2 minutes later) and parks it in the
#   function's dead-letter queue, which the reconciler redrives at its next run.
# Adaptive mode (client-side rate limiting) is documented as experimental: not used.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})

# Per default session, keyed by service and the identity of its (module-level) Config. A session
# that is gone takes its clients with it.
_clients: weakref.WeakKeyDictionary[boto3.Session, dict[tuple[str, int], Any]] = weakref.WeakKeyDictionary()


def aws_clients(services: Sequence[str], configs: Mapping[str, Config] | None = None) -> dict[str, Any]:
    """boto3 clients, made once per execution environment and reused by every warm invocation.

    A client costs milliseconds to build (endpoint and service model resolution); Lambda keeps the
    module between invocations, so only the first one pays. The clients belong to boto3's default
    session: whoever resets that session (a fresh process, or the local sandbox standing in for
    one) gets new clients with the credentials of the moment, and whoever puts an earlier session
    back gets that session's clients again.
    """
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    made = _clients.setdefault(session, {})
    chosen = {name: (configs or {}).get(name, RETRIES) for name in services}
    for name, config in chosen.items():
        if (name, id(config)) not in made:
            made[(name, id(config))] = session.client(name, config=config)
    return {name: made[(name, id(config))] for name, config in chosen.items()}


def dead_letter(sqs: Any, queue_url: str, event: Any, reason: str) -> None:
    """Park an event that no retry can fix, with the reason, instead of retrying it for hours."""
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(event),
        MessageAttributes={"Reason": {"DataType": "String", "StringValue": reason[:1024]}},
    )


def metadata_only(client: Any, operation: str) -> dict[str, str]:
    """`IncludedData=MetadataOnly` for a read that needs only a card's metadata, if this SDK knows it.

    DescribeModelCard (and DescribeModelPackage, for its embedded card) with MetadataOnly "does not
    require kms:Decrypt permission" and keeps status, version and ARNs, reducing Content to
    model_overview.model_id and .model_name, intended_uses.risk_rating and model_package_details.
    model_package_group_name and .model_package_arn (botocore's SageMaker service model). The Lambda
    runtime brings its own boto3, which may predate the parameter: without it the read is AllData.
    """
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {"IncludedData": "MetadataOnly"} if "IncludedData" in members else {}


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """HeadObject: False for a missing key (404), any other error raised (a 403 is not "missing")."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True
