"""common: the one-place rules every domain shares (issue 10).

    iso_utc(epoch_ms_or_datetime, precision="milliseconds")   # '2026-11-27T12:00:00.123Z'
    parse_time("5m", now_ms); parse_duration("1h30m"); parse_datetime("2026-11-27T10:00:00Z")
    batches(items, size_of=len, max_count=10, max_bytes=1_048_576)   # the one count + size batching rule
    backoff_delay(attempt, base=0.2, cap=5.0, rand=None)                # the one retry backoff formula
    Pacer(rate, clock=..., sleep=...).take(n)                           # the one request-rate limiter
"""

from __future__ import annotations

from .backoff import DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, backoff_delay
from .batching import batch_admits, batches
from .pacing import Pacer
from .time import TimeFormatError, epoch_ms, iso_utc, parse_datetime, parse_duration, parse_time

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "Pacer",
    "TimeFormatError",
    "backoff_delay",
    "batch_admits",
    "batches",
    "epoch_ms",
    "iso_utc",
    "parse_datetime",
    "parse_duration",
    "parse_time",
]
