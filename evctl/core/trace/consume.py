"""The `received` and `processed` hops of one route: the runner's invocation ledger (sandbox), else the function's
log lines carrying the event id, else Lambda's and SQS's metrics; the mapping as Lambda shows it when nothing has
received the event; a second invocation that processed it again (a duplicate).

    received, processed = function_hops(state, view)      # Hop, Hop
    blocked_mappings(state, now)                           # [(FunctionHop, MappingState)]: none can poll
"""

from __future__ import annotations

from typing import Any

from evctl.core.common.time import iso_utc
from evctl.core.logs import LogEvent, classify_message

from .delivery import METRICS_DELAY
from .duplicates import Run, ledger_runs, log_runs, watch_until
from .plan import FunctionHop
from .result import Evidence, Hop
from .sources import MappingState
from .state import RouteState, TraceView, failures

__all__ = ["ERROR_KINDS", "MAPPING_CONFIRM", "blocked_mappings", "function_hops"]

ERROR_KINDS = frozenset({"error", "timeout", "traceback"})
# A mapping's problem must show on reads this many seconds apart before the trace stalls on it: Lambda updates
# LastProcessingResult at its next poll, so a problem just fixed may still show once.
MAPPING_CONFIRM = 2.0


def function_hops(state: RouteState, view: TraceView) -> tuple[Hop, Hop]:
    route = state.route
    if not route.functions:
        stalled = Hop(
            "received",
            "stalled",
            route.queue_arn,
            detail=f"nothing reads {route.queue_name} (no event source mapping)",
            evidence="offline",
        )
        return stalled, Hop("processed", "skipped", route.queue_arn)
    function = route.functions[0]
    where = function.function_arn
    off = [f for f in route.functions if f.mapping_state.lower() in ("disabled", "disabling")]
    if len(off) == len(route.functions):
        return (
            Hop(
                "received",
                "stalled",
                function.mapping_arn,
                detail=f"the mapping from {route.queue_name} is {function.mapping_state}: nothing polls the queue",
                evidence="offline",
            ),
            Hop("processed", "skipped", where),
        )
    if state.invocations:
        return _from_ledger(state, view, where)
    lines = [line for found in state.lines.values() for line in found]
    if lines:
        return _from_logs(state, view, lines, where)
    blocked = blocked_mappings(state, view.now)
    if blocked:
        return _cannot_poll(state, blocked), Hop("processed", "skipped", where)
    if state.metrics and not view.has_invocation_ledger:
        return _from_metrics(state, where)
    source = "the runner's ledger" if view.has_invocation_ledger else "the function's log lines with the event id"
    return (
        Hop(
            "received",
            "waiting",
            where,
            detail=f"no record yet in {source}",
            evidence="ledger" if view.has_invocation_ledger else "logs",
        ),
        Hop("processed", "waiting", where, detail="not yet received"),
    )


def blocked_mappings(state: RouteState, now: float) -> list[tuple[FunctionHop, MappingState]]:
    """Every mapping of the route, when each has shown a problem (not Enabled, or LastProcessingResult PROBLEM) on
    reads at least MAPPING_CONFIRM seconds apart; [] when any of them may still poll."""
    blocked = []
    for function in state.route.functions:
        mapping = state.mappings.get(function.mapping_arn)
        since = state.problem_since.get(function.mapping_arn)
        if mapping is None or mapping.problem is None or since is None or now - since < MAPPING_CONFIRM:
            return []
        blocked.append((function, mapping))
    return blocked


def _cannot_poll(state: RouteState, blocked: list[tuple[FunctionHop, MappingState]]) -> Hop:
    function, mapping = blocked[0]
    since = min(state.problem_since.get(f.mapping_arn, 0.0) for f, _ in blocked)
    return Hop(
        "received",
        "stalled",
        function.mapping_arn,
        int(since * 1000),
        f"the mapping from {state.route.queue_name} to {function.function_name} cannot poll: {mapping.problem} "
        "(the event waits in the queue; nothing receives it)",
        "mapping",
        data={"mappings": [{"uuid": m.uuid, **dict(m.raw)} for _, m in blocked]},
    )


def _from_metrics(state: RouteState, where: str) -> tuple[Hop, Hop]:
    """Aggregates only (AWS without the event id in the logs): the function ran, the queue deleted messages, and
    Lambda counted no error since publishing. Not specific to this event; 1–3 minutes late."""
    metrics = state.metrics
    data: dict[str, Any] = {"metrics": dict(metrics)}
    invoked = sum(v or 0 for k, v in metrics.items() if k.startswith("fn_invocations"))
    errors = sum(v or 0 for k, v in metrics.items() if k.startswith("fn_errors"))
    deleted = metrics.get("deleted") or 0
    note = "since publishing (CloudWatch; not specific to this event)"
    if not invoked:
        detail = f"Lambda Invocations not yet visible ({METRICS_DELAY}; the function's logs carry no line with the "
        detail += "event id)"
        return (
            Hop("received", "waiting", where, detail=detail, evidence="metrics", exact=False, data=data),
            Hop("processed", "waiting", where, detail="not yet received"),
        )
    received = Hop("received", "ok", where, None, f"Lambda Invocations {invoked:g} {note}", "metrics", False, data)
    if deleted and not errors:
        return received, Hop(
            "processed", "ok", where, None, f"NumberOfMessagesDeleted {deleted:g}, Lambda Errors 0 {note}",
            "metrics", False, data,
        )  # fmt: skip
    return received, Hop(
        "processed", "waiting", where, None, f"Lambda Errors {errors:g}, NumberOfMessagesDeleted {deleted:g} {note}",
        "metrics", False, data,
    )  # fmt: skip


