"""evctl.render.watch: the dashboard at 80 and 160 columns (snapshots), sparklines, value formats, escaping."""

from __future__ import annotations

import pytest

from evctl.core.watch import Alert, DoctorView, Hop, HopView, MetricSpec, SeriesView, Snapshot
from evctl.render.tables import cell_width
from evctl.render.watch import dashboard_lines, format_value, sparkline, text_rows
from tests.render.snapshots import assert_snapshot

T = 1_796_040_000.0  # 2026-11-30T12:00:00Z
ARN = "arn:aws:{}:us-east-1:123456789012:{}"


def minutes(*values: float | None) -> tuple[tuple[float, float | None], ...]:
    """Per-minute points ending with the current minute (None: no datapoint, left out as CloudWatch does)."""
    count = len(values)
    return tuple((T - 60 * (count - 1 - i), v) for i, v in enumerate(values) if v is not None)


def samples(values: list[float | None], step: float) -> tuple[tuple[float, float | None], ...]:
    return tuple((T - step * (len(values) - 1 - i), v) for i, v in enumerate(values))


def series(
    name: str, points: tuple[tuple[float, float | None], ...], step: float = 60.0, unit: str = "count"
) -> SeriesView:
    current = next((v for _, v in reversed(points) if v is not None), None)
    return SeriesView(name, unit, step, points, current)  # type: ignore[arg-type]


def snapshot() -> Snapshot:
    backlog: list[float | None] = [0, 0, 5, 40, 95, 150, 180, 210, 230, None, 260, 240, 190, 120, 60, 10, 0]
    backlog = [float(v) if v is not None else None for v in backlog] * 4
    rule = Hop(ARN.format("events", "rule/user-signup-rule"), "rule", "user-signup-rule")
    queue = Hop(ARN.format("sqs", "user-signup-queue"), "queue", "user-signup-queue", url="u",
                related=("user-signup-dlq",))  # fmt: skip
    dlq = Hop(ARN.format("sqs", "user-signup-dlq"), "dlq", "user-signup-dlq", url="d", related=("user-signup-queue",))
    function = Hop(ARN.format("lambda", "function:user-signup-handler"), "function", "user-signup-handler",
                   metrics=(MetricSpec("duration_p95_ms", ("AWS/Lambda", "Duration", {}, "p95")),))  # fmt: skip
    hops = (
        HopView(rule, (series("matched", minutes(0, 0, 120, 3000, 3000, 2990, 1500, None, 0)),
                       series("failed", minutes(0, 0, 0, 0, 2, 0, 0, None, 0)))),
        HopView(queue, (series("visible", samples(backlog, 2), 2), series("in_flight", samples([10.0] * 68, 2), 2),
                        series("delayed", samples([0.0] * 68, 2), 2),
                        series("oldest_age_seconds", minutes(0, 3, 42, 125, 61), unit="seconds"))),
        HopView(dlq, (series("depth", samples([0, 0, 1, 3], 60)), series("oldest_age_seconds", ())), grew_by=2, added=3),
        HopView(function, (series("invocations", minutes(0, 10, 300, 300, 150)), series("errors", minutes(0, 0, 4, 0)),
                           series("throttles", ()), series("duration_p95_ms", minutes(310.0, 2840.5, 12500.0), unit="milliseconds")),
                notes=("not read: lambda:GetFunctionConcurrency denied",)),
    )  # fmt: skip
    alerts = (
        Alert("Q-VIS-1", "critical", queue.id, "user-signup-queue",
              "the queue's visibility timeout (18 s) is shorter than the function's timeout (60 s): messages are "
              "processed twice"),
        Alert("F-DLQ-1", "high", function.id, "user-signup-handler", "no on-failure destination"),
    )  # fmt: skip
    return Snapshot(T, ("user-signup-queue",), 2.0, hops, metrics_at=T - 20,
                    doctor=DoctorView(T - 120, alerts, next_at=T + 180))  # fmt: skip


@pytest.mark.parametrize("width", [80, 160])
def test_the_dashboard_snapshot(width: int) -> None:
    lines = dashboard_lines(snapshot(), width=width)
    assert all(cell_width(line) <= width for line in lines)
    assert_snapshot(f"pipeline-watch-{width}", "\n".join(lines) + "\n")


def test_colour_marks_a_growing_dlq_and_errors_and_is_off_by_default() -> None:
    plain = "\n".join(dashboard_lines(snapshot(), width=120))
    coloured = dashboard_lines(snapshot(), width=120, color=True)
    assert "\x1b" not in plain
    [depth] = [line for line in coloured if "depth" in line]
    assert "\x1b[1;31m" in depth and "▲+2" in depth
    [errors] = [line for line in coloured if "errors/min" in line]
    assert "\x1b[1;31m" in errors  # 0 in the newest minute, 4 two minutes before: still marked
    [throttles] = [line for line in coloured if "throttles/min" in line]
    assert "\x1b[1;31m" not in throttles


def test_sparklines_scale_to_their_largest_value_and_show_gaps() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0, None, 10]) == "▁ █"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [("count", None, "-"), ("count", 12345.0, "12,345"), ("count", 2.5, "2.5"), ("seconds", 42.0, "42s"),
     ("seconds", 125.0, "2m05s"), ("seconds", 7300.0, "2h01m"), ("seconds", 90000.0, "1d01h"),
     ("milliseconds", 310.4, "310ms"), ("milliseconds", 12500.0, "12.5s")],
)  # fmt: skip
def test_value_formats(unit: str, value: float | None, text: str) -> None:
    assert format_value(SeriesView("x", unit, 60.0, (), value)) == text  # type: ignore[arg-type]


def test_names_from_aws_cannot_drive_the_terminal() -> None:
    hop = Hop("arn:x", "queue", "evil\x1b[2Jqueue", url="u")
    shot = Snapshot(T, ("evil\x1b[2J",), 2.0, (HopView(hop, (), notes=("note \x1b[31m",)),), metrics=False, doctor=None)
    text = "\n".join(dashboard_lines(shot, width=80))
    assert "\x1b" not in text and "evil\\x1b[2Jqueue" in text
    assert "doctor: not run (--no-doctor)" in text and "CloudWatch not read (--no-metrics)" in text


def test_text_rows_one_per_hop_and_number() -> None:
    rows = text_rows(snapshot())
    assert rows[0] == {"at": "2026-11-30T12:00:00Z", "role": "rule", "name": "user-signup-rule", "number": "matched",
                       "value": 0}  # fmt: skip
    assert {"role": "dlq", "number": "depth", "value": 3}.items() <= rows[6].items()
