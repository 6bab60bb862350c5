"""Every kind of bad config is refused with one line naming the field and the value."""

from __future__ import annotations

import copy
import json
import sys
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
        (
            ["spokes", 1, "account"],
            "222222222222",
            'spokes[1].account: duplicates spokes[0].account (got "222222222222")',
        ),
        (["spokes", 1, "name"], "ML-DEV", 'spokes[1].name: duplicates spokes[0].name (got "ML-DEV")'),
        (["spokes", 2, "ou"], "ou-risk", 'spokes[2].ou: is not an OU ID like ou-ab12-cdef3456 (got "ou-risk")'),
        (
            ["organization", "id"],
            "org-123",
            'organization.id: is not an organization ID like o-a1b2c3d4e5 (got "org-123")',
        ),
        (["spokes", 0, "access"], "write", 'spokes[0].access: must be one of read, edit, edit-export (got "write")'),
        (["cards", 0, "name"], "churn_model", "cards[0].name: is not a model card name"),
        (
            ["cards", 0, "name"],
            "a" * 64,
            "cards[0].name: is 64 characters; CloudFormation (AWS::SageMaker::ModelCard ModelCardName) "
            "takes at most 63",
        ),
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
            "hub.card_key_arn: must be a key in the hub account, region and partition",
        ),
        (
            ["approvers"],
            ["arn:aws:iam::222222222222:role/reviewer"],
            "approvers[0]: is not in the hub account 111111111111: only hub principals approve "
            '(got "arn:aws:iam::222222222222:role/reviewer")',
        ),
        (
            ["approvers"],
            ["arn:aws:iam::111111111111:group/reviewers"],
            "approvers[0]: is not an IAM role or user ARN",
        ),
        (["approvers"], "arn:aws:iam::111111111111:role/r", "approvers: must be a list of IAM role or user ARNs"),
        (
            ["reviewer_principals"],
            ["arn:aws:iam::222222222222:role/*"],
            "reviewer_principals[0]: is not in the hub account 111111111111: only hub principals assume the "
            'reviewer role (got "arn:aws:iam::222222222222:role/*")',
        ),
        (
            ["reviewer_principals"],
            ["arn:aws:iam::*:role/reviewer"],
            "reviewer_principals[0]: is not an IAM role or user ARN, `*` allowed in its name",
        ),
        (
            ["reviewer_principals"],
            "arn:aws:iam::111111111111:role/r",
            "reviewer_principals: must be a list of IAM role or user ARNs",
        ),
        (["approver_may_not_edit"], "yes", 'approver_may_not_edit: must be true or false (got "yes")'),
        (
            ["approval_attribution_minutes"],
            2,
            "approval_attribution_minutes: must be a whole number of minutes from 5 to 1440 (got 2)",
        ),
        (
            ["reconcile_interval_minutes"],
            1,
            "reconcile_interval_minutes: must be a whole number of minutes from 5 to 1440 (got 1)",
        ),
        (["metric_thresholds"], {"auc": {}}, "metric_thresholds.auc: needs max_drop or max_rise (or both)"),
        (
            ["metric_thresholds"],
            {"auc": {"max_drop": -0.1}},
            "metric_thresholds.auc.max_drop: must be a number of at least 0 (got -0.1)",
        ),
        (["metric_thresholds"], {"auc": {"max_fall": 0.1}}, "metric_thresholds.auc.max_fall"),
        (["metric_thresholds"], [], "metric_thresholds: must be an object of metric name to max_drop and max_rise"),
    ],
)
def test_bad_value_is_named(example_raw: dict[str, Any], path: list[Any], value: Any, expected: str) -> None:
    problems = problems_for(edited(example_raw, path, value))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_the_reviewer_role_is_always_an_approver(example_raw: dict[str, Any]) -> None:
    from governance_config import parse_config

    raw = {**example_raw, "approvers": ["arn:aws:iam::111111111111:user/risk-officer"]}
    config = parse_config(raw)
    assert config.approver_arns == (
        "arn:aws:iam::111111111111:role/model-card-governance-reviewer",
        "arn:aws:iam::111111111111:user/risk-officer",
    )
    assert config.approver_may_not_edit is True and config.approval_attribution_minutes == 30


def test_metric_thresholds_reach_the_functions_as_json(example_raw: dict[str, Any]) -> None:
    from governance_config import parse_config

    raw = {**example_raw, "metric_thresholds": {"rmse": {"max_rise": 1}, "auc": {"max_drop": 0.02}}}
    config = parse_config(raw)
    assert config.metric_thresholds == (("auc", 0.02, None), ("rmse", None, 1.0))
    assert json.loads(config.metric_thresholds_json) == {"auc": {"max_drop": 0.02}, "rmse": {"max_rise": 1.0}}
    assert parse_config(example_raw).metric_thresholds_json == "{}"


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


