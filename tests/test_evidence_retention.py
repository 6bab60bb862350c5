"""The evidence bucket's Object Lock retention: compliance mode, any period from a day to 100 years."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from governance_config import parse_config
from governance_constructs.evidence_archive import EvidenceArchive
from tests.conftest import ROOT
from tests.docs_pages import page, section

WORKFLOW = "arn:aws:iam::111111111111:role/model-card-governance-approval-workflow"


def evidence_template(retention_days: int) -> Template:
    # The feature flags `cdk synth` passes from cdk.json.
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    stack = Stack(App(context=context), "Evidence")
    EvidenceArchive(
        stack,
        "Evidence",
        bucket_name="evidence-bucket",
        key=kms.Key(stack, "Key"),
        retention_days=retention_days,
        writers={"evidence": WORKFLOW},
    )
    return Template.from_stack(stack)


def test_ten_years_are_kept_in_compliance_mode() -> None:
    evidence_template(3653).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3653}},
            },
        },
    )


@pytest.mark.parametrize("days", [0, 36501])
def test_a_retention_outside_a_day_to_100_years_is_refused_at_synth(days: int) -> None:
    with pytest.raises(ValueError, match=f"retention_days {days} must be 1 to 36500"):
        evidence_template(days)


@pytest.mark.parametrize(
    ("days", "problem"),
    [
        (3653, None),
        (36500, None),
        (36501, "evidence_retention_days: must be a whole number of days from 1 to 36500 (got 36501)"),
        ("3653", 'evidence_retention_days: must be a whole number of days from 1 to 36500 (got "3653")'),
    ],
)
def test_the_config_takes_a_day_to_100_years(example_raw: dict[str, Any], days: Any, problem: str | None) -> None:
    from governance_config import ConfigError

    raw = {**example_raw, "evidence_retention_days": days}
    if problem is None:
        assert parse_config(raw).evidence_retention_days == days
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.problems == [problem]


def test_the_documented_periods_are_ones_the_config_takes(example_raw: dict[str, Any]) -> None:
    """Every `evidence_retention_days` value the retention guide recommends parses, and the years it
    names are those days with the leap days counted."""
    guide = section(page("configure"), "Evidence retention")
    recommended = {int(days) for days in re.findall(r"`evidence_retention_days` (\d+)", guide)}
    assert recommended == {2557, 3653}
    for days in recommended:
        assert parse_config({**example_raw, "evidence_retention_days": days}).evidence_retention_days == days
    # Seven and ten calendar years hold at most two and three 29 Februaries.
    assert (7 * 365 + 2, 10 * 365 + 3) == (2557, 3653)
