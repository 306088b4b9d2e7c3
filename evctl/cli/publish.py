"""`evctl publish`: events from flags, a named template, or a JSON-lines file, batched and retried safely."""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import app_context
from evctl.output import Progress, RecordWriter

if TYPE_CHECKING:
    from evctl.cli.context import AppContext
    from evctl.config import Config
    from evctl.core.events.entries import EntryResult, InputEvent, PublishReport, PublishSettings
    from evctl.output import Output

RESULT_COLUMNS = [
    ("index", "#"),
    ("line", "line"),
    ("status", "status"),
    ("event_id", "event id"),
    ("error_code", "error"),
    ("error_message", "message"),
    ("attempts", "attempts"),
]

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
        str | None, typer.Option(metavar="TIME", help="Event time, RFC 3339 (default: when AWS receives it).")
    ] = None,
    bus: Annotated[
        str | None, typer.Option("--bus", "-b", metavar="NAME|ARN", help="Event bus name or ARN [default: default].")
    ] = None,
    trace_header: Annotated[str | None, typer.Option(metavar="HEADER", help="X-Ray trace header.")] = None,
    file: FileOpt = None,
    concurrency: Annotated[
        int | None, typer.Option(metavar="N", min=1, max=64, help="Parallel PutEvents calls [default: 4].")
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
) -> None:
    """Publish events to an EventBridge bus: from flags, a named template, or a JSON-lines file.

    Batches of up to 10 entries (within the size cap) go out in parallel; entries that fail with
    InternalFailure or ThrottlingException are re-sent with backoff. Exit 1 when any event is not published.
    """
    from evctl.config import load_config
    from evctl.core.events import entries as ev

    app = app_context(ctx)
    config = load_config()
    settings = ev.PublishSettings.resolve(
        config,
        bus=bus,
        concurrency=concurrency,
        max_attempts=max_attempts,
        max_entry_size=max_entry_size,
        default_max_attempts=app.settings.max_attempts,
    )
    options = {"source": source, "detail_type": detail_type, "detail": detail, "resource": resource or []}
    options |= {"time": time, "trace_header": trace_header, "sets": sets or []}
    inputs = _gather(app, config, settings, template, file, options)
    valid = _check(app.output, inputs, strict=strict, single=file is None)
    if dry_run:
        from evctl.cli.rules import report_matching_rules

        report_matching_rules(app, [(inputs[i].line, inputs[i].entry) for i in valid])
        return _show_dry_run(app.output, inputs, valid)
    client = app.client("events", pool=settings.concurrency)
    failed_file = _FailedTo.open(failed_to)
    entries = [entry for i in valid if (entry := inputs[i].entry) is not None]
    printer = _ResultPrinter(app.output, inputs, valid)
    started = _time.monotonic()
    try:
        with printer.progress(lambda: len(ev.plan_batches(entries, max_request_bytes=settings.cap))):
            report = ev.publish(
                client,
                entries,
                concurrency=settings.concurrency,
                max_attempts=settings.max_attempts,
                max_request_bytes=settings.cap,
                on_result=printer.published,
            )
        printer.finish(report, _time.monotonic() - started)
    except BaseException:
        if failed_file is not None:
            failed_file.discard()
        raise
    _conclude(
        report,
        inputs,
        valid,
        failed_file,
        failed_to,
        what=f"event bus {settings.bus!r}" if file is None else "event bus",
    )


def _gather(
    app: AppContext,
    config: Config,
    settings: PublishSettings,
    template: str | None,
    file: str | None,
    o: dict[str, Any],
) -> list[InputEvent]:
    """The input events, from exactly one of: --file, a template, or --source/--detail-type flags."""
    from evctl.core.events import entries as ev
    from evctl.core.events import templates as tp
    from evctl.errors import UsageError

    given = [f"--{k.replace('_', '-')}" for k, v in o.items() if v]
    if file is not None:
        if template or given:
            raise UsageError(f"--file cannot be combined with {template or ', '.join(given)}")
        return _read_file(app, file, settings)
    if template is not None:
        clash = [g for g in given if g in ("--source", "--detail-type", "--detail")]
        if clash:
            raise UsageError(f"{', '.join(clash)} cannot be combined with template {template!r}", "use --set KEY=VALUE")
        entry = tp.render(tp.get_template(template, config), tp.parse_sets(o["sets"]))
        # --bus, then the template's bus, then [publish] bus / "default"
        entry["EventBusName"] = settings.bus_flag or entry.get("EventBusName") or settings.bus
    else:
        if o["sets"]:
            raise UsageError("--set needs a template", "e.g. evctl publish signup --set email=ann@example.com")
        if not (o["source"] or o["detail_type"] or o["detail"]):
            raise UsageError("nothing to publish", "give a template name, --source and --detail-type, or --file")
        entry = {"Source": o["source"], "DetailType": o["detail_type"], "EventBusName": settings.bus}
        entry["Detail"] = "{}" if o["detail"] is None else _detail_text(app, o["detail"])
    flags = {"Resources": o["resource"], "Time": o["time"], "TraceHeader": o["trace_header"]}
    entry |= {key: value for key, value in flags.items() if value}  # a template's Resources stay unless given
    entry = {k: v for k, v in entry.items() if v is not None}
    return [ev.parse_event(entry, line=None, default_bus=settings.bus, max_entry_bytes=settings.cap)]


