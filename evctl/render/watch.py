"""`evctl pipeline watch` on a terminal: each hop's current numbers with a sparkline, and the doctor's findings.

    lines = dashboard_lines(snapshot, width=80, color=False)    # the whole dashboard, every line fitted to width
    sparkline([0, 1, 4, None, 2])                               # '▁▂█ ▄' (None: a reading that could not be made)
    text_rows(snapshot)                                         # `-o text`: one row per hop and number

Sparklines: a queue's visible / in flight, one character per reading (every interval), the newest on the right,
as many as the width allows; a DLQ's depth one per reading (once a minute); CloudWatch numbers one character per
minute of the last 15. Each line is scaled from 0 to its own largest value; a blank is a gap (not read, or no
CloudWatch datapoint that minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evctl.core.common.time import iso_utc
from evctl.core.watch import DLQ_EVERY, HISTORY_SECONDS, METRICS_EVERY, HopView, SeriesView, Snapshot
from evctl.render.tables import cell_width, printable

__all__ = ["TEXT_COLUMNS", "dashboard_lines", "format_value", "sparkline", "text_rows"]

BARS = "▁▂▃▄▅▆▇█"
LABEL_WIDTH = 16
VALUE_WIDTH = 10
INDENT = "  "
_LABELS = {
    "visible": "visible",
    "in_flight": "in flight",
    "delayed": "delayed",
    "depth": "depth",
    "oldest_age_seconds": "oldest message",
    "matched": "matched/min",
    "failed": "failed/min",
    "invocations": "invocations/min",
    "errors": "errors/min",
    "throttles": "throttles/min",
    "duration_p95_ms": "p95 duration",
}
_HIDDEN = {"delayed"}  # read (and in JSON) but not drawn: nothing to watch in it while load runs
_BAD_WHEN_POSITIVE = {"failed", "errors", "throttles"}
_STYLES = {"bold": "1", "dim": "2", "red": "1;31", "yellow": "33", "green": "32", "cyan": "36"}
TEXT_COLUMNS = [("at", "AT"), ("role", "ROLE"), ("name", "NAME"), ("number", "NUMBER"), ("value", "VALUE")]


def _paint(text: str, style: str | None, color: bool) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if color and style else text


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled from 0 to the largest; None is a blank."""
    top = max((v for v in values if v is not None), default=0.0)
    chars = []
    for value in values:
        if value is None:
            chars.append(" ")
        elif top <= 0:
            chars.append(BARS[0])
        else:
            chars.append(BARS[min(len(BARS) - 1, max(0, round(max(value, 0.0) / top * (len(BARS) - 1))))])
    return "".join(chars)


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def format_value(series: SeriesView) -> str:
    value = series.current
    if value is None:
        return "-"
    if series.unit == "seconds":
        return _duration(value)
    if series.unit == "milliseconds":
        return f"{value:,.0f}ms" if value < 10_000 else f"{value / 1000:,.1f}s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _minute_values(series: SeriesView, at: float) -> list[float | None]:
    """The last HISTORY_SECONDS // 60 minutes, oldest first, the current one last; None where there is no point."""
    count = HISTORY_SECONDS // 60
    last = int(at) // 60 * 60
    by_minute = {int(t) // 60 * 60: v for t, v in series.points}
    return [by_minute.get(last - 60 * (count - 1 - i)) for i in range(count)]


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells (an ellipsis marks the cut; nothing at all for no cell)."""
    if cell_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for char in text:
        w = cell_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def _clock(at: float | None) -> str:
    return iso_utc(at * 1000)[11:] if at is not None else "-"


def _series_line(view: HopView, series: SeriesView, at: float, width: int, color: bool) -> str:
    label = _LABELS.get(series.name, series.name)
    value = format_value(series)
    style: str | None = None
    if series.name in _BAD_WHEN_POSITIVE and any((v or 0) > 0 for _, v in series.points):
        style = "red"  # any in the window, not only the newest minute
    if series.name == "depth" and view.grew_by is not None:
        value = f"{value} ▲+{view.grew_by}"
        style = "red"
    label_width, value_width = LABEL_WIDTH, VALUE_WIDTH
    if len(INDENT) + LABEL_WIDTH + VALUE_WIDTH > width:  # a narrow terminal: the value whole, the label cut
        value_width = min(VALUE_WIDTH, cell_width(value) + 1)
        label_width = max(0, min(LABEL_WIDTH, width - len(INDENT) - value_width))
    cut = _fit(label, label_width)
    head = _fit(INDENT + cut + " " * (label_width - cell_width(cut)), width)
    number = _fit(" " * max(0, value_width - cell_width(value)) + value, width - cell_width(head))
    line = head + _paint(number, style, color)
    room = width - cell_width(head) - cell_width(number) - 2
    if series.step == METRICS_EVERY and series.name not in ("visible", "in_flight", "depth"):
        values = _minute_values(series, at)
    else:
        values = [v for _, v in series.points]
    shown = values[-room:] if room > 0 else []
    if any(v is not None for v in shown):
        line += "  " + _paint(sparkline(shown), "cyan", color)
    return line


def _hop_title(view: HopView) -> str:
    hop = view.hop
    title = {"rule": "rule", "queue": "queue", "dlq": "DLQ", "function": "function"}[hop.role] + " " + hop.name
    if hop.role == "queue" and hop.related:
        title += "  (DLQ " + ", ".join(hop.related) + ")"
    if hop.role == "dlq" and hop.related:
        title += "  (of " + ", ".join(hop.related) + ")"
    if hop.role == "dlq" and view.added:
        title += f"  {view.added:+d} since the watch started"
    return printable(title, keep="")


def _header(snapshot: Snapshot) -> list[str]:
    what = ", ".join(snapshot.targets) or "the pipeline"
    lines = [f"watching {what} · {iso_utc(snapshot.at * 1000)}"]
    reads = f"queues every {snapshot.interval:g}s · DLQs every {DLQ_EVERY:g}s"
    if snapshot.metrics:
        note = f": {snapshot.metrics_note}" if snapshot.metrics_note else ""
        reads += f" · CloudWatch every {METRICS_EVERY:g}s (read {_clock(snapshot.metrics_at)}{note})"
    else:
        reads += " · CloudWatch not read (--no-metrics)"
    lines.append(reads)
    lines.append(f"sparklines: one char per reading; CloudWatch one per minute, the last {HISTORY_SECONDS // 60}")
    return [printable(line, keep="") for line in lines]


def _doctor_lines(snapshot: Snapshot, width: int, color: bool) -> list[str]:
    doctor = snapshot.doctor
    if doctor is None:
        return [_fit("doctor: not run (--no-doctor)", width)]
    if doctor.ran_at is None:
        state = "running its first check" if doctor.running else "not run yet"
        head = f"doctor: {state}" + (f" ({doctor.error})" if doctor.error else "")
        return [_paint(_fit(printable(head, keep=""), width), "yellow" if doctor.error else "dim", color)]
    count = len(doctor.alerts)
    head = f"doctor at {_clock(doctor.ran_at)} (next {_clock(doctor.next_at)}): "
    head += f"{count} finding{'s' if count != 1 else ''} at high or above" if count else "nothing at high or above"
    if doctor.error:
        head += f"; the last run failed: {doctor.error}"
    lines = [_paint(_fit(printable(head, keep=""), width), "red" if count else "green", color)]
    for alert in doctor.alerts:
        text = _fit(
            printable(f"{INDENT}✗ {alert.severity} {alert.check} {alert.name}: {alert.message}", keep=""), width
        )
        lines.append(_paint(text, "red" if alert.severity == "critical" else "yellow", color))
    return lines


def dashboard_lines(snapshot: Snapshot, *, width: int = 80, color: bool = False) -> list[str]:
    """The dashboard, each line at most `width` cells (however narrow: `COLUMNS=20` cuts labels, never wraps)."""
    width = max(width, 1)
    lines = [_fit(line, width) for line in _header(snapshot)]
    for view in snapshot.hops:
        lines.append(_paint(_fit(_hop_title(view), width), "bold", color))
        for note in view.notes:
            lines.append(_paint(_fit(printable(f"{INDENT}{note}", keep=""), width), "yellow", color))
        for series in view.series:
            if series.name not in _HIDDEN:
                lines.append(_series_line(view, series, snapshot.at, width, color))
    if not snapshot.hops:
        lines.append(_fit("nothing to watch: no rule, queue or function in this pipeline", width))
    lines += _doctor_lines(snapshot, width, color)
    return lines


def text_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    """`-o text`: one row per hop and number (at, role, name, number, value; `-` for none)."""
    at = iso_utc(snapshot.at * 1000)
    rows = []
    for view in snapshot.hops:
        for series in view.series:
            value = series.current
            rows.append({"at": at, "role": view.hop.role, "name": view.hop.name, "number": series.name,
                         "value": "-" if value is None else (int(value) if float(value).is_integer() else value)})  # fmt: skip
    return rows
