"""The value conditions of a compiled pattern: each tests one event leaf exactly as event-ruler's ByteMachine does.

String conditions work on the engine's quoted text of a string (`"abc"`), which is why `prefix` never matches a
number and why a suffix of `"abc` matches the value `abc`: the engine's own behaviour, kept on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .event import LITERAL, NUMBER, STRING, Leaf
from .values import AddressRange, address_digits, render


class Condition:
    """One alternative for a field: the field matches when any leaf satisfies any of its conditions."""

    absent = False  # True only for {"exists": false}, which is about the field and not about a value
    index_key: tuple[Any, ...] | None = None  # the one leaf key this condition accepts, when it is an exact value

    def test(self, leaf: Leaf) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def exact_text(self) -> str | None:
        """The JSON of the exact value, for 'one of [...]' descriptions; None for operators."""
        return None


def _quote(text: str) -> str:
    return render(text)


class ExactString(Condition):
    def __init__(self, value: str, quoted: str) -> None:
        self.value = value
        self.quoted = quoted
        self.index_key = (STRING, quoted)

    def test(self, leaf: Leaf) -> bool:
        return leaf.kind == STRING and leaf.text == self.quoted

    def exact_text(self) -> str:
        return _quote(self.value)

    def describe(self) -> str:
        return _quote(self.value)


class ExactNumber(Condition):
    """A number in the pattern: matches by value when representable as a double, else by its text."""

    def __init__(self, text: str, number: float | None) -> None:
        self.text = text
        self.number = number
        self.index_key = (NUMBER, number) if number is not None else (NUMBER, text)

    def test(self, leaf: Leaf) -> bool:
        if leaf.kind != NUMBER:
            return False
        if self.number is not None and leaf.number is not None:
            return leaf.number == self.number
        return leaf.text == self.text

    def exact_text(self) -> str:
        return self.text

    def describe(self) -> str:
        return self.text


class ExactLiteral(Condition):
    """true, false or null."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index_key = (LITERAL, text)

    def test(self, leaf: Leaf) -> bool:
        return leaf.kind == LITERAL and leaf.text == self.text

    def exact_text(self) -> str:
        return self.text

    def describe(self) -> str:
        return self.text


class ExactAddress(Condition):
    """A pattern string that is an IP address: the engine compares it as an address (so `::1` equals `0::1`)."""

    def __init__(self, value: str, address: tuple[int, int]) -> None:
        self.value = value
        self.range = AddressRange.single(address_digits(address))

    def test(self, leaf: Leaf) -> bool:
        if leaf.kind != STRING:
            return False
        digits = leaf.ip_digits
        return digits is not None and self.range.contains(digits)

    def exact_text(self) -> str:
        return _quote(self.value)

    def describe(self) -> str:
        return _quote(self.value)


class Prefix(Condition):
    def __init__(self, prefix: str, engine_text: str) -> None:
        self.prefix = prefix
        self.start = '"' + engine_text

    def test(self, leaf: Leaf) -> bool:
        return leaf.kind == STRING and leaf.text.startswith(self.start)

    def describe(self) -> str:
        return f"prefix {_quote(self.prefix)}"


class Suffix(Condition):
    def __init__(self, suffix: str, engine_text: str) -> None:
        self.suffix = suffix
        self.end = engine_text + '"'

    def test(self, leaf: Leaf) -> bool:
        return leaf.kind == STRING and leaf.text.endswith(self.end)

    def describe(self) -> str:
        return f"suffix {_quote(self.suffix)}"


class Regex(Condition):
    """equals-ignore-case (also as prefix/suffix) and wildcard, compiled to a regex over the quoted text."""

    def __init__(self, label: str, value: str, regex: re.Pattern[str]) -> None:
        self.label = label
        self.value = value
        self.regex = regex

    def test(self, leaf: Leaf) -> bool:
        return leaf.kind == STRING and self.regex.search(leaf.text) is not None

    def describe(self) -> str:
        return f"{self.label} {_quote(self.value)}"


class AnythingBut(Condition):
    """anything-but: holds for any leaf the inner test rejects (numbers, null and booleans included)."""

    def __init__(self, label: str, values: Iterable[Any], rejects: Any) -> None:
        self.label = label
        self.values = list(values)
        self.rejects = rejects  # Leaf -> bool: True when the leaf is one of the excluded values

    def test(self, leaf: Leaf) -> bool:
        return not self.rejects(leaf)

    def describe(self) -> str:
        shown = render(self.values[0]) if len(self.values) == 1 else render(self.values)
        return f"anything but {self.label}{shown}"


class Numeric(Condition):
    """numeric: a range with optional bounds (`=` is the closed range [v, v])."""

    def __init__(self, text: str, low: float | None, low_closed: bool, high: float | None, high_closed: bool) -> None:
        self.text = text
        self.low = low
        self.low_closed = low_closed
        self.high = high
        self.high_closed = high_closed

    def test(self, leaf: Leaf) -> bool:
        number = leaf.number
        if number is None or leaf.kind != NUMBER:
            return False
        low = self.low
        if low is not None and (number < low or (number == low and not self.low_closed)):
            return False
        high = self.high
        return high is None or not (number > high or (number == high and not self.high_closed))

    def describe(self) -> str:
        return f"numeric {self.text}"


class Cidr(Condition):
    def __init__(self, text: str, version: int, low: int, high: int) -> None:
        self.text = text
        self.range = AddressRange(address_digits((version, low)), address_digits((version, high)))

    def test(self, leaf: Leaf) -> bool:
        if leaf.kind != STRING:
            return False
        digits = leaf.ip_digits
        return digits is not None and self.range.contains(digits)

    def describe(self) -> str:
        return f"cidr {self.text}"


class Exists(Condition):
    def test(self, leaf: Leaf) -> bool:
        return True

    def describe(self) -> str:
        return "to exist"


class Absent(Condition):
    absent = True

    def test(self, leaf: Leaf) -> bool:
        return False

    def describe(self) -> str:
        return "not to exist"


def describe_all(conditions: list[Condition]) -> str:
    """'"a"', 'one of ["a","b"]', or the conditions joined with 'or'."""
    exact = [c.exact_text() for c in conditions]
    if all(text is not None for text in exact):
        if len(exact) == 1:
            return str(exact[0])
        return "one of [" + ",".join(str(text) for text in exact) + "]"
    return " or ".join(c.describe() for c in conditions)