def problems_in_file(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "governance.json"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [problem.removeprefix(f"{path}: ") for problem in caught.value.problems]


# Values that look right but carry whitespace would reach the template (and a principal ARN, an
# e-mail subscription or a bucket name) unchanged.
@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["hub", "account"], "111111111111\n", "hub.account"),
        (["spokes", 0, "account"], " 222222222222", "spokes[0].account"),
        (["organization", "id"], "o-exampleorg1 ", "organization.id"),
        (["organization", "management_account"], "999999999999\n", "organization.management_account"),
        (["spokes", 2, "ou"], "ou-ab12-riskoffc\n", "spokes[2].ou"),
        (["reviewers", 0], "model-risk@example.com\n", "reviewers[0]"),
        (["spokes", 0, "name"], "ml-dev ", "spokes[0].name"),
        (["cards", 0, "name"], "customer-churn\n", "cards[0].name"),
        (["cards", 0, "owner"], " churn-team@example.com", "cards[0].owner"),
        (["cards", 0, "model_package_group"], "customer-churn\t", "cards[0].model_package_group"),
        (["prefix"], "model-card-governance\n", "prefix"),
        (["hub", "region"], "us-east-1 ", "hub.region"),
    ],
)
def test_surrounding_whitespace_is_refused(
    example_raw: dict[str, Any], path: list[Any], value: str, field: str
) -> None:
    assert problems_for(edited(example_raw, path, value)) == [
        f"{field}: has leading or trailing whitespace (got {json.dumps(value)})"
    ]


# Duplicates that pass one by one and collide later: in the template, in construct IDs, or at run time.
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ["reviewers"],
            ["a@example.com", "b@example.com", "a@example.com"],
            'reviewers[2]: duplicates reviewers[0] (got "a@example.com")',
        ),
        (
            ["reviewers"],
            ["a@example.com", "A@Example.com"],
            'reviewers[1]: duplicates reviewers[0] (got "A@Example.com")',
        ),
        (["spokes", 1, "name"], "mldev", 'spokes[1].name: duplicates spokes[0].name (got "mldev")'),
        (
            ["carry_over_sections"],
            ["intended_uses", "intended_uses"],
            'carry_over_sections[1]: duplicates carry_over_sections[0] (got "intended_uses")',
        ),
    ],
)
def test_duplicates_are_refused(example_raw: dict[str, Any], path: list[Any], value: Any, expected: str) -> None:
    assert problems_for(edited(example_raw, path, value)) == [expected]


def with_second_card(example_raw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(example_raw)
    second = {**raw["cards"][0], "model_package_group": "fraud-score", "name": "fraud-score", **changes}
    raw["cards"].append({key: value for key, value in second.items() if value is not None})
    return raw


@pytest.mark.parametrize("name", ["Customer-Churn", "customerchurn", "customer--churn", "CUSTOMER-CHURN"])
def test_card_names_that_become_one_construct_id_are_refused(example_raw: dict[str, Any], name: str) -> None:
    assert problems_for(with_second_card(example_raw, name=name)) == [
        f'cards[1].name: duplicates cards[0].name (got "{name}")'
    ]


def test_one_group_has_one_template_card(example_raw: dict[str, Any]) -> None:
    assert problems_for(with_second_card(example_raw, model_package_group="customer-churn")) == [
        'cards[1].model_package_group: duplicates cards[0].model_package_group (got "customer-churn")'
    ]
    assert parse_config(with_second_card(example_raw, model_package_group=None)).template_cards == {
        "customer-churn": "customer-churn"
    }


@pytest.mark.parametrize("name", ["customer-churn-v1", "fraud-v12", "customer-churn-3f2a9c1b7d-v1"])
def test_declared_card_may_not_take_a_version_cards_name(example_raw: dict[str, Any], name: str) -> None:
    assert problems_for(with_second_card(example_raw, name=name)) == [
        f"cards[1].name: ends like the card the auto-linker creates for a model package version "
        f'(<group>-v<version>) (got "{name}")'
    ]


def test_version_like_names_that_are_not_version_cards_are_accepted(example_raw: dict[str, Any]) -> None:
    config = parse_config(with_second_card(example_raw, name="fraud-v2-model"))
    assert [card.name for card in config.cards] == ["customer-churn", "fraud-v2-model"]


# A section that is null or of the wrong type is an error, never a reason to drop what depends on it.
def test_null_organization_with_ou_spokes_is_an_error(example_raw: dict[str, Any]) -> None:
    assert problems_for(edited(example_raw, ["organization"], None)) == [
        "organization: is null; give a value or leave the key out"
    ]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["organization"], ["o-exampleorg1"], 'organization: must be an object (got ["o-exampleorg1"])'),
        (
            ["organization", "management_account"],
            None,
            "organization.management_account: is null; give a value or leave the key out",
        ),
        (["hub"], None, "hub: is null; give a value or leave the key out"),
        (["spokes"], {"name": "ml-dev"}, 'spokes: must be a non-empty list (got {"name": "ml-dev"})'),
        (["spokes", 2], "ou-ab12-riskoffc", 'spokes[2]: must be an object (got "ou-ab12-riskoffc")'),
        (["spokes", 2, "ou"], None, "spokes[2].ou: is null; give a value or leave the key out"),
        (["cards"], None, "cards: is null; give a value or leave the key out"),
        (["cards"], {"name": "x"}, 'cards: must be a list (got {"name": "x"})'),
        (["cards", 0, "purpose"], None, "cards[0].purpose: is null; give a value or leave the key out"),
        (
            ["reviewers"],
            "model-risk@example.com",
            'reviewers: must be a non-empty list of e-mail addresses (got "model-risk@example.com")',
        ),
        (
            ["carry_over_sections"],
            "intended_uses",
            'carry_over_sections: must be a list of model card sections (got "intended_uses")',
        ),
        (["carry_over_sections"], None, "carry_over_sections: is null; give a value or leave the key out"),
        (
            ["evidence_retention_days"],
            "2557",
            'evidence_retention_days: must be a whole number of days from 1 to 36500 (got "2557")',
        ),
        (
            ["evidence_retention_days"],
            True,
            "evidence_retention_days: must be a whole number of days from 1 to 36500 (got true)",
        ),
        (["archived_rejects_package"], "false", 'archived_rejects_package: must be true or false (got "false")'),
        (["spokes", 0, "access"], ["read"], 'spokes[0].access: must be one of read, edit, edit-export (got ["read"])'),
    ],
)
def test_null_or_wrong_type_is_one_error(
    example_raw: dict[str, Any], path: list[Any], value: Any, expected: str
) -> None:
    assert problems_for(edited(example_raw, path, value)) == [expected]


