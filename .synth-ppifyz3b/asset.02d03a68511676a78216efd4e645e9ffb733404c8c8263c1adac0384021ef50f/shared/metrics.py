"""A package's evaluation reports as a model card's `evaluation_details`, its lineage as
`training_details`, and how metrics moved between two cards. Pure: no AWS call is made here.

Report formats (SageMaker developer guide):
- model quality ("Model quality metrics and Amazon CloudWatch monitoring"): one of
  `regression_metrics`, `binary_classification_metrics`, `multiclass_classification_metrics`, each
  metric `{"value": .., "standard_deviation": ..}`, plus `confusion_matrix` (label -> label -> count)
  and curves (`receiver_operating_characteristic_curve`, `precision_recall_curve`);
- Clarify bias ("Bias report"): `pre_training_bias_metrics` / `post_training_bias_metrics`, each with
  `facets` -> column -> [{"value_or_threshold", "metrics": [{"name", "value"}]}];
- Clarify explainability: `explanations` -> method (e.g. `kernel_shap`) -> label ->
  `global_shap_values` (feature -> value).
Anything else is not a format the hub maps, and is skipped with that reason.

Limits are those of the `AWS::SageMaker::ModelCard` schema (cfn-lint's copy of the CloudFormation
registry schema; tests/test_metrics.py holds these constants to it): a metric that breaks one is
left out with the reason, never sent for SageMaker to refuse the whole card.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_EVALUATION_NAME = 63
MAX_GROUP_NAME = 63
MAX_METRIC_NAME = 255
MAX_NOTES = 1024
MAX_STRING_VALUE = 63
MAX_AXIS_NAME = 63
MAX_MATRIX = 20  # rows, and items per row
MAX_METADATA_VALUE = 1024
MAX_CONTAINER_IMAGES = 15
MAX_URI = 1024
METRIC_TYPES = ("number", "string", "boolean", "linear_graph", "bar_chart", "matrix")

# ModelMetrics member -> its MetricsSource members that hold a report (botocore's SageMaker model:
# ModelQuality and ModelDataQuality have Statistics and Constraints; Bias has Report,
# PreTrainingReport and PostTrainingReport; Explainability has Report).
REPORT_SOURCES: dict[str, tuple[str, ...]] = {
    "ModelQuality": ("Statistics",),
    "Bias": ("Report", "PreTrainingReport", "PostTrainingReport"),
    "Explainability": ("Report",),
}
# Sources the hub does not read: they describe the data or the monitoring limits, not the model.
NOT_READ: dict[str, tuple[str, ...]] = {
    "ModelQuality": ("Constraints",),
    "ModelDataQuality": ("Statistics", "Constraints"),
}
QUALITY_KINDS = ("binary_classification_metrics", "multiclass_classification_metrics", "regression_metrics")
CURVES = {
    "receiver_operating_characteristic_curve": ("false_positive_rates", "true_positive_rates"),
    "precision_recall_curve": ("recalls", "precisions"),
}


@dataclass(frozen=True)
class ReportSource:
    """One report a package names: where (`ModelQuality.Statistics`) and its S3 URI."""

    where: str
    s3_uri: str
    content_type: str = ""
    content_digest: str = ""


def report_sources(model_metrics: Any) -> tuple[list[ReportSource], dict[str, str]]:
    """The reports to read, and the sources left unread with the reason."""
    sources: list[ReportSource] = []
    skipped: dict[str, str] = {}
    if not isinstance(model_metrics, Mapping):
        return sources, skipped
    for member, value in model_metrics.items():
        if not isinstance(value, Mapping):
            continue
        for field, source in value.items():
            where = f"{member}.{field}"
            if field in NOT_READ.get(member, ()) or field not in REPORT_SOURCES.get(member, ()):
                skipped[where] = "not imported: it describes the data or monitoring limits, not the model's metrics"
                continue
            uri = source.get("S3Uri") if isinstance(source, Mapping) else None
            if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
                skipped[where] = f"not an S3 object URI: {uri!r}"
                continue
            sources.append(
                ReportSource(where, uri, str(source.get("ContentType", "")), str(source.get("ContentDigest", "")))
            )
    return sources, skipped


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class ReportRejected(ValueError):
    """The report is not one the hub maps, or maps to nothing the schema takes."""


@dataclass(frozen=True)
class Mapped:
    groups: list[dict[str, Any]]
    skipped: list[str]  # "<metric>: <why>" for each metric left out


def evaluation_from_report(where: str, report: Any) -> Mapped:
    """The metric groups of one report, each metric checked against the schema's limits."""
    if not isinstance(report, Mapping):
        raise ReportRejected("the report is not a JSON object")
    raw: list[tuple[str, list[dict[str, Any]]]] = []
    for kind in QUALITY_KINDS:
        if isinstance(report.get(kind), Mapping):
            raw.append((kind, _quality_metrics(report[kind])))
    for kind in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if isinstance(report.get(kind), Mapping):
            raw.extend(_bias_groups(kind, report[kind]))
    explanations = report.get("explanations")
    if isinstance(explanations, Mapping):
        raw.extend(_explainability_groups(explanations))
    if not raw:
        raise ReportRejected(
            f"{where}: no model quality, Clarify bias or explainability metrics in a format the hub maps"
        )
    groups, skipped = [], []
    for name, data in raw:
        kept = []
        for metric in data:
            problem = metric_problem(metric)
            if problem:
                skipped.append(f"{str(metric.get('name'))[:80]}: {problem}")
            else:
                kept.append(metric)
        if kept:
            groups.append({"name": name[:MAX_GROUP_NAME], "metric_data": kept})
    if not groups:
        raise ReportRejected(f"{where}: every metric breaks the model card schema ({'; '.join(skipped)[:300]})")
    return Mapped(groups, skipped)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _quality_metrics(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for name, metric in metrics.items():
        if name == "confusion_matrix" and isinstance(metric, Mapping):
            labels = sorted(metric)
            rows = [[_cell(metric[actual], predicted) for predicted in labels] for actual in labels]
            data.append(
                {
                    "name": name,
                    "type": "matrix",
                    "value": rows,
                    "x_axis_name": [str(label) for label in labels],
                    "y_axis_name": [str(label) for label in labels],
                }
            )
        elif name in CURVES and isinstance(metric, Mapping):
            x_name, y_name = CURVES[name]
            xs, ys = metric.get(x_name), metric.get(y_name)
            if isinstance(xs, list) and isinstance(ys, list):
                data.append(
                    {
                        "name": name,
                        "type": "linear_graph",
                        "value": [[x, y] for x, y in zip(xs, ys, strict=False)],
                        "x_axis_name": x_name,
                        "y_axis_name": y_name,
                    }
                )
        elif isinstance(metric, Mapping) and "value" in metric:
            entry: dict[str, Any] = {"name": name, "type": "number", "value": metric["value"]}
            deviation = _number(metric.get("standard_deviation"))
            if deviation is not None:
                entry["notes"] = f"standard deviation {deviation:g}"
            data.append(entry)
    return data


def _cell(row: Any, column: str) -> Any:
    return row.get(column, 0) if isinstance(row, Mapping) else None


def _bias_groups(kind: str, section: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups = []
    facets = section.get("facets")
    for column, values in (facets or {}).items() if isinstance(facets, Mapping) else ():
        for facet in values if isinstance(values, list) else ():
            if not isinstance(facet, Mapping):
                continue
            data = [
                {"name": str(m.get("name")), "type": "number", "value": m.get("value")}
                | ({"notes": str(m["description"])[:MAX_NOTES]} if isinstance(m.get("description"), str) else {})
                for m in facet.get("metrics") or ()
                if isinstance(m, Mapping)
            ]
            label = f"{column}={facet.get('value_or_threshold')}"
            groups.append((f"{kind.removesuffix('_metrics')} {label}", data))
    return groups


def _explainability_groups(explanations: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups = []
    for method, labels in explanations.items():
        for label, values in labels.items() if isinstance(labels, Mapping) else ():
            shap = values.get("global_shap_values") if isinstance(values, Mapping) else None
            if isinstance(shap, Mapping) and shap:
                features = sorted(shap)
                metric = {
                    "name": "global_shap_values",
                    "type": "bar_chart",
                    "value": [shap[f] for f in features],
                    "x_axis_name": [str(f) for f in features],
                }
                groups.append((f"{method} {label}", [metric]))
    return groups


def metric_problem(metric: Mapping[str, Any]) -> str:
    """What breaks the schema in one metric_data item, or "" when nothing does."""
    name, kind, value = metric.get("name"), metric.get("type"), metric.get("value")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_METRIC_NAME:
        return f"the name must be 1 to {MAX_METRIC_NAME} characters"
    if kind not in METRIC_TYPES:
        return f"type {kind!r} is not one of {', '.join(METRIC_TYPES)}"
    if len(str(metric.get("notes", ""))) > MAX_NOTES:
        return f"notes longer than {MAX_NOTES} characters"
    for axis in ("x_axis_name", "y_axis_name"):
        names = metric.get(axis)
        if names is None:
            continue
        if any(not isinstance(n, str) or len(n) > MAX_AXIS_NAME for n in names if isinstance(names, list)):
            return f"{axis} items must be strings of at most {MAX_AXIS_NAME} characters"
    if kind == "number":
        return "" if _number(value) is not None else f"value {value!r} is not a finite number"
    if kind == "string":
        return "" if isinstance(value, str) and len(value) <= MAX_STRING_VALUE else "not a string of <= 63 characters"
    if kind == "boolean":
        return "" if isinstance(value, bool) else "value is not a boolean"
    if kind == "bar_chart":
        ok = isinstance(value, list) and value and all(_number(v) is not None or isinstance(v, str) for v in value)
        return "" if ok else "value must be a non-empty list of numbers or strings"
    if kind == "linear_graph":
        ok = isinstance(value, list) and value and all(_is_point(p) for p in value)
        return "" if ok else "value must be a non-empty list of [x, y] pairs of numbers or strings"
    ok = (
        isinstance(value, list)
        and 1 <= len(value) <= MAX_MATRIX
        and all(isinstance(row, list) and 1 <= len(row) <= MAX_MATRIX for row in value)
        and all(_number(v) is not None or isinstance(v, str) for row in value for v in row)
    )
    return "" if ok else f"value must be 1 to {MAX_MATRIX} rows of 1 to {MAX_MATRIX} numbers or strings"


def _is_point(point: Any) -> bool:
    return (
        isinstance(point, list) and len(point) == 2 and all(_number(v) is not None or isinstance(v, str) for v in point)
    )


def evaluation_detail(source: ReportSource, mapped: Mapped, etag: str, version_id: str) -> dict[str, Any]:
    """One `evaluation_details` item: the report's groups, and where they were read from."""
    metadata = {"imported_from": source.s3_uri[:MAX_METADATA_VALUE], "etag": etag[:MAX_METADATA_VALUE]}
    if version_id:
        metadata["version_id"] = version_id[:MAX_METADATA_VALUE]
    if source.content_digest:
        metadata["content_digest"] = source.content_digest[:MAX_METADATA_VALUE]
    if mapped.skipped:
        metadata["metrics_left_out"] = "; ".join(mapped.skipped)[:MAX_METADATA_VALUE]
    return {"name": source.where[:MAX_EVALUATION_NAME], "metadata": metadata, "metric_groups": mapped.groups}


# --- Lineage ---------------------------------------------------------------------------------------------


def training_details_of(package: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """`training_details` from what the package says, and custom details for what the schema has
    no field for (image digests, what generated the package)."""
    containers = [
        c for c in (package.get("InferenceSpecification") or {}).get("Containers") or () if isinstance(c, Mapping)
    ]
    images = [c["Image"] for c in containers if isinstance(c.get("Image"), str) and len(c["Image"]) <= MAX_URI]
    job: dict[str, Any] = {}
    if images:
        job["training_environment"] = {"container_image": images[:MAX_CONTAINER_IMAGES]}
    generated_by = (package.get("MetadataProperties") or {}).get("GeneratedBy")
    if isinstance(generated_by, str) and ":training-job/" in generated_by and len(generated_by) <= MAX_URI:
        job["training_arn"] = generated_by
    custom: dict[str, str] = {}
    for index, container in enumerate(containers[:MAX_CONTAINER_IMAGES], start=1):
        if isinstance(container.get("ImageDigest"), str):
            custom[f"imported_image_digest_{index}"] = container["ImageDigest"][:MAX_METADATA_VALUE]
        if isinstance(container.get("ModelDataUrl"), str):
            custom[f"imported_model_data_url_{index}"] = container["ModelDataUrl"][:MAX_METADATA_VALUE]
    if isinstance(generated_by, str) and "training_arn" not in job:
        custom["imported_generated_by"] = generated_by[:MAX_METADATA_VALUE]
    return ({"training_job_details": job} if job else {}), custom


# --- Changes between two cards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    max_drop: float | None = None
    max_rise: float | None = None


@dataclass(frozen=True)
class Change:
    evaluation: str
    group: str
    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    def line(self) -> str:
        where = f"{self.evaluation} / {self.group} / {self.name}"
        if self.before is None:
            return f"{where}: new, {self.after:.3f}"
        if self.after is None:
            return f"{where}: gone (was {self.before:.3f})"
        assert self.delta is not None
        return f"{where}: {self.before:.3f} -> {self.after:.3f} ({self.delta:+.3f})"


def number_metrics(content: Mapping[str, Any]) -> dict[tuple[str, str, str], float]:
    """(evaluation, group, metric name) -> value, for every number metric of a card's content."""
    found: dict[tuple[str, str, str], float] = {}
    for evaluation in _items(content.get("evaluation_details")):
        for group in _items(evaluation.get("metric_groups")):
            for metric in _items(group.get("metric_data")):
                value = _number(metric.get("value")) if metric.get("type") == "number" else None
                if value is not None:
                    key = (str(evaluation.get("name")), str(group.get("name")), str(metric.get("name")))
                    found[key] = value
    return found


def _items(value: Any) -> Iterable[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def metric_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Every number metric whose value differs between two cards' content, or is in only one."""
    return changes_between(number_metrics(before), number_metrics(after))


def changes_between(
    old: Mapping[tuple[str, str, str], float], new: Mapping[tuple[str, str, str], float]
) -> list[Change]:
    return [
        Change(*key, old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def regressions(changes: Sequence[Change], thresholds: Mapping[str, Threshold]) -> list[str]:
    """A line for each change beyond the configured threshold of its metric name."""
    found = []
    for change in changes:
        threshold, delta = thresholds.get(change.name), change.delta
        if threshold is None or delta is None:
            continue
        if threshold.max_drop is not None and -delta > threshold.max_drop:
            found.append(f"{change.line()}: a drop of more than {threshold.max_drop:g}")
        elif threshold.max_rise is not None and delta > threshold.max_rise:
            found.append(f"{change.line()}: a rise of more than {threshold.max_rise:g}")
    return found


def thresholds_from(raw: Mapping[str, Any]) -> dict[str, Threshold]:
    """{"auc": {"max_drop": 0.02}} as the Lambda environment carries it."""
    return {
        name: Threshold(_number(value.get("max_drop")), _number(value.get("max_rise")))
        for name, value in raw.items()
        if isinstance(value, Mapping)
    }
