"""The one output layer: data to stdout (table, json, ndjson, text), everything else to stderr.

auto = a human table/text on a TTY; when piped, json for one result and ndjson (flushed per record) for
streams. rich is imported only when a table or progress bar is actually drawn.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from evctl.errors import EvctlError, UsageError

OutputMode = Literal["auto", "table", "json", "ndjson", "text"]
ColorMode = Literal["auto", "always", "never"]
Columns = Sequence[tuple[str, str]]  # (key in the row, column header)


@dataclass
class Streams:
    """stdin/stdout/stderr and whether each is a terminal; tests build their own."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def to_jsonable(value: Any) -> Any:
    """json.dumps default: datetimes as ISO-8601, bytes as base64, sets as lists."""
    import base64
    import datetime as dt

    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False, default=to_jsonable)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=to_jsonable)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return dumps(value)
    return str(value)


class Output:
    def __init__(
        self,
        mode: OutputMode = "auto",
        color: ColorMode = "auto",
        quiet: bool = False,
        streams: Streams | None = None,
    ) -> None:
        self.streams = streams or Streams()
        self.mode: OutputMode = mode
        self.quiet = quiet
        if color == "auto":
            no_color = "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""
            self.color = bool(self.streams.stdout_isatty) and not no_color
            self.stderr_color = bool(self.streams.stderr_isatty) and not no_color
        else:
            self.color = self.stderr_color = color == "always"

    # ---- what mode applies -------------------------------------------------------------------
    @property
    def interactive(self) -> bool:
        """True when a person reads stdout (auto mode on a TTY)."""
        return (self.mode in ("auto", "table") and bool(self.streams.stdout_isatty)) or self.mode == "table"

    def format_for(self, stream: bool) -> Literal["table", "json", "ndjson", "text"]:
        if self.mode != "auto":
            return self.mode
        if self.streams.stdout_isatty:
            return "table"
        return "ndjson" if stream else "json"

    # ---- data to stdout ----------------------------------------------------------------------
    def result(self, data: Any, *, columns: Columns | None = None, title: str | None = None) -> None:
        """One result: a mapping (one object) or a list of mappings (rows)."""
        fmt = self.format_for(stream=False)
        out = self.streams.stdout
        if fmt == "json":
            out.write(dumps(data, pretty=True) + "\n")
        elif fmt == "ndjson":
            for row in data if isinstance(data, list) else [data]:
                out.write(dumps(row) + "\n")
        elif fmt == "text":
            for line in _text_lines(data, columns):
                out.write(line + "\n")
        else:
            self._table(data, columns, title)
        out.flush()

    @contextmanager
    def records(self, columns: Columns | None = None) -> Iterator[RecordWriter]:
        """A stream of records, each written (and flushed) as it comes."""
        writer = RecordWriter(self, self.format_for(stream=True), columns)
        yield writer

    def write_line(self, text: str) -> None:
        """A preformatted line of data (log lines, raw bodies)."""
        self.streams.stdout.write(text + "\n")
        self.streams.stdout.flush()

    def _table(self, data: Any, columns: Columns | None, title: str | None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console(
            file=self.streams.stdout,
            force_terminal=self.color,
            no_color=not self.color,
            highlight=False,
            soft_wrap=False,
            # A table sent to a file or pipe (`-o table | less`) has no terminal to fit: never fold its cells.
            width=None if self.streams.stdout_isatty else 10_000,
        )
        if isinstance(data, Mapping):
            table = Table(title=title, show_header=False, box=None, pad_edge=False)
            table.add_column(style="bold")
            table.add_column(overflow="fold")
            for key, value in data.items():
                table.add_row(str(key), _cell(value))
        else:
            rows = list(data)
            cols = list(columns or _columns_of(rows))
            table = Table(title=title, box=None, pad_edge=False, header_style="bold")
            for _, header in cols:
                table.add_column(header, overflow="fold")
            for row in rows:
                table.add_row(*(_cell(row.get(key)) for key, _ in cols))
            if not rows:
                console.print("(none)", style="dim")
                return
        console.print(table)

    # ---- messages to stderr ------------------------------------------------------------------
    def info(self, message: str) -> None:
        """Narration a person wants on a terminal; silenced by --quiet."""
        if not self.quiet:
            self._err(message, "dim")

    def success(self, message: str) -> None:
        if not self.quiet:
            self._err(message, "green")

    def warn(self, message: str) -> None:
        self._err(f"evctl: warning: {message}", "yellow")

    def error(self, error: EvctlError | str) -> None:
        self._err(f"evctl: error: {error}", "red")

    def _err(self, message: str, style: str) -> None:
        codes = {"dim": "2", "green": "32", "yellow": "33", "red": "31"}
        if self.stderr_color:
            message = f"\x1b[{codes[style]}m{message}\x1b[0m"
        try:
            self.streams.stderr.write(message + "\n")
            self.streams.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass

    # ---- interaction -------------------------------------------------------------------------
    def confirm(self, question: str, *, yes: bool) -> None:
        """Destructive operations: ask on a TTY, refuse without --yes otherwise."""
        if yes:
            return
        if not (self.streams.stdin_isatty and self.streams.stderr_isatty):
            raise UsageError(f"refusing to {question} without confirmation", "pass --yes")
        self.streams.stderr.write(f"{question[0].upper()}{question[1:]}? [y/N] ")
        self.streams.stderr.flush()
        answer = self.streams.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise UsageError("not confirmed; nothing was done")

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
        """A progress bar on stderr, drawn only when stderr is a TTY and not --quiet."""
        if self.quiet or not self.streams.stderr_isatty:
            yield Progress(None, None)
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=self.streams.stderr, force_terminal=True, no_color=not self.stderr_color)
        bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        with bar:
            task = bar.add_task(description, total=total, rate="")
            yield Progress(bar, task)


class Progress:
    """Handle on a progress bar; every method is a no-op when no bar is drawn."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def update(self, *, completed: int | None = None, total: int | None = None, rate: str | None = None) -> None:
        if self._bar is not None:
            fields: dict[str, Any] = {}
            if completed is not None:
                fields["completed"] = completed
            if total is not None:
                fields["total"] = total
            if rate is not None:
                fields["rate"] = rate
            self._bar.update(self._task, **fields)


class RecordWriter:
    def __init__(self, output: Output, fmt: str, columns: Columns | None) -> None:
        self._output = output
        self._fmt = fmt
        self._columns = columns

    def write(self, record: Mapping[str, Any], human: str | None = None) -> None:
        """One record. `human` is the line shown on a terminal instead of the columns."""
        out = self._output.streams.stdout
        if self._fmt in ("json", "ndjson"):
            out.write(dumps(record) + "\n")
        elif self._fmt == "table" and human is not None:
            out.write(human + "\n")
        else:
            out.write("\t".join(_cell(record.get(k)) for k, _ in (self._columns or _columns_of([record]))) + "\n")
        out.flush()


def _columns_of(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [(k, k) for k in keys]


def _text_lines(data: Any, columns: Columns | None) -> Iterator[str]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield f"{key}\t{_cell(value)}"
        return
    rows = list(data)
    cols = columns or _columns_of(rows)
    for row in rows:
        yield "\t".join(_cell(row.get(k)) for k, _ in cols)