@pytest.mark.parametrize("raw", [[], "config", 3, None])
def test_root_that_is_not_an_object_is_named(raw: Any) -> None:
    assert problems_for(raw) == [f"(root): must be an object (got {json.dumps(raw)})"]


# Files that are not UTF-8 JSON, or that JSON parsers disagree about.
def test_utf8_bom_is_accepted(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    path = tmp_path / "governance.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(example_raw).encode())
    assert load_config(path).hub_account == "111111111111"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_files_get_one_line(tmp_path: Path, example_raw: dict[str, Any], encoding: str) -> None:
    data = json.dumps(example_raw).encode(encoding)
    assert problems_in_file(tmp_path, data) == ["UTF-16 or UTF-32 encoded; save it as UTF-8"]


def test_latin1_file_gets_one_line(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["cards", 0, "owner"], "équipe churn")
    data = json.dumps(raw, ensure_ascii=False, indent=1).encode("latin-1")
    line = data[: data.index(b"\xe9")].count(b"\n") + 1
    assert problems_in_file(tmp_path, data) == [
        f"not UTF-8 (byte 0xe9 on line {line}; Latin-1 or Windows-1252?); save it as UTF-8"
    ]


def test_non_ascii_utf8_is_accepted(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    path = tmp_path / "governance.json"
    path.write_text(json.dumps(edited(example_raw, ["cards", 0, "owner"], "équipe churn"), ensure_ascii=False))
    assert load_config(path).cards[0].owner == "équipe churn"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"hub": {"account": "111111111111", "account": "222222222222", "region": "us-east-1"}', "hub.account"),
        ('"hub": {"account": "111111111111", "region": "us-east-1"}, "hub": {"account": "1", "region": "x"}', "hub"),
    ],
)
def test_duplicate_keys_are_an_error(tmp_path: Path, example_raw: dict[str, Any], text: str, expected: str) -> None:
    rest = json.dumps({k: v for k, v in example_raw.items() if k != "hub"})
    problems = problems_in_file(tmp_path, ("{" + text + ", " + rest[1:]).encode())
    assert f"{expected}: is given more than once in the same object (JSON keeps only the last)" in problems


def test_duplicate_key_in_a_list_item_is_named(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    text = json.dumps(example_raw).replace('"access": "read"', '"access": "read", "access": "edit"', 1)
    assert problems_in_file(tmp_path, text.encode()) == [
        "spokes[1].access: is given more than once in the same object (JSON keeps only the last)"
    ]


@pytest.mark.parametrize("depth", [40, 5000, 200_000])
def test_absurd_nesting_gets_one_line(tmp_path: Path, depth: int) -> None:
    data = ('{"hub": ' + "[" * depth + "]" * depth + "}").encode()
    assert problems_in_file(tmp_path, data) == ["nests more than 32 levels deep"]


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 400, "1e999", "NaN", "-Infinity", "2557.5"])
def test_absurd_numbers_get_one_line(tmp_path: Path, example_raw: dict[str, Any], number: str) -> None:
    text = json.dumps(edited(example_raw, ["evidence_retention_days"], 0)).replace(
        '"evidence_retention_days": 0', f'"evidence_retention_days": {number}'
    )
    problems = problems_in_file(tmp_path, text.encode())
    assert len(problems) == 1, problems
    assert problems[0].startswith("evidence_retention_days: must be a whole number of days from 1 to 36500 (got ")
    assert len(problems[0]) < 200


