"""`evctl queue ...`: list, stats, peek, drain, send and purge SQS queues (named by name, URL or ARN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from evctl.cli.context import app_context
from evctl.cli.moving import binary_stdout, finish_move, show_progress
from evctl.cli.options import YesOpt
from evctl.cli.stopping import graceful_stop, stop_word

if TYPE_CHECKING:
    from evctl.core.queues import PeekResult, SendOutcome
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
    from evctl.core.queues import list_queues
    from evctl.render.queues import LIST_COLUMNS, stats_row

    app_ = app_context(ctx)
    rows = [stats_row(s) for s in list_queues(app_.client("sqs"), prefix)]
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
    from evctl.core.queues import queue_stats, resolve_queue
    from evctl.errors import Interrupted
    from evctl.render.queues import STATS_COLUMNS, stats_row

    app_ = app_context(ctx)
    sqs = app_.client("sqs")
    refs = [resolve_queue(sqs, q) for q in queues]
    out = app_.output
    if not watch:
        return out.result([stats_row(queue_stats(sqs, ref, with_dlq=True)) for ref in refs], columns=STATS_COLUMNS)
    try:
        while True:  # in place on a terminal; one compact document per refresh in a pipe
            out.refresh([stats_row(queue_stats(sqs, ref, with_dlq=True)) for ref in refs], columns=STATS_COLUMNS)
            out.idle(watch)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP
        raise Interrupted(f"stopped watching ({stop_word()})") from None


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
    from evctl.core.queues import default_peek_memory, peek_messages, resolve_queue

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
    from evctl.core.common.filters import compile_filter
    from evctl.core.moving import check_file_target, move, open_file_sink
    from evctl.core.queues import queue_stats, resolve_queue
    from evctl.render.queues import drain_line, duplicates_note

    app_ = app_context(ctx)
    out = app_.output
    out.moves_data = True  # a closed stdout is reported, not ignored (docs/output.md)
    sqs = app_.client("sqs", pool=concurrency + 2)
    ref = resolve_queue(sqs, queue)
    compile_filter(filter_)
    check_file_target(to)
    out.confirm(f"drain {ref.name} into {to} (each message is deleted once written)", yes=yes)
    sink = open_file_sink(to, stdout=binary_stdout(out))
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
    note = duplicates_note(report, where=sink.name, source=ref.name)
    if note:
        out.warn(note)
    finish_move(
        out, report, line=drain_line(report), result=report.summary() if to != "-" else None,
        stopped=f"drain stopped: {report.deleted} messages moved, nothing held was lost", still_in="the queue",
    )  # fmt: skip


@app.command("send")
def send_cmd(
    ctx: typer.Context,
    queue: QueueArg,
    body: Annotated[
        str | None, typer.Argument(metavar="[BODY|@FILE|-]", help="A body, @file to read one, or - for stdin.")
    ] = None,
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
    from evctl.core.queues import prepare_send, queue_attributes, resolve_queue, send_messages

    app_ = app_context(ctx)
    out = app_.output
    out.moves_data = True
    sqs = app_.client("sqs")
    ref = resolve_queue(sqs, queue)
    messages = prepare_send(
        ref, queue_attributes(sqs, ref), body=body, lines_from=from_, stdin=out.streams.stdin,
        group_id=group_id, dedup_id=dedup_id, delay=delay, message_attributes=attr or [],
    )  # fmt: skip
    done: list[SendOutcome] = []
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
    from evctl.core.queues import purge_queue, queue_stats, resolve_queue

    app_ = app_context(ctx)
    app_.output.moves_data = True  # a closed stdout is reported, not ignored (docs/output.md)
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


def _finish_send(out: Output, queue: str, outcomes: list[SendOutcome]) -> None:
    from evctl.errors import PartialFailure

    sent = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed[:10]:
        out.warn(f"{outcome.message.origin or 'message'}: {outcome.code}: {outcome.error}")
    # One shape however many messages: the ids of those sent, in input order.
    out.result({"queue": queue, "sent": len(sent), "failed": len(failed), "message_ids": [o.message_id for o in sent]})
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(outcomes)} messages were not sent", "see the warnings above")


def _render_peek(out: Output, result: PeekResult, *, raw: bool) -> None:
    from evctl.core.queues import decoded
    from evctl.render.queues import peek_notes, peek_text

    if raw:
        for message in result.messages:
            out.write_line(message.body)
    else:
        human = out.format_for(stream=True) == "table"
        with out.records() as writer:
            for message in result.messages:
                record = decoded(message)
                writer.write(record, human=peek_text(record, result.max_receive_count) if human else None)
    for level, text in peek_notes(result):
        (out.warn if level == "warn" else out.info)(text)


__all__ = ["app"]
