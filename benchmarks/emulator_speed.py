"""Benchmark: the emulator's own cost. Prints tables.

    .venv/bin/python benchmarks/emulator_speed.py [--versions 1000] [--calls 20]
        [--local-run ASSEMBLY --runs 3]

1. SQS: the CPU cost of one SendMessage and of one ReceiveMessage (one message each, through a
   boto3 client, permission evaluation on) with 10, 1,000 and 10,000 messages waiting, on the emulator's
   indexed queues and on moto's own (`emulator.sqs.moto_queues`). The queue is filled outside the
   measurement, message by message through the queue itself (no recount), so only the measured
   calls pay for the depth.
2. Permission evaluation on and off (`emulator.permissions.enforcement`): the auto-linker's
   lifecycle for `--versions` new versions of one package group, with the hub's shares, as
   benchmarks/auto_link.py sets them up; wall and CPU time per version.
3. With `--local-run ASSEMBLY` (a `cdk synth -c config=config/local.json -o ASSEMBLY` output):
   `python -m sandbox.run`, the lifecycle walk of `scripts/run-local`, `--runs` times each with
   EMULATOR_PERMISSIONS=on and off, as whole processes; medians of wall and CPU seconds.

Wall times on a shared machine move with its load (printed); CPU seconds move less.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
os.environ.update(
    AWS_ACCESS_KEY_ID="AKIAMANAGEMENTADMIN0",
    AWS_SECRET_ACCESS_KEY="emulator-management-account-administrator",
    AWS_DEFAULT_REGION="us-east-1",
)

from moto import mock_aws  # noqa: E402
from moto.sqs.models import Message, sqs_backends  # noqa: E402

from emulator import install  # noqa: E402
from emulator import sqs as emulator_sqs  # noqa: E402
from emulator.permissions import enforcement  # noqa: E402
from emulator.sessions import admin_session  # noqa: E402

install()

ACCOUNT = "111111111111"
DEPTHS = (10, 1_000, 10_000)


def _auto_link_benchmark() -> Any:
    # Loaded by path: its name would clash with the lambdas' auto_link package.
    spec = importlib.util.spec_from_file_location("auto_link_benchmark", ROOT / "benchmarks" / "auto_link.py")
    if spec is None or spec.loader is None:
        raise SystemExit("emulator_speed: benchmarks/auto_link.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_cpu_ms(call: Callable[[], Any], times: int) -> float:
    # CPU time of this process: the in-process emulator runs in this thread, and a loaded machine
    # stretches wall time far more than CPU time.
    samples = []
    for _ in range(times):
        started = time.process_time()
        call()
        samples.append(time.process_time() - started)
    return statistics.median(samples) * 1000


# --- 1. SQS ----------------------------------------------------------------------------------------


def fill(queue_name: str, depth: int) -> None:
    queue = sqs_backends[ACCOUNT]["us-east-1"].get_queue(queue_name)
    for number in range(depth):
        message = Message(f"filler-{number}", "x" * 200)
        message.mark_sent()
        queue.add_message(message)


def sqs_costs(depth: int, calls: int) -> tuple[float, float]:
    """Median CPU ms of one SendMessage and of one ReceiveMessage with `depth` messages waiting."""
    with mock_aws(), enforcement(True):
        client = admin_session(ACCOUNT).client("sqs")
        name = f"depth-{depth}"
        url = client.create_queue(QueueName=name)["QueueUrl"]
        fill(name, depth)
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])  # a warm client
        send = median_cpu_ms(lambda: client.send_message(QueueUrl=url, MessageBody="m" * 200), calls)
        receive = median_cpu_ms(
            lambda: client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300), calls
        )
        return send, receive


def sqs_table(calls: int) -> list[str]:
    lines = [
        "SQS, one message per call, median CPU ms per call (permission evaluation on)",
        f"{'messages waiting':>16} {'send: moto':>11} {'send: emulator':>15} {'receive: moto':>14} "
        f"{'receive: emulator':>18}",
    ]
    sqs_costs(10, 3)  # not counted: the first clients and requests pay for loading
    for depth in DEPTHS:
        with emulator_sqs.moto_queues():
            # moto's cost grows with the depth: fewer calls keep its 10,000 row to about a minute.
            moto_send, moto_receive = sqs_costs(depth, max(3, calls // (1 + depth // 2_000)))
        send, receive = sqs_costs(depth, calls)
        lines.append(f"{depth:>16,} {moto_send:>11.2f} {send:>15.2f} {moto_receive:>14.2f} {receive:>18.2f}")
    return lines


# --- 2. Permission evaluation on and off: the auto-linker -------------------------------------------


def auto_link_costs(versions: int, on: bool) -> tuple[float, float, int]:
    """(wall ms, CPU ms, API calls) per version, linking `versions` new versions of one group."""
    harness_module = _auto_link_benchmark()
    with mock_aws(), enforcement(on):
        harness = harness_module.Harness()
        calls = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for version in range(1, versions + 1):
            calls += harness.link("group", version)[0]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / versions * 1000, cpu / versions * 1000, calls


def permissions_table(versions: int) -> list[str]:
    lines = [
        f"Auto-link lifecycle, {versions:,} new versions of one group, per version",
        f"{'permission evaluation':>22} {'API calls':>10} {'wall ms':>9} {'CPU ms':>8} {'total wall s':>13}",
    ]
    for on in (True, False):
        auto_link_costs(5, on)  # not counted: the first run of each setting pays for loading
    for on in (True, False):
        wall, cpu, calls = auto_link_costs(versions, on)
        total = wall * versions / 1000
        lines.append(f"{'on' if on else 'off':>22} {calls / versions:>10.0f} {wall:>9.1f} {cpu:>8.1f} {total:>13.1f}")
    return lines


# --- 3. The local run, whole processes ------------------------------------------------------------------


def local_run(assembly: Path, permissions: str) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "sandbox.run", "--assembly", str(assembly), "--config", "config/local.json"],
        cwd=ROOT,
        env={**os.environ, "EMULATOR_PERMISSIONS": permissions},
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed.returncode


def local_run_table(assembly: Path, runs: int) -> list[str]:
    lines = [
        f"Local run (python -m sandbox.run, the walk of scripts/run-local), median of {runs} runs",
        f"{'EMULATOR_PERMISSIONS':>22} {'wall s':>8} {'CPU s':>7} {'exit codes':>11}",
    ]
    samples: dict[str, list[tuple[float, float, int]]] = {"on": [], "off": []}
    for _ in range(runs):
        for permissions in samples:  # alternated, so a change in the machine's load hits both
            samples[permissions].append(local_run(assembly, permissions))
    for permissions, runs_of in samples.items():
        wall = statistics.median(w for w, _, _ in runs_of)
        cpu = statistics.median(c for _, c, _ in runs_of)
        codes = ",".join(sorted({str(code) for _, _, code in runs_of}))
        lines.append(f"{permissions:>22} {wall:>8.1f} {cpu:>7.1f} {codes:>11}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, default=1000, help="new versions for the auto-link run")
    parser.add_argument("--calls", type=int, default=20, help="measured SQS calls per row and kind")
    parser.add_argument("--local-run", type=Path, help="a synthesized assembly of config/local.json")
    parser.add_argument("--runs", type=int, default=3, help="local runs per setting")
    parser.add_argument("--skip-sqs", action="store_true", help="leave out the SQS table")
    args = parser.parse_args(argv)
    if args.versions < 1 or args.calls < 1 or args.runs < 1:
        print("emulator_speed: --versions, --calls and --runs must be at least 1", file=sys.stderr)
        return 2
    if args.local_run is not None and not (args.local_run / "manifest.json").is_file():
        print(f"emulator_speed: --local-run: no cloud assembly at {args.local_run}", file=sys.stderr)
        return 2
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    tables: list[Callable[[], list[str]]] = [] if args.skip_sqs else [lambda: sqs_table(args.calls)]
    tables.append(lambda: permissions_table(args.versions))
    if args.local_run is not None:
        tables.append(lambda: local_run_table(args.local_run.resolve(), args.runs))
    for table in tables:
        print("\n" + "\n".join(table()), flush=True)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
