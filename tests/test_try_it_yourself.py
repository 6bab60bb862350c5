"""The page "Try it yourself" (docs/try-it-yourself.md), run as printed: `scripts/run-local --keep
--no-walk` in the background, every command of the page in one shell, each output compared with the
page. Before it, the set-up commands of "Set up and run" and the README, and after it, the report
command of "Governance report" against the same kept run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ROOT
from tests.docs_pages import README, Shell, Step, block, blocks, page, script, section, tokens, transcript

START = "scripts/run-local --keep --no-walk"
READS = re.compile(r" (describe-\S+|list-\S+|get-\S+|head-object|receive-message|query) ")
PATIENCE_SECONDS = 30
PAGE = "try-it-yourself"


def the_transcript() -> list[Step]:
    return transcript(*blocks(section(page(PAGE), "Try it yourself"), "console"))


def readme_try_it() -> list[Step]:
    return transcript(*blocks(section(page(README), "Try it"), "console"))


class Run:
    """`scripts/run-local` in the background, its output collected line by line."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            START.split(), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self.collect, daemon=True).start()

    def collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if found:
                return found[0]
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line starting {prefix!r}; the run printed:\n" + "\n".join(self.lines[-40:]))


@pytest.fixture
def kept_run() -> Iterator[Callable[[], Run]]:
    """Starts the kept run when the test asks."""
    started: list[Run] = []

    def start() -> Run:
        started.append(Run())
        return started[-1]

    try:
        yield start
    finally:
        for run in started:
            if run.process.poll() is None:
                os.kill(run.process.pid, signal.SIGKILL)
            run.process.wait()


def test_the_try_it_yourself_page_runs_as_printed(kept_run: Callable[[], Run]) -> None:
    steps = the_transcript()
    assert steps[0].command == START, "the section starts the environment the test starts"
    # The README's short version is the page's first steps, so running the page runs it too.
    short = readme_try_it()
    assert [(s.command, s.expected) for s in short] == [(s.command, s.expected) for s in steps[1 : 1 + len(short)]]
    # The section ends with a spoke user's card approval, sent back by the hub.
    approval = next(
        i
        for i, s in enumerate(steps)
        if "--profile ml-dev" in s.command and "--model-card-status Approved" in s.command
    )
    assert "update-model-card" in steps[approval].command
    assert "describe-model-card" in steps[approval + 1].command
    assert tokens(steps[approval + 1].expected)[0][-1] == "PendingReview"
    assert any("approval-refused" in s.command for s in steps[approval:])
    # ...then the auditor's governance report of it all, and the approval's evidence PDF last.
    at_report = next(i for i, s in enumerate(steps) if s.command.startswith("scripts/report "))
    assert at_report > approval and "--profile auditor" in steps[at_report].command
    assert any("evidence-pdf" in s.command for s in steps[at_report:])
    run = kept_run()
    export = run.wait_for_line("export AWS_CONFIG_FILE=", timeout=900)
    assert export == f"export AWS_CONFIG_FILE={ROOT / '.local-run' / 'aws-config'}"
    shell = Shell()
    try:
        for step in steps[1:]:
            deadline = time.monotonic() + PATIENCE_SECONDS
            while True:
                code, output = shell.run(step.command)
                if code == 0 and tokens(output) == tokens(step.expected):
                    break
                # What the hub does in response takes a moment: a read is repeated, a change never is.
                if not READS.search(step.command) or time.monotonic() > deadline:
                    pytest.fail(f"$ {step.command}\nexit {code}, printed:\n" + "\n".join(output))
                time.sleep(0.5)
        # "Governance report" shows the same report against the kept run, as a script.
        report = section(page("governance-report"), "Governance report")
        for command in script(block(report, "export AWS_CONFIG_FILE=$PWD/.local-run/aws-config")):
            code, output = shell.run(command)
            assert code == 0, f"$ {command}\nexit {code}, printed:\n" + "\n".join(output)
        # The paths go to stdout, the progress to stderr: the shell shows both, interleaved.
        written = [line for line in output if line.startswith(".local-run/report/")]
        assert written == [f".local-run/report/report.{kind}" for kind in ("html", "json", "csv")], output
    finally:
        shell.close()
    handled = [line for line in run.lines if "  ->  " in line]
    assert any("auto_link" in line and '"card": "customer-churn-222222222222-v1"' in line for line in handled)
    refusals = [line for line in handled if "card_workflow" in line and "approval refused" in line]
    assert len(refusals) == 1 and "customer-churn-222222222222-v2 v1 Approved" in refusals[0]
    assert "card set back to PendingReview" in refusals[0]
    assert any("card_workflow.follow_exports" in line and "->  ok" in line for line in handled)
    assert not [line for line in handled if "FAILED" in line]
    os.kill(run.process.pid, signal.SIGTERM)
    assert run.process.wait(timeout=60) == 0
    assert run.lines[-1].startswith("stopped after ")
