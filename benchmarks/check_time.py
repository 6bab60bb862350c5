"""Benchmark: how long the test command's phases take. Prints a table.

    .venv/bin/python benchmarks/check_time.py [--runs 1] [--workers auto,1]

Runs each phase of `scripts/check` as a whole process, `--runs` times, after `scripts/setup`:
ruff (lint and format), mypy with an empty cache (as on a fresh clone) and with the cache that run
left (as on a developer's second run), and pytest with each `--workers` setting (pytest-xdist's
`-n`, the tests of one file on one worker, as `scripts/check` runs them). Prints the minimum,
median and maximum wall seconds and the median CPU seconds of the children, and the load average
before and after: wall times on a shared machine move with its load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, of the process and its children) of one run; a failed
    run stops the benchmark, since its time would not be the suite's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise SystemExit(f"check_time: {' '.join(command)} exited {result.returncode}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def phases(workers: list[str], cache: Path) -> list[tuple[str, list[str]]]:
    mypy = [str(VENV_BIN / "mypy"), "--cache-dir", str(cache)]
    listed = [
        ("ruff check + format --check", ["bash", "-c", f"{VENV_BIN}/ruff check . && {VENV_BIN}/ruff format --check ."]),
        ("mypy, empty cache", ["bash", "-c", f"rm -rf {cache} && {' '.join(mypy)}"]),
        ("mypy, warm cache", mypy),
    ]
    for count in workers:
        pytest = [str(VENV_BIN / "pytest"), "-q", "-p", "no:cacheprovider", "-n", count, "--dist", "loadfile"]
        listed.append((f"pytest -n {count}", pytest))
    return listed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="runs of each phase (default 1)")
    parser.add_argument("--workers", default="auto", help="comma-separated pytest -n settings (default auto)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1 (got {args.runs})")
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    if not workers or any(w != "auto" and not w.isdigit() for w in workers):
        parser.error(f"--workers takes 'auto' or numbers, comma-separated (got {args.workers!r})")
    subprocess.run([str(ROOT / "scripts" / "setup")], cwd=ROOT, check=True)
    print(f"load average before: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, command in phases(workers, Path(scratch) / "mypy-cache"):
            runs = [timed(command) for _ in range(args.runs)]
            walls = [wall for wall, _ in runs]
            cpu = statistics.median(cpu for _, cpu in runs)
            rows.append((name, min(walls), statistics.median(walls), max(walls), cpu))
            print(f"  {name}: {statistics.median(walls):.1f} s", file=sys.stderr, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print()
    print("| phase | runs | min wall s | median wall s | max wall s | median CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, low, median, high, cpu in rows:
        print(f"| {name} | {args.runs} | {low:.1f} | {median:.1f} | {high:.1f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
