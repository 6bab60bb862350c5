"""The report page: card content shown as text, the template engine the weekly Lambda gets."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_report import auditor, create_report_roles, settings
from tests.test_workflow import SPOKE, Governance, edit

sys.path.insert(0, str(ROOT / "lambdas"))

from governance_report.render import html_page
from governance_report.run import produce_report


def test_card_content_is_shown_as_text_never_run(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    gov = Governance(monkeypatch)
    create_report_roles(gov, (SPOKE,))
    gov.register(gov.spoke, "churn")
    attack = '<script>document.title="pwned"</script><img src=x onerror="alert(1)">&amp;'
    edit(gov, "churn-222222222222-v1", {"intended_uses": {"purpose_of_model": attack}})
    page = html_page(produce_report(auditor(), settings(spoke_accounts=(SPOKE,)), now=datetime.now(UTC)))
    assert (
        "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
        in page
    )
    assert "&amp;amp;" in page
    assert "<script>document" not in page and "<img" not in page
    # Only the page's own script runs: it carries the nonce the Content-Security-Policy names.
    [policy] = [line for line in page.splitlines() if "Content-Security-Policy" in line]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert page.count("<script") == 1 and f'<script nonce="{nonce}">' in page


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (
            {"pending_review_days": 0},
            "report.pending_review_days: must be a whole number of days from 1 to 365 (got 0)",
        ),
        ({"pending_review_days": True}, "report.pending_review_days: must be a whole number of days from 1 to 365"),
        ({"weekly": 1}, "report.weekly: must be true or false (got 1)"),
        ({"daily": True}, "report.daily: unknown key; allowed: pending_review_days, weekly"),
    ],
)
def test_report_options_are_validated(report: dict[str, Any], expected: str) -> None:
    from governance_config import ConfigError, parse_config

    raw = json.loads((ROOT / "config" / "local.json").read_text())
    with pytest.raises(ConfigError) as raised:
        parse_config({**raw, "report": report})
    assert len(raised.value.problems) == 1 and raised.value.problems[0].startswith(expected)


def test_report_options_default_to_two_weeks_and_no_publication() -> None:
    from governance_config import parse_config

    config = parse_config(json.loads((ROOT / "config" / "local.json").read_text()))
    assert (config.report.pending_review_days, config.report.weekly) == (14, False)


def test_the_lambda_layer_renders_with_pure_python_markupsafe() -> None:
    from governance_constructs.governance_report import template_engine_layer_folder

    layer = Path(template_engine_layer_folder()) / "python"
    assert not list(layer.rglob("*.so"))
    # -S: no site-packages, so only the layer (and the standard library) can provide the imports.
    script = (
        "import jinja2, markupsafe; "
        f"assert markupsafe.__file__.startswith({str(layer)!r}), markupsafe.__file__; "
        "print(jinja2.Environment(autoescape=True).from_string('{{ v }}').render(v='<b>'))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        env={"PYTHONPATH": str(layer)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "&lt;b&gt;\n"
