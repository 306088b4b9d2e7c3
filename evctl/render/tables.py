"""Tables that read well in an 80-column terminal: column specs with a priority and a no-wrap flag.

A spec is a sequence of `Column` (or `(key, header)` tuples, read as `Column(key, header)`)::

    Column("name", "QUEUE", priority=0, no_wrap=True)   # never left out, never wrapped
    Column("in_flight", "IN FLIGHT", short="FLIGHT", align="right")
    Column("retention", "RETENTION", priority=3)        # left out before priority 1 and 2 columns

How a table is fitted to `width` (None: no limit, every column at its natural width):
1. every column at its natural width (its widest line, header included) if that fits;
2. else the short headers (`Column.short`) where a column has one;
3. else wrapping columns are narrowed, widest first, down to their minimum: never below their longest header
   word nor `min_width` (default: 12, or narrower values). A `no_wrap` column is never narrowed: its values and
   header stay on one line. Headers wrap only between words, never inside one;
4. when even the minimums do not fit, the least important column is left out (the highest `priority` number;
   the rightmost among equals; never priority 0 and never the first column, which names the row), then 3 again;
   a column left out before a wider one comes back if it fits then;
5. full headers come back wherever the room left allows, the most important columns first.
The caller says which columns were left out (`Table.left_out`, `left_out_note`).
Empty values (None, "", [], {}) print as `-`; a list of plain values as `a, b`.

Cells, headers and titles are text, never markup: `[bold]x` prints as `[bold]x`, and a terminal-control character
in the data (ESC, a carriage return, a tab, ...) is shown escaped (`\x1b`), never sent raw (`printable`, also what
every human line of evctl.render and every stderr message goes through).
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.render.jsontext import to_jsonable

__all__ = [
    "Column",
    "ColumnSpec",
    "Columns",
    "Table",
    "as_columns",
    "cell_text",
    "columns_of",
    "left_out_note",
    "printable",
    "render_mapping",
    "render_table",
]

GAP = "  "  # between two columns
DEFAULT_MIN_WIDTH = 12  # a wrapping column is not narrowed below this (unless its values are narrower)
EMPTY = "-"
BOLD, ITALIC, RESET = "\x1b[1m", "\x1b[3m", "\x1b[0m"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 (ESC, CR, TAB, ...), DEL and C1 (CSI \x9b, ...)
_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}


def printable(text: str, *, keep: str = "\n") -> str:
    """`text` with every terminal-control character escaped as Python writes it (`\x1b`, `\r`, `\t`), except
    those in `keep` (newlines, by default: they are laid out, not sent as controls). User data shown to a person
    goes through here: a rule pattern, a message body or a log line cannot move the cursor, recolour or retitle
    the terminal."""
    return _CONTROLS.sub(lambda m: m[0] if m[0] in keep else _ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}"), text)


@dataclass(frozen=True)
class Column:
    """One column of a table.

    key: the row's key; header: the column's title; priority: 0 is never left out, and on a narrow terminal
    higher numbers are left out first (default 1); no_wrap: values are never wrapped (names, ARNs, ids, times);
    short: a shorter header used before any column is left out; align: "right" for numbers; min_width: a
    wrapping column is not narrowed below this.
    """

    key: str
    header: str
    priority: int = 1
    no_wrap: bool = False
    short: str | None = None
    align: Literal["left", "right"] = "left"
    min_width: int | None = None


ColumnSpec = Column | tuple[str, str]
Columns = Sequence[ColumnSpec]


@dataclass
class Table:
    """A rendered table: its lines (no trailing newline) and the columns left out to fit the width."""

    lines: list[str]
    left_out: list[Column] = field(default_factory=list)
    width: int | None = None


def as_columns(spec: Columns) -> list[Column]:
    """A spec as `Column`s; a `(key, header)` tuple is `Column(key, header)`."""
    return [item if isinstance(item, Column) else Column(item[0], item[1]) for item in spec]


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[Column]:
    """One column per key, in first-seen order, headed by the key itself (no spec given)."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [Column(key, printable(key, keep="")) for key in keys]  # a header from the data is data


