"""common: the one-place rules every domain shares (issue 10).

    iso_utc(epoch_ms_or_datetime, precision="milliseconds")   # '2026-11-27T12:00:00.123Z'
    parse_time("5m", now_ms); parse_duration("1h30m"); parse_datetime("2026-11-27T10:00:00Z")
    batches(items, size_of=len, max_count=10, max_bytes=1_048_576)   # the one count + size batching rule
    backoff_delay(attempt, base=0.2, cap=5.0, rand=None)                # the one retry backoff formula
    Pacer(rate, clock=..., sleep=...).take(n)                           # the one request-rate limiter
    compile_filter("body.plan == 'pro'").matches(view)                 # the one --filter (drain, redrive, dry runs)
    read_text("@event.json" | "-" | "literal"); open_lines(path)        # the one reading of -, @file and FILE
    AtomicFile.create(path) ... .commit() / .discard()                  # replace a file whole or not at all
    describe_json_type(value)                                           # 'an object', 'a string', ... in messages
"""

from __future__ import annotations

from .backoff import DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, backoff_delay
from .batching import batch_admits, batches
from .files import AtomicFile
from .filters import MessageFilter, compile_filter, is_truthy
from .inputs import input_name, open_lines, read_text
from .json_types import describe_json_type
from .pacing import Pacer
from .time import TimeFormatError, epoch_ms, iso_utc, parse_datetime, parse_duration, parse_time

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "AtomicFile",
    "MessageFilter",
    "Pacer",
    "TimeFormatError",
    "backoff_delay",
    "batch_admits",
    "batches",
    "compile_filter",
    "describe_json_type",
    "epoch_ms",
    "input_name",
    "is_truthy",
    "iso_utc",
    "open_lines",
    "parse_datetime",
    "parse_duration",
    "parse_time",
    "read_text",
]
