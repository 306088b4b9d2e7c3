"""render/trace: the timeline a person reads, from a TraceResult built by hand."""

from __future__ import annotations

from evctl.core.trace import Cause, Hop, NearMiss, TraceResult
from evctl.render.trace import summary_line, text_rows, timeline_lines

T0 = 1_700_000_000_000


def test_a_processed_trace_is_a_line_per_hop_with_time_and_elapsed() -> None:
    result = TraceResult(
        event_id="e-1",
        published_ms=T0,
        matched=["signup"],
        hops=[
            Hop("published", "ok", "bus", T0, "PutEvents accepted it on default", "put_events"),
            Hop("delivered", "ok", "q", T0 + 250, "delivered to q", "ledger"),
            Hop("processed", "ok", "fn", T0 + 1250, "fn processed it", "metrics", exact=False),
        ],
    )
    lines = timeline_lines(result)
    assert lines[0] == "event e-1 on bus default"
    assert lines[2] == "  ✓ delivered      22:13:20.250    +0.250s  delivered to q  [sandbox ledger]"
    assert lines[3].endswith("[CloudWatch metrics, not exact]")
    assert lines[-1] == summary_line(result) == "processed in 1.2 s"
    assert [row["elapsed"] for row in text_rows(result)] == ["+0.000s", "+0.250s", "+1.250s"]


def test_a_stalled_trace_names_the_cause_its_fix_and_the_why_not() -> None:
    result = TraceResult(
        event_id="e-2",
        published_ms=T0,
        timed_out=False,
        hops=[
            Hop("matched", "stalled", "bus", T0, "no rule on default matches it\x1b[2J", "offline"),
        ],
        near_misses=[NearMiss("signup", "arn", ('source: wanted "a", got "b"',))],
        cause=Cause("R-PATTERN-1", "critical", "arn", "matches none", "rewrite it", "aws events put-rule ..."),
    )
    lines = timeline_lines(result, color=False)
    assert "\x1b" not in "".join(lines)  # user data cannot drive the terminal
    assert '  why not signup: source: wanted "a", got "b"' in lines
    assert "stalled at matched" in lines
    assert "likely cause: R-PATTERN-1 (critical) matches none" in lines
    assert "  $ aws events put-rule ..." in lines