def test_absurd_number_where_a_string_belongs(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    text = json.dumps(example_raw).replace('"111111111111"', "1" * 5000, 1)
    (problem,) = problems_in_file(tmp_path, text.encode())
    assert problem == f"hub.account: must be a non-empty string (got {'1' * 77}... (5000 characters))"


# Values CloudFormation or the service refuses at deploy, with limits from the resource schemas.
@pytest.mark.parametrize(
    ("field", "limit"),
    [("owner", 1024), ("problem_type", 1024), ("intended_uses", 2048), ("purpose", 2048)],
)
def test_card_fields_over_the_cloudformation_limit(example_raw: dict[str, Any], field: str, limit: int) -> None:
    at_limit = edited(example_raw, ["cards", 0, field], "x" * limit)
    assert getattr(parse_config(at_limit).cards[0], field) == "x" * limit
    (problem,) = problems_for(edited(example_raw, ["cards", 0, field], "x" * (limit + 1)))
    assert problem.startswith(
        f"cards[0].{field}: is {limit + 1} characters; CloudFormation (AWS::SageMaker::ModelCard "
    )
    assert f"takes at most {limit} (got " in problem


def test_limits_come_from_the_cloudformation_schemas() -> None:
    from governance_config import cloudformation_string

    owner = cloudformation_string("AWS::SageMaker::ModelCard", "Content", "ModelOverview", "ModelOwner")
    group = cloudformation_string("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName")
    assert owner.max_length == 1024
    assert group.max_length == 63
    assert group.pattern is not None and group.pattern.search("customer-churn") and not group.pattern.search("a_b")


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("xn--cards", "S3 reserves the prefix xn--"),
        ("sthree-cards", "S3 reserves the prefix sthree-"),
        ("amzn-s3-demo-cards", "S3 reserves the prefix amzn-s3-demo-"),
    ],
)
def test_prefix_that_gives_a_reserved_bucket_name(example_raw: dict[str, Any], prefix: str, reason: str) -> None:
    buckets = [f"{prefix}-{kind}-111111111111-us-east-1" for kind in ("evidence", "exports")]
    assert problems_for(edited(example_raw, ["prefix"], prefix)) == [
        f'prefix: gives the AWS::S3::Bucket BucketName "{bucket}", which AWS refuses: {reason}' for bucket in buckets
    ]


def test_longest_prefix_and_region_fit_every_name(example_raw: dict[str, Any]) -> None:
    raw = edited(edited(example_raw, ["prefix"], "a" * 24), ["hub", "region"], "ap-southeast-2")
    assert parse_config(raw).evidence_bucket_name == f"{'a' * 24}-evidence-111111111111-ap-southeast-2"


def test_bucket_suffix_rules() -> None:
    from governance_config import _s3_bucket_name_problem

    assert _s3_bucket_name_problem("cards-s3alias") == "S3 reserves the suffix -s3alias"
    assert _s3_bucket_name_problem("cards--x-s3") == "S3 reserves the suffix --x-s3"
    assert _s3_bucket_name_problem("192.168.5.4") == "formatted as an IP address"
    assert _s3_bucket_name_problem("model-card-governance-evidence-111111111111-us-east-1") is None


