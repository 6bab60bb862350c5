"""The model card JSON schema the emulator validates Content against: generated, complete, enforced.

The schema comes from the AWS::SageMaker::ModelCard resource schema cfn-lint ships
(emulator/model_card_schema.py); these tests hold the committed file to a fresh generation and the
emulator's CreateModelCard and UpdateModelCard to every rule of it, nested ones included.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.model_card_schema import REGENERATE, SCHEMA_PATH, cfn_lint_source, content_errors, generate, snake_case
from tests.accounts import session_for

ROOT = Path(__file__).resolve().parent.parent
HUB = "111111111111"

# Every section, with each kind of metric the schema knows (simple, linear graph, bar chart, matrix):
# the shapes of "Model card JSON schema" (SageMaker developer guide) in its own field names.
FULL_CARD: dict[str, Any] = {
    "model_overview": {
        "model_description": "Predicts churn",
        "model_creator": "data science",
        "model_artifact": ["s3://bucket/model.tar.gz"],
        "model_version": 2,
        "inference_environment": {"container_image": ["123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"]},
    },
    "intended_uses": {"purpose_of_model": "Retention", "risk_rating": "Medium"},
    "business_details": {"business_problem": "Churn", "line_of_business": "Telecom"},
    "training_details": {
        "objective_function": {"function": {"function": "Minimize", "facet": "loss"}, "notes": "logloss"},
        "training_job_details": {
            "training_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn",
            "hyper_parameters": [{"name": "eta", "value": "0.2"}],
            "training_metrics": [{"name": "train:logloss", "value": 0.21}],
        },
    },
    "evaluation_details": [
        {
            "name": "holdout",
            "datasets": ["s3://bucket/holdout.csv"],
            "metadata": {"owner": "ds"},
            "metric_groups": [
                {
                    "name": "binary classification",
                    "metric_data": [
                        {"name": "auc", "type": "number", "value": 0.91},
                        {"name": "passed", "type": "boolean", "value": True},
                        {"name": "roc", "type": "linear_graph", "value": [[0, 0], [0.2, 0.8], [1, 1]]},
                        {"name": "by segment", "type": "bar_chart", "value": [0.9, 0.8], "x_axis_name": ["a", "b"]},
                        {"name": "confusion", "type": "matrix", "value": [[90, 10], [5, 95]]},
                    ],
                }
            ],
        }
    ],
    "additional_information": {"caveats_and_recommendations": "Retrain monthly", "custom_details": {"team": "ds"}},
    "model_package_details": {
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
        "model_package_group_name": "churn",
        "model_package_version": 2,
        "model_approval_status": "PendingManualApproval",
        "created_by": {"user_profile_name": "ana"},
        "inference_specification": {"containers": [{"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"}]},
    },
}


def test_the_committed_schema_is_a_fresh_generation() -> None:
    schema, source = cfn_lint_source()
    assert json.loads(SCHEMA_PATH.read_text()) == generate(schema, source), f"stale: run {REGENERATE}"
    generated = subprocess.run(
        [sys.executable, "-m", "emulator.model_card_schema"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert generated.stdout == SCHEMA_PATH.read_text()


def test_names_map_to_the_apis_snake_case() -> None:
    assert [snake_case(n) for n in ("XAxisName", "ModelDataUrl", "UserProfileName", "TrainingArn")] == [
        "x_axis_name",
        "model_data_url",
        "user_profile_name",
        "training_arn",
    ]
    created_by = json.loads(SCHEMA_PATH.read_text())["definitions"]["ModelPackageCreator"]
    assert created_by["properties"].keys() == {"user_profile_name"}
    assert created_by["additionalProperties"] is False


def test_a_card_with_every_section_and_metric_kind_is_valid() -> None:
    assert content_errors(FULL_CARD) == []
    assert content_errors({}) == []


def deep(path: str, value: Any) -> dict[str, Any]:
    """FULL_CARD with one value replaced, `a.b[0].c` style."""
    card: Any = json.loads(json.dumps(FULL_CARD))
    steps = path.replace("[", ".[").split(".")
    node = card
    for step in steps[:-1]:
        node = node[int(step[1:-1])] if step.startswith("[") else node[step]
    last = steps[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    result: dict[str, Any] = card
    return result


METRICS = "evaluation_details[0].metric_groups[0].metric_data"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(
            deep("model_package_details.created_by", {"user_profile_name": "ana", "user_profile_arn": "arn"}),
            "content.model_package_details.created_by: Additional properties are not allowed ('user_profile_arn' was",
            id="nested-unknown-key",
        ),
        pytest.param(
            deep("training_details.objective_function.function.function", "Maximise"),
            "content.training_details.objective_function.function.function: 'Maximise' is not one of",
            id="wrong-enum-deep",
        ),
        pytest.param(
            deep("model_package_details.model_approval_status", "Pending"),
            "content.model_package_details.model_approval_status: 'Pending' is not one of",
            id="wrong-package-status",
        ),
        pytest.param(
            deep("business_details.business_problem", "x" * 2049),
            "content.business_details.business_problem: 2049 characters, maxLength is 2048",
            id="too-long-string",
        ),
        pytest.param(
            deep("model_package_details.created_by.user_profile_name", "u" * 64),
            "content.model_package_details.created_by.user_profile_name: 64 characters, maxLength is 63",
            id="too-long-user-profile",
        ),
        pytest.param(
            deep("training_details.training_job_details.training_metrics[0].value", "0.21"),
            "content.training_details.training_job_details.training_metrics[0].value: '0.21' is not of type 'number'",
            id="wrong-type-deep",
        ),
        pytest.param(
            deep("training_details.training_job_details.hyper_parameters", [{"name": "a", "value": "b"}] * 101),
            "content.training_details.training_job_details.hyper_parameters: 101 items, maxItems is 100",
            id="too-many-items",
        ),
        pytest.param(
            deep(f"{METRICS}[2].value", [[0, 0, 1]]),
            f"content.{METRICS}[2].value[0]: 3 items, maxItems is 2",
            id="linear-graph-point-of-three",
        ),
        pytest.param(
            deep(f"{METRICS}[3].value", []),
            f"content.{METRICS}[3].value: 0 items, minItems is 1",
            id="empty-bar-chart",
        ),
        pytest.param(
            deep(f"{METRICS}[0]", {"name": "auc", "type": "percentage", "value": 0.91}),
            f"content.{METRICS}[0]: {{'name': 'auc', 'type': 'percentage', 'value': 0.91}} is not valid under any",
            id="unknown-metric-type",
        ),
        pytest.param(
            deep("evaluation_details[0].metric_groups[0]", {"name": "no data"}),
            "content.evaluation_details[0].metric_groups[0]: 'metric_data' is a required property",
            id="metric-group-without-data",
        ),
        pytest.param(
            deep("evaluation_details[0].name", ""),
            "content.evaluation_details[0].name: '' does not match '.{1,63}'",
            id="empty-evaluation-name",
        ),
        pytest.param(
            deep("additional_information.custom_details", {"team": "ds", "-": "x"}),
            "content.additional_information.custom_details: '-' does not match any of the regexes",
            id="custom-detail-key",
        ),
        pytest.param(
            deep("additional_information.custom_details", {"team": {"lead": "ana"}}),
            "content.additional_information.custom_details.team: {'lead': 'ana'} is not of type 'string'",
            id="custom-detail-not-a-string",
        ),
    ],
)
def test_the_emulator_refuses_content_the_schema_refuses(aws: None, content: dict[str, Any], error: str) -> None:
    assert any(line.startswith(error) for line in content_errors(content)), content_errors(content)
    sagemaker = session_for(HUB).client("sagemaker")
    with pytest.raises(ClientError) as created:
        sagemaker.create_model_card(ModelCardName="bad", Content=json.dumps(content), ModelCardStatus="Draft")
    assert created.value.response["Error"]["Code"] == "ValidationException"
    assert error in created.value.response["Error"]["Message"]
    assert sagemaker.list_model_cards()["ModelCardSummaries"] == []

    sagemaker.create_model_card(ModelCardName="good", Content=json.dumps(FULL_CARD), ModelCardStatus="Draft")
    with pytest.raises(ClientError) as updated:
        sagemaker.update_model_card(ModelCardName="good", Content=json.dumps(content))
    assert updated.value.response["Error"]["Code"] == "ValidationException"
    assert error in updated.value.response["Error"]["Message"]
    assert sagemaker.describe_model_card(ModelCardName="good")["ModelCardVersion"] == 1


# --- Every card the product writes ------------------------------------------------------------------
# The emulator refuses any content the schema refuses, so every test that runs the auto-linker, the
# workflow or the sandbox against it already holds their cards to the schema; these tests check the
# cards whose shape depends on where the package came from, and the cards config declares.


def studio_package_event(group: str, version: int) -> dict[str, Any]:
    """AWS's sample package event as the creation of a version registered from SageMaker Studio:
    CreatedBy is a UserContext (DescribeModelPackage), here the sample card event's, verbatim."""
    from tests.conftest import load_event
    from tests.test_auto_link import new_version_event

    event = new_version_event(group, version)
    event["detail"]["CreatedBy"] = load_event("model-card-state-change")["detail"]["CreatedBy"]
    return event


