"""A duplicate: the event processed by more than one invocation, and how long to watch for one after the first.

    runs = ledger_runs(state, event_id)          # the invocations that processed it (sandbox ledger)
    runs = log_runs(lines)                       # the same from the function's log lines (request id, else stream)
    until = watch_until(state, runs, from_logs=False)    # epoch seconds to keep watching, or None: no need

When can a second invocation get the message? Only while the first still holds it past the queue's visibility
timeout: the message becomes visible again and another poller receives it. That second invocation starts before
the first one deletes the message (the first success), and ends within the function's timeout. So:
- a first success that took less than the visibility timeout (minus the batching window and a small slack) cannot
  have a duplicate: nothing to wait for;
- otherwise the trace watches until the first success's end + the function's timeout (+ a read margin; on the log
  path + CloudWatch Logs' ingestion margin), capped by --timeout. A second success seen earlier ends the watch.
On the log path (AWS), the first invocation's duration is not known from the lines with the event id: the trace
watches when the configuration allows it (function timeout + batching window ≥ visibility timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

from evctl.core.logs import LogEvent, classify_message
from evctl.core.logs.classify import parse_json_message

from .plan import FunctionHop
from .state import RouteState, successes

__all__ = ["LOG_MARGIN", "READ_MARGIN", "RECEIVE_SLACK", "Run", "ledger_runs", "log_runs", "watch_until"]

RECEIVE_SLACK = 0.25  # seconds between SQS handing a message out and the invocation starting (window aside)
READ_MARGIN = 1.0  # seconds after the last moment a duplicate could end: the ledger is written, then read
LOG_MARGIN = 10.0  # seconds: CloudWatch Logs' ingestion, for the log-lines path
_ERROR_KINDS = frozenset({"error", "timeout", "traceback"})


@dataclass(frozen=True)
class Run:
    """One invocation that processed the event."""

    request_id: str
    function_name: str
    start_ms: int | None
    end_ms: int | None
    log_stream: str = ""


def ledger_runs(state: RouteState, event_id: str) -> list[Run]:
    """The invocations of the runner's ledger that processed the event, in the order they ended."""
    runs = [Run(r.request_id, r.function_name, r.start_ms, r.end_ms, r.log_stream) for r in successes(state, event_id)]
    return sorted(runs, key=lambda run: run.end_ms or 0)


def log_runs(lines: list[LogEvent], function_name: str = "") -> list[Run]:
    """The invocations the event's log lines show without an error: grouped by request id (Lambda's JSON log format,
    or the runtime's text format), else by log stream (one execution environment). Two invocations in one stream
    whose lines carry no request id look like one."""
    groups: dict[str, list[LogEvent]] = {}
    for line in lines:
        _, request_id = classify_message(line["message"], parse_json_message(line["message"]))
        key = request_id or f"stream:{line.get('stream', '')}"
        groups.setdefault(key, []).append(line)
    runs = []
    for key, found in groups.items():
        if any(classify_message(ln["message"], parse_json_message(ln["message"]))[0] in _ERROR_KINDS for ln in found):
            continue
        stamps = [ln["timestamp"] for ln in found]
        stream = str(found[0].get("stream", ""))
        request = "" if key.startswith("stream:") else key
        runs.append(Run(request, function_name or str(found[0].get("source", "")), min(stamps), max(stamps), stream))
    return sorted(runs, key=lambda run: run.end_ms or 0)


def _function(state: RouteState, run: Run) -> FunctionHop | None:
    functions = state.route.functions
    return next((f for f in functions if f.function_name == run.function_name), functions[0] if functions else None)


def watch_until(state: RouteState, runs: list[Run], *, from_logs: bool) -> float | None:
    """Epoch seconds until which a second run could still show up after the first; None when none can."""
    first = runs[0] if runs else None
    if first is None or first.end_ms is None:
        return None
    function = _function(state, first)
    visibility = state.route.visibility_timeout
    if function is None or function.timeout is None or visibility is None:
        return None
    window = function.batching_window
    end = first.end_ms / 1000
    if from_logs:
        if function.timeout + window < visibility:
            return None
        return end + function.timeout + LOG_MARGIN
    took = (first.end_ms - first.start_ms) / 1000 if first.start_ms is not None else float(function.timeout)
    if took + window + RECEIVE_SLACK < visibility:
        return None
    return end + function.timeout + READ_MARGIN
