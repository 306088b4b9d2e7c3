"""common: the one-place rules every domain shares (issue 10).

    iso_utc(epoch_ms_or_datetime, precision="milliseconds")   # '2026-11-27T12:00:00.123Z'
    parse_time("5m", now_ms); parse_duration("1h30m"); parse_datetime("2026-11-27T10:00:00Z")
"""

from __future__ import annotations

from .time import TimeFormatError, epoch_ms, iso_utc, parse_datetime, parse_duration, parse_time

__all__ = [
    "TimeFormatError",
    "epoch_ms",
    "iso_utc",
    "parse_datetime",
    "parse_duration",
    "parse_time",
]
