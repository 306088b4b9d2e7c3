"""`evctl queue` on the terminal and in each output mode: list/stats columns and rows, peek's human view,
and the one-line summaries of a drain and a send.

output.result([stats_row(s) for s in list_queues(sqs)], columns=LIST_COLUMNS)          # queue list
output.result([stats_row(s) for s in stats], columns=STATS_COLUMNS)                    # queue stats
writer.write(decoded(message), human=peek_text(decoded(message), max_receive_count))  # queue peek
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evctl.render.jsontext import dumps
from evctl.render.tables import Column

if TYPE_CHECKING:
    from evctl.core.moving import MoveReport
    from evctl.core.queues import PeekResult, QueueStats

# Names never wrap; at 80 columns the depths and the DLQ stay, the settings go first (see evctl.render.tables).
LIST_COLUMNS = [
    Column("name", "QUEUE", priority=0, no_wrap=True),
    Column("type", "TYPE", priority=3, no_wrap=True),
    Column("visible", "VISIBLE", align="right", no_wrap=True),
    Column("in_flight", "IN FLIGHT", align="right", no_wrap=True, short="FLIGHT"),
    Column("delayed", "DELAYED", priority=2, align="right", no_wrap=True, short="DELAY"),
    Column("dlq", "DLQ", no_wrap=True),
    Column("max_receive_count", "MAX RECEIVES", priority=2, align="right", no_wrap=True, short="MAX RCV"),
    Column("retention", "RETENTION", priority=4, align="right", no_wrap=True, short="RETAIN"),
    Column("visibility_timeout", "VISIBILITY (S)", priority=4, align="right", no_wrap=True, short="VIS (S)"),
]
STATS_COLUMNS = [
    *LIST_COLUMNS[:7],
    Column("dlq_depth", "DLQ DEPTH", align="right", no_wrap=True, short="IN DLQ"),
    Column("dlq_sources", "DLQ OF", priority=2, no_wrap=True),
    *LIST_COLUMNS[7:],
]


def duration(seconds: int) -> str:
    """Whole days, hours or minutes when the seconds divide evenly: 345600 → '4d', 90 → '90s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def stats_row(stats: QueueStats) -> dict[str, Any]:
    """One queue as a `queue list` / `queue stats` row (and JSON object)."""
    redrive = stats.redrive
    return {
        "name": stats.queue.name,
        "type": "fifo" if stats.queue.fifo else "standard",
        "visible": stats.visible,
        "in_flight": stats.in_flight,
        "delayed": stats.delayed,
        "dlq": redrive.dead_letter_name if redrive else None,
        "max_receive_count": redrive.max_receive_count if redrive else None,
        "retention": duration(stats.retention_seconds),
        "visibility_timeout": stats.visibility_timeout,
        **({"dlq_depth": stats.dlq_depth} if redrive is not None and stats.dlq_depth is not None else {}),
        **({"dlq_sources": stats.dlq_sources} if stats.dlq_sources is not None else {}),
        "url": stats.queue.url,
        "arn": stats.queue.arn,
    }


def peek_text(record: dict[str, Any], max_receive_count: int | None) -> str:
    """One peeked message (its decoded view) for people: a header line, then the body or the event's detail."""
    attrs = record["attributes"]
    count = attrs.get("ApproximateReceiveCount")
    limit = f"/{max_receive_count}" if max_receive_count else ""
    head = [f"── {record['messageId']}", f"{record['kind']}", f"sent {attrs.get('SentTimestamp')}"]
    head.append(f"received {count}{limit}")
    if attrs.get("MessageGroupId"):
        head.append(f"group {attrs['MessageGroupId']}")
    lines = [" · ".join(head)]
    if record.get("event"):
        event = record["event"]
        lines.append(f"  {event['source']} / {event['detail-type']} · {event['time']} · id {event['id']}")
        lines.append(_indent(dumps(event.get("detail"), pretty=True)))
    elif record["kind"] in ("json", "sns"):
        lines.append(_indent(dumps(record["body"], pretty=True)))
    elif record["kind"] == "binary":
        lines.append(f"  (binary, base64) {record['body']}")
    else:
        lines.append(_indent(str(record["body"])))
    if record["messageAttributes"]:
        lines.append("  attributes: " + dumps(record["messageAttributes"]))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def peek_notes(result: PeekResult) -> list[tuple[str, str]]:
    """What to tell the user after a peek, as (level, text) pairs; level is "info" or "warn"."""
    queue = result.queue
    notes = [
        (
            "info",
            f"{len(result.messages)} message(s) from {queue.name}; each receive raised its ApproximateReceiveCount "
            f"by 1; all released (visibility 0), none deleted",
        )
    ]
    if result.duplicates:
        notes.append(("info", f"{result.duplicates} repeated receive(s) deduplicated by MessageId"))
    if result.memory_error:
        notes.append(("warn", result.memory_error))
    if result.release_failed:
        notes.append(("warn", f"{result.release_failed} message(s) could not be released; they reappear after 30 s"))
    if queue.fifo and result.messages:
        notes.append(
            (
                "info",
                "FIFO: a peek holds each message group it received from until it releases it, and only the first "
                "messages of each group can be seen",
            )
        )
    if result.at_limit:
        stopped = "stopped: " if result.stopped_by == "limit" else ""
        further = " (--force to peek further anyway)" if result.stopped_by == "limit" else ""
        notes.append(
            (
                "warn",
                f"{stopped}{len(result.at_limit)} message(s) reached maxReceiveCount {result.max_receive_count}; "
                f"one more receive by anyone moves them to the dead-letter queue{further}",
            )
        )
    return notes


def drain_line(report: MoveReport) -> str:
    """The one-line account of a drain."""
    line = (
        f"{report.source.name}: received {report.received}, written {report.accepted}, deleted {report.deleted}, "
        f"filtered out {report.filtered}, failed {report.failed}"
    )
    if report.undeleted:
        line += f", written but not deleted {report.undeleted} (they stay in the queue: duplicates)"
    return line


def duplicates_note(report: MoveReport, *, where: str, source: str) -> str | None:
    """A warning naming the messages that are both in `where` and still in `source` (a rerun moves them again)."""
    ids = report.duplicate_ids
    if not ids:
        return None
    shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    return f"{len(ids)} message(s) are in {where} and still in {source} (a rerun moves them again): {shown}"
