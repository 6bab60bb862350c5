"""The documentation: the site builds with `mkdocs build --strict` (no broken link or anchor, no
page left out of the navigation), the README stays a short entry, and every command a page shows
is run by a test, unless the page says what a test cannot have (an AWS account, say)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.docs_pages import (
    README,
    ROOT,
    Shell,
    block,
    blocks,
    page,
    pages,
    path_of,
    project_copy,
    run_transcript,
    script,
    transcript,
)

README_MAX_LINES = 250

# Why a block is not run: a reason a test cannot meet, shown on the page as the block's title.
NOT_RUN = {
    "needs an AWS account",
    "runs every test",  # scripts/check runs this test too
    "rewrites docs/report.png",  # the committed screenshot, refreshed by hand
}

TRY_IT = "tests/test_try_it_yourself.py::test_the_try_it_yourself_page_runs_as_printed"
SET_UP = "tests/test_set_up_and_run.py::test_the_documented_set_up_and_local_run_pass"
SPOKE_USER = "tests/test_sandbox.py::test_the_spoke_user_commands_of_the_docs_work_against_the_sandbox"
AFTER_THE_STEPS = "tests/test_sandbox.py::test_the_pages_transcripts_after_the_scripted_steps_run_as_printed"
CDK = "tests/test_docs.py::test_the_cdk_transcripts_run_as_printed"
EMULATOR = "tests/test_docs.py::test_the_emulator_server_transcript_runs_as_printed"
COPY_CONFIG = "tests/test_docs.py::test_copying_the_example_config_runs_as_printed"
SCHEMA = "tests/test_docs.py::test_the_schema_command_writes_the_committed_schema"
REGENERATE_SCHEMA = ".venv/bin/python -m governance_config --schema > config/schema.json"
CARD_SCHEMA = "tests/test_docs.py::test_the_card_schema_command_writes_the_committed_schema"
REGENERATE_CARD_SCHEMA = ".venv/bin/python -m emulator.model_card_schema > emulator/model_card_schema.json"
EXPORT = "export AWS_CONFIG_FILE=$PWD/.local-run/aws-config"
DECIDE = (
    "$ url=$(.venv/bin/aws --profile hub-admin cloudformation describe-stacks --stack-name model-card-governance-hub "
    "--query \"Stacks[0].Outputs[?OutputKey=='DecisionUrl'].OutputValue\" --output text)"
)

# What the pages run first to make a config that fails.
BROKEN_CONFIG = (
    '$ .venv/bin/python -c \'import json; c = json.load(open("config/example.json")); '
    'c["hub"]["account"] = "12345"; c["spokes"][1]["access"] = "admin"; json.dump(c, '
    'open("config/broken.json", "w"), indent=2)\''
)
TOO_MANY_CARDS = (
    '$ .venv/bin/python -c \'import json; c = json.load(open("config/example.json")); t = {k: '
    'v for k, v in c["cards"][0].items() if k != "model_package_group"}; c["cards"] += '
    '[dict(t, name=f"card-{i:03d}") for i in range(1, 450)]; json.dump(c, '
    'open("config/too-many-cards.json", "w"), indent=2)\''
)

# (page, first line of the block) -> the test that runs it; each of those tests reads the block
# from its page, so a changed command is a changed test.
RUN_BY = {
    (README, "scripts/run-local"): SET_UP,
    (README, f"$ {EXPORT}"): TRY_IT,
    ("set-up-and-run", "scripts/setup"): SET_UP,
    ("set-up-and-run", "scripts/run-local"): SET_UP,
    ("set-up-and-run", "$ npx cdk ls"): CDK,
    ("configure", "cp config/example.json config/governance.json"): COPY_CONFIG,
    ("configure", REGENERATE_SCHEMA): SCHEMA,
    ("emulator", REGENERATE_CARD_SCHEMA): CARD_SCHEMA,
    ("configure", BROKEN_CONFIG): CDK,
    ("organization-scale", TOO_MANY_CARDS): CDK,
    ("emulator", "$ .venv/bin/python -m emulator.server"): EMULATOR,
    (
        "emulator",
        (
            "$ .venv/bin/aws sts assume-role --role-arn "
            "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole --role-session-name me "
            "--query AssumedRoleUser.Arn --output text"
        ),
    ): EMULATOR,
    ("governance-report", EXPORT): TRY_IT,
    ("review-and-approval", f"$ {EXPORT}"): AFTER_THE_STEPS,
    ("review-and-approval", DECIDE): AFTER_THE_STEPS,
    ("spoke-users", "# list the cards shared with this account"): SPOKE_USER,
    ("spoke-users", f"$ {EXPORT}"): AFTER_THE_STEPS,
    # The test runs every console block of its page, whatever they are.
    **{("try-it-yourself", b.first_line): TRY_IT for b in blocks(page("try-it-yourself"), "console")},
}


def test_the_site_builds_with_no_warning(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "report.png").is_file(), "the report page's screenshot is in the site"


def test_the_readme_is_a_short_entry() -> None:
    lines = page(README).splitlines()
    assert len(lines) <= README_MAX_LINES
    # Its links into the pages work on GitHub too: relative, to files that exist.
    linked = re.findall(r"\]\((docs/[^)#]+)", page(README))
    assert linked
    assert [link for link in linked if not (ROOT / link).is_file()] == []


def test_every_command_a_page_shows_is_run_by_a_test_or_says_why_not() -> None:
    shown: dict[tuple[str, str], str | None] = {}
    for name in pages():
        for each in blocks(page(name)):
            if each.info in ("bash", "console"):
                shown[(name, each.first_line)] = each.title
    unaccounted = [
        f"{path_of(name).relative_to(ROOT)}: {first}"
        for (name, first), title in shown.items()
        if (name, first) not in RUN_BY and title not in NOT_RUN
    ]
    assert unaccounted == [], "no test runs these blocks; run them in one, or title them with a reason in NOT_RUN"
    assert [key for key in RUN_BY if key not in shown] == [], "RUN_BY names blocks no page shows"
    assert [key for key, title in shown.items() if key in RUN_BY and title in NOT_RUN] == []
    for (name, _), test in RUN_BY.items():
        file, function = test.split("::")
        source = (ROOT / file).read_text()
        assert f"def {function}(" in source, test
        # The test reads its blocks from the page (by name), never from a copy of the text.
        assert f'"{name}"' in source or (name == README and "README" in source), (test, name)


def test_copying_the_example_config_runs_as_printed(tmp_path: Path) -> None:
    project = project_copy(tmp_path, copied=("config",))
    shell = Shell(cwd=project)
    try:
        for command in script(block(page("configure"), "cp config/example.json config/governance.json")):
            code, output = shell.run(command)
            assert (code, output) == (0, [])
    finally:
        shell.close()
    assert (project / "config" / "governance.json").read_text() == (ROOT / "config" / "example.json").read_text()


def test_the_schema_command_writes_the_committed_schema(tmp_path: Path) -> None:
    project = project_copy(tmp_path, copied=("config",))
    shell = Shell(cwd=project)
    try:
        (command,) = script(block(page("configure"), REGENERATE_SCHEMA))
        code, output = shell.run(command)
        assert (code, output) == (0, [])
    finally:
        shell.close()
    assert (project / "config" / "schema.json").read_text() == (ROOT / "config" / "schema.json").read_text()


def test_the_card_schema_command_writes_the_committed_schema(tmp_path: Path) -> None:
    project = project_copy(tmp_path, copied=("emulator",))
    shell = Shell(cwd=project)
    try:
        (command,) = script(block(page("emulator"), REGENERATE_CARD_SCHEMA))
        code, output = shell.run(command)
        assert (code, output) == (0, [])
    finally:
        shell.close()
    written = (project / "emulator" / "model_card_schema.json").read_text()
    assert written == (ROOT / "emulator" / "model_card_schema.json").read_text()


def test_the_cdk_transcripts_run_as_printed() -> None:
    """At the project root, as the pages say: these write only cdk.out and two configs git ignores,
    and one after another, since all of them write cdk.out."""
    shown = [
        block(page("set-up-and-run"), "$ npx cdk ls"),
        block(page("configure"), BROKEN_CONFIG),
        block(page("organization-scale"), TOO_MANY_CARDS),
    ]
    shell = Shell()
    try:
        run_transcript(transcript(*shown), shell, replace={"/path/to/model-card-governance": str(ROOT)})
    finally:
        shell.close()


def test_the_emulator_server_transcript_runs_as_printed() -> None:
    server_block, assume_block = (b for b in blocks(page("emulator"), "console"))
    (start,) = transcript(server_block)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen(
        shlex.split(start.command), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        printed = [server.stdout.readline().rstrip("\n") for _ in start.expected]
        port = re.fullmatch(r"export AWS_ENDPOINT_URL=http://127\.0\.0\.1:(\d+)", printed[0])
        assert port, printed
        # The port is whichever was free; the rest is as the page prints it.
        assert printed == [line.replace(":40123", f":{port.group(1)}") for line in start.expected]
        shell = Shell()
        try:
            # "paste the three `export` lines it printed"
            for line in printed:
                assert shell.run(line) == (0, [])
            run_transcript(transcript(assume_block), shell)
        finally:
            shell.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
