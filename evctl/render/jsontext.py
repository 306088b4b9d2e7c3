"""JSON text for evctl's output: datetimes as ISO-8601, bytes as base64, sets and tuples as lists.

stdout is strict JSON: Python's json writes NaN and ±Infinity as bare `NaN` / `Infinity`, which no other JSON parser
accepts. Such a value (a message body or log line that holds `NaN`, which Python's json reads) is written as the
string "NaN", "Infinity" or "-Infinity" (docs/output.md).
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "strict_jsonable", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """json.dumps default: datetimes as ISO-8601, bytes as base64, sets as lists."""
    import base64
    import datetime as dt

    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def strict_jsonable(value: Any) -> Any:
    """`value` with every non-finite float (NaN, Infinity, -Infinity) replaced by its name as a string."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: strict_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [strict_jsonable(item) for item in value]
    return value


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Compact JSON on one line, or `pretty` (indented) for a whole document; always strict JSON."""
    options: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=to_jsonable, **options)
    except ValueError:  # a NaN or Infinity somewhere (rare): encode them, then write strictly
        return json.dumps(
            strict_jsonable(value), ensure_ascii=False, allow_nan=False, default=_strict_default, **options
        )


def _strict_default(value: Any) -> Any:
    return strict_jsonable(to_jsonable(value))
