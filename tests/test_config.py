"""Every kind of bad config is refused with one line naming the field and the value."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from governance_config import AccessLevel, ConfigError, load_config, parse_config


def problems_for(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def edited(example: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(example)
    target = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return raw


def test_example_config_parses(example_config: Any) -> None:
    assert example_config.hub_account == "111111111111"
    assert [s.access for s in example_config.spokes] == [AccessLevel.EDIT_EXPORT, AccessLevel.READ, AccessLevel.READ]
    assert example_config.access_levels == (AccessLevel.READ, AccessLevel.EDIT_EXPORT)
    assert example_config.ou_spokes[0].ou == "ou-ab12-riskoffc"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["hub", "account"], "12345", 'hub.account: is not a 12-digit AWS account ID (got "12345")'),
        (["hub", "account"], 111111111111, "hub.account: must be a non-empty string (got 111111111111)"),
        (["hub", "region"], "us-middle-7", 'hub.region: is not an AWS region where SageMaker runs (got "us-middle-7")'),
        (
            ["spokes", 0, "account"],
            "11111111111a",
            'spokes[0].account: is not a 12-digit AWS account ID (got "11111111111a")',
        ),
        (
            ["spokes", 0, "account"],
            "111111111111",
            'spokes[0].account: is the hub account; the hub owns the cards and is not a spoke (got "111111111111")',
        ),
        (["spokes", 1, "account"], "222222222222", 'spokes[1].account: duplicates spokes[0] (got "222222222222")'),
        (["spokes", 1, "name"], "ML-DEV", 'spokes[1].name: duplicates spokes[0].name (got "ML-DEV")'),
        (["spokes", 2, "ou"], "ou-risk", 'spokes[2].ou: is not an OU ID like ou-ab12-cdef3456 (got "ou-risk")'),
        (
            ["organization", "id"],
            "org-123",
            'organization.id: is not an organization ID like o-a1b2c3d4e5 (got "org-123")',
        ),
        (["spokes", 0, "access"], "write", 'spokes[0].access: must be one of read, edit, edit-export (got "write")'),
        (["cards", 0, "name"], "churn_model", "cards[0].name: is not a model card name"),
        (["cards", 0, "name"], "a" * 64, "cards[0].name: is not a model card name"),
        (
            ["cards", 0, "risk_rating"],
            "Severe",
            'cards[0].risk_rating: must be one of High, Medium, Low, Unknown (got "Severe")',
        ),
        (
            ["reviewers", 0],
            "model-risk.example.com",
            'reviewers[0]: is not an e-mail address (got "model-risk.example.com")',
        ),
        (["reviewers"], [], "reviewers: must be a non-empty list of e-mail addresses (got [])"),
        (
            ["evidence_retention_days"],
            0,
            "evidence_retention_days: must be a whole number of days from 1 to 36500 (got 0)",
        ),
        (["prefix"], "Model_Cards", 'prefix: is not 3-24 lower-case letters, digits and dashes (got "Model_Cards")'),
        (
            ["hub", "card_key_arn"],
            "arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "hub.card_key_arn: must be a key in the hub account and region",
        ),
    ],
)
def test_bad_value_is_named(example_raw: dict[str, Any], path: list[Any], value: Any, expected: str) -> None:
    problems = problems_for(edited(example_raw, path, value))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_unknown_keys_are_named(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["spokes", 0, "acess"], "read")
    raw["hub"]["regoin"] = "us-east-1"
    problems = problems_for(raw)
    assert "spokes[0].acess: unknown key; allowed: name, access, account, ou" in problems
    assert "hub.regoin: unknown key; allowed: account, region, card_key_arn" in problems


def test_every_problem_is_reported_at_once(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["hub", "account"], "1")
    raw["reviewers"] = ["nobody"]
    raw["spokes"][0]["access"] = "admin"
    assert len(problems_for(raw)) == 3


def test_ou_needs_an_organization(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    del raw["organization"]
    assert problems_for(raw) == [
        'spokes[2].ou: needs organization.id: OUs exist only inside an organization (got "ou-ab12-riskoffc")'
    ]


def test_spoke_needs_exactly_one_target(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["spokes", 0, "ou"], "ou-ab12-abcdefgh")
    assert problems_for(raw) == ["spokes[0]: needs exactly one of account or ou"]


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"hub": {')
    with pytest.raises(ConfigError, match=r"broken.json: not valid JSON at line 1 column 10"):
        load_config(broken)


def test_config_is_frozen(example_config: Any) -> None:
    with pytest.raises(AttributeError):
        example_config.hub_account = "222222222222"


def test_problems_name_the_file(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    path = tmp_path / "governance.json"
    path.write_text(json.dumps(edited(example_raw, ["hub", "account"], "abc")))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f'{path}: hub.account: is not a 12-digit AWS account ID (got "abc")']
