"""`evctl publish --count/--rate` on the terminal: the live progress line, the summary table, the stderr line.

printer = LoadPrinter(output)
with printer.progress(requested=6000, rate=200.0) as on_progress:    # a live line on stderr (a terminal only)
    report = run_load(..., on_progress=on_progress)
printer.finish(summarize(report))     # JSON on stdout (piped, -o json), a table on a terminal; a line on stderr
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from evctl.output import Progress

if TYPE_CHECKING:
    from evctl.core.load import LoadProgress
    from evctl.output import Output


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if 0 < abs(value) < 0.05:  # a rate such as 0.0001/m: its digits, not 0.0
        return f"{value:.3g}{unit}"
    text = f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.1f}"
    return f"{text}{unit}"


def progress_text(progress: LoadProgress, rate: float | None) -> str:
    """sent so far · achieved rate (of the offered) · failed · in flight · throttled."""
    achieved = progress.sent / progress.elapsed if progress.elapsed > 0 else 0.0
    offered = f" of {_num(rate)}" if rate else ""
    throttled = f" · {progress.throttled:,} throttled" if progress.throttled else ""
    return f"{_num(achieved)}/s{offered} · {progress.failed:,} failed · {progress.in_flight} in flight{throttled}"


def _percentiles(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "-"
    return " / ".join(_num(v) for v in values.values()) + " ms"


def summary_rows(summary: Mapping[str, Any]) -> dict[str, str]:
    """The summary as label → text, for the terminal's table."""
    retries, throttled, conc = summary["retries"], summary["throttled"], summary["concurrency"]
    failures = ", ".join(f"{code} {count:,}" for code, count in summary["failures"].items()) or "-"
    rows = {
        "requested": f"{summary['requested']:,}",
        "published": f"{summary['published']:,}",
        "failed": f"{summary['failed']:,}",
        "not sent": f"{summary['not_sent']:,}" + (" (stopped)" if summary["stopped"] else ""),
        "offered rate": _num(summary["offered_rate"], " events/s") if summary["offered_rate"] else "unpaced",
        "achieved rate": _num(summary["achieved_rate"], " events/s"),
        "throughput": _num(summary["throughput"], " published/s"),
        "seconds": f"{summary['seconds']:.2f}",
        "latency p50/p95/p99/max": _percentiles(summary["latency_ms"]),
        "from due p50/p95/p99/max": _percentiles(summary["latency_from_due_ms"]),
        "schedule lag p50/p99/max": _percentiles(summary["schedule_lag_ms"]),
        "failures": failures,
        "retries": f"{retries['entries']:,} entries, {retries['calls']:,} calls",
        "throttled": f"{throttled['calls']:,} calls, {throttled['entries']:,} entries, "
        f"paused {throttled['paused_seconds']:.2f} s",
        "api calls": f"{summary['api_calls']:,} ({summary['batch_size']} events per batch)",
        "in flight": f"max {conc['max_in_flight']} of {conc['cap']}, {conc['batches_waited_for_slot']:,} waited",
    }
    if summary.get("invalid"):
        rows["invalid lines"] = f"{summary['invalid']:,} (not sent)"
    return rows


def summary_line(summary: Mapping[str, Any]) -> str:
    """The one-line narration on stderr (when stdout is not a terminal)."""
    lag = summary["schedule_lag_ms"]
    return (
        f"load: published {summary['published']:,} of {summary['requested']:,} "
        f"({summary['failed']:,} failed, {summary['not_sent']:,} not sent) in {summary['seconds']:.2f} s; "
        f"offered {_num(summary['offered_rate'])}/s, achieved {_num(summary['achieved_rate'])}/s; "
        f"latency p99 {_num(summary['latency_ms']['p99'])} ms" + (f", lag p99 {_num(lag['p99'])} ms" if lag else "")
    )


class LoadPrinter:
    def __init__(self, output: Output) -> None:
        self.output = output
        self.bar = Progress(None, None)

    @contextmanager
    def progress(self, *, requested: int, rate: float | None) -> Iterator[Callable[[LoadProgress], None]]:
        """A live line on stderr (a bar: sent of requested, the achieved rate, failures, calls in flight) when
        stderr is a terminal; yields the callback for run_load's on_progress."""

        def update(progress: LoadProgress) -> None:
            self.bar.update(completed=progress.sent, rate=progress_text(progress, rate))

        with self.output.progress("load", total=requested) as bar:
            self.bar = bar
            yield update

    def finish(self, summary: dict[str, Any]) -> None:
        fmt = self.output.format_for(stream=False)
        if fmt == "table":
            self.output.result(summary_rows(summary), title="load")
            return
        self.output.result(summary)
        self.output.info(summary_line(summary))
