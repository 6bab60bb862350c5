"""The report as files: one self-contained HTML page (Jinja2, autoescaped), JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import asdict, fields
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from governance_report.findings import RULES, Report, Row

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSV_COLUMNS = [f.name for f in fields(Row)]
# Spreadsheets run a cell that starts with one of these as a formula; card content is spoke data.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def html_page(report: Report) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    # The page's own script carries this nonce; the Content-Security-Policy runs no other script,
    # so even a value that escaped escaping could not execute.
    return template.render(report=report, summary=report.summary, rules=RULES, nonce=secrets.token_urlsafe(16))


def json_text(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2, sort_keys=False) + "\n"


def csv_text(report: Report) -> str:
    out = io.StringIO()
    # RFC 4180's CRLF: the writer then quotes every cell holding a CR or LF, so a spoke's text
    # never ends a row early and starts a row of its own.
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in report.rows:
        values = asdict(row)
        writer.writerow({k: csv_cell(v) for k, v in values.items()})
    return out.getvalue()


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = " ".join(value) if isinstance(value, list) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def render_files(report: Report) -> dict[str, tuple[str, str]]:
    """File name -> (content, media type)."""
    return {
        "report.html": (html_page(report), "text/html; charset=utf-8"),
        "report.json": (json_text(report), "application/json"),
        "report.csv": (csv_text(report), "text/csv; charset=utf-8"),
    }


def write_report(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (content, _) in render_files(report).items():
        path = folder / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
