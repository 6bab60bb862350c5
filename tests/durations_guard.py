"""Tells a developer which test modules grew the suite's time, against the committed baseline.

Every run sums each module's test time (setup, call and teardown, as pytest measures them; with
pytest-xdist, on the controller from the workers' reports) and, at the end, prints the slowest
modules and every module that now takes markedly longer than `tests/durations.json` says. It never
fails a run: the time a test takes depends on the machine, so the figure is a pointer, not a
verdict. After a change that is meant to cost time, record the new baseline with

    .venv/bin/pytest --update-durations

The same baseline orders the run: modules go longest first (a module not in it counts as the
longest, so a new module starts early), which is the longest-processing-time order that leaves
pytest-xdist's workers (with `--dist loadfile --no-loadscope-reorder`) finishing at about the same
time instead of one waiting on a long module handed out last.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

BASELINE = Path(__file__).resolve().parent / "durations.json"
# A module "grew" when it takes both this many times its baseline and this many seconds more:
# small modules jitter by a second, large ones by a few percent.
GROWTH_FACTOR = 1.5
GROWTH_SECONDS = 5.0
SHOWN = 5

_seconds: defaultdict[str, float] = defaultdict(float)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-durations",
        action="store_true",
        help=f"write each module's test time of this run to {BASELINE.name} (run the whole suite)",
    )


def module_order(modules: list[str], baseline: dict[str, float]) -> list[str]:
    """The modules longest first by the baseline; a module it does not know first of all."""
    longest = max(baseline.values(), default=0.0)
    return sorted(dict.fromkeys(modules), key=lambda module: -baseline.get(module, longest + 1))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    baseline = json.loads(BASELINE.read_text()) if BASELINE.is_file() else {}
    rank = {module: i for i, module in enumerate(module_order([i.nodeid.split("::", 1)[0] for i in items], baseline))}
    # A stable sort: each module's tests keep their own order.
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid.split("::", 1)[0]] += report.duration


def grown_modules(now: dict[str, float], baseline: dict[str, float]) -> list[tuple[str, float, float]]:
    """(module, seconds now, baseline seconds) for each module that grew, the largest growth first."""
    grown = [
        (module, seconds, baseline.get(module, 0.0))
        for module, seconds in now.items()
        if seconds >= GROWTH_FACTOR * baseline.get(module, 0.0)
        and seconds >= baseline.get(module, 0.0) + GROWTH_SECONDS
    ]
    return sorted(grown, key=lambda row: row[2] - row[1])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _seconds:
        return  # an xdist worker: the controller sums what every worker reported
    now = dict(_seconds)
    if config.getoption("--update-durations"):
        BASELINE.write_text(json.dumps({m: round(s, 1) for m, s in sorted(now.items())}, indent=1) + "\n")
        terminalreporter.write_line(f"test time per module written to {BASELINE}")
        return
    baseline: dict[str, float] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    terminalreporter.section("test time per module")
    total, base_total = sum(now.values()), sum(baseline.get(m, 0.0) for m in now)
    terminalreporter.write_line(f"{total:.0f} s in tests (baseline for these modules: {base_total:.0f} s)")
    for module, seconds in sorted(now.items(), key=lambda row: -row[1])[:SHOWN]:
        terminalreporter.write_line(f"  {seconds:6.1f} s  {module}")
    for module, seconds, before in grown_modules(now, baseline):
        was = f"{before:.1f} s" if module in baseline else "not in the baseline"
        terminalreporter.write_line(
            f"grew: {module} took {seconds:.1f} s ({was}); `pytest --durations=10 {module}` shows which tests",
            yellow=True,
        )