@pytest.mark.parametrize(
    ("region", "arn"),
    [
        ("us-east-1", "arn:aws-cn:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("us-east-1", "arn:aws-us-gov:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("cn-north-1", "arn:aws:kms:cn-north-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ],
)
def test_key_arn_of_another_partition(example_raw: dict[str, Any], region: str, arn: str) -> None:
    raw = edited(edited(example_raw, ["hub", "region"], region), ["hub", "card_key_arn"], arn)
    (problem,) = problems_for(raw)
    assert problem.startswith("hub.card_key_arn: must be a key in the hub account, region and partition")


def test_key_arn_of_the_hub_partition_is_accepted(example_raw: dict[str, Any]) -> None:
    arn = "arn:aws-cn:kms:cn-north-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    raw = edited(edited(example_raw, ["hub", "region"], "cn-north-1"), ["hub", "card_key_arn"], arn)
    raw = edited(raw, ["reviewer_principals"], ["arn:aws-cn:iam::111111111111:role/reviewer"])
    assert parse_config(raw).card_key_arn == arn


def test_stack_set_names_are_among_the_checked_names(example_raw: dict[str, Any]) -> None:
    names = parse_config(example_raw).physical_names()
    assert ("AWS::CloudFormation::StackSet", "StackSetName", "model-card-governance-spoke-read") in names


# Message form: one line per problem, values shortened, the root named, no follow-on errors.
def test_missing_field_is_reported_once(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    del raw["spokes"][0]["name"]
    del raw["cards"][0]["owner"]
    del raw["hub"]["region"]
    assert problems_for(raw) == [
        "hub.region: is required",
        "spokes[0].name: is required",
        "cards[0].owner: is required",
    ]


def test_missing_top_level_field_is_reported_once(example_raw: dict[str, Any]) -> None:
    raw = {key: value for key, value in example_raw.items() if key != "reviewers"}
    assert problems_for(raw) == ["reviewers: is required"]


def test_long_values_are_shortened(example_raw: dict[str, Any]) -> None:
    (problem,) = problems_for(edited(example_raw, ["spokes", 0, "access"], "w" * 500))
    assert problem == f'spokes[0].access: must be one of read, edit, edit-export (got "{"w" * 76}... (502 characters))'


def test_every_message_is_one_line(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["hub", "account"], "1\n2\n3")
    raw["reviewers"] = ["a\nb@example.com"]
    problems = problems_for(raw)
    assert len(problems) == 2
    assert all("\n" not in problem for problem in problems)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        # A bad hub account is not also "a spoke equal to the hub" or a key "outside the hub account".
        (["hub", "account"], "1111", 'hub.account: is not a 12-digit AWS account ID (got "1111")'),
        # A bad organization is not also "OU spoke needs organization.id".
        (["organization", "id"], "org-1", 'organization.id: is not an organization ID like o-a1b2c3d4e5 (got "org-1")'),
        (
            ["organization", "management_account"],
            "9",
            'organization.management_account: is not a 12-digit AWS account ID (got "9")',
        ),
        # A bad region is not also a bad key region.
        (["hub", "region"], "mars-1", 'hub.region: is not an AWS region where SageMaker runs (got "mars-1")'),
    ],
)
def test_no_follow_on_errors(example_raw: dict[str, Any], path: list[Any], value: Any, expected: str) -> None:
    raw = edited(
        example_raw,
        ["hub", "card_key_arn"],
        "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    assert problems_for(edited(raw, path, value)) == [expected]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sharing", "everyone", 'sharing: must be one of own-account, all-spokes (got "everyone")'),
        ("carry_over_from", "first", 'carry_over_from: must be one of approved, latest (got "first")'),
        ("export_expiry_days", 0, "export_expiry_days: must be a whole number of days from 1 to 3650 (got 0)"),
        ("export_expiry_days", True, "export_expiry_days: must be a whole number of days from 1 to 3650 (got true)"),
    ],
)
def test_sharing_carry_over_and_export_options_are_validated(
    example_raw: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    assert problems_for({**example_raw, key: value}) == [expected]


def test_sharing_carry_over_and_export_defaults(example_config: Any, example_raw: dict[str, Any]) -> None:
    from governance_config import Sharing

    assert example_config.sharing is Sharing.OWN_ACCOUNT
    assert (example_config.carry_over_from, example_config.export_expiry_days) == ("approved", 30)
    assert example_config.owner_share_name("222222222222") == "model-card-governance-cards-222222222222"
    assert example_config.exports_bucket_name == "model-card-governance-exports-111111111111-us-east-1"
    widened = parse_config({**example_raw, "sharing": "all-spokes", "carry_over_from": "latest"})
    assert (widened.sharing, widened.carry_over_from) == (Sharing.ALL_SPOKES, "latest")


# Holes JSON leaves open: a null where a list's item belongs, a lone surrogate escape in a string.
def test_null_spoke_is_refused(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["spokes"], [example_raw["spokes"][0], None])
    assert problems_for(raw) == ["spokes[1]: must be an object (got null)"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("reviewers", "reviewers[1]: must be a non-empty string (got null)"),
        ("cards", "cards[1]: must be an object (got null)"),
        ("carry_over_sections", "carry_over_sections[3]: must be one of model_overview, "),
        ("approvers", "approvers[0]: must be a non-empty string (got null)"),
    ],
)
def test_null_item_in_any_list_is_refused(example_raw: dict[str, Any], key: str, expected: str) -> None:
    (problem,) = problems_for(edited(example_raw, [key], [*example_raw.get(key, []), None]))
    assert problem.startswith(expected) and problem.endswith("(got null)"), problem


SURROGATE = "contains a lone UTF-16 surrogate (half of a \\uXXXX pair), which is not text"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (["cards", 0, "owner"], "cards[0].owner"),
        (["cards", 0, "purpose"], "cards[0].purpose"),
        (["hub", "account"], "hub.account"),
        (["spokes", 0, "access"], "spokes[0].access"),
        (["reviewers", 0], "reviewers[0]"),
        (["$comment"], "$comment"),
    ],
)
def test_lone_surrogate_in_a_string_is_refused(example_raw: dict[str, Any], path: list[Any], field: str) -> None:
    assert problems_for(edited(example_raw, path, "ab\ud800")) == [f'{field}: {SURROGATE} (got "ab\\ud800")']


def test_lone_surrogate_in_a_key_is_refused(example_raw: dict[str, Any]) -> None:
    raw = edited(example_raw, ["hub", "x\udc00"], 1)
    raw["\ud800"] = 1
    problems = problems_for(raw)
    assert problems == [
        f'hub: has a key with {SURROGATE.removeprefix("contains ")} (got "x\\udc00")',
        f'(root): has a key with {SURROGATE.removeprefix("contains ")} (got "\\ud800")',
    ]


def test_lone_surrogate_escape_in_a_file_is_one_printable_line(tmp_path: Path, example_raw: dict[str, Any]) -> None:
    text = json.dumps(example_raw).replace('"churn-team@example.com"', '"churn\\ud800team@example.com"')
    (problem,) = problems_in_file(tmp_path, text.encode())
    assert problem == f'cards[0].owner: {SURROGATE} (got "churn\\ud800team@example.com")'
    problem.encode("utf-8")  # a terminal can print it


