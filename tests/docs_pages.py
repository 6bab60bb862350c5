"""The documentation as tests read it: README.md and the pages under docs/, their sections and
their fenced code blocks, and one shell that runs a block's commands as a reader would type them.

A block is a command transcript when its info string is `console` (`$ ` starts a command, the
lines up to the next one are what it prints) and a script when it is `bash` (every line a command,
`\\` continuing one, `#` a comment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = "README"

FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```$", re.S | re.M)
HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)


def path_of(name: str) -> Path:
    return ROOT / "README.md" if name == README else DOCS / f"{name}.md"


def page(name: str) -> str:
    """README.md for "README", else docs/<name>.md."""
    return path_of(name).read_text()


def pages() -> list[str]:
    return [README, *sorted(p.stem for p in DOCS.glob("*.md"))]


def section(text: str, heading: str) -> str:
    """From the heading (any level) up to the next heading of the same or a higher level."""
    for match in HEADING.finditer(text):
        if match.group(2).strip() != heading:
            continue
        level = len(match.group(1))
        rest = text[match.end() :]
        for following in HEADING.finditer(rest):
            # A heading inside a code block (a shell comment) is no heading.
            if rest[: following.start()].count("```") % 2 == 0 and len(following.group(1)) <= level:
                return rest[: following.start()]
        return rest
    raise KeyError(f"no heading {heading!r}")


@dataclass(frozen=True)
class Block:
    info: str
    attributes: str
    body: str

    @property
    def first_line(self) -> str:
        return next(line for line in self.body.splitlines() if line.strip())

    @property
    def title(self) -> str | None:
        found = re.search(r'title="([^"]*)"', self.attributes)
        return found.group(1) if found else None


def blocks(text: str, info: str | None = None) -> list[Block]:
    found = [Block(m.group(1), m.group(2).strip(), m.group(3)) for m in FENCE.finditer(text)]
    return [b for b in found if info is None or b.info == info]


def block(text: str, first_line: str) -> Block:
    """The one block of `text` that starts with `first_line`."""
    (found,) = [b for b in blocks(text) if b.first_line == first_line]
    return found


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)


def transcript(*console: Block) -> list[Step]:
    steps: list[Step] = []
    for each in console:
        assert each.info == "console", each.first_line
        for line in each.body.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif steps:
                steps[-1].expected.append(line)
    return steps


def script(bash: Block) -> list[str]:
    """A bash block's commands, continuation lines joined, comments dropped."""
    assert bash.info == "bash", bash.first_line
    commands: list[str] = []
    pending = ""
    for line in bash.body.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
            continue
        commands.append(pending)
        pending = ""
    return commands


def tokens(lines: list[str]) -> list[list[str]]:
    """The AWS CLI separates text columns with tabs; a page may show them as spaces."""
    return [line.split() for line in lines if line.strip()]


class Shell:
    """One bash, so a page's variables carry from one command to the next, as for a reader."""

    def __init__(self, cwd: Path = ROOT) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
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


def project_copy(where: Path, copied: tuple[str, ...] = ()) -> Path:
    """`where` as the project root a page's commands expect: every entry of the repository linked
    in, except the local run's files, which the test writes, what synthesis writes, and `copied`
    (copied, so that what a command writes there stays out of the repository)."""
    for entry in ROOT.iterdir():
        if entry.name in copied:
            shutil.copytree(entry, where / entry.name)
        elif entry.name not in {".local-run", ".git", "cdk.out", "site"}:
            (where / entry.name).symlink_to(entry)
    (where / ".local-run").mkdir()
    return where


def run_transcript(steps: list[Step], shell: Shell, replace: dict[str, str] | None = None) -> None:
    """Each command as printed; what it prints must be what the page shows (with `replace` applied
    to the page's text, for what differs by machine)."""
    for step in steps:
        expected = step.expected
        for old, new in (replace or {}).items():
            expected = [line.replace(old, new) for line in expected]
        code, output = shell.run(step.command)
        assert tokens(output) == tokens(expected), f"$ {step.command}\nexit {code}, printed:\n" + "\n".join(output)