def cell_text(value: Any) -> str:
    """A value as a table cell: `-` when empty, yes/no, `a, b` for a list of plain values, else one line of JSON;
    always printable text (control characters escaped)."""
    return printable(_cell_text(value))


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, str | list | tuple | dict | set | frozenset) and len(value) == 0):
        return EMPTY
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple) and all(_plain(item) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=to_jsonable)  # wraps at spaces
    return str(value)


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def cell_width(text: str) -> int:
    """Terminal cells a line takes: East Asian wide characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _widest_line(text: str) -> int:
    return max((cell_width(line) for line in text.split("\n")), default=0)


def _longest_word(text: str) -> int:
    return max((cell_width(word) for word in text.split()), default=0)


@dataclass
class _Fit:
    column: Column
    index: int  # position in the spec
    cells: list[str]
    header: str = ""
    natural: int = 0
    minimum: int = 0
    width: int = 0

    def measure(self, header: str) -> None:
        self.header = header
        values = max((_widest_line(cell) for cell in self.cells), default=0)
        self.natural = max(cell_width(header), values)
        if self.column.no_wrap:
            self.minimum = self.natural
        else:
            floor = self.column.min_width or DEFAULT_MIN_WIDTH
            self.minimum = max(_longest_word(header), min(values, floor))
        self.width = self.natural


def _total(fits: Sequence[_Fit]) -> int:
    return sum(fit.width for fit in fits) + len(GAP) * max(len(fits) - 1, 0)


def _fit(fits: list[_Fit], width: int) -> list[_Fit]:
    """Abbreviate, narrow and leave out columns until the table fits `width`; returns the columns left out."""
    if _total(fits) <= width:
        return []
    for fit in fits:
        fit.measure(fit.column.short or fit.column.header)
    left_out: list[_Fit] = []
    while sum(fit.minimum for fit in fits) + len(GAP) * (len(fits) - 1) > width:
        candidates = [f for f in fits if f.column.priority > 0 and f.index > 0]
        if not candidates:
            for fit in fits:
                fit.width = fit.minimum
            return left_out
        drop = max(candidates, key=lambda f: (f.column.priority, f.index))
        fits.remove(drop)
        left_out.append(drop)
    # A narrow column left out before a wide one may fit again now, the most important first.
    for fit in sorted(left_out, key=lambda f: (f.column.priority, f.index)):
        if sum(f.minimum for f in fits) + fit.minimum + len(GAP) * len(fits) <= width:
            fits.append(fit)
            fits.sort(key=lambda f: f.index)
            left_out.remove(fit)
    while _total(fits) > width:
        widest = max((f for f in fits if f.width > f.minimum), key=lambda f: (f.width, f.index))
        widest.width -= 1
    # The full header back wherever the room left allows, the most important columns first.
    for fit in sorted(fits, key=lambda f: (f.column.priority, f.index)):
        full = cell_width(fit.column.header)
        if fit.header != fit.column.header and max(full, fit.width) - fit.width <= width - _total(fits):
            fit.header, fit.width = fit.column.header, max(full, fit.width)
    return left_out


def _wrap(text: str, width: int, *, break_words: bool) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        wrapped = textwrap.wrap(paragraph, width=max(width, 1), break_long_words=break_words, break_on_hyphens=False)
        lines.extend(wrapped or [""])
    return lines


def _pad(text: str, width: int, align: str, style: str | None) -> str:
    gap = " " * max(width - cell_width(text), 0)
    shown = f"{style}{text}{RESET}" if style and text else text
    return gap + shown if align == "right" else shown + gap


def _title(title: str, table_width: int, color: bool) -> str:
    title = printable(title, keep="")
    line = title.center(max(table_width, cell_width(title))).rstrip()
    return line.replace(title, f"{ITALIC}{title}{RESET}") if color else line


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Columns | None = None,
    *,
    width: int | None = None,
    color: bool = False,
    title: str | None = None,
) -> Table:
    """Rows under a header line, fitted to `width` (None: every column at its natural width)."""
    spec = as_columns(columns) if columns else columns_of(rows)
    fits = [_Fit(col, i, [cell_text(row.get(col.key)) for row in rows]) for i, col in enumerate(spec)]
    for fit in fits:
        fit.measure(fit.column.header)
    left_out = _fit(fits, width) if width is not None else []
    lines: list[str] = []
    headers = [_wrap(fit.header, fit.width, break_words=False) for fit in fits]
    height = max((len(h) for h in headers), default=0)
    for n in range(height):
        pieces = []
        for fit, header in zip(fits, headers, strict=True):
            offset = height - len(header)  # headers sit on the line above the values
            text = header[n - offset] if n >= offset else ""
            pieces.append(_pad(text, fit.width, fit.column.align, BOLD if color else None))
        lines.append(GAP.join(pieces).rstrip())
    for r in range(len(rows)):
        cells = [_wrap(fit.cells[r], fit.width, break_words=not fit.column.no_wrap) for fit in fits]
        for n in range(max(len(c) for c in cells)):
            pieces = [
                _pad(c[n] if n < len(c) else "", fit.width, fit.column.align, None)
                for fit, c in zip(fits, cells, strict=True)
            ]
            lines.append(GAP.join(pieces).rstrip())
    if title:
        lines.insert(0, _title(title, _total(fits), color))
    return Table(lines, [fit.column for fit in sorted(left_out, key=lambda f: f.index)], width)


def render_mapping(
    data: Mapping[str, Any], *, width: int | None = None, color: bool = False, title: str | None = None
) -> list[str]:
    """One object as `key  value` lines; values wrap between words only (an ARN or URL is never split)."""
    keys = [printable(str(key), keep="") for key in data]
    key_width = max((cell_width(key) for key in keys), default=0)
    value_width = None if width is None else max(width - key_width - len(GAP), 20)
    lines: list[str] = []
    for key, value in zip(keys, data.values(), strict=True):
        text = cell_text(value)
        values = text.split("\n") if value_width is None else _wrap(text, value_width, break_words=False)
        for n, line in enumerate(values):
            label = _pad(key if n == 0 else "", key_width, "left", BOLD if color else None)
            lines.append(f"{label}{GAP}{line}".rstrip())
    if title:
        table_width = max((cell_width(line) for line in lines), default=0)
        lines.insert(0, _title(title, table_width, color))
    return lines


def left_out_note(left_out: Sequence[Column], width: int | None) -> str:
    """The one line that says which columns a narrow terminal left out and how to see them."""
    names = ", ".join(column.header for column in left_out)
    fit = f"to fit {width} columns" if width else "to fit the terminal"
    return f"evctl: left out {names} {fit}; -o wide or -o json shows every column"