# config/schema.json is generated from the models; editors validate and complete configs with it.
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "config" / "schema.json"
REGENERATE = "python -m governance_config --schema > config/schema.json"


def schema_validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_committed_schema_is_current() -> None:
    from governance_config import schema_text

    assert SCHEMA_PATH.read_text() == schema_text(), f"config/schema.json is stale; run: {REGENERATE}"


def test_schema_is_draft_2020_12_with_an_id() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] and schema["description"]
    assert schema["additionalProperties"] is False
    assert all(section["additionalProperties"] is False for section in schema["$defs"].values())


def test_shipped_configs_follow_the_schema() -> None:
    validator = schema_validator()
    # The shipped ones: the docs' examples write configs there that .gitignore keeps out (and that
    # are broken on purpose), while another worker may be running them.
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    configs = sorted(
        path
        for path in SCHEMA_PATH.parent.glob("*.json")
        if path != SCHEMA_PATH and str(path.relative_to(ROOT)) not in ignored
    )
    assert {"example.json", "local.json"} <= {path.name for path in configs}
    for path in configs:
        raw = json.loads(path.read_text())
        assert raw["$schema"] == "./schema.json", path
        assert [error.message for error in validator.iter_errors(raw)] == [], path
        load_config(path)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["hub", "account"], "12345", "hub.account"),
        (["hub", "account"], None, "hub.account"),
        (["hub", "regoin"], "us-east-1", "hub.regoin"),
        (["spokes", 1], None, "spokes[1]"),
        (["spokes", 0, "ou"], "ou-ab12-abcdefgh", "spokes[0]"),
        (["spokes", 0, "access"], "write", "spokes[0].access"),
        (["reviewers"], [], "reviewers"),
        (["cards", 0, "name"], "a" * 64, "cards[0].name"),
        (["cards", 0, "risk_rating"], "Severe", "cards[0].risk_rating"),
        (["evidence_retention_days"], 0, "evidence_retention_days"),
        (["evidence_retention_days"], "2557", "evidence_retention_days"),
        (["report", "weekly"], 1, "report.weekly"),
    ],
)
def test_schema_and_loader_refuse_the_same_mistakes(
    example_raw: dict[str, Any], path: list[Any], value: Any, field: str
) -> None:
    raw = edited(example_raw, path, value)
    schema_places = [
        error.json_path.removeprefix("$").removeprefix(".") for error in schema_validator().iter_errors(raw)
    ]
    assert schema_places, "the schema accepts it"
    (problem,) = problems_for(raw)
    assert problem.startswith(f"{field}: ")
    # The schema names the field, or the object that holds an unknown key.
    assert any(field.startswith(place) for place in schema_places), schema_places


def test_the_schema_key_is_accepted_and_ignored(example_raw: dict[str, Any]) -> None:
    config = parse_config({**example_raw, "$schema": "https://example.com/other-schema.json"})
    assert config == parse_config({key: value for key, value in example_raw.items() if key != "$schema"})


def test_schema_and_comment_keys_must_be_strings(example_raw: dict[str, Any]) -> None:
    assert problems_for({**example_raw, "$schema": 5, "$comment": None}) == [
        "$schema: must be a string (got 5)",
        "$comment: is null; give a value or leave the key out",
    ]


def test_reviewer_principals_default_to_nobody_and_take_identity_center_role_patterns(
    example_raw: dict[str, Any],
) -> None:
    raw = copy.deepcopy(example_raw)
    del raw["reviewer_principals"]
    assert parse_config(raw).reviewer_principals == ()
    pattern = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_ModelRiskReviewer_*"
    assert parse_config(example_raw).reviewer_principals == (pattern,)


# --- organization.guardrails ---------------------------------------------------------------------------

MANAGEMENT_ACCOUNT, SPOKE_ACCOUNT, READER_ACCOUNT = "999999999999", "222222222222", "333333333333"


@pytest.mark.parametrize(
    ("guardrails", "problem"),
    [
        ({"enabled": "yes"}, 'organization.guardrails.enabled: must be true or false (got "yes")'),
        ({"targets": []}, "organization.guardrails.targets: must be a non-empty list of account and OU IDs (got [])"),
        (
            {"targets": ["r-ab12"]},
            'organization.guardrails.targets[0]: is not an account or OU ID (ou-ab12-cdef3456) (got "r-ab12")',
        ),
        (
            {"targets": [MANAGEMENT_ACCOUNT]},
            "organization.guardrails.targets[0]: is the management account, which service control policies "
            f'never restrict (got "{MANAGEMENT_ACCOUNT}")',
        ),
        (
            {"targets": ["111111111111"]},
            "organization.guardrails.targets[0]: is the hub account; the guardrail binds spoke administrators, "
            'not the hub (got "111111111111")',
        ),
        (
            {"targets": [SPOKE_ACCOUNT, SPOKE_ACCOUNT]},
            f'organization.guardrails.targets[1]: duplicates targets[0] (got "{SPOKE_ACCOUNT}")',
        ),
    ],
)
def test_bad_guardrail_config_is_one_line_naming_field_and_value(
    example_raw: dict[str, Any], guardrails: dict[str, Any], problem: str
) -> None:
    raw = copy.deepcopy(example_raw)
    raw["organization"]["guardrails"] = guardrails
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.problems == [problem]


