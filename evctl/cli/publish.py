"""`evctl publish`: events from flags, a named template, or a JSON-lines file, batched and retried safely."""

from __future__ import annotations

import contextlib
import time as _time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import app_context

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from evctl.cli.context import AppContext
    from evctl.core.events import InputEvent, PublishReport, PublishSettings
    from evctl.core.load import LoadSpec
    from evctl.output import Output

TemplateArg = Annotated[
    str | None,
    typer.Argument(
        metavar="TEMPLATE", help="Publish from this template (see `evctl templates list`).", show_default=False
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Set a Detail key of the template (repeatable; dotted paths)."),
]
FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file", "-f", metavar="FILE|-", help="JSON lines: PutEvents entries or EventBridge events (- = stdin)."
    ),
]


def publish(
    ctx: typer.Context,
    template: TemplateArg = None,
    sets: SetOpt = None,
    source: Annotated[str | None, typer.Option(metavar="SOURCE", help="Event source, e.g. my.webapp.")] = None,
    detail_type: Annotated[str | None, typer.Option(metavar="TYPE", help="Event detail type, e.g. UserSignup.")] = None,
    detail: Annotated[
        str | None, typer.Option(metavar="JSON|@FILE|-", help="Detail object: JSON text, @file or - (stdin).")
    ] = None,
    resource: Annotated[list[str] | None, typer.Option(metavar="ARN", help="A resource ARN (repeatable).")] = None,
    time: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Event time: RFC 3339 or epoch seconds (default: when AWS receives it)."),
    ] = None,
    bus: Annotated[
        str | None, typer.Option("--bus", "-b", metavar="NAME|ARN", help="Event bus name or ARN [default: default].")
    ] = None,
    trace_header: Annotated[str | None, typer.Option(metavar="HEADER", help="X-Ray trace header.")] = None,
    file: FileOpt = None,
    concurrency: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, max=64, help="Parallel PutEvents calls [default: 4; the cap under load: 64]."),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, max=20, help="Sends per entry for retryable failures [default: root's]."),
    ] = None,
    max_entry_size: Annotated[
        str | None, typer.Option(metavar="SIZE", help="Entry-size cap, e.g. 256KiB (default) or 1MiB.")
    ] = None,
    failed_to: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write events that finally failed here (JSON lines).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the validated entries; send nothing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Send nothing if any event is invalid.")] = False,
    count: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="Load: send N events (a file is cycled; see docs/load.md).")
    ] = None,
    rate: Annotated[
        str | None, typer.Option(metavar="R[/s|/m]", help="Load: offer R events per second (or per minute), open loop.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option(metavar="D", help="Load: for D (e.g. 30s, 2m) at --rate: rate × D events.")
    ] = None,
) -> None:
    """Publish events to an EventBridge bus: from flags, a named template, or a JSON-lines file.

    Batches of up to 10 entries (within the size cap) go out in parallel; entries that fail with
    InternalFailure or ThrottlingException are re-sent with backoff. Exit 1 when any event is not published.
    With --count, --rate or --duration: a load run, each batch sent at its due time ({uuid}, {seq}, {now} filled
    per event), summarised with rates, latencies and failures (docs/load.md).
    """
    from evctl.config import load_config
    from evctl.core import events as ev
    from evctl.core.load import LoadSpec

    app = app_context(ctx)
    _check_size(max_entry_size)
    spec = LoadSpec.resolve(count=count, rate=rate, duration=duration, from_file=file is not None, dry_run=dry_run)
    config = load_config()
    settings = ev.PublishSettings.resolve(
        config,
        bus=bus,
        concurrency=concurrency,
        max_attempts=max_attempts,
        max_entry_size=max_entry_size,
        default_max_attempts=app.settings.max_attempts,
    )
    flags = ev.EventFlags(
        source=source,
        detail_type=detail_type,
        detail=detail,
        resource=resource or [],
        time=time,
        trace_header=trace_header,
        sets=sets or [],
    )
    stdin = app.output.streams.stdin
    inputs = ev.gather(config, settings, template=template, file=file, flags=flags, stdin=stdin, fill=spec is None)
    valid = ev.select_valid(inputs, strict=strict, single=file is None, warn=app.output.warn)
    if spec is not None:
        return _load(
            app,
            settings,
            spec,
            [entry for i in valid if (entry := inputs[i].entry)],
            concurrency,
            failed_to,
            invalid=len(inputs) - len(valid),
            what=f"event bus {settings.bus!r}" if file is None else "event bus",
        )
    if dry_run:
        _report_matching_rules(app, [(inputs[i].line, inputs[i].entry) for i in valid])
        return _show_dry_run(app.output, inputs, valid)
    client = app.client("events", pool=settings.concurrency)
    app.output.moves_data = True  # a closed stdout is reported, not ignored (docs/output.md)
    report = _send(app, client, settings, inputs, valid, failed_to)
    what = f"event bus {settings.bus!r}" if file is None else "event bus"
    kept = str(failed_to) if failed_to else None
    error = ev.outcome_error(report, events=len(inputs), invalid=len(inputs) - len(valid), failed_to=kept, what=what)
    if error is not None:
        raise error


def _check_size(text: str | None) -> None:
    """--max-entry-size readable and positive, or one line naming it (exit 2)."""
    from evctl.core.events import parse_size
    from evctl.errors import UsageError

    if text is None:
        return
    try:
        size = parse_size(text)
    except UsageError as exc:
        raise UsageError(f"--max-entry-size: {exc.message}", exc.hint) from None
    if size <= 0:
        raise UsageError(f"--max-entry-size: {text!r} must be more than 0 bytes", "e.g. 256KiB or 1MiB")