def _from_ledger(state: RouteState, view: TraceView, where: str) -> tuple[Hop, Hop]:
    records = state.invocations
    first = records[0]
    data: dict[str, Any] = {"ledger": [dict(r.raw) for r in records]}
    received = Hop(
        "received",
        "ok",
        where,
        first.start_ms,
        f"{first.function_name} received it (request {first.request_id})",
        "ledger",
        data={"request_id": first.request_id},
    )
    filtered = next((r for r in records if r.outcome == "filtered"), None)
    if filtered is not None:
        received = Hop(
            "received",
            "stalled",
            where,
            filtered.start_ms,
            "the mapping's filter criteria did not match: Lambda deleted the message without invoking the function",
            "ledger",
            data=data,
        )
        return received, Hop("processed", "skipped", where)
    runs = ledger_runs(state, view.event_id)
    failed = failures(state, view.event_id)
    if runs:
        took = f" after {len(failed)} failed attempt(s)" if failed else ""
        return received, _processed(state, view, runs, where, "ledger", data, took)
    if failed:
        return received, _failing(state, view, where, failed[-1].end_ms, failed[-1].error, "ledger", data)
    last = records[-1]
    return received, Hop(
        "processed", "waiting", where, None, f"{last.outcome} (request {last.request_id})", "ledger", data=data
    )


def _from_logs(state: RouteState, view: TraceView, lines: list[LogEvent], where: str) -> tuple[Hop, Hop]:
    lines = sorted(lines, key=lambda line: line["timestamp"])
    data: dict[str, Any] = {
        "log_lines": [{"timestamp": ln["timestamp"], "message": ln["message"]} for ln in lines[:20]]
    }
    received = Hop("received", "ok", where, lines[0]["timestamp"], "a log line carries the event id", "logs", data=data)
    runs = log_runs(lines, state.route.functions[0].function_name if state.route.functions else "")
    if len(runs) > 1:
        return received, _processed(state, view, runs, where, "logs", data, "")
    errors = [ln for ln in lines if classify_message(ln["message"])[0] in ERROR_KINDS]
    if errors:
        return received, _failing(state, view, where, errors[-1]["timestamp"], errors[-1]["message"], "logs", data)
    return received, _processed(state, view, runs, where, "logs", data, "") if runs else Hop(
        "processed", "ok", where, lines[-1]["timestamp"], "its log lines show no error", "logs", data=data
    )


def _when(ms: int | None) -> str:
    return iso_utc(ms, precision="milliseconds")[11:23] if ms is not None else "?"


def _run_dict(run: Run) -> dict[str, Any]:
    return {
        "request_id": run.request_id or None,
        "function": run.function_name,
        "start": iso_utc(run.start_ms, precision="milliseconds") if run.start_ms is not None else None,
        "end": iso_utc(run.end_ms, precision="milliseconds") if run.end_ms is not None else None,
        "log_stream": run.log_stream or None,
    }


def _processed(
    state: RouteState, view: TraceView, runs: list[Run], where: str, evidence: Evidence, data: dict[str, Any], took: str
) -> Hop:
    """`processed` once (ok, with the duplicate watch in its data when one may still come), or more than once
    (duplicated: each run with its request id and times)."""
    data = {**data, "processed_by": [_run_dict(r) for r in runs]}
    first = runs[0]
    label = f"request {first.request_id}" if first.request_id else f"log stream {first.log_stream}"
    if len(runs) == 1:
        until = watch_until(state, runs, from_logs=evidence == "logs")
        if until is not None:
            data["duplicate_watch_until"] = iso_utc(int(until * 1000), precision="milliseconds")
        text = f"{first.function_name} processed it ({label}){took}"
        if evidence == "logs" and not first.request_id:
            text = f"its log lines show no error ({label})"
        return Hop("processed", "ok", where, first.end_ms, text, evidence, data=data)
    each = ", ".join(
        f"{'request ' + r.request_id if r.request_id else 'stream ' + r.log_stream} {_when(r.start_ms)}–{_when(r.end_ms)}"
        for r in runs
    )
    return Hop(
        "processed",
        "duplicated",
        where,
        runs[1].end_ms,
        f"processed {len(runs)} times (a duplicate): {each}",
        evidence,
        data=data,
    )


def _failing(
    state: RouteState,
    view: TraceView,
    where: str,
    at: int | None,
    error: str | None,
    evidence: Evidence,
    data: dict[str, Any],
) -> Hop:
    route = state.route
    count = len(failures(state, view.event_id)) or 1
    what = f"the function failed {count} time(s)" + (f": {error}" if error else "")
    if state.in_dlq is not None or not route.dlq_arn:
        end = "moved to the DLQ" if state.in_dlq else "no DLQ: it is retried until the queue's retention expires"
        return Hop("processed", "stalled", where, at, f"{what}; {end}", evidence, data=data)
    if view.timed_out:
        return Hop(
            "processed",
            "stalled",
            where,
            at,
            f"{what}; not in the DLQ yet (SQS moves it after {route.max_receive_count or '?'} receives)",
            evidence,
            data=data,
        )
    return Hop(
        "processed",
        "waiting",
        where,
        at,
        f"{what}; waiting for it to reach the DLQ after {route.max_receive_count or '?'} receives",
        evidence,
        data=data,
    )
