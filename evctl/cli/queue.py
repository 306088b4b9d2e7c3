"""`evctl queue ...`: list, stats, peek, drain, send and purge SQS queues (named by name, URL or ARN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import app_context
from evctl.cli.moving import graceful_stop, show_progress
from evctl.cli.options import YesOpt

if TYPE_CHECKING:
    from evctl.core.moving.engine import MoveReport
    from evctl.core.queues.queues import PeekResult
    from evctl.output import Output

QueueArg = Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name, URL or ARN.", show_default=False)]

app = typer.Typer(
    help="See what is in SQS queues and move messages out and in without losing any.", no_args_is_help=True
)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    prefix: Annotated[str | None, typer.Argument(help="Only queues whose name starts with this.")] = None,
) -> None:
    """Queues with their depth (visible, in flight, delayed), DLQ, maxReceiveCount, retention and visibility."""
    from evctl.core.queues.queues import LIST_COLUMNS, list_queues

    app_ = app_context(ctx)
    rows = [s.row() for s in list_queues(app_.client("sqs"), prefix)]
    app_.output.result(rows, columns=LIST_COLUMNS)


@app.command("stats")
def stats_cmd(
    ctx: typer.Context,
    queues: Annotated[
        list[str], typer.Argument(metavar="QUEUE...", help="Queue names, URLs or ARNs.", show_default=False)
    ],
    watch: Annotated[
        float | None, typer.Option(metavar="SECONDS", min=1, help="Refresh every SECONDS (in place on a TTY).")
    ] = None,
) -> None:
    """Depth and settings of queues, their dead-letter source queues and their DLQ's depth."""
    import time

    from evctl.core.queues.queues import STATS_COLUMNS, queue_stats, resolve_queue
    from evctl.errors import Interrupted

    app_ = app_context(ctx)
    sqs = app_.client("sqs")
    refs = [resolve_queue(sqs, q) for q in queues]
    out = app_.output
    while True:
        rows = [queue_stats(sqs, ref, with_dlq=True).row() for ref in refs]
        if watch and out.interactive:
            out.streams.stdout.write("\x1b[H\x1b[2J")  # redraw in place
        out.result(rows, columns=STATS_COLUMNS)
        if not watch:
            return
        try:
            time.sleep(watch)
        except KeyboardInterrupt:
            raise Interrupted("stopped watching") from None


@app.command("peek")
def peek_cmd(
    ctx: typer.Context,
    queue: QueueArg,
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=1000, help="Show at most N messages.")] = 10,
    force: Annotated[
        bool, typer.Option("--force", help="Go on even when a receive could push messages to the DLQ.")
    ] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print bodies untouched, one per line.")] = False,
    wait: Annotated[int, typer.Option(metavar="SECONDS", min=0, max=20, help="Long-poll wait per receive.")] = 1,
) -> None:
    """Show messages without consuming them: receive, release (visibility 0), never delete."""
    from evctl.core.queues.queues import default_peek_memory, peek_messages, resolve_queue

    app_ = app_context(ctx)
    sqs = app_.client("sqs")
    ref = resolve_queue(sqs, queue)
    with graceful_stop(app_.output, "stopping the peek") as stop:
        result = peek_messages(
            sqs, ref, count=count, force=force, wait_seconds=wait, should_stop=stop, memory=default_peek_memory()
        )
    _render_peek(app_.output, result, raw=raw)
    if result.stopped_by == "stop":
        from evctl.errors import Interrupted

        raise Interrupted(f"peek interrupted after {len(result.messages)} message(s); all released")


