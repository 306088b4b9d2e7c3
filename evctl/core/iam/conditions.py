"""Condition blocks: operators, missing keys, ...IfExists, Null, ForAnyValue / ForAllValues.

Rules [IAM-COND]: operators are ANDed, keys within an operator ANDed, values within a key ORed (NOR for a negated
operator). A key missing from the request makes a positive operator false and a negated one true; ...IfExists
makes it true; Null tests existence. ForAllValues is true for a missing key or an empty set; ForAnyValue false.
A key the caller neither supplied nor declared absent is unknown (None), and so is a value holding a policy
variable: the statement is then indeterminate, never silently applied or skipped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .match import arn_match, glob_match, has_variable
from .model import Condition, Request, Tri, tri_and, tri_or


class ConditionError(ValueError):
    """A condition that is not valid IAM (unknown operator, a value its operator cannot read)."""


@dataclass(frozen=True)
class Outcome:
    """One condition's truth, with the key it could not know and a line of evidence when it failed."""

    value: Tri
    unknown_key: str | None = None
    evidence: str = ""


class ContextView:
    """The request context with keys folded to lower case and every value as a tuple of strings."""

    def __init__(self, request: Request) -> None:
        self._values: dict[str, tuple[str, ...]] = {}
        self._multi: set[str] = set()
        for key, value in request.context.items():
            folded = key.lower()
            if isinstance(value, (list, tuple, set, frozenset)):
                self._values[folded] = tuple(_text(item) for item in value)
                self._multi.add(folded)
            elif value is not None:
                self._values[folded] = (_text(value),)
        self._absent = tuple(pattern.lower() for pattern in request.absent)
        self._closed = request.closed

    def get(self, key: str) -> tuple[Tri, tuple[str, ...], bool]:
        """(present: True / False / None unknown, values, multi-valued)."""
        folded = key.lower()
        if folded in self._values:
            values = self._values[folded]
            return (bool(values) or folded in self._multi), values, folded in self._multi
        if self._closed or any(glob_match(pattern, folded, variables=False) for pattern in self._absent):
            return False, (), False
        return None, (), False


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(parse: Callable[[str], object], test: Callable[[object, object], bool]) -> Callable[[str, str, bool], Tri]:
    def compare(have: str, want: str, variables: bool) -> Tri:
        try:
            wanted = parse(want)
        except (ValueError, TypeError) as exc:
            raise ConditionError(f"cannot read {want!r}: {exc}") from exc
        try:
            had = parse(have)
        except (ValueError, TypeError):
            return False
        return test(had, wanted)

    return compare


def _string(ignore_case: bool) -> Callable[[str, str, bool], Tri]:
    def compare(have: str, want: str, variables: bool) -> Tri:
        if variables and has_variable(want):
            return None
        literal = want
        if variables:
            for escape, char in (("${*}", "*"), ("${?}", "?"), ("${$}", "$")):
                literal = literal.replace(escape, char)
        return have.lower() == literal.lower() if ignore_case else have == literal

    return compare


def _like(have: str, want: str, variables: bool) -> Tri:
    return glob_match(want, have, variables)


def _bool(have: str, want: str, variables: bool) -> Tri:
    return have.lower() == want.lower()


def _binary(have: str, want: str, variables: bool) -> Tri:
    return have == want


def _ip(have: str, want: str, variables: bool) -> Tri:
    try:
        network = ipaddress.ip_network(want, strict=False)
    except ValueError as exc:
        raise ConditionError(f"cannot read {want!r} as an address or CIDR") from exc
    try:
        return ipaddress.ip_address(have) in network
    except ValueError:
        return False


def _arn(have: str, want: str, variables: bool) -> Tri:
    return arn_match(want, have, variables)


def _lt(a: object, b: object) -> bool:
    return a < b  # type: ignore[operator,no-any-return]


def _le(a: object, b: object) -> bool:
    return a <= b  # type: ignore[operator,no-any-return]


def _gt(a: object, b: object) -> bool:
    return a > b  # type: ignore[operator,no-any-return]


def _ge(a: object, b: object) -> bool:
    return a >= b  # type: ignore[operator,no-any-return]


def _eq(a: object, b: object) -> bool:
    return a == b


