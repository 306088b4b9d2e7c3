"""JSON text for evctl's output: datetimes as ISO-8601, bytes as base64, sets and tuples as lists."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "to_jsonable"]


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


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Compact JSON on one line, or `pretty` (indented) for a whole document."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False, default=to_jsonable)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=to_jsonable)