def test_guardrails_need_the_management_account(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    raw["spokes"] = [s for s in raw["spokes"] if "account" in s]
    raw["organization"] = {"id": "o-exampleorg1", "guardrails": {"targets": [SPOKE_ACCOUNT]}}
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.problems == [
        "organization.guardrails.enabled: needs organization.management_account: the guardrail SCP is created "
        "there (got true)"
    ]


def test_guardrail_targets_default_to_the_spokes_and_may_be_named(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    raw["organization"]["guardrails"] = {}
    assert parse_config(raw).guardrail_targets == (SPOKE_ACCOUNT, READER_ACCOUNT, "ou-ab12-riskoffc")
    raw["organization"]["guardrails"] = {"targets": ["ou-ab12-mlspokes"]}
    assert parse_config(raw).guardrail_targets == ("ou-ab12-mlspokes",)
    raw["organization"]["guardrails"] = {"enabled": False}
    assert not parse_config(raw).guardrails_enabled


def test_a_spoke_may_not_be_the_management_account_under_guardrails(example_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(example_raw)
    raw["organization"]["guardrails"] = {"targets": [SPOKE_ACCOUNT]}
    raw["spokes"][1]["account"] = MANAGEMENT_ACCOUNT
    assert problems_for(raw) == [
        "spokes[1].account: is the management account, which the guardrail service control policy cannot "
        f'restrict (got "{MANAGEMENT_ACCOUNT}")'
    ]


# --- approval_policy ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy_raw(example_raw: dict[str, Any]) -> dict[str, Any]:
    """The example config with the approval policy docs/configure.md shows."""
    from tests.docs_pages import blocks, page, section

    (shown,) = blocks(section(page("configure"), "The approval policy"), "json")
    return {**copy.deepcopy(example_raw), **json.loads(shown.body)}


def test_the_documented_approval_policy_parses(policy_raw: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT / "lambdas"))
    from card_workflow.approval_policy import ApprovalPolicy, Stage

    config = parse_config(policy_raw)
    assert config.approval_policy is not None
    assert [(t.rating, t.people, t.groups) for t in config.approval_policy.tiers] == [
        ("Low", 1, ("ml-leads",)),
        ("Medium", 2, ("model-risk",)),
        ("High", 2, ("model-risk", "business-owner")),
    ]
    # What the workflow reads: the declared card's tier reaches its group's version cards.
    policy = ApprovalPolicy.from_json(json.loads(config.approval_policy_json))
    assert policy.declared_tier("customer-churn-v3", "customer-churn") == "High"
    assert policy.on_approval == Stage("Production", "Approved")
    assert (policy.review_interval_days, policy.remind_days_before, policy.incident_group) == (
        365,
        (30, 7),
        "incident",
    )


def test_without_a_policy_one_approver_approves_every_card(example_config: Any) -> None:
    sys.path.insert(0, str(ROOT / "lambdas"))
    from card_workflow.approval_policy import ApprovalPolicy, default_policy

    assert example_config.approval_policy is None
    assert ApprovalPolicy.from_json(json.loads(example_config.approval_policy_json)) == default_policy(
        example_config.approver_arns
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ["tiers", "High", "groups", 1],
            "busines-owner",
            'approval_policy.tiers.High.groups[1]: names no group of approval_policy.groups (got "busines-owner")',
        ),
        (
            ["tiers", "High", "people"],
            1,
            "approval_policy.tiers.High.people: is fewer than the 2 group places; one person fills one place (got 1)",
        ),
        (
            ["tiers", "High", "people"],
            11,
            "approval_policy.tiers.High.people: must be a whole number of people from 1 to 10 (got 11)",
        ),
        (["tiers", "High", "groups"], [], "approval_policy.tiers.High.groups: must be a non-empty list of group names"),
        (
            ["tiers", "Unknown"],
            {"people": 1, "groups": ["ml-leads"]},
            "approval_policy.tiers.Unknown: unknown key; allowed: High, Medium, Low",
        ),
        (["tiers"], {"Low": {"people": 1, "groups": ["ml-leads"]}}, "approval_policy.tiers.High: is required"),
        (
            ["incident_group"],
            "incidents",
            'approval_policy.incident_group: names no group of approval_policy.groups (got "incidents")',
        ),
        (["on_expiry"], "delete", 'approval_policy.on_expiry: must be one of notify, revert (got "delete")'),
        (
            ["review_interval_days"],
            0,
            "approval_policy.review_interval_days: must be a whole number of days from 1 to 3650 (got 0)",
        ),
        (
            ["review_interval_days"],
            20,
            "approval_policy.remind_days_before[0]: is not within the review interval of 20 days (got 30)",
        ),
        (
            ["remind_days_before"],
            [400],
            "approval_policy.remind_days_before[0]: must be a whole number of days from 1 to 365 (got 400)",
        ),
        (
            ["remind_days_after"],
            [7, 7],
            "approval_policy.remind_days_after[1]: duplicates remind_days_after[0] (got 7)",
        ),
        (
            ["re_review_on"],
            ["edit"],
            'approval_policy.re_review_on[0]: must be one of new-version-approved, content-change (got "edit")',
        ),
        (
            ["groups", "ml-leads", "principals"],
            ["arn:aws:iam::222222222222:role/ml-leads"],
            "approval_policy.groups.ml-leads.principals[0]: is not in the hub account 111111111111: only hub "
            'principals decide (got "arn:aws:iam::222222222222:role/ml-leads")',
        ),
        (
            ["groups", "ml-leads", "principals"],
            [],
            "approval_policy.groups.ml-leads.principals: must be a non-empty list of IAM role or user ARNs",
        ),
        (
            ["groups", "ml-leads", "principals"],
            ["arn:aws:iam::111111111111:group/ml-leads"],
            "approval_policy.groups.ml-leads.principals[0]: is not an IAM role or user ARN",
        ),
        (
            ["groups", "incident", "people", 1],
            "Erin@example.com",
            'approval_policy.groups.incident.people[1]: duplicates people[0] (got "Erin@example.com")',
        ),
        (
            ["groups", "incident", "people", 1],
            "frank smith",
            "approval_policy.groups.incident.people[1]: is not a source identity or role session name",
        ),
        (
            ["groups"],
            {},
            "approval_policy.groups: must be a non-empty object of group name to principals and people (got {})",
        ),
        (
            ["on_approval", "stage"],
            "Prod_uction",
            "approval_policy.on_approval.stage: is not a stage name like Production (1-63 letters, digits, dashes) "
            '(got "Prod_uction")',
        ),
        (["on_revert"], {"stage": "Production"}, "approval_policy.on_revert.stage_status: is required"),
        (
            ["card_tiers"],
            {"fraud": "High"},
            "approval_policy.card_tiers.fraud: is not a declared card (cards[].name)",
        ),
        (
            ["card_tiers", "customer-churn"],
            "Unknown",
            'approval_policy.card_tiers.customer-churn: must be one of Low, Medium, High (got "Unknown")',
        ),
    ],
)
def test_bad_approval_policy_value_is_named(
    policy_raw: dict[str, Any], path: list[Any], value: Any, expected: str
) -> None:
    problems = problems_for(edited(policy_raw, ["approval_policy", *path], value))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_a_tier_may_name_a_group_twice_for_two_of_its_people(policy_raw: dict[str, Any]) -> None:
    raw = edited(policy_raw, ["approval_policy", "tiers", "Medium", "groups"], ["model-risk", "model-risk"])
    config = parse_config(raw)
    assert config.approval_policy is not None
    assert config.approval_policy.tiers[1].groups == ("model-risk", "model-risk")
    problems = problems_for(edited(raw, ["approval_policy", "tiers", "Medium", "people"], 1))
    assert problems == [
        "approval_policy.tiers.Medium.people: is fewer than the 2 group places; one person fills one place (got 1)"
    ]


