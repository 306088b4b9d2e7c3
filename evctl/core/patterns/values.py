"""How EventBridge's engine (aws/event-ruler) sees a JSON value: numbers, IP addresses and strings.

The engine compares values as UTF-8 bytes of their JSON text: strings are quoted (`"abc"`), numbers are kept as
written. Numbers are also compared by value when they survive a round trip through a double exactly
(`ComparableNumber.generate`: 300, 300.0 and 3.0e2 are equal; 123456789012345678 is not representable and only
ever matches its own text). Strings that look like IP addresses are compared as addresses by `cidr` patterns and
by exact patterns that are themselves IP addresses.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_IPV4_SHAPE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_SHAPE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_EXACT_INT_LIMIT = 2**53


class JsonFloat(float):
    """A float parsed from JSON text that remembers the text (the engine matches unrepresentable numbers by it)."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """Parse JSON as the engine's parser (Jackson) does: NaN/Infinity rejected, float text kept."""
    return json.loads(text, parse_float=JsonFloat, parse_constant=_reject_constant)


def java_text(value: str) -> str:
    """The string as Java's `getBytes(UTF_8)` sees it: a lone surrogate becomes '?'."""
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    return _SURROGATE.sub("?", value)


def number_text(value: int | float) -> str:
    """The JSON text of a number (the original text when it was parsed by `loads`)."""
    if isinstance(value, JsonFloat):
        return value.text
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return repr(value)
    return str(value)


def comparable(value: int | float) -> float | None:
    """The double the engine compares a number by, or None when it keeps only the text (ComparableNumber rules).

    A number is comparable when it is finite and the shortest decimal form of its double equals it exactly.
    """
    if isinstance(value, int) and -_EXACT_INT_LIMIT <= value <= _EXACT_INT_LIMIT:
        return float(value)
    if isinstance(value, float) and not isinstance(value, JsonFloat):
        return value + 0.0 if math.isfinite(value) else None  # + 0.0 turns -0.0 into 0.0, as BigDecimal does
    return comparable_text(number_text(value))


def comparable_text(text: str) -> float | None:
    try:
        exact = Decimal(text)
        double = float(exact)
    except (InvalidOperation, ValueError, OverflowError):
        return None
    if not math.isfinite(double) or Decimal(repr(double)) != exact:
        return None
    return double + 0.0


def ip_address(text: str) -> tuple[int, int] | None:
    """(4 or 6, integer) for an IP address literal the engine recognises, else None.

    The shape must match the engine's regexes first; IPv4-mapped IPv6 addresses become IPv4 (as Java's
    InetAddress does); IPv4 parts with leading zeros are ambiguous and rejected (current JDKs).
    """
    if _IPV4_SHAPE.fullmatch(text):
        try:
            return 4, int(ipaddress.IPv4Address(text))
        except ValueError:
            return None
    if _IPV6_SHAPE.fullmatch(text):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped
        if mapped is not None:
            return 4, int(mapped)
        return 6, int(address)
    return None


def ip_shape(text: str) -> bool:
    return bool(_IPV4_SHAPE.fullmatch(text) or _IPV6_SHAPE.fullmatch(text))


def render(value: Any) -> str:
    """A value as compact JSON for messages."""
    if isinstance(value, JsonFloat):
        return value.text
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def address_digits(address: tuple[int, int]) -> str:
    """An address as the engine compares it: 8 (IPv4) or 32 (IPv6) upper-case hex digits."""
    version, value = address
    return f"{value:08X}" if version == 4 else f"{value:032X}"


_HEX = "0123456789ABCDEF"


class AddressRange:
    """A range of addresses as the engine's byte machine walks it, digit by digit.

    The machine decides as soon as a prefix of the value settles it, and ignores digits past the range's length:
    for values as long as the bounds this is plain `low <= value <= high`, but an IPv6 value is judged by its
    first 32 bits against an IPv4 range, and an IPv4 value only matches an IPv6 range when its 8 digits already
    settle it (event-ruler ByteMachine.addRangePattern, CIDR.ipToRangeIfPossible).
    """

    __slots__ = ("bottom", "fork", "open_bottom", "open_top", "top")

    def __init__(self, bottom: str, top: str, *, open_bottom: bool = False, open_top: bool = False) -> None:
        self.bottom = bottom
        self.top = top
        self.open_bottom = open_bottom
        self.open_top = open_top
        fork = 0
        while bottom[fork] == top[fork]:
            fork += 1
        self.fork = fork

    @classmethod
    def single(cls, digits: str) -> AddressRange:
        """The range an exact IP-address pattern becomes: [d, d+1) or, when d ends in F, (d-1, d]."""
        last = digits[-1]
        if last == "F":
            return cls(digits[:-1] + "E", digits, open_bottom=True)
        return cls(digits, digits[:-1] + _HEX[_HEX.index(last) + 1], open_top=True)

    def contains(self, digits: str) -> bool:
        bottom, top, fork = self.bottom, self.top, self.fork
        last = len(bottom) - 1
        if len(digits) <= fork or digits[:fork] != bottom[:fork]:
            return False
        digit = digits[fork]
        if bottom[fork] < digit < top[fork]:
            return True
        if fork == last:
            return (digit == bottom[fork] and not self.open_bottom) or (digit == top[fork] and not self.open_top)
        if digit == bottom[fork]:
            bound, open_end, above = bottom, self.open_bottom, True
        elif digit == top[fork]:
            bound, open_end, above = top, self.open_top, False
        else:
            return False
        for index in range(fork + 1, min(len(digits), last + 1)):
            digit = digits[index]
            if digit != bound[index]:
                return (digit > bound[index]) is above
            if index == last:
                return not open_end
        return False
