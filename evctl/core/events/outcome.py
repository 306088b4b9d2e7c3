"""What a publish run amounts to: its summary, the entries not published, and the error (exit code) it ends with.

summary = summarize(report, events=len(inputs), invalid=2, seconds=1.5)   # a dict, for JSON and tables
unpublished_entries(report, entries)          # the entries to keep for a retry (the --failed-to lines)
error = outcome_error(report, events=len(inputs), invalid=2, failed_to="failed.jsonl", what="bus")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evctl.core.events.publishing import PublishReport
from evctl.errors import EvctlError, Interrupted, PartialFailure, from_aws


def summarize(report: PublishReport, *, events: int, invalid: int, seconds: float) -> dict[str, Any]:
    """Counts of the run (every input event is published, failed, invalid or not sent) and its speed."""
    not_sent = sum(1 for r in report.results if r.status == "not_sent")
    return {
        "events": events,
        "published": report.succeeded,
        "failed": len(report.failed) - not_sent,
        "invalid": invalid,
        "not_sent": not_sent,
        "api_calls": report.api_calls,
        "retried_entries": report.retried_entries,
        "seconds": round(seconds, 3),
        "events_per_second": round(report.succeeded / seconds, 1) if seconds > 0 else None,
    }


def unpublished_entries(report: PublishReport, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries (those given to `publish`) that were not published, in input order."""
    return [entries[r.index] for r in report.results if not r.ok]


def outcome_error(
    report: PublishReport, *, events: int, invalid: int, failed_to: str | None, what: str
) -> BaseException | None:
    """The error the run ends with (None: every event published); its hint says where each kind of event not
    published is: those that failed or were not sent are in `failed_to` (or could be, with --failed-to); invalid
    lines never are (a retry would fail again), so the hint sends the user to the warnings that name them.

    Interrupted (exit 130) first, then the whole-call error that stopped the run (mapped from AWS, `what` naming
    the bus), then PartialFailure (exit 1) for events failed, not sent or invalid."""
    unpublished = sum(1 for r in report.results if not r.ok)
    kept = f"they are in {failed_to}" if failed_to else "pass --failed-to FILE to keep them for a retry"
    if report.interrupted:
        return Interrupted(f"interrupted: published {report.succeeded} of {events} events", kept)
    if report.fatal is not None:
        error = report.fatal if isinstance(report.fatal, EvctlError) else from_aws(report.fatal, what)
        if error is None:
            return report.fatal
        error.hint = f"{error.hint}; {unpublished} event(s) not published, {kept}" if error.hint else kept
        return error
    if not unpublished and not invalid:
        return None
    return PartialFailure(
        f"{unpublished + invalid} of {events} events were not published", missing_hint(unpublished, invalid, failed_to)
    )


def missing_hint(unpublished: int, invalid: int, failed_to: str | None) -> str:
    """What to do about the events not published: true for each kind (--failed-to never holds invalid lines)."""
    kept = f"they are in {failed_to}" if failed_to else "pass --failed-to FILE to keep them for a retry"
    fix = f"fix the invalid line{'s' if invalid > 1 else ''} named above and publish again"
    if not invalid:
        return kept
    if not unpublished:
        return f"{fix} ({failed_to} holds only events that failed to send)" if failed_to else fix
    return f"{unpublished} failed to send: {kept}; {invalid} invalid: {fix}"
