"""DynamoDB answers written as DynamoDB writes them, without moto's shape-driven serializer.

moto 5.2 builds every answer by walking the operation's output shape in botocore's model and
picking each member from the result with several candidate spellings (moto.core.serialize). For the
item operations the result is already the wire form (`dynamo_to_dict`: items as maps of attribute
values, counts, keys), and the walk dominated the emulator's time: measured with yappi on the local
run's walk, 22 of the 51 CPU seconds the server spent were this serializer, on 482 DynamoDB calls
of 1,379. The answer is the same JSON document (DynamoDB's JSON protocol names members as the model
does), so for those operations, when the result holds nothing but JSON's own types (no timestamps
to format, no bytes to encode, no None to leave out), it is written with json.dumps; anything else
still goes through moto's serializer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoResult

# Operations whose results are items, keys and counts (DynamoDB API reference).
ITEM_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)

_original: dict[str, Callable[..., Any]] = {}


def plain(value: Any) -> bool:
    """Only dicts with string keys, lists, strings, whole and real numbers and booleans."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return isinstance(value, str | bool | int | float)


def _execute_result(self: ActionResult, context: Any) -> Any:
    execute = _original["execute_result"]
    if context.operation_model.name not in ITEM_OPERATIONS or not isinstance(self.result, dict):
        return execute(self, context)
    if not plain(self.result):
        return execute(self, context)
    # The status and headers moto's serializer gives this operation's answer.
    status, headers, _ = execute(ActionResult({}), context)
    return status, headers, json.dumps(self.result, separators=(",", ":"))


def install() -> None:
    _original["execute_result"] = ActionResult.execute_result
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]
