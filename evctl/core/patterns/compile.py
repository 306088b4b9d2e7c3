"""Parse and validate an event pattern as EventBridge's engine does (event-ruler's JsonRuleCompiler).

Every rejection names the JSON path of the fault and a reason; reasons follow the engine's own messages where
they are clear, so they can be compared with what AWS answers (`InvalidEventPatternException`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evctl.errors import UsageError

from .conditions import (
    Absent,
    AnythingBut,
    Cidr,
    Condition,
    ExactAddress,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    Numeric,
    Prefix,
    Regex,
    Suffix,
)
from .event import NUMBER, STRING, Leaf
from .pattern import Branch, Pattern
from .values import JsonFloat, comparable, ip_address, ip_shape, java_text, number_text, render

OR = "$or"
# Field names the engine refuses inside a $or branch (event-ruler Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_$-]+")
_MASK = re.compile(r"[+-]?[0-9]+")


class PatternError(UsageError):
    """An invalid event pattern: `path` is the JSON path of the fault, `reason` what is wrong there."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid event pattern at {path}: {reason}")
        self.path = path
        self.reason = reason


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as parsed from text, keeping repeated keys (the engine reads them all, in order)."""


def _items(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, _Pairs):
        return list(value)
    return [(str(key), item) for key, item in value.items()]


def _is_object(value: Any) -> bool:
    return isinstance(value, _Pairs | Mapping)


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple) and not isinstance(value, _Pairs)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """The parsed pattern as plain dicts and lists (later repeated keys win, as in json.loads)."""
    if _is_object(value):
        return {key: _plain(item) for key, item in _items(value)}
    if _is_array(value):
        return [_plain(item) for item in value]
    return value


def _show(value: Any) -> str:
    """A value of the pattern as compact JSON, for messages."""
    return render(_plain(value))


def key_path(path: str, key: str) -> str:
    if _SIMPLE_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def compile_pattern(pattern: str | bytes | Mapping[str, Any]) -> Pattern:
    """Parse (when text) and validate an event pattern; raise PatternError with the path and reason of a fault."""
    if isinstance(pattern, str | bytes):
        try:
            parsed: Any = json.loads(
                pattern, object_pairs_hook=_Pairs, parse_float=JsonFloat, parse_constant=_reject_constant
            )
        except (ValueError, RecursionError) as exc:
            raise PatternError("$", f"not valid JSON ({exc})") from None
    else:
        parsed = pattern
    if not _is_object(parsed):
        raise PatternError("$", "an event pattern must be a JSON object (Filter is not an object)")
    rules: list[dict[str, list[Condition]]] = []
    try:
        _object(rules, "", parsed, "$", in_or=False)
        source = _plain(parsed)
    except RecursionError:
        raise PatternError("$", "the pattern is nested too deeply") from None
    return Pattern(source, [Branch(rule) for rule in rules])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _object(rules: list[dict[str, list[Condition]]], prefix: str, obj: Any, path: str, *, in_or: bool) -> None:
    items = _items(obj)
    if not items:
        raise PatternError(path, "empty objects are not allowed")
    for key, value in items:
        here = key_path(path, key)
        if key == OR:
            _or(rules, prefix, value, here)
            continue
        if in_or and key in RESERVED_IN_OR:
            raise PatternError(here, f'"{key}" is a reserved word and cannot be a field name inside {OR}')
        if _is_object(value):
            _object(rules, f"{prefix}{key}.", value, here, in_or=in_or)
        elif _is_array(value):
            conditions = _values(value, here)
            if not rules:
                rules.append({})
            for rule in rules:
                rule[prefix + key] = conditions
        else:
            raise PatternError(here, f'"{key}" must be an object or an array (values go in an array: [{_show(value)}])')


def _or(rules: list[dict[str, list[Condition]]], prefix: str, value: Any, path: str) -> None:
    before = [dict(rule) for rule in rules]
    rules.clear()
    if not _is_array(value):
        raise PatternError(path, f"{OR} must be followed by an array of objects")
    for index, branch in enumerate(value):
        here = f"{path}[{index}]"
        if not _is_object(branch):
            raise PatternError(here, f"only JSON objects are allowed in a {OR} array")
        alternatives = [dict(rule) for rule in before] or [{}]
        _object(alternatives, prefix, branch, here, in_or=True)
        rules.extend(alternatives)
    if len(value) < 2:
        raise PatternError(path, f"{OR} needs at least 2 objects")


def _values(values: list[Any] | tuple[Any, ...], path: str) -> list[Condition]:
    conditions: list[Condition] = []
    for index, value in enumerate(values):
        here = f"{path}[{index}]"
        if _is_object(value):
            conditions.append(_expression(value, here))
        elif isinstance(value, str):
            address = ip_address(value)  # an IP address compares as an address (CIDR.ipToRangeIfPossible)
            if address is not None:
                conditions.append(ExactAddress(value, address))
            else:
                conditions.append(ExactString(value, '"' + java_text(value) + '"'))
        elif isinstance(value, bool) or value is None:
            conditions.append(ExactLiteral(json.dumps(value)))
        elif _is_number(value):
            conditions.append(ExactNumber(number_text(value), comparable(value)))
        else:
            raise PatternError(here, "a match value must be a string, number, true, false, null or an operator object")
    if not conditions:
        raise PatternError(path, "empty arrays are not allowed")
    return conditions


def _only_key(
    items: list[tuple[str, Any]], path: str, reason: str = "only one key is allowed in a match expression"
) -> None:
    if len(items) > 1:
        raise PatternError(key_path(path, items[1][0]), reason)


_TOO_MANY = "too many elements in the expression (only one key is allowed)"


def _expression(obj: Any, path: str) -> Condition:
    items = _items(obj)
    if not items:
        raise PatternError(path, "empty match expression (expected an operator such as prefix, numeric, exists)")
    operator, argument = items[0]
    here = key_path(path, operator)
    condition: Condition
    if operator == "exactly":
        condition = ExactString(_string(argument, here, operator), '"' + java_text(argument) + '"')
    elif operator in ("prefix", "suffix"):
        if _is_object(argument):
            condition = _affix_ignore_case(operator, argument, here)
        else:
            text = _string(argument, here, operator)
            condition = Prefix(text, java_text(text)) if operator == "prefix" else Suffix(text, java_text(text))
    elif operator == "numeric":
        if not _is_array(argument):
            raise PatternError(here, "the value of numeric must be an array")
        condition = _numeric(list(argument), here)
        _only_key(items, path, _TOO_MANY)
    elif operator == "anything-but":
        condition = _anything_but(argument, here)
        _only_key(items, path, _TOO_MANY)
    elif operator == "exists":
        if argument is True:
            condition = Exists()
        elif argument is False:
            condition = Absent()
        else:
            raise PatternError(here, "exists match pattern must be either true or false")
    elif operator == "cidr":
        condition = _cidr(_string(argument, here, operator), here)
    elif operator == "equals-ignore-case":
        text = _string(argument, here, operator)
        condition = Regex("equals-ignore-case", text, _ignore_case('"', text, '"'))
    elif operator == "wildcard":
        text = _string(argument, here, operator)
        condition = Regex("wildcard", text, _wildcard(text, here))
    else:
        raise PatternError(here, f"unrecognized match type {operator}")
    _only_key(items, path)
    return condition


def _string(value: Any, path: str, operator: str) -> str:
    if not isinstance(value, str):
        raise PatternError(path, f"{operator} match pattern must be a string")
    return value


def _affix_ignore_case(operator: str, argument: Any, path: str) -> Condition:
    items = _items(argument)
    if not items:
        raise PatternError(path, f"{operator} expression name not found (expected equals-ignore-case)")
    inner, value = items[0]
    here = key_path(path, inner)
    if inner != "equals-ignore-case":
        raise PatternError(here, f"unsupported {operator} pattern: {inner}")
    text = _string(value, here, inner)
    _only_key(items, path)
    if operator == "prefix":
        return Regex("prefix equals-ignore-case", text, _ignore_case('"', text, ""))
    return Regex("suffix equals-ignore-case", text, _ignore_case("", text, '"'))


def _ignore_case(head: str, text: str, tail: str) -> re.Pattern[str]:
    """Each UTF-16 unit of the pattern matches its lower or upper case form (Locale.ROOT), byte for byte.

    A character outside the BMP is two surrogates to the engine, each encoded as '?': kept as is, on purpose.
    """
    parts = [re.escape(head)]
    for char in text:
        units = [char] if ord(char) < 0x10000 else ["?", "?"]
        for unit in units:
            unit = java_text(unit)
            lower, upper = unit.lower(), unit.upper()
            parts.append(re.escape(lower) if lower == upper else f"(?:{re.escape(lower)}|{re.escape(upper)})")
    parts.append(re.escape(tail))
    body = "".join(parts)
    if head and tail:
        return re.compile(f"\\A{body}\\Z", re.DOTALL)
    if head:
        return re.compile(f"\\A{body}", re.DOTALL)
    return re.compile(f"{body}\\Z", re.DOTALL)


def _wildcard(text: str, path: str) -> re.Pattern[str]:
    """`*` matches any run of characters; `\\*` is a star and `\\\\` a backslash; `**` and other escapes are invalid."""
    quoted = '"' + java_text(text) + '"'
    parts: list[str] = []
    offset = 0  # byte offset in the quoted value, which the engine's messages count in
    index = 0
    while index < len(quoted):
        char = quoted[index]
        if char == "*":
            if index + 1 < len(quoted) and quoted[index + 1] == "*":
                raise PatternError(path, f"consecutive wildcard characters at pos {offset}")
            parts.append(".*")
        elif char == "\\":
            following = quoted[index + 1] if index + 1 < len(quoted) else ""
            if following not in ("*", "\\"):
                raise PatternError(path, f"invalid escape character at pos {offset} (only \\* and \\\\ are allowed)")
            parts.append(re.escape(following))
            index += 1
            offset += 1
        else:
            parts.append(re.escape(char))
        offset += len(char.encode("utf-8", "surrogatepass"))
        index += 1
    return re.compile("\\A" + "".join(parts) + "\\Z", re.DOTALL)


def _number(value: Any, path: str, reason: str) -> float:
    if not _is_number(value):
        raise PatternError(path, reason)
    number = comparable(value)
    if number is None:
        raise PatternError(path, f"cannot compare number {number_text(value)} (not exactly representable as a double)")
    return number


def _numeric(terms: list[Any], path: str) -> Numeric:
    def at(index: int) -> str:
        return f"{path}[{index}]"

    if not terms or not isinstance(terms[0], str):
        shown = _show(terms[0]) if terms else "]"
        raise PatternError(at(0), f"invalid member in numeric match: {shown} (expected an operator: = < <= > >=)")
    operator = terms[0]
    text = " ".join(number_text(t) if _is_number(t) else str(t) for t in terms)
    if operator not in ("=", "<", "<=", ">", ">="):
        raise PatternError(at(0), f"unrecognized numeric range operator: {operator}")
    name = "equals" if operator == "=" else operator
    if len(terms) < 2 or not _is_number(terms[1]):
        raise PatternError(at(1), f"value of {name} must be numeric")
    if operator in ("=", "<", "<="):
        if len(terms) > 2:
            raise PatternError(at(2), "too many elements in numeric expression")
        value = _number(terms[1], at(1), "")
        if operator == "=":
            return Numeric(text, value, True, value, True)
        return Numeric(text, None, False, value, operator == "<=")
    if len(terms) == 2:
        return Numeric(text, _number(terms[1], at(1), ""), operator == ">=", None, False)
    upper = terms[2]
    if not isinstance(upper, str):
        raise PatternError(at(2), f"bad value in numeric range: {_show(upper)} (expected < or <=)")
    if upper not in ("<", "<="):
        raise PatternError(at(2), f"bad numeric range operator: {upper} (expected < or <=)")
    if len(terms) < 4 or not _is_number(terms[3]):
        raise PatternError(at(3), f"value of {upper} must be numeric")
    if len(terms) > 4:
        raise PatternError(at(4), "too many terms in numeric range expression")
    low = _number(terms[1], at(1), "")
    high = _number(terms[3], at(3), "")
    if not low < high:
        raise PatternError(path, "bottom must be less than top")
    return Numeric(text, low, operator == ">=", high, upper == "<=")


def _anything_but(argument: Any, path: str) -> AnythingBut:
    kind = ""
    here = path
    inner_items: list[tuple[str, Any]] = []
    if _is_object(argument):
        inner_items = _items(argument)
        if not inner_items:
            raise PatternError(path, "anything-but expression name not found")
        kind, argument = inner_items[0]
        here = key_path(path, kind)
        if kind not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
            raise PatternError(here, f"unsupported anything-but pattern: {kind}")
    if not (_is_array(argument) or isinstance(argument, str) or _is_number(argument)):
        raise PatternError(here, "the value of anything-but must be an array or a single string or number")
    values = list(argument) if _is_array(argument) else [argument]
    condition = _anything_but_plain(values, here) if not kind else _anything_but_set(kind, values, here)
    if inner_items:
        _only_key(inner_items, path, _TOO_MANY)
    return condition


def _anything_but_plain(values: list[Any], path: str) -> AnythingBut:
    strings: set[str] = set()
    numbers: set[float] = set()
    for index, value in enumerate(values):
        here = f"{path}[{index}]" if len(values) > 1 or isinstance(value, list) else path
        if isinstance(value, str):
            strings.add('"' + java_text(value) + '"')
        elif _is_number(value):
            numbers.add(_number(value, here, ""))
        else:
            raise PatternError(here, "inside an anything-but list, only strings and numbers are supported")
    if bool(strings) == bool(numbers):
        raise PatternError(path, "inside an anything-but list, either all values are numbers or all are strings")
    if strings:
        return AnythingBut("", values, lambda leaf: leaf.kind == STRING and leaf.text in strings)
    return AnythingBut("", values, lambda leaf: leaf.kind == NUMBER and leaf.number in numbers)


def _anything_but_set(kind: str, values: list[Any], path: str) -> AnythingBut:
    tests: list[Condition] = []
    for index, value in enumerate(values):
        here = f"{path}[{index}]"
        if not isinstance(value, str):
            raise PatternError(here, f"{kind} match pattern must be a string")
        if kind in ("prefix", "suffix") and not value:
            raise PatternError(here, f"an empty {kind} is not allowed in anything-but")
        if kind == "prefix":
            tests.append(Prefix(value, java_text(value)))
        elif kind == "suffix":
            tests.append(Suffix(value, java_text(value)))
        elif kind == "equals-ignore-case":
            tests.append(Regex(kind, value, _ignore_case('"', value, '"')))
        else:
            tests.append(Regex(kind, value, _wildcard(value, here)))
    if not tests:
        # The engine's compiler lets this through and then fails to add the rule; treat it as invalid.
        raise PatternError(path, "empty arrays are not allowed")

    def rejects(leaf: Leaf) -> bool:
        return any(test.test(leaf) for test in tests)

    return AnythingBut(f"{kind} ", values, rejects)


def _cidr(text: str, path: str) -> Cidr:
    parts = text.split("/")
    while parts and parts[-1] == "":  # Java's String.split drops trailing empty strings
        parts.pop()
    if len(parts) != 2:
        raise PatternError(path, "malformed CIDR, one '/' required")
    if not _MASK.fullmatch(parts[1]) or not -(2**31) <= int(parts[1]) < 2**31:
        raise PatternError(path, "malformed CIDR, mask bits must be an integer")
    bits = int(parts[1])
    if bits < 0:
        raise PatternError(path, "malformed CIDR, mask bits must not be negative")
    if not ip_shape(parts[0]):
        raise PatternError(path, f"nonstandard IP address: {parts[0]}")
    address = ip_address(parts[0])
    if address is None:
        raise PatternError(path, f"invalid IP address: {parts[0]}")
    version, value = address
    width = 32 if version == 4 else 128
    if bits >= width:
        raise PatternError(path, f"IPv{version} mask bits must be < {width}")
    host = (1 << (width - bits)) - 1
    return Cidr(text, version, value & ~host, value | host)
