"""Log events as terminal text: the short / detailed / json / raw line formats, ANSI colours, a colour per source.

    formatter = LogFormatter("short", labels=[s.label for s in sources], color=True, pretty=True)
    output.write_line(formatter.format(event))

Without `pretty` every event is one line; core/logs gives the data (LogEvent, event_record), this the looks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from evctl.core.common.time import iso_utc
from evctl.core.logs.classify import ERROR_KINDS
from evctl.core.logs.event import LogEvent, event_record
from evctl.output import dumps
from evctl.render.tables import printable

__all__ = ["FORMATS", "Format", "LogFormatter"]

Format = Literal["short", "detailed", "json", "raw"]
FORMATS: tuple[Format, ...] = ("short", "detailed", "json", "raw")

_REPORT_FIGURE_RE = re.compile(r"((?:Billed |Init |Restore )?Duration|Max Memory Used|Memory Size): ([\d.]+ (?:ms|MB))")
_ANSI = {"dim": "2", "red": "31", "bold": "1", "cyan": "36", "reset": "0"}
_SOURCE_COLOURS = ("36", "35", "32", "33", "34", "96", "95", "92", "93", "94")


class LogFormatter:
    """One line (or, with `pretty`, one block) of text per event.

    `color` adds ANSI styling; `pretty` (a terminal) shows JSON messages indented and multi-line messages on
    several lines. Without `pretty` every event is exactly one line: newlines inside a message become `\\n`. Other
    control characters (ESC, ...) are escaped (`\\x1b`) except in `raw` lines sent to a pipe.
    """

    def __init__(
        self, fmt: Format = "short", *, labels: Sequence[str] = (), color: bool = False, pretty: bool = False
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt = fmt
        self.color = color
        self.pretty = pretty
        self._labels = list(labels)
        self._show_label = len(self._labels) > 1
        self._label_width = max((len(label) for label in self._labels), default=0)

    def format(self, event: LogEvent) -> str:
        if self.fmt == "json":
            return dumps(event_record(event))
        body = self._body(event)
        if self.fmt == "raw":
            return body
        if self.fmt == "detailed":
            stamp = iso_utc(event["timestamp"], precision="milliseconds")
            group, stream = printable(event["group"], keep=""), printable(event["stream"], keep="")
            prefix = f"{self._paint(stamp, 'dim')} {group} {self._paint(stream, 'dim')}"
        else:
            prefix = self._paint(iso_utc(event["timestamp"], precision="milliseconds")[11:23], "dim")
            if self._show_label:
                prefix += " " + self._label(event["source"])
        return f"{prefix} {body}"

    def _label(self, source: str) -> str:
        text = printable(source, keep="").ljust(self._label_width)
        if not self.color:
            return text
        index = self._labels.index(source) if source in self._labels else 0
        return f"\x1b[{_SOURCE_COLOURS[index % len(_SOURCE_COLOURS)]}m{text}\x1b[0m"

    def _body(self, event: LogEvent) -> str:
        message = event["message"].rstrip()  # Lambda ends lines with "\n", REPORT with "\t\n"
        parsed = event.get("parsed")
        if self.pretty and parsed is not None and isinstance(parsed, Mapping | list):
            message = json.dumps(parsed, indent=2, ensure_ascii=False)
        elif self.pretty:
            message = message.replace("\r\n", "\n").replace("\r", "\n")
        else:
            message = message.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
        if self.pretty or self.fmt != "raw":  # a control character in a log line never reaches a terminal raw
            message = printable(message, keep="\n\t")
        kind = event.get("kind")
        if not self.color:
            return message
        if kind in ERROR_KINDS:
            return self._paint(message, "red")
        if kind == "report":
            return self._report(message)
        if kind in ("start", "end", "platform"):
            return self._paint(message, "dim")
        return message

    def _report(self, message: str) -> str:
        """REPORT dimmed, its durations and memory figures highlighted."""
        out, last = [], 0
        for match in _REPORT_FIGURE_RE.finditer(message):
            out.append(self._paint(message[last : match.start(2)], "dim"))
            out.append(self._paint(match.group(2), "cyan"))
            last = match.end(2)
        out.append(self._paint(message[last:], "dim"))
        return "".join(out)

    def _paint(self, text: str, style: str) -> str:
        if not self.color or not text:
            return text
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"