def _read_file(app: AppContext, file: str, settings: PublishSettings) -> list[InputEvent]:
    from evctl.core.events import entries as ev
    from evctl.errors import UsageError

    name = "stdin" if file == "-" else file
    try:
        if file == "-":
            stdin = app.output.streams.stdin
            inputs = ev.read_jsonl(
                getattr(stdin, "buffer", stdin), default_bus=settings.bus, max_entry_bytes=settings.cap
            )
        else:
            with open(file, "rb") as handle:
                inputs = ev.read_jsonl(handle, default_bus=settings.bus, max_entry_bytes=settings.cap)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}", "check the path given to --file") from exc
    if not inputs:
        raise UsageError(f"no events in {name}", "expected one JSON object per line")
    return inputs


def _detail_text(app: AppContext, value: str) -> str:
    from evctl.errors import UsageError

    if value == "-":
        stdin = app.output.streams.stdin
        data = getattr(stdin, "buffer", stdin).read()
        try:
            return data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise UsageError("--detail - : stdin is not UTF-8 text") from None
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"cannot read --detail file {value[1:]!r}: {reason}") from exc
    return value


def _check(output: Output, inputs: list[InputEvent], *, strict: bool, single: bool) -> list[int]:
    """Positions of the valid events; invalid ones reported on stderr with their line number."""
    from evctl.errors import UsageError

    if single and not inputs[0].valid:
        raise UsageError(f"invalid event: {'; '.join(inputs[0].problems)}", "nothing was sent")
    valid = [i for i, event in enumerate(inputs) if event.valid]
    for event in inputs:
        for problem in event.problems:
            output.warn(f"line {event.line}: {problem}")
    invalid = len(inputs) - len(valid)
    if invalid and strict:
        raise UsageError(f"{invalid} of {len(inputs)} events are invalid; nothing was sent (--strict)")
    if not valid:
        raise UsageError(f"none of the {len(inputs)} events is valid; nothing was sent", "see the lines above")
    return valid


def _show_dry_run(output: Output, inputs: list[InputEvent], valid: list[int]) -> None:
    from evctl.core.events.entries import entry_to_json
    from evctl.errors import PartialFailure
    from evctl.output import dumps

    entries = [entry_to_json(inputs[i].entry or {}, detail_as_object=True) for i in valid]
    fmt = output.format_for(stream=True)
    if fmt == "json":
        output.result(entries)
    for entry in entries if fmt != "json" else []:
        output.write_line(dumps(entry, pretty=fmt == "table"))
    output.info(f"dry run: {len(valid)} valid event(s) of {len(inputs)}; nothing was sent")
    if len(valid) < len(inputs):
        raise PartialFailure(f"{len(inputs) - len(valid)} of {len(inputs)} events are invalid (dry run)")