_Matcher = Callable[[str, str, bool], Tri]
# base operator (lower case) -> (matcher, negated)
OPERATORS: dict[str, tuple[_Matcher, bool]] = {
    "stringequals": (_string(False), False),
    "stringnotequals": (_string(False), True),
    "stringequalsignorecase": (_string(True), False),
    "stringnotequalsignorecase": (_string(True), True),
    "stringlike": (_like, False),
    "stringnotlike": (_like, True),
    "numericequals": (_compare(_number, _eq), False),
    "numericnotequals": (_compare(_number, _eq), True),
    "numericlessthan": (_compare(_number, _lt), False),
    "numericlessthanequals": (_compare(_number, _le), False),
    "numericgreaterthan": (_compare(_number, _gt), False),
    "numericgreaterthanequals": (_compare(_number, _ge), False),
    "dateequals": (_compare(_date, _eq), False),
    "datenotequals": (_compare(_date, _eq), True),
    "datelessthan": (_compare(_date, _lt), False),
    "datelessthanequals": (_compare(_date, _le), False),
    "dategreaterthan": (_compare(_date, _gt), False),
    "dategreaterthanequals": (_compare(_date, _ge), False),
    "bool": (_bool, False),
    "binaryequals": (_binary, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "arnequals": (_arn, False),
    "arnlike": (_arn, False),
    "arnnotequals": (_arn, True),
    "arnnotlike": (_arn, True),
}


def _split(operator: str) -> tuple[str | None, str, bool]:
    """(set operator or None, base operator in lower case, IfExists)."""
    set_op: str | None = None
    base = operator
    if ":" in operator:
        prefix, base = operator.split(":", 1)
        set_op = prefix.lower()
        if set_op not in ("forallvalues", "foranyvalue"):
            raise ConditionError(f"unknown set operator {prefix!r}")
    folded = base.lower()
    if_exists = folded.endswith("ifexists")
    if if_exists:
        folded = folded[: -len("ifexists")]
    if folded != "null" and folded not in OPERATORS:
        raise ConditionError(f"unknown condition operator {operator!r}")
    if folded == "null" and (if_exists or set_op):
        raise ConditionError(f"{operator!r}: Null takes neither IfExists nor a set operator")
    return set_op, folded, if_exists


def _tri_not(value: Tri) -> Tri:
    return None if value is None else not value


def evaluate_condition(condition: Condition, view: ContextView, variables: bool = True) -> Outcome:
    """The truth of one operator/key pair. Raises ConditionError for a condition that is not valid IAM."""
    set_op, base, if_exists = _split(condition.operator)
    present, values, multi = view.get(condition.key)
    if present is None:
        return Outcome(None, unknown_key=condition.key)
    if base == "null":
        wants = {value.lower() for value in condition.values}
        if not wants <= {"true", "false"}:
            raise ConditionError(f"Null takes true or false, not {condition.values}")
        return _outcome(("true" in wants and not present) or ("false" in wants and bool(present)), condition, values)
    matcher, negated = OPERATORS[base]
    if not present:
        if set_op == "forallvalues":
            return Outcome(True)
        if set_op == "foranyvalue":
            return _outcome(if_exists, condition, values)
        return _outcome(if_exists or negated, condition, values)

    def one(value: str) -> Tri:
        hit = tri_or(*(matcher(value, want, variables) for want in condition.values))
        return _tri_not(hit) if negated else hit

    if set_op is None:
        if multi and len(values) != 1:
            return Outcome(None, unknown_key=f"{condition.key} (multi-valued; needs ForAnyValue/ForAllValues)")
        result = one(values[0])
    elif set_op == "foranyvalue":
        result = tri_or(*(one(value) for value in values))
    else:
        result = tri_and(*(one(value) for value in values))
    if result is None:
        return Outcome(None, unknown_key=f"{condition.key} (policy variable)")
    return _outcome(result, condition, values)


def _outcome(value: bool, condition: Condition, values: tuple[str, ...]) -> Outcome:
    if value:
        return Outcome(True)
    shown = "absent" if not values else (values[0] if len(values) == 1 else list(values))
    return Outcome(False, evidence=f"{condition} (request: {shown})")
