"""What a load run amounts to: its summary (a dict: JSON, the table, the stderr line) and the error it ends with.

    summary = summarize(report)      # published + failed + not_sent == requested
    error = load_error(report, failed_to="failed.jsonl")    # None when every requested event was published

Rates (docs/load.md): `offered` is --rate; `achieved` is the events sent over the time they were sent in (from
the start to the last send, plus one event's interval), so it equals `offered` when every batch left on time;
`throughput` is the events published per second from the start to the last answer (plus, with a rate, that
interval too).
"""

from __future__ import annotations

from typing import Any

from evctl.core.events.outcome import missing_hint
from evctl.core.load.engine import LoadReport
from evctl.core.load.stats import percentiles
from evctl.errors import EvctlError, Interrupted, PartialFailure, from_aws

__all__ = ["load_error", "summarize"]


def _rounded(value: float, places: int) -> float:
    """`value` to `places` decimals, or to 3 significant digits when that would make a positive rate 0.0 (an
    offered 0.0001/m is 1.67e-06/s, not 0)."""
    kept = round(value, places)
    return kept if kept or not value else float(f"{value:.3g}")


def _rate(events: int, seconds: float | None) -> float | None:
    return _rounded(events / seconds, 1) if seconds and seconds > 0 else None


def summarize(report: LoadReport) -> dict[str, Any]:
    stats, rate = report.stats, report.rate
    started = report.started
    if stats.last_sent is None:
        achieved = None
    elif rate:
        achieved = _rate(stats.sent, stats.last_sent - started + 1 / rate)
    else:
        achieved = _rate(stats.sent, (stats.last_finished or report.ended) - started)
    answered = (
        (stats.last_finished - started + (1 / rate if rate else 0.0)) if stats.last_finished is not None else None
    )
    return {
        "requested": report.requested,
        "published": stats.published,
        "failed": stats.failed,
        "not_sent": report.not_sent,
        "stopped": report.stopped,
        "seconds": round(report.ended - started, 3),
        "offered_rate": _rounded(rate, 3) if rate else None,
        "achieved_rate": achieved,
        "throughput": _rate(stats.published, answered),
        "batch_size": report.batch_size,
        "api_calls": stats.api_calls,
        "retries": {"entries": stats.entry_resends, "calls": stats.call_retries},
        "throttled": {
            "calls": stats.throttled_calls,
            "entries": stats.throttled_entries,
            "paused_seconds": round(report.paused, 3),
        },
        "failures": dict(stats.failures.most_common()),
        "latency_ms": percentiles(stats.latencies),
        "latency_from_due_ms": percentiles(stats.from_due) if rate else None,
        "schedule_lag_ms": percentiles(stats.lag, (50, 99)) if rate else None,
        "concurrency": {
            "cap": report.concurrency,
            "max_in_flight": report.max_in_flight,
            "batches_waited_for_slot": report.slot_waits,
        },
    }


def load_error(
    report: LoadReport, *, invalid: int = 0, failed_to: str | None, what: str, stopped_word: str = "stopped"
) -> EvctlError | None:
    """The error the run ends with: Interrupted (a stop), the whole-call error that ended it (mapped from AWS,
    `what` naming the bus; `stopped_word` says how it stopped: interrupted, terminated), or PartialFailure (exit 1) when events failed, were not sent or were invalid lines."""
    stats = report.stats
    kept = f"the {stats.failed} that failed are in {failed_to}" if failed_to else "pass --failed-to FILE to keep them"
    if report.stopped:
        return Interrupted(
            f"{stopped_word}: published {stats.published} of {report.requested} events"
            f" ({stats.failed} failed, {report.not_sent} not sent)",
            kept if stats.failed else None,
        )
    if report.fatal is not None:
        error = report.fatal if isinstance(report.fatal, EvctlError) else from_aws(report.fatal, what)
        if error is None:
            error = EvctlError(f"{type(report.fatal).__name__}: {report.fatal}")
        lost = f"{stats.failed + report.not_sent} of {report.requested} event(s) not published"
        error.hint = f"{error.hint}; {lost}" if error.hint else lost
        return error
    if not stats.failed and not invalid:
        return None
    skipped = f"{invalid} invalid line(s) skipped (not sent)"
    return PartialFailure(
        f"{stats.failed} of {report.requested} events failed" + (f"; {skipped}" if invalid else "")
        if stats.failed
        else f"{skipped}; the {report.requested} events made from the valid ones were published",
        missing_hint(stats.failed, invalid, failed_to),
    )
