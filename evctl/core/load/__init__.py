"""Open-loop load for `evctl publish --count/--rate/--duration`: events made as they are due, sent on schedule.

    spec = LoadSpec.resolve(count=None, rate="200/s", duration="30s", from_file=False)   # 6000 events at 200/s
    stream = EventStream(entries, count=spec.count, rate=spec.rate, cap=256 * 1024)       # placeholders filled
    report = run_load(client, stream, concurrency=64, max_attempts=5, keep_failed=True)   # LoadReport
    summary = summarize(report)          # published + failed + not_sent == requested; rates, latencies, lag
    error = load_error(report, failed_to=None, what="event bus 'default'")

Modules: spec (the flags' rules), stream (events cycled and filled, batches and their due times), engine (the
dispatcher: due times, slots, throttle pauses, stop), sender (each call timed and counted; whole-call retries),
throttle (ThrottleGate), stats (what was measured; percentiles), outcome (summary, exit error), clock (Clock,
SystemClock). Entry-level retries are core/events' `send_batch`. Nothing here prints; see docs/load.md.
"""

from __future__ import annotations

from .clock import Clock, SystemClock
from .engine import DEFAULT_CAP, LoadProgress, LoadReport, run_load
from .outcome import load_error, summarize
from .spec import LoadSpec, parse_rate
from .stream import EventStream

__all__ = [
    "DEFAULT_CAP",
    "Clock",
    "EventStream",
    "LoadProgress",
    "LoadReport",
    "LoadSpec",
    "SystemClock",
    "load_error",
    "parse_rate",
    "run_load",
    "summarize",
]
