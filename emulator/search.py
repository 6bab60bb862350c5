"""SageMaker Search for model cards and training jobs: what AWS does that moto 5.2.5 does not.

The SageMaker Python SDK searches inside `ModelCard.load` (v2) for a card with model package
details: the training job that wrote the package's artifacts, then the package group's latest
card. AWS's Search takes `Resource` "ModelCard" and "TrainingJob" (botocore ResourceType) and
answers `SearchRecord`s with a `ModelCard` or `TrainingJob` member; moto's resource list had no
ModelCard (ValidationException) and evaluated few of a SearchExpression's operators.

What AWS documents, and what the emulator does with it:

- `sagemaker:Search` has no resource type (Service Authorization Reference, Amazon SageMaker AI):
  the caller's identity policy must allow it on `"*"`; emulator.permissions checks every call that
  emulator.resources does not resolve against `*`, Search included.
- Without `CrossAccountFilterOption`, or with "SameAccount", "the search results will only include
  resources from your account"; with "CrossAccount", "only ... resources made discoverable to you
  from other accounts" (API reference, SearchRequest), a feature of Feature Store
  ("Search discoverable resources" links to feature-store-cross-account-discoverability). A model
  card shared through RAM is not made discoverable that way, so a spoke's Search never finds the
  hub's cards, whichever option it sends (AWS is silent on RAM-shared cards: the stricter reading).
- "The Search API may provide access to otherwise restricted data" (API reference, Search): a user
  whose Describe of a resource is denied "can still access the description information through the
  Search API" (Developer Guide, "Amazon SageMaker AI API Permissions" reference). Results are
  therefore not filtered by the caller's Describe permissions.
- A card encrypted with a KMS key is left out of the results unless the caller may kms:Decrypt it
  as DescribeModelCard requires; AWS does not say (the stricter reading, docs/emulator.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.sagemaker.models import FakeModelCard, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from emulator.core import AccessDeniedException, ValidationException, page, result
from emulator.sagemaker_cards import use_card_key

# botocore: ResourceType, Operator, SearchSortOrder, CrossAccountFilterOption, BooleanOperator.
RESOURCES = ("ModelCard", "TrainingJob")
OPERATORS = (
    "Equals",
    "NotEquals",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "LessThan",
    "LessThanOrEqualTo",
    "Contains",
    "Exists",
    "NotExists",
    "In",
)
SORT_ORDERS = ("Ascending", "Descending")
CROSS_ACCOUNT_OPTIONS = ("SameAccount", "CrossAccount")
BOOLEAN_OPERATORS = ("And", "Or")
# botocore: the members of the ModelCard shape that a SearchRecord carries.
MODEL_CARD_MEMBERS = (
    "ModelCardArn",
    "ModelCardName",
    "ModelCardVersion",
    "Content",
    "ModelCardStatus",
    "SecurityConfig",
    "CreationTime",
    "CreatedBy",
    "LastModifiedTime",
    "LastModifiedBy",
    "Tags",
    "ModelId",
    "RiskRating",
    "ModelPackageGroupName",
)
# botocore: SearchRequest MaxResults 1-100. AWS does not document the default page size; a small
# one makes a caller that ignores NextToken miss results here as it would in AWS.
SEARCH_PAGE = 10
MAX_SEARCH_PAGE = 100

Record = dict[str, Any]


def _enum(value: Any, member: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )


def _card_record(backend: SageMakerModelBackend, history: list[FakeModelCard]) -> Record | None:
    card = history[-1]
    try:
        use_card_key(card.security_config, card.arn, ["kms:Decrypt"], backend.region_name)
    except AccessDeniedException:
        return None
    described = card.describe()
    content = json.loads(card.content) if card.content else {}
    overview = content.get("model_overview") or {}
    package = content.get("model_package_details") or {}
    record = {
        **described,
        "CreatedBy": getattr(history[0], "created_by", {}),
        "LastModifiedBy": getattr(card, "last_modified_by", {}),
        "LastModifiedTime": card.last_modified_time,
        "Tags": list(card.tags or []),
        # AWS does not say where ModelId comes from; the SDK filters it by a package ARN to find
        # the card of a model package, so a package's card carries the package ARN.
        "ModelId": overview.get("model_id") or package.get("model_package_arn"),
        "RiskRating": (content.get("intended_uses") or {}).get("risk_rating"),
        "ModelPackageGroupName": package.get("model_package_group_name"),
    }
    return {k: v for k, v in record.items() if k in MODEL_CARD_MEMBERS and v not in (None, {}, [])}


def _records(backend: SageMakerModelBackend, resource: str) -> list[Record]:
    if resource == "ModelCard":
        found = (_card_record(backend, history) for history in backend.model_cards.values() if history)
        return [record for record in found if record is not None]
    return [job.gen_response_object() for job in backend.training_jobs.values()]


def _lookup(record: Record, name: str) -> tuple[bool, Any]:
    """A property by its dotted name (`ModelArtifacts.S3ModelArtifacts`, `Tags.<key>`)."""
    head, _, rest = name.partition(".")
    if head == "Tags" and rest:
        values = [t.get("Value") for t in record.get("Tags", []) if t.get("Key") == rest]
        return (True, values[0]) if values else (False, None)
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool):
        return str(value).lower()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _matches(record: Record, search_filter: dict[str, Any]) -> bool:
    name = search_filter.get("Name") or ""
    # "If you specify a Value, but not an Operator, SageMaker uses the equals operator" (Filter).
    operator = search_filter.get("Operator") or "Equals"
    expected = search_filter.get("Value")
    present, actual = _lookup(record, name)
    if operator in ("Exists", "NotExists"):
        return present == (operator == "Exists")
    if expected is None:
        raise ValidationException(f"A Value is required for the {operator} operator on {name}.")
    if not present or actual is None:
        return operator == "NotEquals"
    if operator == "Contains":
        return str(expected) in (actual if isinstance(actual, list) else str(actual))
    if operator == "In":
        return str(actual) in [v.strip() for v in str(expected).split(",")]
    left, right = _comparable(actual), _comparable(expected)
    if type(left) is not type(right):
        left, right = str(actual), str(expected)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "Equals": lambda a, b: a == b,
        "NotEquals": lambda a, b: a != b,
        "GreaterThan": lambda a, b: a > b,
        "GreaterThanOrEqualTo": lambda a, b: a >= b,
        "LessThan": lambda a, b: a < b,
        "LessThanOrEqualTo": lambda a, b: a <= b,
    }
    return comparisons[operator](left, right)


def _validate(expression: dict[str, Any] | None) -> None:
    """Checked before any record is compared, so a bad expression is refused even with nothing to find."""
    if not expression:
        return
    if expression.get("NestedFilters"):
        # Nested filters search inside lists of objects (metrics, say); no search the product or the
        # SDK's card calls make uses one, and a silently ignored filter would answer wrongly.
        raise ValidationException("NestedFilters are not supported by the local emulator's Search.")
    _enum(expression.get("Operator"), "operator", BOOLEAN_OPERATORS)
    for search_filter in expression.get("Filters") or []:
        _enum(search_filter.get("Operator"), "operator", OPERATORS)
    for sub in expression.get("SubExpressions") or []:
        _validate(sub)


def _satisfies(record: Record, expression: dict[str, Any] | None) -> bool:
    if not expression:
        return True
    combine = expression.get("Operator") or "And"
    outcomes = [_matches(record, f) for f in expression.get("Filters") or []]
    outcomes += [_satisfies(record, sub) for sub in expression.get("SubExpressions") or []]
    if not outcomes:
        return True
    return all(outcomes) if combine == "And" else any(outcomes)


def _sort_key(sort_by: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        present, value = _lookup(record, sort_by)
        return (1, _comparable(value)) if present and value is not None else (0, "")

    return key


def _sm_search(self: Any) -> Any:
    resource = self._get_param("Resource")
    if resource not in RESOURCES:
        # Every other resource type keeps moto's own Search.
        return _original["search"](self)
    _enum(self._get_param("SortOrder"), "sortOrder", SORT_ORDERS)
    cross_account = self._get_param("CrossAccountFilterOption")
    _enum(cross_account, "crossAccountFilterOption", CROSS_ACCOUNT_OPTIONS)
    expression = self._get_param("SearchExpression")
    _validate(expression)
    # Only the caller's own account and region: nothing of another account is "made discoverable"
    # for these resource types (see the module's docstring).
    candidates = [] if cross_account == "CrossAccount" else _records(self.sagemaker_backend, resource)
    found = [record for record in candidates if _satisfies(record, expression)]
    sort_by = self._get_param("SortBy") or "LastModifiedTime"
    found.sort(key=_sort_key(sort_by), reverse=(self._get_param("SortOrder") or "Descending") == "Descending")
    listed, token = page(
        found,
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
        default=SEARCH_PAGE,
        maximum=MAX_SEARCH_PAGE,
        invalid_token=ValidationException,
        invalid_max=ValidationException,
        field="MaxResults",
    )
    answer: dict[str, Any] = {"Results": [{resource: record} for record in listed]}
    if token:
        answer["NextToken"] = token
    return result(answer)


_original: dict[str, Callable[..., Any]] = {}


def install() -> None:
    _original["search"] = SageMakerResponse.search
    SageMakerResponse.search = _sm_search  # type: ignore[method-assign]