class _FailedTo:
    """--failed-to: a temporary file beside the target, opened before anything is sent (an unwritable path
    costs nothing) and renamed over the target at the end, so `--file x --failed-to x` never loses x."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path, self.handle = path, handle

    @classmethod
    def open(cls, path: Path | None) -> _FailedTo | None:
        import tempfile

        from evctl.errors import UsageError

        if path is None:
            return None
        if path.is_dir():
            raise UsageError(f"--failed-to {str(path)!r} is a directory", "give a file name")
        try:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in commit)
                "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
            )
        except OSError as exc:
            raise UsageError(f"cannot write --failed-to file {str(path)!r}: {exc.strerror}") from exc
        return cls(path, handle)

    def commit(self, lines: list[str]) -> None:
        import os

        with self.handle:
            self.handle.writelines(lines)
        os.replace(self.handle.name, self.path)

    def discard(self) -> None:
        """After an unexpected error: drop the temporary file, leave the target as it was."""
        import contextlib
        import os

        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.handle.name)


class _ResultPrinter:
    """One record per event (ndjson/text as they finish; json/table at the end) and the progress bar."""

    def __init__(self, output: Output, inputs: list[InputEvent], valid: list[int]) -> None:
        self.output, self.inputs, self.valid = output, inputs, valid
        self.format = output.format_for(stream=True)
        self.records: list[dict[str, Any]] = []
        self._writer = RecordWriter(output, self.format, RESULT_COLUMNS)
        self.bar = Progress(None, None)
        self.started, self.done = _time.monotonic(), 0
        self.stdout_closed = False
        for index, event in enumerate(inputs):
            if not event.valid:
                self._emit(
                    {"index": index, "line": event.line, "status": "invalid", "event_id": None}
                    | {"error_code": "InvalidEntry", "error_message": "; ".join(event.problems), "attempts": 0}
                )

    @contextmanager
    def progress(self, count_batches: Callable[[], int]) -> Iterator[None]:
        """A progress bar on stderr when there is more than one batch (and a bar can be drawn at all)."""
        streams = self.output.streams
        if self.output.quiet or not streams.stderr_isatty or count_batches() <= 1:
            yield
            return
        with self.output.progress("publishing", total=len(self.valid)) as bar:
            self.bar = bar
            yield

    def published(self, result: EntryResult) -> None:
        index = self.valid[result.index]
        self._emit(
            {
                "index": index,
                "line": self.inputs[index].line,
                "status": result.status,
                "event_id": result.event_id,
                "error_code": result.error_code,
                "error_message": result.error_message,
                "attempts": result.attempts,
            }
        )
        self.bar.advance(1)
        self.done += 1
        if self.done % 10 == 0:
            self.bar.update(rate=f"{self.done / max(_time.monotonic() - self.started, 1e-6):,.0f} events/s")

    def _emit(self, record: dict[str, Any]) -> None:
        if self.format in ("ndjson", "text"):
            if self.stdout_closed:
                return
            try:
                self._writer.write(record)
            except (BrokenPipeError, ValueError):  # `| head`: stop printing, never stop publishing
                self.stdout_closed = True
        else:
            self.records.append(record)

    def finish(self, report: PublishReport, seconds: float) -> None:
        summary = _summary(report, len(self.inputs), len(self.inputs) - len(self.valid), seconds)
        self.records.sort(key=lambda r: r["index"])
        if self.format == "json":
            self.output.result({"summary": summary, "results": self.records})
        elif self.format == "table":
            failures = [r for r in self.records if r["status"] != "ok"]
            if failures:
                self.output.result(failures, columns=RESULT_COLUMNS, title="events not published")
            if len(self.inputs) == 1 and report.succeeded == 1:
                summary = {"event_id": report.results[0].event_id} | summary
            self.output.result({k.replace("_", " "): v for k, v in summary.items()}, title="publish")
        else:
            self.output.info(
                f"published {summary['published']} of {summary['events']} events in {summary['api_calls']} "
                f"call(s), {summary['retried_entries']} entry re-send(s), {seconds:.2f} s"
            )


def _summary(report: PublishReport, events: int, invalid: int, seconds: float) -> dict[str, Any]:
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


def _conclude(
    report: PublishReport,
    inputs: list[InputEvent],
    valid: list[int],
    failed_file: _FailedTo | None,
    failed_to: Path | None,
    *,
    what: str,
) -> None:
    """Write --failed-to, then turn what happened into the exit code."""
    from evctl.core.events.entries import entry_to_json
    from evctl.errors import EvctlError, Interrupted, PartialFailure, from_aws
    from evctl.output import dumps

    unpublished = [r for r in report.results if not r.ok]
    if failed_file is not None:
        failed_file.commit([dumps(entry_to_json(inputs[valid[r.index]].entry or {})) + "\n" for r in unpublished])
    kept = f"they are in {failed_to}" if failed_to else "pass --failed-to FILE to keep them for a retry"
    if report.interrupted:
        raise Interrupted(f"interrupted: published {report.succeeded} of {len(inputs)} events", kept)
    if report.fatal is not None:
        error = report.fatal if isinstance(report.fatal, EvctlError) else from_aws(report.fatal, what)
        if error is None:
            raise report.fatal
        error.hint = f"{error.hint}; {len(unpublished)} event(s) not published, {kept}" if error.hint else kept
        raise error
    missing = len(unpublished) + len(inputs) - len(valid)
    if missing:
        raise PartialFailure(f"{missing} of {len(inputs)} events were not published", kept)
