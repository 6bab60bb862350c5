"""The page "Set up and run" (docs/set-up-and-run.md) and the README: `scripts/setup`, then the
whole local run, `scripts/run-local`, as printed, in a copy of the project (its own `.local-run`),
so that it runs beside the "Try it yourself" test, which keeps a run of its own in the project."""

from __future__ import annotations

from pathlib import Path

from tests.docs_pages import README, Shell, block, page, project_copy, script


def test_the_documented_set_up_and_local_run_pass(tmp_path: Path) -> None:
    set_up = page("set-up-and-run")
    commands = script(block(set_up, "scripts/setup")) + script(block(set_up, "scripts/run-local"))
    assert script(block(page(README), "scripts/run-local")) == script(block(set_up, "scripts/run-local"))
    (tmp_path / "project").mkdir()
    shell = Shell(cwd=project_copy(tmp_path / "project"))
    try:
        for command in commands:
            code, output = shell.run(command)
            assert code == 0, f"$ {command}\nexit {code}, printed:\n" + "\n".join(output[-40:])
    finally:
        shell.close()
    assert output[-1] == "17 passed, 0 failed", "\n".join(output[-40:])
    assert (tmp_path / "project" / ".local-run" / "cdk.out").is_dir(), "the run wrote into the copy, not the project"
