"""`evctl redrive ...`: move dead-lettered messages back (native move tasks or the checked manual path), follow
and cancel move tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from evctl.cli.context import app_context
from evctl.cli.moving import finish_move, show_progress
from evctl.cli.options import DryRunOpt, YesOpt
from evctl.cli.stopping import graceful_stop
from evctl.render.redrive import TASK_COLUMNS, preview_columns, task_result, task_row

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from evctl.cli.context import AppContext
    from evctl.core.moving import FileSink, MoveReport, Sink
    from evctl.core.redrive import NativeProbe, RedrivePlan, RedriveRequest
    from evctl.output import Output

app = typer.Typer(
    help="Move dead-lettered messages back to be processed: natively where SQS can, checked where not.",
    no_args_is_help=True,
)


@app.command("dlq")
def dlq_cmd(
    ctx: typer.Context,
    queue: Annotated[
        str, typer.Argument(metavar="QUEUE", help="The DLQ, or a queue whose DLQ to redrive (name, URL or ARN).")
    ],
    to: Annotated[
        str | None, typer.Option("--to", metavar="QUEUE", help="Move to this queue (name, URL or ARN).")
    ] = None,
    to_bus: Annotated[
        str | None,
        typer.Option("--to-bus", metavar="BUS", help="Publish each message's event to this bus (name or ARN)."),
    ] = None,
    to_sources: Annotated[
        bool, typer.Option("--to-sources", help="Native: return each message to the queue it came from.")
    ] = False,
    mode: Annotated[
        Literal["auto", "native", "manual"],
        typer.Option(metavar="auto|native|manual", help="auto: native when SQS can serve it."),
    ] = "auto",
    rate: Annotated[
        float | None,
        typer.Option(metavar="N", help="At most N messages per second (native: 1-500)."),  # > 0: checked by core
    ] = None,
    max_messages: Annotated[
        int | None, typer.Option("--max", metavar="N", min=1, help="Manual: move at most N.")
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", metavar="JMESPATH", help="Manual: only messages matching (others stay).")
    ] = None,
    group_id: Annotated[
        str | None, typer.Option(metavar="GROUP", help="Standard DLQ → FIFO queue: the message group to use.")
    ] = None,
    journal: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="Manual: append a JSON line per moved message before deleting it."),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Native: start the task, print its handle, return.")
    ] = False,
    concurrency: Annotated[int, typer.Option(metavar="N", min=1, max=16, help="Manual: parallel move loops.")] = 2,
    wait: Annotated[
        int, typer.Option(metavar="SECONDS", min=0, max=20, help="Manual: long-poll wait; an empty poll ends the run.")
    ] = 2,
    visibility_timeout: Annotated[
        int,
        typer.Option(metavar="SECONDS", min=1, max=43200, help="Manual: hold received messages this long (extended)."),
    ] = 60,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Redrive a dead-letter queue: back to its source queue, to --to QUEUE, or to --to-bus BUS."""
    from evctl.core.redrive import RedriveRequest, plan_redrive

    app_ = app_context(ctx)
    sqs: SQSClient = app_.client("sqs", pool=concurrency + 2)
    request = RedriveRequest(
        queue, to=to, to_sources=to_sources, to_bus=to_bus, mode=mode, rate=rate, max_messages=max_messages,
        filter=filter_, group_id=group_id, journal=journal, dry_run=dry_run,
    )  # fmt: skip
    plan = plan_redrive(sqs, request, probe=_probe(app_))
    _explain(app_.output, plan, request)
    if dry_run:
        return _dry_run(app_, plan, request)
    if plan.mode == "native":
        return _native(app_, plan, request, yes=yes, wait=not no_wait)
    return _manual(app_, plan, request, yes=yes, concurrency=concurrency, wait=wait, visibility=visibility_timeout)


@app.command("status")
def status_cmd(
    ctx: typer.Context,
    queue: Annotated[
        str | None, typer.Argument(metavar="[QUEUE]", help="A DLQ or its source queue; default: every DLQ.")
    ] = None,
) -> None:
    """Move tasks (the latest 10 per DLQ) and their state, moved and to-move counts."""
    from evctl.core.redrive import all_dlq_tasks

    app_ = app_context(ctx)
    tasks = all_dlq_tasks(app_.client("sqs"), queue, probe=_probe(app_))
    app_.output.result([task_row(t) for t in tasks], columns=TASK_COLUMNS)


@app.command("cancel")
def cancel_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="TASK_HANDLE|QUEUE", help="A task handle, or the DLQ running it.")],
) -> None:
    """Stop a running move task; what it already moved stays moved."""
    from evctl.core.redrive import cancel

    app_ = app_context(ctx)
    task = cancel(app_.client("sqs"), target, probe=_probe(app_))
    app_.output.info(f"cancelling the move task on {task.source_name}: ~{task.moved} messages were moved")
    app_.output.result(task_result(task))


def _probe(app_: AppContext) -> NativeProbe:
    """Asks once whether the endpoint serves move tasks (a server without them costs one call, not retries)."""
    from evctl.core.redrive import native_probe

    return native_probe(app_.factory.client("sqs", max_attempts=1))


# ---- dlq: the three paths -------------------------------------------------------------------------------------


def _explain(out: Output, plan: RedrivePlan, request: RedriveRequest) -> None:
    for notice in plan.notices:
        out.warn(notice)
    if plan.mode == "manual" and request.mode == "auto":
        out.info(f"manual mode (receive → send → check → delete): {'; '.join(plan.manual_reasons)}")
    out.info(f"redrive {plan.dlq.name} → {plan.destination_label} ({plan.mode} mode)")


