"""shared.metrics: reports to metric groups within the model card schema's limits, and metric changes."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))

from shared import metrics
from shared.metrics import Change, Threshold, evaluation_from_report, metric_changes, metric_problem, regressions


def model_card_schema() -> dict[str, Any]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::SageMaker::ModelCard"
    ).schema
    return schema


def test_the_limits_are_the_model_card_schemas() -> None:
    definitions = model_card_schema()["definitions"]
    simple, matrix = definitions["SimpleMetric"]["properties"], definitions["MatrixMetric"]["properties"]
    assert simple["Name"]["pattern"] == f".{{1,{metrics.MAX_METRIC_NAME}}}"
    assert simple["Notes"]["maxLength"] == metrics.MAX_NOTES
    assert {"type": "string", "maxLength": metrics.MAX_STRING_VALUE} in simple["Value"]["anyOf"]
    assert simple["Type"]["enum"] + ["linear_graph", "bar_chart", "matrix"] == list(metrics.METRIC_TYPES)
    assert matrix["Value"]["maxItems"] == matrix["Value"]["items"]["maxItems"] == metrics.MAX_MATRIX
    assert definitions["AxisNameString"]["maxLength"] == metrics.MAX_AXIS_NAME
    assert definitions["MetricGroup"]["properties"]["Name"]["pattern"] == f".{{1,{metrics.MAX_GROUP_NAME}}}"
    evaluation = definitions["EvaluationDetail"]["properties"]
    assert evaluation["Name"]["pattern"] == f".{{1,{metrics.MAX_EVALUATION_NAME}}}"
    assert evaluation["Metadata"]["patternProperties"]["[a-zA-Z_][a-zA-Z0-9_]*"]["maxLength"] == (
        metrics.MAX_METADATA_VALUE
    )
    job = definitions["TrainingDetails"]["properties"]["TrainingJobDetails"]["properties"]
    assert job["TrainingEnvironment"]["properties"]["ContainerImage"]["maxItems"] == metrics.MAX_CONTAINER_IMAGES
    assert job["TrainingArn"]["maxLength"] == metrics.MAX_URI


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ({"name": "auc", "type": "number", "value": 0.9}, ""),
        ({"name": "auc", "type": "number", "value": "NaN"}, "not a finite number"),
        ({"name": "auc", "type": "number", "value": True}, "not a finite number"),
        ({"name": "", "type": "number", "value": 1}, "1 to 255 characters"),
        ({"name": "x" * 256, "type": "number", "value": 1}, "1 to 255 characters"),
        ({"name": "a", "type": "percent", "value": 1}, "is not one of"),
        ({"name": "a", "type": "string", "value": "x" * 64}, "<= 63"),
        ({"name": "a", "type": "boolean", "value": 1}, "not a boolean"),
        ({"name": "a", "type": "bar_chart", "value": []}, "non-empty"),
        ({"name": "a", "type": "linear_graph", "value": [[0, 1, 2]]}, "[x, y] pairs"),
        ({"name": "a", "type": "matrix", "value": [[1] * 21]}, "1 to 20 rows"),
        ({"name": "a", "type": "matrix", "value": [[1, 2], [3, 4]]}, ""),
        ({"name": "a", "type": "number", "value": 1, "notes": "n" * 1025}, "notes longer"),
        ({"name": "a", "type": "bar_chart", "value": [1], "x_axis_name": ["x" * 64]}, "at most 63"),
    ],
)
def test_each_metric_is_held_to_the_schema(metric: dict[str, Any], problem: str) -> None:
    found = metric_problem(metric)
    assert (problem in found) if problem else found == ""


def test_model_quality_of_each_problem_type_maps_to_a_group() -> None:
    for kind in ("regression_metrics", "binary_classification_metrics", "multiclass_classification_metrics"):
        mapped = evaluation_from_report("q", {kind: {"m": {"value": 1.5, "standard_deviation": 0.1}}})
        assert mapped.groups == [
            {
                "name": kind,
                "metric_data": [{"name": "m", "type": "number", "value": 1.5, "notes": "standard deviation 0.1"}],
            }
        ]


def test_a_metric_breaking_the_schema_is_left_out_with_the_reason() -> None:
    labels = {str(i): {str(j): 1 for j in range(21)} for i in range(21)}
    mapped = evaluation_from_report(
        "q", {"multiclass_classification_metrics": {"accuracy": {"value": 0.5}, "confusion_matrix": labels}}
    )
    assert [m["name"] for m in mapped.groups[0]["metric_data"]] == ["accuracy"]
    assert mapped.skipped == ["confusion_matrix: value must be 1 to 20 rows of 1 to 20 numbers or strings"]


def test_clarify_bias_and_explainability_reports_map_to_groups() -> None:
    bias = {
        "post_training_bias_metrics": {
            "label": "churn",
            "facets": {"age": [{"value_or_threshold": "40", "metrics": [{"name": "DPPL", "value": 0.1}]}]},
        }
    }
    assert evaluation_from_report("b", bias).groups == [
        {"name": "post_training_bias age=40", "metric_data": [{"name": "DPPL", "type": "number", "value": 0.1}]}
    ]
    shap = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"b": 0.2, "a": 0.5}}}}}
    (group,) = evaluation_from_report("e", shap).groups
    assert group["metric_data"][0] == {
        "name": "global_shap_values",
        "type": "bar_chart",
        "value": [0.5, 0.2],
        "x_axis_name": ["a", "b"],
    }


@pytest.mark.parametrize("report", [[], {"columns": []}, {"regression_metrics": {"mse": {"value": "NaN"}}}])
def test_a_report_with_nothing_to_map_is_rejected(report: Any) -> None:
    with pytest.raises(metrics.ReportRejected):
        evaluation_from_report("q", report)


def card(values: dict[str, float]) -> dict[str, Any]:
    data = [{"name": n, "type": "number", "value": v} for n, v in values.items()]
    group = {"name": "binary_classification_metrics", "metric_data": data}
    return {"evaluation_details": [{"name": "ModelQuality.Statistics", "metric_groups": [group]}]}


def test_changes_are_listed_with_their_delta() -> None:
    changes = metric_changes(
        card({"auc": 0.912, "recall": 0.5, "f1": 0.4}), card({"auc": 0.874, "recall": 0.5, "f2": 1})
    )
    assert [c.line() for c in changes] == [
        "ModelQuality.Statistics / binary_classification_metrics / auc: 0.912 -> 0.874 (-0.038)",
        "ModelQuality.Statistics / binary_classification_metrics / f1: gone (was 0.400)",
        "ModelQuality.Statistics / binary_classification_metrics / f2: new, 1.000",
    ]


@pytest.mark.parametrize(
    ("before", "after", "threshold", "flagged"),
    [
        (0.912, 0.874, Threshold(max_drop=0.02), "a drop of more than 0.02"),
        (0.912, 0.900, Threshold(max_drop=0.02), None),
        (0.30, 0.40, Threshold(max_rise=0.05), "a rise of more than 0.05"),
        (0.30, 0.20, Threshold(max_rise=0.05), None),
        (0.912, 0.874, Threshold(max_rise=0.05), None),
    ],
)
def test_a_change_beyond_its_threshold_is_a_regression(
    before: float, after: float, threshold: Threshold, flagged: str | None
) -> None:
    change = Change("e", "g", "auc", before, after)
    found = regressions([change], {"auc": threshold})
    assert found == ([f"{change.line()}: {flagged}"] if flagged else [])


def test_metrics_without_a_threshold_or_a_baseline_are_no_regression() -> None:
    assert regressions([Change("e", "g", "auc", None, 0.5)], {"auc": Threshold(max_drop=0.0)}) == []
    assert regressions([Change("e", "g", "auc", 0.9, 0.1)], {}) == []
