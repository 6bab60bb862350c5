"""Benchmark: warm per-invocation overhead of the hub Lambdas' AWS clients, before and after caching.

    .venv/bin/python benchmarks/lambda_clients.py

"before" builds the handler's clients on every invocation, as the handlers did; "after" takes them
from `shared.runtime.aws_clients`, built once per execution environment. Each row is the median of
warm invocations (the first, cold one is left out) against the in-process emulator: the client
setup alone, and a whole invocation of the auto-linker on an event it dead-letters (one SQS call).
Prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

from moto import mock_aws  # noqa: E402

from emulator import install  # noqa: E402
from emulator.permissions import enforcement  # noqa: E402

install()

import boto3  # noqa: E402
from auto_link import handler as auto_link_handler  # noqa: E402
from card_workflow import handler as workflow_handler  # noqa: E402
from shared.runtime import RETRIES, aws_clients  # noqa: E402

ROUNDS = 50


def per_invocation(services: tuple[str, ...]) -> dict[str, Any]:
    """What the handlers did before: new clients on every invocation."""
    return {name: boto3.client(name, config=RETRIES) for name in services}


def median_ms(action: Callable[[], Any]) -> float:
    action()  # the cold invocation
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    # No options; parsing still answers --help (and refuses a typo) instead of running for minutes.
    argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split())).parse_args()
    # Permission evaluation is off: the benchmark measures client setup, not the emulator's policy engine.
    with mock_aws(), enforcement(False):
        queue = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        os.environ.update(
            CARD_KEY_ARN="arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            INDEX_TABLE="card-index",
            LINK_TABLE="card-links",
            DEAD_LETTER_QUEUE_URL=queue,
        )
        event = {"id": "bench", "detail-type": "SageMaker Model Package State Change", "detail": {}}
        rows = []
        for name, services in (
            ("auto-link clients", auto_link_handler.SERVICES),
            ("workflow clients", workflow_handler.SERVICES),
        ):
            rows.append((name, median_ms(partial(per_invocation, services)), median_ms(partial(aws_clients, services))))
        before = median_ms(lambda: auto_link_handler.handler(event, clients=per_invocation(auto_link_handler.SERVICES)))
        after = median_ms(lambda: auto_link_handler.handler(event))
        rows.append(("auto-link invocation (dead-letter path)", before, after))
    print(f"warm invocations: median of {ROUNDS}")
    print(f"| {'measured per warm invocation':<40} | {'before ms':>9} | {'after ms':>8} |")
    print(f"| {'-' * 40} | {'-' * 8}: | {'-' * 7}: |")
    for name, before_ms, after_ms in rows:
        print(f"| {name:<40} | {before_ms:>9.2f} | {after_ms:>8.3f} |")


if __name__ == "__main__":
    import logging

    logging.disable(logging.CRITICAL)  # the handlers log every event; the table is the output
    main()