def _dry_run(app_: AppContext, plan: RedrivePlan, request: RedriveRequest) -> None:
    """Show what would move with the honest peek (receive, release at once, never delete)."""
    from evctl.core.redrive import preview

    sample, depth = preview(app_.client("sqs"), plan, limit=request.max_messages or 20, filter=request.filter)
    refused = sum(1 for item in sample if not item["movable"])
    what = f"{len(sample) - refused} that would move" + (f" and {refused} that would be refused" if refused else "")
    app_.output.info(f"dry run: ~{depth} messages in {plan.dlq.name}; showing {what}; nothing was moved")
    if refused:
        app_.output.warn(f"{refused} message(s) shown would be refused and stay in {plan.dlq.name} (see WOULD FAIL)")
    app_.output.result(sample, columns=preview_columns(sample))


def _native(app_: AppContext, plan: RedrivePlan, request: RedriveRequest, *, yes: bool, wait: bool) -> None:
    from evctl.core.queues import queue_stats
    from evctl.core.redrive import follow_task, start_move_task
    from evctl.errors import PartialFailure, ServiceError

    out, sqs = app_.output, app_.client("sqs")
    out.moves_data = True  # a closed stdout is reported, not ignored (docs/output.md)
    depth = queue_stats(sqs, plan.dlq).visible
    out.confirm(f"move ~{depth} messages from {plan.dlq.name} to {plan.destination_label}", yes=yes)
    task = start_move_task(sqs, plan.dlq.arn, plan.destination.arn if plan.destination else None, request.rate)
    if not wait:
        out.info(f"move task started; follow it with `evctl redrive status {plan.dlq.name}`")
        return out.result(task_result(task))
    with out.progress(f"redriving {plan.dlq.name}", total=task.to_move) as bar:
        task = follow_task(
            sqs, task, on_progress=lambda t: bar.update(completed=t.moved, total=t.to_move, rate=t.status.lower())
        )
    out.result(task_result(task))
    if task.status == "FAILED":
        raise ServiceError(f"the move task failed: {task.failure or 'no reason given'}", "see `evctl redrive status`")
    if task.status == "CANCELLED":
        raise PartialFailure(f"the move task was cancelled after ~{task.moved} messages", "run the redrive again")


def _manual(
    app_: AppContext,
    plan: RedrivePlan,
    request: RedriveRequest,
    *,
    yes: bool,
    concurrency: int,
    wait: int,
    visibility: int,
) -> None:
    from evctl.core.common.filters import compile_filter
    from evctl.core.moving import check_bus
    from evctl.core.queues import queue_stats
    from evctl.core.redrive import make_sink, manual_redrive

    out, sqs = app_.output, app_.client("sqs", pool=concurrency + 2)
    out.moves_data = True
    compile_filter(request.filter)
    events = app_.client("events") if plan.to_bus else None
    if events is not None and plan.to_bus:
        check_bus(events, plan.to_bus)
    journal = _open_journal(request.journal)
    if journal is not None and journal.repaired_bytes:
        out.warn(
            f"cut a partial last line ({journal.repaired_bytes} bytes) an interrupted run left in {request.journal}"
        )
    try:
        depth = queue_stats(sqs, plan.dlq).visible
        what = f"up to {request.max_messages}" if request.max_messages else f"~{depth}"
        out.confirm(f"move {what} messages from {plan.dlq.name} to {plan.destination_label}", yes=yes)
        sink = make_sink(plan, sqs, events, rate=request.rate, journal=journal)
        with (
            out.progress(f"redriving {plan.dlq.name}", total=request.max_messages or depth) as bar,
            graceful_stop(out, "finishing the batch in hand") as stop,
        ):
            report = manual_redrive(
                sqs, plan, sink, max_messages=request.max_messages, filter=request.filter,
                concurrency=concurrency, wait_seconds=wait, visibility_timeout=visibility, should_stop=stop, on_progress=lambda r: show_progress(bar, r),
            )  # fmt: skip
    finally:
        if journal is not None:
            journal.close()
    _finish_manual(out, plan, report, sink)


def _open_journal(path: str | None) -> FileSink | None:
    from evctl.core.moving import open_file_sink
    from evctl.errors import UsageError

    if path is None:
        return None
    if path == "-":
        raise UsageError("--journal needs a file: standard output carries the result", "name a file")
    return open_file_sink(path, what="--journal")


def _finish_manual(out: Output, plan: RedrivePlan, report: MoveReport, sink: Sink) -> None:
    from evctl.core.redrive import manual_summary
    from evctl.render.queues import duplicates_note

    summary = manual_summary(plan, report, sink)
    line = f"{plan.dlq.name} → {plan.destination_label}: moved {summary['moved']}, failed {summary['failed']}"
    if summary["filtered_out"]:
        line += f", not matching the filter {summary['filtered_out']} (left in the DLQ)"
    if summary["sent_not_deleted"]:
        line += f", sent but not deleted {summary['sent_not_deleted']} (still in the DLQ too: duplicates)"
    note = duplicates_note(report, where=plan.destination_label, source=plan.dlq.name)
    if note:
        out.warn(note)
    finish_move(
        out, report, line=line, result=summary, failure_note=" (left in the DLQ)", still_in=plan.dlq.name,
        stopped=f"redrive stopped: {summary['moved']} messages moved, the rest are still in {plan.dlq.name}",
    )  # fmt: skip
