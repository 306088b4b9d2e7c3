"""Read CloudWatch Logs: resolve targets, fetch a window, follow with no gaps or duplicates, live tail, classify.

    sources = resolve_sources(["user-signup-handler"], logs_client, lambda_client, on_notice=warn)
    options = options_from_cli("10m", None, follow=True)          # --since/--until/--interval...: UsageError if bad
    tail = Tail(logs_client, sources, options, on_notice=warn)
    for event in tail:                                            # LogEvent dicts, annotated with kind/requestId
        ...

Lower level: `fetch_events(logs_client, group, start_ms, end_ms)` reads one window (the sandbox demo uses it),
`Follower(logs_client, sources, start_ms)` follows, `start_live_tail` + `live_events` stream, `Classifier` says
what a Lambda log line is, `event_record` is an event's JSON form. Nothing here prints or colours text (that is
evctl/render/logs.py); notices go to an injected `on_notice`, time to injected `clock`/`sleep`.

Modules: event (LogEvent, LogSource, records) · window (--since/--until) · resolve (function → log group) ·
fetch (FilterLogEvents paging, RequestBudget) · follow (Follower) · live (StartLiveTail) · tail (the driver) ·
classify (START/END/REPORT, errors, tracebacks).
"""

from __future__ import annotations

from .classify import Classifier, classify_message, is_error
from .event import LogEvent, LogSource, event_record
from .fetch import RequestBudget, fetch_events
from .follow import Follower, FollowStats
from .live import LiveTailUnavailable, live_events, start_live_tail
from .resolve import resolve_sources
from .tail import EventFilter, Tail, TailOptions, options_from_cli
from .window import resolve_window

__all__ = [
    "Classifier",
    "EventFilter",
    "FollowStats",
    "Follower",
    "LiveTailUnavailable",
    "LogEvent",
    "LogSource",
    "RequestBudget",
    "Tail",
    "TailOptions",
    "classify_message",
    "event_record",
    "fetch_events",
    "is_error",
    "live_events",
    "options_from_cli",
    "resolve_sources",
    "resolve_window",
    "start_live_tail",
]