@app.command("drain")
def drain_cmd(
    ctx: typer.Context,
    queue: QueueArg,
    to: Annotated[str, typer.Option("--to", metavar="FILE|-", help="Append JSON lines here (- = stdout).")],
    max_messages: Annotated[int | None, typer.Option("--max", metavar="N", min=1, help="Drain at most N.")] = None,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", metavar="JMESPATH", help="Only messages matching this (others stay in the queue)."),
    ] = None,
    wait: Annotated[int, typer.Option(metavar="SECONDS", min=0, max=20, help="Long-poll wait per receive.")] = 5,
    empty_polls: Annotated[int, typer.Option(metavar="N", min=1, help="Stop after N empty polls in a row.")] = 2,
    visibility_timeout: Annotated[
        int, typer.Option(metavar="SECONDS", min=1, max=43200, help="Hold received messages this long (extended).")
    ] = 60,
    concurrency: Annotated[int, typer.Option(metavar="N", min=1, max=32, help="Parallel receive loops.")] = 1,
    yes: YesOpt = False,
) -> None:
    """Move messages into a file: receive, write + fsync, then delete only what was written."""
    from evctl.core.moving.engine import compile_filter, move
    from evctl.core.moving.sinks import check_file_target, open_file_sink
    from evctl.core.queues.queues import queue_stats, resolve_queue

    app_ = app_context(ctx)
    out = app_.output
    sqs = app_.client("sqs", pool=concurrency + 2)
    ref = resolve_queue(sqs, queue)
    compile_filter(filter_)
    check_file_target(to)
    out.confirm(f"drain {ref.name} into {to} (each message is deleted once written)", yes=yes)
    sink = open_file_sink(to, stdout=_binary_stdout(out))
    if sink.repaired_bytes:
        out.warn(f"cut a partial last line ({sink.repaired_bytes} bytes) an interrupted drain left in {to}")
    try:
        total = queue_stats(sqs, ref).visible
        with (
            out.progress(f"draining {ref.name}", total=max_messages or total) as bar,
            graceful_stop(out, "finishing the batch in hand") as stop,
        ):
            report = move(
                sqs, ref, sink, max_messages=max_messages, filter=filter_, wait_seconds=wait,
                empty_polls_to_stop=empty_polls, visibility_timeout=visibility_timeout,
                concurrency=concurrency, should_stop=stop, on_progress=lambda r: show_progress(bar, r),
            )  # fmt: skip
    except KeyboardInterrupt:  # the second Ctrl-C: quit now; nothing unwritten was deleted
        from evctl.errors import Interrupted

        raise Interrupted("drain aborted", "messages it held reappear when their visibility timeout ends") from None
    finally:
        sink.close()
    _finish_move(out, report, data_on_stdout=to != "-")


@app.command("send")
def send_cmd(
    ctx: typer.Context,
    queue: QueueArg,
    body: Annotated[str | None, typer.Argument(metavar="[BODY|@FILE]", help="A body, or @file to read one.")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", metavar="FILE|-", help="JSON lines as `queue drain` writes them.")
    ] = None,
    group_id: Annotated[str | None, typer.Option(metavar="ID", help="FIFO: the message group.")] = None,
    dedup_id: Annotated[str | None, typer.Option(metavar="ID", help="FIFO: the deduplication id.")] = None,
    delay: Annotated[
        int | None, typer.Option(metavar="SECONDS", min=0, max=900, help="Standard queues: delivery delay.")
    ] = None,
    attr: Annotated[
        list[str] | None, typer.Option("--attr", metavar="NAME=VALUE", help="A String message attribute (repeatable).")
    ] = None,
) -> None:
    """Send a body, a file, or drained JSON lines (body, attributes, FIFO ids restored); batched and checked."""
    from evctl.core.moving.sinks import send_messages
    from evctl.core.queues.queues import prepare_send, queue_attributes, resolve_queue

    app_ = app_context(ctx)
    out = app_.output
    sqs = app_.client("sqs")
    ref = resolve_queue(sqs, queue)
    messages = prepare_send(
        ref, queue_attributes(sqs, ref), body=body, lines_from=from_, stdin=_binary_stdin(out),
        group_id=group_id, dedup_id=dedup_id, delay=delay, message_attributes=attr or [],
    )  # fmt: skip
    done: list[Any] = []
    try:
        outcomes = send_messages(sqs, ref, messages, on_batch=done.extend)
    except KeyboardInterrupt:
        from evctl.errors import Interrupted

        sent = sum(1 for o in done if o.ok)
        raise Interrupted(f"send interrupted: {sent} of {len(messages)} sent", "the rest were not sent") from None
    _finish_send(out, ref.name, outcomes)


@app.command("purge")
def purge_cmd(ctx: typer.Context, queue: QueueArg, yes: YesOpt = False) -> None:
    """Delete every message in a queue (visible and in flight); irreversible."""
    from evctl.core.queues.queues import purge_queue, queue_stats, resolve_queue

    app_ = app_context(ctx)
    sqs = app_.client("sqs")
    ref = resolve_queue(sqs, queue)
    stats = queue_stats(sqs, ref)
    app_.output.confirm(
        f"purge {ref.name}, deleting about {stats.visible + stats.in_flight + stats.delayed} messages for good",
        yes=yes,
    )
    purge_queue(sqs, ref)
    app_.output.info(f"purge of {ref.name} started; SQS can take up to 60 s to finish it")
    app_.output.result({"queue": ref.name, "purged": True, "approximate_messages": stats.visible + stats.in_flight})


