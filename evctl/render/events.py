"""`evctl publish` on the terminal and in each output mode: result records, the one-line answer, the summary.

printer = PublishPrinter(output, inputs, valid)       # records for invalid events are written at once
with printer.progress(lambda: batch_count):            # a bar on stderr when there is more than one batch
    report = publish(..., on_result=printer.published)
printer.finish(summarize(report, ...), seconds)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from evctl.output import Progress, RecordWriter, StdoutUnwritable
from evctl.render.tables import Column, printable

if TYPE_CHECKING:
    from evctl.core.events import EntryResult, InputEvent
    from evctl.output import Output

RESULT_COLUMNS = [
    Column("index", "#", priority=0, align="right", no_wrap=True),
    Column("line", "line", align="right", no_wrap=True),
    Column("status", "status", no_wrap=True),
    Column("event_id", "event id", priority=2, no_wrap=True),
    Column("error_code", "error", no_wrap=True),
    Column("error_message", "message", min_width=24),
    Column("attempts", "attempts", priority=3, align="right", no_wrap=True, short="tries"),
]


def result_record(index: int, line: int | None, result: EntryResult) -> dict[str, Any]:
    """One input event's outcome, as every output mode shows it."""
    return {
        "index": index,
        "line": line,
        "status": result.status,
        "event_id": result.event_id,
        "error_code": result.error_code,
        "error_message": result.error_message,
        "attempts": result.attempts,
    }


def invalid_record(index: int, event: InputEvent) -> dict[str, Any]:
    """The record of an event that was not sent because it is invalid."""
    return {"index": index, "line": event.line, "status": "invalid", "event_id": None} | {
        "error_code": "InvalidEntry",
        "error_message": "; ".join(event.problems),
        "attempts": 0,
    }


def single_line(record: Mapping[str, Any], entry: Mapping[str, Any] | None) -> str:
    """What happened to the one event of a single `evctl publish`, in one line with its event id."""
    entry = entry or {}
    what = f"{entry.get('Source', '?')} {entry.get('DetailType', '?')}"
    bus = entry.get("EventBusName", "default")
    attempts = record.get("attempts") or 0
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if record["status"] == "ok":
        return printable(f"published event id {record['event_id']} ({what}) to bus {bus}{tries}", keep="")
    line = f"not published ({what}) to bus {bus}{tries}: {record['error_code']}: {record['error_message']}"
    return printable(line, keep="")


def summary_line(summary: Mapping[str, Any], seconds: float) -> str:
    """The stderr narration of a run (ndjson and text modes)."""
    return (
        f"published {summary['published']} of {summary['events']} events in {summary['api_calls']} "
        f"call(s), {summary['retried_entries']} entry re-send(s), {seconds:.2f} s"
    )


class PublishPrinter:
    """One record per event (ndjson/text as they finish; json/table at the end) and the progress bar."""

    def __init__(self, output: Output, inputs: list[InputEvent], valid: list[int]) -> None:
        self.output, self.inputs, self.valid = output, inputs, valid
        self.format = output.format_for(stream=True)
        self.records: list[dict[str, Any]] = []
        self._writer = RecordWriter(output, self.format, RESULT_COLUMNS)
        self.bar = Progress(None, None)
        self.started, self.done = time.monotonic(), 0
        self.stdout_closed = False
        for index, event in enumerate(inputs):
            if not event.valid:
                self._emit(invalid_record(index, event))

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
        """`publish`'s on_result: the record of one entry, as soon as its outcome is final."""
        index = self.valid[result.index]
        self._emit(result_record(index, self.inputs[index].line, result))
        self.bar.advance(1)
        self.done += 1
        if self.done % 10 == 0:
            self.bar.update(rate=f"{self.done / max(time.monotonic() - self.started, 1e-6):,.0f} events/s")

    def _emit(self, record: dict[str, Any]) -> None:
        if self.format in ("ndjson", "text"):
            if self.stdout_closed:
                return
            try:
                self._writer.write(record)
            except StdoutUnwritable:  # `| head`: stop printing, never stop publishing (the root reports it)
                self.stdout_closed = True
        else:
            self.records.append(record)

    def finish(self, summary: dict[str, Any], seconds: float) -> None:
        """The end of the run: the JSON document, the terminal's answer, or the stderr summary line."""
        self.records.sort(key=lambda r: r["index"])
        if self.format == "json":
            self.output.result({"summary": summary, "results": self.records})
        elif self.format == "table" and len(self.inputs) == 1 and self.records:
            self.output.write_line(single_line(self.records[0], self.inputs[0].entry))
        elif self.format == "table":
            failures = [r for r in self.records if r["status"] != "ok"]
            if failures:
                self.output.result(failures, columns=RESULT_COLUMNS, title="events not published")
            self.output.result({k.replace("_", " "): v for k, v in summary.items()}, title="publish")
        else:
            self.output.info(summary_line(summary, seconds))