def _send(
    app: AppContext,
    client: EventBridgeClient,
    settings: PublishSettings,
    inputs: list[InputEvent],
    valid: list[int],
    failed_to: Path | None,
) -> PublishReport:
    """Publish the valid events, printing each outcome and the summary as the output mode wants; with `failed_to`,
    write the unpublished ones there (atomically: the file is replaced only when the run ends)."""
    from evctl.core import events as ev
    from evctl.core.common.files import AtomicFile
    from evctl.output import StdoutUnwritable
    from evctl.render.events import PublishPrinter

    failed_file = AtomicFile.create(failed_to, what="--failed-to") if failed_to is not None else None
    entries = [entry for i in valid if (entry := inputs[i].entry) is not None]
    try:
        printer, started = PublishPrinter(app.output, inputs, valid), _time.monotonic()
        with printer.progress(lambda: len(ev.plan_batches(entries, max_request_bytes=settings.cap))):
            report = ev.publish(
                client,
                entries,
                concurrency=settings.concurrency,
                max_attempts=settings.max_attempts,
                max_request_bytes=settings.cap,
                on_result=printer.published,
            )
        seconds = _time.monotonic() - started
        invalid = len(inputs) - len(valid)
        with contextlib.suppress(StdoutUnwritable):  # recorded on the output: reported after --failed-to is written
            printer.finish(ev.summarize(report, events=len(inputs), invalid=invalid, seconds=seconds), seconds)
    except BaseException:
        if failed_file is not None:
            failed_file.discard()
        raise
    if failed_file is not None:
        failed_file.commit(_jsonl(ev.unpublished_entries(report, entries)))
    return report


def _load(
    app: AppContext,
    settings: PublishSettings,
    spec: LoadSpec,
    entries: list[dict[str, Any]],
    concurrency: int | None,
    failed_to: Path | None,
    *,
    invalid: int,
    what: str,
) -> None:
    """A load run (docs/load.md): the events made and sent on schedule by core.load, the live line and the summary
    from render.load, the events that finally failed to --failed-to (written atomically, as for a plain publish)."""
    from evctl.cli.stopping import stop_word
    from evctl.core import load
    from evctl.core.common.files import AtomicFile
    from evctl.output import StdoutUnwritable
    from evctl.render.load import LoadPrinter

    spec.check_length(spec.count or len(entries))
    stream = load.EventStream(entries, count=spec.count or len(entries), rate=spec.rate, cap=settings.cap)
    cap = concurrency or load.DEFAULT_CAP
    client = app.factory.client(
        "events", pool=cap, max_attempts=1
    )  # every retry is load's own, counted (core/load/sender)
    app.output.moves_data = True
    failed_file = AtomicFile.create(failed_to, what="--failed-to") if failed_to is not None else None
    printer = LoadPrinter(app.output)
    try:
        with printer.progress(requested=stream.count, rate=spec.rate) as on_progress:
            report = load.run_load(
                client,
                stream,
                concurrency=cap,
                max_attempts=settings.max_attempts,
                keep_failed=failed_file is not None,
                on_progress=on_progress,
            )
        with contextlib.suppress(StdoutUnwritable):  # recorded on the output: reported after --failed-to is written
            printer.finish(load.summarize(report) | {"invalid": invalid})
    except BaseException:
        if failed_file is not None:
            failed_file.discard()
        raise
    if failed_file is not None:
        failed_file.commit(_jsonl([entry for _, entry in report.stats.failed_entries]))
    kept = str(failed_to) if failed_to else None
    error = load.load_error(report, invalid=invalid, failed_to=kept, what=what, stopped_word=stop_word())
    if error is not None:
        raise error


def _jsonl(entries: list[Mapping[str, Any]]) -> list[str]:
    from evctl.core.events import entry_to_json
    from evctl.output import dumps

    return [dumps(entry_to_json(entry)) + "\n" for entry in entries]


def _report_matching_rules(app: AppContext, events: list[tuple[int | None, dict[str, Any] | None]]) -> None:
    """On stderr, the enabled rules each (line, entry) would match on its bus; a warning for an event that would
    reach no rule. Read-only; if the rules cannot be read, a warning and the dry run goes on."""
    from evctl.core.rules import rules_for_entries
    from evctl.errors import EvctlError
    from evctl.render.rules import matching_rules_messages

    known = [(line, entry) for line, entry in events if entry is not None]
    try:
        found = rules_for_entries(app.client("events"), [entry for _, entry in known])
    except EvctlError as exc:
        app.output.warn(f"could not check which rules the events would match: {exc}")
        return
    for warning, text in matching_rules_messages([line for line, _ in known], found):
        (app.output.warn if warning else app.output.info)(text)


def _show_dry_run(output: Output, inputs: list[InputEvent], valid: list[int]) -> None:
    from evctl.core.events import entry_to_json
    from evctl.errors import PartialFailure
    from evctl.output import dumps
    from evctl.render.tables import printable

    entries = [entry_to_json(inputs[i].entry or {}, detail_as_object=True) for i in valid]
    fmt = output.format_for(stream=True)
    if fmt == "json":
        output.result(entries)
    for entry in entries if fmt != "json" else []:
        text = dumps(entry, pretty=fmt == "table")
        output.write_line(printable(text) if fmt in ("table", "text") else text)  # for a person: no raw controls
    output.info(f"dry run: {len(valid)} valid event(s) of {len(inputs)}; nothing was sent")
    if len(valid) < len(inputs):
        raise PartialFailure(f"{len(inputs) - len(valid)} of {len(inputs)} events are invalid (dry run)")
