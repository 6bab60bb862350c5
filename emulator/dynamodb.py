"""DynamoDB, as fast as the tests need: answers written without moto's shape-driven serializer, and
a table's Query reading the partition it names.

moto 5.2 builds every answer by walking the operation's output shape in botocore's model and
picking each member from the result with several candidate spellings (moto.core.serialize). For the
item operations the result is already the wire form (`dynamo_to_dict`: items as maps of attribute
values, counts, keys), and the walk dominated the emulator's time: measured with yappi on the local
run's walk, 22 of the 51 CPU seconds the server spent were this serializer, on 482 DynamoDB calls
of 1,379. The answer is the same JSON document (DynamoDB's JSON protocol names members as the model
does), so for those operations, when the result holds nothing but JSON's own types (no timestamps
to format, no bytes to encode, no None to leave out), it is written with json.dumps; anything else
still goes through moto's serializer.

Writes run one at a time and a transaction keeps only what it touches. moto checks a condition and
then writes, on whichever server thread answers the request, so two conditional writes racing for
one item could both pass; DynamoDB evaluates a condition and writes atomically ("Condition
expressions", "TransactWriteItems"). And before every TransactWriteItems moto deep-copied each table
it names, to put the whole table back if the transaction fails: a copy of the whole ledger for every
entry appended. Here the items the transaction names are copied and put back instead.

moto's Table.query on a table (not an index) lists and sorts every item of the table, then keeps
those of the hash key asked for: each read of one card's ledger chain cost the whole ledger. Here
that Query reads the partition alone (the same items, in the same order); an index's Query, and
every Scan, are moto's own.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
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


# (table, hash key) while this thread's Query of that table runs: all_items gives that partition.
_partition = threading.local()


def _all_items(self: Table) -> Any:
    narrowed = getattr(_partition, "key", None)
    if narrowed is None or narrowed[0] is not self:
        return _original["all_items"](self)
    found = self.items.get(narrowed[1])
    if found is None:
        return []
    items = list(found.values()) if self.range_key_attr else [found]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    # scan_index_forward, projection_expressions, index_name, ...), as DynamoDBBackend.query calls it.
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or hash_key is None:
        return _original["query"](self, hash_key, *args, **kwargs)
    _partition.key = (self, hash_key)
    try:
        return _original["query"](self, hash_key, *args, **kwargs)
    finally:
        _partition.key = None


WRITES = threading.RLock()
_transaction = threading.local()


class _Copy:
    """`copy` as moto.dynamodb.models sees it: during a transaction here, a table is not copied
    (the transaction's own items are, below); everything else is copied as ever."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_transaction, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(backend: DynamoDBBackend, entry: dict[str, Any]) -> tuple[Table, DynamoType, DynamoType | None]:
    """The table and key an operation of a transaction names (a Put's from its item)."""
    _, operation = next(iter(entry.items()))
    table = backend.get_table(operation["TableName"])
    key = operation.get("Key") or {
        name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
    }
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return table, hash_key, range_key


def _put_back(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Any) -> None:
    if table.range_key_attr:
        partition = table.items.setdefault(hash_key, {})
        if item is None:
            partition.pop(range_key, None)
            if not partition:
                table.items.pop(hash_key, None)
        else:
            partition[range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    with WRITES:
        try:
            touched = [_item_key(self, entry) for entry in transact_items]
        except Exception:  # a malformed operation: moto's own checks answer it, the old way
            return _original["transact_write_items"](self, transact_items)  # type: ignore[no-any-return]
        before = [
            (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
            for table, hash_key, range_key in touched
        ]
        _transaction.active = True
        try:
            return _original["transact_write_items"](self, transact_items)  # type: ignore[no-any-return]
        except Exception:
            for table, hash_key, range_key, item in reversed(before):
                _put_back(table, hash_key, range_key, item)
            raise
        finally:
            _transaction.active = False


def _one_at_a_time(name: str) -> Callable[..., Any]:
    original = getattr(DynamoDBBackend, name)
    _original[name] = original

    def serialized(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with WRITES:
            return original(self, *args, **kwargs)

    return serialized


def install() -> None:
    _original["execute_result"] = ActionResult.execute_result
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]
    _original["all_items"] = Table.all_items
    _original["query"] = Table.query
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoDBBackend, name, _one_at_a_time(name))
    _original["transact_write_items"] = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    setattr(dynamodb_models, "copy", _Copy)  # noqa: B010 (the module name moto calls deepcopy through)