def test_a_studio_registered_version_gets_a_card_sagemaker_accepts(aws: None) -> None:
    from tests.test_auto_link import Hub, new_version_event

    # Importable once tests.test_auto_link has put lambdas/ on the path, as the Lambda runtime does.
    card_linker = importlib.import_module("auto_link.card_linker")

    hub = Hub()
    studio = studio_package_event("churn", 1)
    assert set(studio["detail"]["CreatedBy"]) == {"DomainId", "UserProfileArn", "UserProfileName"}
    assert hub.link(studio).action == "created"
    v1 = hub.content("churn-111111111111-v1")
    assert content_errors(v1) == []
    assert v1["model_package_details"]["created_by"] == {"user_profile_name": "user"}
    custom = not_imported(v1["additional_information"]["custom_details"])
    # The nonce the auto-linker planned the card with, in the card's first version for good.
    assert re.fullmatch(r"[0-9a-f]{8}", nonce1 := custom.pop("hub_card_nonce"))
    assert custom == {
        "cloned_from_card": "none",
        "created_by_domain_id": "us-east-1",
        "created_by_user_profile_arn": "arn:aws:sagemaker:us-east-1:111122223333:user-profile/user",
    }
    # v2, registered by an IAM principal, carries v1's sections over but not v1's creator.
    assert hub.link(new_version_event("churn", 2)).action == "created"
    v2 = hub.content("churn-111111111111-v2")
    assert content_errors(v2) == []
    assert "created_by" not in v2["model_package_details"]
    custom2 = not_imported(v2["additional_information"]["custom_details"])
    # Each card its own nonce: v1's is not carried over.
    assert re.fullmatch(r"[0-9a-f]{8}", nonce2 := custom2.pop("hub_card_nonce")) and nonce2 != nonce1
    assert custom2 == {
        "cloned_from_card": "churn-111111111111-v1",
        "cloned_from_card_version": "1",
    }
    assert card_linker.creator_details({"CreatedBy": {"UserProfileArn": "a" * 1025}}) == {}


