"""Synthesis at organization scale: generated configs with 1 to 400 account spokes and 1 to 250
OUs (inside an organization the hub names each spoke it admits, and its bus policy fills at about
550 accounts or 350 OUs), each synthesized (cdk-nag included) in a fresh process, every artifact measured against its
AWS quota (aws_quotas).

    .venv/bin/python benchmarks/synth_scale.py            # every config
    .venv/bin/python benchmarks/synth_scale.py --quick    # 1 and 10 of each

Prints one row per config: synthesis seconds (build, synth, quota check), stacks, templates
(StackSet bodies included), the largest template in bytes, and for each kind of policy or list the
largest one as a fraction of its AWS limit. Exit code 1 if any size reaches 80 % of its quota.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVELS = ("read", "edit", "edit-export")
ACCOUNT_COUNTS = (1, 10, 100, 400)
OU_COUNTS = (1, 10, 100, 250)
# Columns: quota name -> short heading.
COLUMNS = {
    "template size (uploaded to S3)": "template",
    "resources per stack": "resources",
    "StackSet TemplateBody": "StackSet body",
    "event bus policy": "bus policy",
    "key policy": "key policy",
    "inline policies of a role, together": "role inline",
    "managed policy": "managed",
    "role trust policy": "trust",
    "bucket policy": "bucket policy",
    "function environment variables": "Lambda env",
    "principals per resource share": "RAM principals",
    "OUs per stack-instances group": "OUs per group",
}
WARN_FRACTION = 0.8


def generated_config(kind: str, count: int) -> dict[str, Any]:
    """The example config (inside its organization) with `count` account or OU spokes."""
    raw: dict[str, Any] = json.loads((ROOT / "config" / "example.json").read_text())
    raw = copy.deepcopy(raw)
    if kind == "accounts":
        raw["spokes"] = [
            {"name": f"account-{i}", "account": str(200000000000 + i), "access": LEVELS[i % 3]} for i in range(count)
        ]
    else:
        raw["spokes"] = [{"name": f"ou-{i}", "ou": f"ou-ab12-{i:08d}", "access": LEVELS[i % 3]} for i in range(count)]
    return raw


def measure_one(kind: str, count: int) -> dict[str, Any]:
    """Runs in a fresh process: synthesize one generated config and measure it."""
    from aws_cdk import App

    from app import synthesize
    from aws_quotas import largest_by_quota, measure_assembly
    from governance_config import parse_config

    config = parse_config(generated_config(kind, count))
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    with tempfile.TemporaryDirectory(prefix="synth-scale-") as outdir:
        started = time.perf_counter()
        violations = synthesize(config, App(outdir=outdir, context=context))
        seconds = time.perf_counter() - started
        measurements = measure_assembly(Path(outdir))
    templates = [m for m in measurements if m.quota.name in ("template size (uploaded to S3)", "StackSet TemplateBody")]
    largest = largest_by_quota(measurements)
    return {
        "config": f"{count} {'account spokes' if kind == 'accounts' else 'OUs'}",
        "seconds": seconds,
        "stacks": sum(1 for m in measurements if m.quota.name == "template size (uploaded to S3)"),
        "templates": len(templates),
        "largest_template_bytes": largest[next(q for q in largest if q.name == "template size (uploaded to S3)")].value,
        "fractions": {quota.name: m.fraction for quota, m in largest.items()},
        "worst": str(max(measurements, key=lambda m: m.fraction)),
        "violations": [str(v) for v in violations],
    }


def run_isolated(kind: str, count: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"),
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{count} {kind}: synthesis failed\n{result.stderr[-2000:]}")
    row: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    headings = ["config", "synth s", "stacks", "templates", "largest template B", *COLUMNS.values()]
    print("| " + " | ".join(headings) + " |")
    print("| --- | " + " | ".join("---:" for _ in headings[1:]) + " |")
    for row in rows:
        cells = [
            row["config"],
            f"{row['seconds']:.1f}",
            str(row["stacks"]),
            str(row["templates"]),
            f"{row['largest_template_bytes']:,}",
        ]
        cells += [f"{row['fractions'][name]:.1%}" if name in row["fractions"] else "-" for name in COLUMNS]
        print("| " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only 1 and 10 of each")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]))))
        return 0
    plan = [("accounts", n) for n in ACCOUNT_COUNTS] + [("ous", n) for n in OU_COUNTS]
    if args.quick:
        plan = [(kind, n) for kind, n in plan if n <= 10]
    rows = []
    for kind, count in plan:
        rows.append(run_isolated(kind, count))
        print(f"  {rows[-1]['config']}: {rows[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    print()
    by_config = {row["config"]: row for row in rows}
    for kind, counts in (("account spokes", ACCOUNT_COUNTS), ("OUs", OU_COUNTS)):
        present = [by_config[f"{n} {kind}"] for n in counts if f"{n} {kind}" in by_config]
        if len(present) > 1:
            first = present[0]
            for row in present[1:]:
                print(
                    f"{row['config']}: {row['seconds'] / first['seconds']:.2f}x the time of {first['config']}, "
                    f"{row['seconds'] / row['stacks']:.3f} s per stack"
                )
    over = [row for row in rows if any(fraction >= WARN_FRACTION for fraction in row["fractions"].values())]
    for row in over:
        print(f"at or above {WARN_FRACTION:.0%} of a quota in {row['config']}: {row['worst']}")
    return 1 if over or any(row["violations"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
