"""Where `evctl pipeline watch` writes each snapshot, by output mode:

| mode | `--once` | live |
| --- | --- | --- |
| table | the dashboard's lines on stdout | stdout a terminal: the dashboard redrawn in place (rich Live) on it, drawn through stderr when that is the terminal too (stdout stays data only); stdout a pipe or file (`-o table`): one frame per refresh, a blank line between |
| json | one pretty JSON document | one compact JSON document per line, flushed (NDJSON) |
| ndjson | one compact line | one compact line per refresh |
| text | one row per hop and number | the same rows at every refresh |

    with watch_writer(out, once=False) as emit:
        watcher.run(emit)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from evctl.core.watch import Snapshot
from evctl.output import Output
from evctl.render.watch import TEXT_COLUMNS, dashboard_lines, text_rows

__all__ = ["watch_writer"]

PIPED_WIDTH = 120  # a dashboard written to a file or pipe (`-o table | less`): no terminal to fit


def _width(out: Output) -> int:
    return out.streams.width or shutil.get_terminal_size().columns


@contextmanager
def _live(out: Output, on_stderr: bool) -> Iterator[Callable[[Snapshot], None]]:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    stream = out.streams.stderr if on_stderr else out.streams.stdout
    color = out.stderr_color if on_stderr else out.color
    console = Console(file=stream, force_terminal=True, no_color=not color, highlight=False,
                      width=out.streams.width or None)  # fmt: skip
    live = Live(console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False, transient=False)

    def emit(snapshot: Snapshot) -> None:
        lines = dashboard_lines(snapshot, width=console.size.width, color=color)
        live.update(Text.from_ansi("\n".join(lines)), refresh=True)

    with live:
        yield emit


@contextmanager
def watch_writer(out: Output, *, once: bool) -> Iterator[Callable[[Snapshot], None]]:
    """A function that writes one snapshot as the output mode asks (see the module's table)."""
    fmt = out.format_for(stream=not once)
    if fmt in ("json", "ndjson"):
        yield (lambda s: out.result(s.as_dict())) if once else (lambda s: out.refresh(s.as_dict()))
        return
    if fmt == "text":
        yield lambda s: out.result(text_rows(s), columns=TEXT_COLUMNS)
        return
    if once:
        yield lambda s: _lines(out, s, _width(out) if out.streams.stdout_isatty else PIPED_WIDTH)
        return
    if out.streams.stdout_isatty:
        with _live(out, on_stderr=bool(out.streams.stderr_isatty)) as emit:
            yield emit
        return
    frames: list[Any] = []

    def frame(snapshot: Snapshot) -> None:
        if frames:
            out.write_line("")
        frames.append(None)
        _lines(out, snapshot, PIPED_WIDTH)

    yield frame


def _lines(out: Output, snapshot: Snapshot, width: int) -> None:
    for line in dashboard_lines(snapshot, width=width, color=out.color):
        out.write_line(line)