# ---- helpers -----------------------------------------------------------------------------------


def _binary_stdout(out: Output) -> Any:
    stream = out.streams.stdout
    return getattr(stream, "buffer", None) or _TextAsBinary(stream)


def _binary_stdin(out: Output) -> Any:
    stream = out.streams.stdin
    return getattr(stream, "buffer", None) or _TextAsBinary(stream)


class _TextAsBinary:
    """A text stream (tests' StringIO) seen as bytes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()

    def read(self) -> bytes:
        data: str = self._stream.read()
        return data.encode("utf-8", "surrogateescape")

    def fileno(self) -> int:
        raise OSError("not a file")


def _finish_move(out: Output, report: MoveReport, *, data_on_stdout: bool) -> None:
    from evctl.errors import Interrupted, PartialFailure

    summary = report.summary()
    line = (
        f"{report.source.name}: received {report.received}, written {report.accepted}, deleted {report.deleted}, "
        f"filtered out {report.filtered}, failed {report.failed}"
    )
    if report.undeleted:
        line += f", written but not deleted {report.undeleted} (they stay in the queue: duplicates)"
    out.info(line)
    for failure in report.failures[:5]:
        out.warn(f"message {failure.message_id}: {failure.code}: {failure.message}")
    if data_on_stdout:
        out.result(summary)
    if report.error is not None:
        raise report.error
    if report.stopped_by == "stop":
        raise Interrupted(f"drain stopped: {report.deleted} messages moved, nothing held was lost")
    if not report.ok:
        raise PartialFailure(
            f"{report.failed + report.undeleted} messages were not moved cleanly", "they are still in the queue"
        )


def _finish_send(out: Output, queue: str, outcomes: list[Any]) -> None:
    from evctl.errors import PartialFailure

    sent = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed[:10]:
        out.warn(f"{outcome.message.origin or 'message'}: {outcome.code}: {outcome.error}")
    if len(outcomes) == 1 and sent:
        out.result({"queue": queue, "message_id": sent[0].message_id})
    else:
        out.result({"queue": queue, "sent": len(sent), "failed": len(failed)})
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(outcomes)} messages were not sent", "see the warnings above")


def _render_peek(out: Output, result: PeekResult, *, raw: bool) -> None:
    from evctl.core.queues.messages import decoded

    if raw:
        for message in result.messages:
            out.write_line(message.body)
    else:
        fmt = out.format_for(stream=True)
        with out.records() as writer:
            for message in result.messages:
                record = decoded(message)
                writer.write(record, human=_human(record, result) if fmt == "table" else None)
    _peek_notes(out, result)


def _human(record: dict[str, Any], result: PeekResult) -> str:
    from evctl.output import dumps

    attrs = record["attributes"]
    count = attrs.get("ApproximateReceiveCount")
    limit = f"/{result.max_receive_count}" if result.max_receive_count else ""
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


def _peek_notes(out: Output, result: PeekResult) -> None:
    queue = result.queue
    out.info(
        f"{len(result.messages)} message(s) from {queue.name}; each receive raised its ApproximateReceiveCount by 1; "
        f"all released (visibility 0), none deleted"
    )
    if result.duplicates:
        out.info(f"{result.duplicates} repeated receive(s) deduplicated by MessageId")
    if result.release_failed:
        out.warn(f"{result.release_failed} message(s) could not be released; they reappear after 30 s")
    if queue.fifo and result.messages:
        out.info(
            "FIFO: a peek holds each message group it received from until it releases it, and only the first "
            "messages of each group can be seen"
        )
    if result.at_limit:
        stopped = "stopped: " if result.stopped_by == "limit" else ""
        further = " (--force to peek further anyway)" if result.stopped_by == "limit" else ""
        out.warn(
            f"{stopped}{len(result.at_limit)} message(s) reached maxReceiveCount {result.max_receive_count}; "
            f"one more receive by anyone moves them to the dead-letter queue{further}"
        )


__all__ = ["app"]
