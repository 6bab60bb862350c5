"""The README's "Try it yourself" section, run as printed: `scripts/run-local --keep --no-walk` in
the background, every command of the section in one shell, each output compared with the README."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT

START = "scripts/run-local --keep --no-walk"
READS = re.compile(r" (describe-\S+|list-\S+|get-\S+|head-object|receive-message|query) ")
PATIENCE_SECONDS = 30


@dataclass
class Step:
    command: str
    expected: list[str]


def transcript() -> list[Step]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Try it yourself\n", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:], []))
            elif steps:
                steps[-1].expected.append(line)
    return steps


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


class Shell:
    """One bash, so the section's variables carry from one command to the next, as for a reader."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, command: str) -> tuple[int, list[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command}\necho __done__ $?\n")
        self.process.stdin.flush()
        output: list[str] = []
        for line in self.process.stdout:
            if line.startswith("__done__ "):
                return int(line.split()[1]), output
            output.append(line.rstrip("\n"))
        raise AssertionError(f"the shell ended during: {command}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def tokens(lines: list[str]) -> list[list[str]]:
    """The AWS CLI separates text columns with tabs; the README may show them as spaces."""
    return [line.split() for line in lines if line.strip()]


@pytest.fixture
def kept_run() -> Iterator[Run]:
    run = Run()
    try:
        yield run
    finally:
        if run.process.poll() is None:
            os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait()


def test_the_readme_transcript_runs_as_printed(kept_run: Run) -> None:
    steps = transcript()
    assert steps[0].command == START, "the section starts the environment the test starts"
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
    # ...and with the auditor's governance report of it all.
    assert steps[-2].command.startswith("scripts/report ") and "--profile auditor" in steps[-2].command
    export = kept_run.wait_for_line("export AWS_CONFIG_FILE=", timeout=900)
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
    finally:
        shell.close()
    handled = [line for line in kept_run.lines if "  ->  " in line]
    assert any("auto_link" in line and '"card": "customer-churn-222222222222-v1"' in line for line in handled)
    refusals = [line for line in handled if "card_workflow" in line and "approval refused" in line]
    assert len(refusals) == 1 and "customer-churn-222222222222-v2 v1 Approved" in refusals[0]
    assert "card set back to PendingReview" in refusals[0]
    assert any("card_workflow.follow_exports" in line and "->  ok" in line for line in handled)
    assert not [line for line in handled if "FAILED" in line]
    os.kill(kept_run.process.pid, signal.SIGTERM)
    assert kept_run.process.wait(timeout=60) == 0
    assert kept_run.lines[-1].startswith("stopped after ")