def test_reminders_and_revert_need_a_review_interval(policy_raw: dict[str, Any]) -> None:
    raw = edited(policy_raw, ["approval_policy", "on_expiry"], "revert")
    del raw["approval_policy"]["review_interval_days"]
    assert problems_for(raw) == [
        "approval_policy.remind_days_before: needs review_interval_days: there is no due date to remind of",
        "approval_policy.remind_days_after: needs review_interval_days: there is no due date to remind of",
        "approval_policy.on_expiry: needs review_interval_days: nothing expires without one",
    ]


def test_a_deployable_stage_needs_a_stage_to_revert_to(policy_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(policy_raw)
    del raw["approval_policy"]["on_revert"]
    assert problems_for(raw) == [
        "approval_policy.on_approval: needs on_revert: the stage a package goes back to when its on_approval "
        "stage is undone"
    ]


def test_a_bad_group_name_is_named(policy_raw: dict[str, Any]) -> None:
    groups = {"ML_Leads": {"principals": ["arn:aws:iam::111111111111:role/ml-leads"]}}
    raw = edited(policy_raw, ["approval_policy", "groups"], groups)
    raw["approval_policy"]["tiers"] = {"High": {"people": 1, "groups": ["ml-leads"]}}
    del raw["approval_policy"]["incident_group"]
    problems = problems_for(raw)
    assert problems[0].startswith("approval_policy.groups.ML_Leads"), problems
    assert "is not a group name of lower-case letters, digits and single dashes" in problems[0]


def test_the_schema_knows_the_approval_policy(policy_raw: dict[str, Any]) -> None:
    validator = schema_validator()
    assert [e.message for e in validator.iter_errors(policy_raw)] == []
    broken = edited(policy_raw, ["approval_policy", "tiers", "Severe"], {"people": 1, "groups": ["ml-leads"]})
    assert list(validator.iter_errors(broken))