def not_imported(custom_details: dict[str, str]) -> dict[str, str]:
    """The details the auto-linker writes of the card's own making: what it imported from the
    package's reports and lineage (imported_*, not_imported_*) is tested in test_package_evidence."""
    return {k: v for k, v in custom_details.items() if not k.startswith(("imported_", "not_imported_"))}


def test_the_cards_config_declares_follow_the_schema(example_config: Any) -> None:
    """Each declared card as the hub stack declares it (DeclaredModelCard), in a stack of its own:
    the whole app's synthesis would cost twenty seconds for the same resources."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_kms as kms

    from governance_constructs.declared_card import DeclaredModelCard, card_construct_id
    from sandbox.provision import card_content

    stack = Stack(App(), "Cards")
    key = kms.Key(stack, "Key")
    assert example_config.cards
    for card in example_config.cards:
        DeclaredModelCard(stack, card_construct_id(card.name), card=card, key=key)
    resources = App.of(stack).synth().get_stack_by_name("Cards").template["Resources"]  # type: ignore[union-attr]
    declared = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SageMaker::ModelCard"]
    assert len(declared) == len(example_config.cards)
    for properties in declared:
        content = card_content(properties["Content"])
        assert content_errors(content) == [], properties["ModelCardName"]
        assert len(json.dumps(content)) <= 100_000
