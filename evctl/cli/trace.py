"""`evctl trace [TEMPLATE | --event @FILE]`: publish one event and follow it hop by hop (docs/trace.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import app_context

if TYPE_CHECKING:
    from evctl.cli.context import AppContext
    from evctl.core.trace import TraceResult

TIMEOUT_HELP = "Wait at most this many seconds for the event to be processed (or to stall for good)."
EVENT_HINT = "give a template name (evctl templates list) or --event @FILE (one PutEvents entry or event; - = stdin)"


def trace(
    ctx: typer.Context,
    template: Annotated[
        str | None,
        typer.Argument(
            metavar="[TEMPLATE]", help="Publish this template (see `evctl templates list`).", show_default=False
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(metavar="@FILE|-", help="The event: a file holding one PutEvents entry or EventBridge event."),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Set a Detail key of the template (repeatable; dotted paths)."),
    ] = None,
    bus: Annotated[
        str | None, typer.Option("--bus", "-b", metavar="NAME|ARN", help="Event bus name or ARN [default: default].")
    ] = None,
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help=TIMEOUT_HELP, min=1, max=3600)] = 60.0,
) -> None:
    """Publish one event and follow it: the rules it matches (and why the near misses don't), its delivery to each
    SQS target, the function receiving and processing it, the DLQ. Prints a timeline with a time for each hop; at
    the first hop where it stalls (or when it was processed twice), runs doctor's checks for that hop and names the
    likely cause by its id. Exit 0 when processed once, 1 when it stalled or was processed twice; Ctrl-C prints what
    is known so far."""
    from evctl.cli.stopping import graceful_stop
    from evctl.core.trace import Tracer
    from evctl.errors import Interrupted

    app = app_context(ctx)
    entry = _entry(app, template, event, sets or [], bus)
    tracer = Tracer(
        app.session_clients(),
        region=str(app.client("sqs").meta.region_name or ""),
        ledgers=_local(app),
        max_attempts=app.settings.max_attempts,
        on_progress=app.output.info,
    )
    try:
        with graceful_stop(app.output, "printing what the trace knows so far") as stop:
            result = tracer.trace(entry, timeout=timeout, should_stop=stop)
    except KeyboardInterrupt:
        if tracer.result is not None and tracer.result.event_id:
            tracer.result.stopped = True
            _show(app, tracer.result)
        raise
    app.output.verdict = 0 if result.status == "processed" else 1  # kept when the reader of a pipe goes away
    _show(app, result)
    if result.stopped:
        raise Interrupted(f"stopped while following {result.event_id}", "what was known so far is printed above")
    if result.status != "processed":
        raise typer.Exit(1)


def _entry(app: AppContext, template: str | None, event: str | None, sets: list[str], bus: str | None) -> Any:
    from evctl.config import load_config
    from evctl.core import events as ev
    from evctl.errors import UsageError

    if (template is None) == (event is None):
        raise UsageError("give a template or --event, not both" if template else "nothing to trace", EVENT_HINT)
    if event is not None and not (event == "-" or (event.startswith("@") and len(event) > 1)):
        raise UsageError(f"--event {event!r}: give @FILE or - (stdin)", EVENT_HINT)
    if event is not None and sets:
        raise UsageError("--set needs a template", EVENT_HINT)
    config = load_config()
    settings = ev.PublishSettings.resolve(
        config,
        bus=bus,
        concurrency=None,
        max_attempts=None,
        max_entry_size=None,
        default_max_attempts=app.settings.max_attempts,
    )
    file = None if event is None else event.removeprefix("@")
    inputs = ev.gather(
        config,
        settings,
        template=template,
        file=file,
        flags=ev.EventFlags(sets=sets),
        stdin=app.output.streams.stdin,
        file_option="--event",
    )
    if len(inputs) != 1:
        raise UsageError(f"{event} holds {len(inputs)} events; trace follows one", "put the one event in its own file")
    ev.select_valid(inputs, strict=True, single=True, warn=app.output.warn)
    entry = dict(inputs[0].entry or {})
    if bus is not None:
        entry["EventBusName"] = bus
    return entry


def _local(app: AppContext) -> bool:
    """An endpoint other than AWS's (the sandbox, an emulator): the sandbox's ledgers may be there."""
    endpoint = str(app.client("logs").meta.endpoint_url or "")
    return not endpoint.split("://", 1)[-1].split("/", 1)[0].endswith(("amazonaws.com", "amazonaws.com.cn"))


def _show(app: AppContext, result: TraceResult) -> None:
    from evctl.render.trace import TEXT_COLUMNS, summary_line, text_rows, timeline_lines

    fmt = app.output.format_for(stream=False)
    if fmt == "table":
        for line in timeline_lines(result, color=app.output.color):
            app.output.write_line(line)
    elif fmt == "text":
        app.output.result(text_rows(result), columns=TEXT_COLUMNS)
    else:
        app.output.result(result.as_dict())
        app.output.info(f"evctl trace: {summary_line(result)}")
