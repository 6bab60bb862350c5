"""Faults AWS has and a quiet emulator does not: throttling, and answers lost after AWS acted.

`inject_faults(client, ...)` makes one botocore client meet them, at the rates given, from a seeded
random source (a test repeats exactly):

- throttled: the call is answered HTTP 400 `ThrottlingException` without reaching the service
  (JSON protocols only: SageMaker, DynamoDB, SQS, SNS's is XML and is left alone), as AWS answers
  a request over its rate;
- lost: the call reaches the service, which acts, and then the answer is lost on the way back
  (a read timeout), as a dropped connection does. botocore retries both (its "Retries" guide:
  throttling errors and transient errors such as timeouts), so a lost answer's retry meets what
  the first attempt did (a card that now exists, a condition that now fails).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

THROTTLED = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


@dataclass
class Faults:
    throttle: float
    lose: float
    rng: random.Random
    counts: dict[str, int] = field(default_factory=lambda: {"calls": 0, "throttled": 0, "lost": 0})


def inject_faults(client: Any, *, throttle: float = 0.0, lose: float = 0.0, seed: int = 0) -> Faults:
    """Throttle a share of `client`'s calls and lose the answers of another share after AWS acted."""
    faults = Faults(throttle, lose, random.Random(seed))
    json_protocol = client.meta.service_model.protocol in ("json", "rest-json")
    send = client._endpoint.http_session.send

    def before_send(request: Any, **_: Any) -> Any:
        faults.counts["calls"] += 1
        draw = faults.rng.random()
        if json_protocol and draw < faults.throttle:
            faults.counts["throttled"] += 1
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Raw(THROTTLED))
        if draw < faults.throttle + faults.lose:
            faults.counts["lost"] += 1
            _deliver(request, send)
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    client.meta.events.register_first(f"before-send.{client.meta.service_model.service_id.hyphenize()}", before_send)
    return faults


def _deliver(request: Any, send: Any) -> Any:
    """Let the service act on the request: moto's in-process stub when the mock is on, else the
    emulator's server (or AWS) through the client's own HTTP session."""
    from moto.core.models import botocore_stubber

    answer = botocore_stubber(event_name="before-send", request=request) if botocore_stubber.enabled else None
    return answer if answer is not None else send(request)
