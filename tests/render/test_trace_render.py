"""render/trace: the timeline a person reads, from a TraceResult built by hand."""

from __future__ import annotations

from evctl.core.trace import Cause, Hop, NearMiss, RouteInfo, TraceResult
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


def _two_routes(second: Hop) -> TraceResult:
    a, b = "signup/t1", "signup/t2"
    return TraceResult(
        event_id="e-3",
        published_ms=T0,
        routes=[
            RouteInfo(a, "signup", "t1", "user-signup-queue", "arn:aws:sqs:us-east-1:1:user-signup-queue"),
            RouteInfo(b, "signup", "t2", "audit-queue", "arn:aws:sqs:us-east-1:1:audit-queue"),
        ],
        hops=[
            Hop("published", "ok", "bus", T0, "PutEvents accepted it on default", "put_events"),
            Hop("matched", "ok", "rule", T0, "matched signup", "offline"),
            Hop("delivered", "ok", "q1", T0 + 100, "delivered to user-signup-queue", "ledger", route=a),
            Hop("received", "ok", "fn", T0 + 200, "fn received it (request r1)", "ledger", route=a),
            Hop("processed", "ok", "fn", T0 + 300, "fn processed it (request r1)", "ledger", route=a),
            Hop("delivered", "ok", "q2", T0 + 100, "delivered to audit-queue", "ledger", route=b),
            Hop("received", "ok", "fn2", T0 + 200, "fn2 received it (request r2)", "ledger", route=b),
            second,
        ],
    )


def test_several_routes_each_under_its_own_line_naming_rule_target_and_queue() -> None:
    stuck = Hop("processed", "stalled", "fn2", T0 + 900, "the function failed 1 time(s)", "ledger", route="signup/t2")
    result = _two_routes(stuck)
    lines = timeline_lines(result)
    assert lines[1].startswith("  ✓ published") and lines[2].startswith("  ✓ matched")
    assert lines[3] == "  route signup → user-signup-queue (target t1): processed"
    assert [line.split()[1] for line in lines[4:7]] == ["delivered", "received", "processed"]
    assert all(line.startswith("      ") for line in lines[4:7])
    assert lines[7] == "  route signup → audit-queue (target t2): stalled"
    assert lines[10].startswith("      ✗ processed")
    assert lines[11] == "stalled at processed"
    data = result.as_dict()
    assert [(r["id"], r["status"]) for r in data["routes"]] == [("signup/t1", "processed"), ("signup/t2", "stalled")]
    assert [h["route"] for h in data["hops"]] == [None, None] + ["signup/t1"] * 3 + ["signup/t2"] * 3
    assert [row["route"] for row in text_rows(result)][:3] == ["-", "-", "signup/t1"]


def test_a_duplicate_is_marked_and_summarised_as_processed_more_than_once() -> None:
    twice = Hop(
        "processed", "duplicated", "fn2", T0 + 2800, "processed 2 times (a duplicate): request a …, request b …",
        "ledger", route="signup/t2",
    )  # fmt: skip
    result = _two_routes(twice)
    result.cause = Cause("Q-VIS-1", "critical", "q2", "visibility timeout 1 s is shorter than fn2's timeout 3 s", "x")
    lines = timeline_lines(result)
    assert lines[10].startswith("      ‼ processed") and "processed 2 times" in lines[10]
    assert result.status == "duplicated" and result.stalled_at is None and result.problem_hop == "processed"
    assert "processed more than once on 1 of 2 routes (a duplicate)" in lines
    assert "likely cause: Q-VIS-1 (critical) visibility timeout 1 s is shorter than fn2's timeout 3 s" in lines
    assert result.as_dict()["routes"][1]["status"] == "duplicated"


def test_a_cause_whose_fix_needs_something_created_first_prints_those_commands_first() -> None:
    create = "aws sqs create-queue --queue-name user-signup-rule-target-dlq"
    result = TraceResult(
        event_id="e-3",
        published_ms=T0,
        timed_out=False,
        hops=[Hop("delivered", "stalled", "q", T0, "refused: NO_PERMISSIONS", "ledger")],
        cause=Cause("T-RETRY-1", "high", "arn", "no DLQ", "give it a DLQ", "aws events put-targets ...", (create,)),
    )
    commands = [line for line in timeline_lines(result, color=False) if line.startswith("  $ ")]
    assert commands == [f"  $ {create}", "  $ aws events put-targets ..."]
    assert result.cause is not None and result.cause.as_dict()["before"] == [create]
