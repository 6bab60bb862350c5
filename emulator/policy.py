"""One IAM policy statement, matched the way AWS matches it ("IAM JSON policy elements reference").

moto's `IAMPolicyStatement` matches Action and Resource with `*` only, treats every principal but
`*` as unknown and knows one condition operator (StringEquals). This subclass keeps moto's element
handling and adds what the product's policies use: `?` wildcards and case-insensitive actions,
principals (`*`, account, root, role, assumed-role session, service), NotAction/NotResource, and
the condition operators String*, Arn*, Bool, Null and Numeric*, with `...IfExists` and the
ForAnyValue/ForAllValues set prefixes.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicy, IAMPolicyStatement

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Principal:
    """Who is asking: the ARN policies name, and the ARN `aws:PrincipalArn` reports."""

    arn: str  # as STS reports it: arn:aws:sts::A:assumed-role/R/session, arn:aws:iam::A:user/U
    account: str
    principal_arn: str  # the role for a session (aws:PrincipalArn), else the user
    service: str | None = None  # "events.amazonaws.com" when a service acts for itself


@dataclass
class Request:
    """What one policy evaluation looks at: action, resource, principal and condition keys."""

    action: str
    resource: str
    principal: Principal
    context: dict[str, ContextValue] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    # fnmatch's `[` classes do not exist in IAM; escape them so only * and ? are special.
    escaped = pattern.replace("[", "[[]")
    return _wildcard(escaped, ignore_case).match(value) is not None


def _values(element: Any) -> list[Any]:
    return element if isinstance(element, list) else [element]


POLICY_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def with_variables(pattern: str, context: Mapping[str, ContextValue]) -> str | None:
    """A Resource with its policy variables (`${aws:PrincipalAccount}`) replaced from the request
    ("IAM policy elements: Variables and tags"); None when a variable has no single value, in which
    case AWS lets the element match nothing."""

    def value(match: re.Match[str]) -> str:
        found = _lookup(context, match.group(1))
        if not found or len(found) != 1:
            raise LookupError(match.group(1))
        return found[0]

    try:
        return POLICY_VARIABLE.sub(value, pattern)
    except LookupError:
        return None


class Statement(IAMPolicyStatement):
    def __init__(self, statement: Mapping[str, Any]) -> None:
        super().__init__(statement)
        self.effect = str(statement.get("Effect", "Deny"))
        self.sid = str(statement.get("Sid", ""))

    def applies_to(self, request: Request, *, resource_policy: bool) -> bool:
        """Does this statement speak about the request (whatever its effect)?"""
        statement = self._statement
        if "NotAction" in statement:
            if any(wildcard_match(p, request.action, ignore_case=True) for p in _values(statement["NotAction"])):
                return False
        elif not any(wildcard_match(p, request.action, ignore_case=True) for p in _values(statement.get("Action"))):
            return False
        if "NotResource" in statement:
            if any(wildcard_match(p, request.resource) for p in _values(statement["NotResource"])):
                return False
        elif "Resource" in statement:
            patterns = [with_variables(str(p), request.context) for p in _values(statement["Resource"])]
            if not any(p is not None and wildcard_match(p, request.resource) for p in patterns):
                return False
        elif not resource_policy:
            return False  # an identity policy statement without Resource is invalid, so never applies
        if resource_policy and not self.names_principal(request.principal):
            return False
        return self.conditions_hold(request.context)

    # --- Principal ----------------------------------------------------------------------------

    def names_principal(self, principal: Principal) -> bool:
        named = self._statement.get("Principal")
        if named is None and "NotPrincipal" in self._statement:
            # Every principal but those listed (IAM User Guide, "AWS JSON policy elements:
            # NotPrincipal"). A listed role excludes its sessions too, and a listed account its
            # principals: AWS asks for both the role and its account in a Deny, so excluding on
            # either is the reading that denies least, which is the one policies are written for.
            excluded = self._statement["NotPrincipal"]
            if excluded == "*":
                return False
            return not any(
                (kind == "AWS" and principal.service is None and self.aws_principal_matches(str(value), principal))
                or (kind == "Service" and principal.service == value)
                for kind, values in excluded.items()
                for value in _values(values)
            )
        if named is None:
            return False
        if named == "*":
            return True
        for kind, values in named.items():
            for value in _values(values):
                if kind == "AWS" and principal.service is None and self.aws_principal_matches(str(value), principal):
                    return True
                if kind == "Service" and principal.service == value:
                    return True
        return False

    def names_principal_exactly(self, principal: Principal) -> bool:
        """Named by role, user or session ARN, or by `*` (not by account): within the resource's
        account such a grant needs no IAM policy, a KMS key policy's included ("Policy evaluation
        for requests within a single account", IAM User Guide; "Key policies", KMS Developer Guide).
        Naming the account (`arn:aws:iam::<account>:root`) delegates to the account's IAM policies."""
        named = self._statement.get("Principal")
        if named == "*":
            return True
        if not isinstance(named, dict):
            return False
        return any(value in ("*", principal.arn, principal.principal_arn) for value in _values(named.get("AWS", [])))

    @staticmethod
    def aws_principal_matches(value: str, principal: Principal) -> bool:
        if value == "*":
            return True
        if value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
            return True
        return value in (principal.arn, principal.principal_arn)

    # --- Conditions ---------------------------------------------------------------------------

    def conditions_hold(self, context: Mapping[str, ContextValue]) -> bool:
        for operator, tests in self._statement.get("Condition", {}).items():
            for key, expected in tests.items():
                # Condition values take policy variables too ("IAM policy elements: Variables and
                # tags"); one AWS cannot resolve "might cause the entire statement to be invalid":
                # here the statement then applies to nothing, the stricter reading for an Allow.
                values = [with_variables(str(v), context) for v in _values(expected)]
                if any(v is None for v in values):
                    return False
                if not condition_holds(operator, _lookup(context, key), [v for v in values if v is not None]):
                    return False
        return True


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    # Condition key names are case-insensitive ("IAM JSON policy elements: Condition").
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_equals_ignore_case(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


def _string_like(expected: str, actual: str) -> bool:
    return wildcard_match(expected, actual)


def _arn_like(expected: str, actual: str) -> bool:
    # ArnLike compares the six colon-separated parts, each with wildcards.
    want, have = expected.split(":", 5), actual.split(":", 5)
    return len(want) == len(have) == 6 and all(wildcard_match(w, h) for w, h in zip(want, have, strict=True))


def _numeric(compare: Any) -> Any:
    def test(expected: str, actual: str) -> bool:
        try:
            return bool(compare(float(actual), float(expected)))
        except ValueError:
            return False

    return test


_POSITIVE = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": _string_equals_ignore_case,
    "NumericEquals": _numeric(lambda a, e: a == e),
    "NumericLessThan": _numeric(lambda a, e: a < e),
    "NumericLessThanEquals": _numeric(lambda a, e: a <= e),
    "NumericGreaterThan": _numeric(lambda a, e: a > e),
    "NumericGreaterThanEquals": _numeric(lambda a, e: a >= e),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


class UnsupportedCondition(ValueError):
    pass


def condition_holds(operator: str, actual: list[str] | None, expected: list[str]) -> bool:
    """AWS's rules: a missing key fails every operator but the negated ones, `...IfExists` and Null."""
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if actual is None:
        return if_exists or operator in _NEGATED
    negated = operator in _NEGATED
    test = _POSITIVE.get(_NEGATED.get(operator, operator))
    if test is None:
        raise UnsupportedCondition(f"condition operator {operator} is not evaluated by the emulator")

    def one(value: str) -> bool:
        return any(test(e, value) for e in expected)

    # Single-valued keys and ForAnyValue both ask "does any value match".
    matched = all(one(v) for v in actual) if qualifier == "ForAllValues" else any(one(v) for v in actual)
    return not matched if negated else matched


def statements_of(policy: Any) -> list[Statement]:
    """The statements of a moto Policy object, an inline policy, a JSON string or a parsed document."""
    if isinstance(policy, Mapping) and "Statement" in policy:
        document: Any = policy
    elif isinstance(policy, bytes | str):
        document = json.loads(policy)
    else:
        document = IAMPolicy(policy)._policy_json
    return [Statement(s) for s in _values(document.get("Statement", []))]


def decide(statements: Iterable[Statement], request: Request, *, resource_policy: bool) -> tuple[bool, bool]:
    """(explicitly denied, allowed) by these statements."""
    allowed = False
    for statement in statements:
        if statement.applies_to(request, resource_policy=resource_policy):
            if statement.effect == "Deny":
                return True, False
            allowed = True
    return False, allowed
