"""Follower: the timeline from the reads after publishing, on an injected clock; only the AWS reads are faked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evctl.core.logs import LogEvent
from evctl.core.pipeline import DescribeCache, Graph
from evctl.core.trace import Follower, Plan, Route
from evctl.core.trace.plan import FunctionHop, RuleMatch
from evctl.core.trace.sources import DeliveryRecord, FoundMessage, InvocationRecord, MappingState, MetricQuery

RULE = "arn:aws:events:us-east-1:1:rule/signup"
QUEUE = "arn:aws:sqs:us-east-1:1:q"
DLQ = "arn:aws:sqs:us-east-1:1:q-dlq"
FN = "arn:aws:lambda:us-east-1:1:function:fn"
EVENT = "e-1"
T0 = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0 / 1000

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeReads:
    """The AWS reads, answering from lists that the test fills as (time, record) pairs: a record shows once the
    clock has reached its time."""

    def __init__(self, clock: Clock, *, ledgers: bool = True) -> None:
        self.clock, self.ledgers = clock, ledgers
        self.delivery: list[tuple[float, DeliveryRecord]] = []
        self.invocation: list[tuple[float, InvocationRecord]] = []
        self.lines: list[tuple[float, LogEvent]] = []
        self.metrics: list[tuple[float, dict[str, float]]] = []
        self.dlq: list[tuple[float, FoundMessage]] = []
        self.mapping: list[tuple[float, MappingState]] = []  # the latest one due is what Lambda shows
        self.mapping_reads = 0
        self.peeks: list[str] = []
        self.notes: list[str] = []

    def _due(self, items: Sequence[tuple[float, Any]]) -> list[Any]:
        return [item for at, item in items if at <= self.clock()]

    def deliveries(self, event_id: str, since_ms: int) -> list[DeliveryRecord] | None:
        return self._due(self.delivery) if self.ledgers else None

    def invocations(self, event_id: str, since_ms: int) -> list[InvocationRecord] | None:
        return self._due(self.invocation) if self.ledgers else None

    def log_lines(self, group: str, event_id: str, since_ms: int) -> list[LogEvent]:
        return self._due(self.lines)

    def metric_sums(self, queries: Sequence[MetricQuery], start_ms: int, end_ms: int) -> dict[str, float | None]:
        sums: dict[str, float | None] = {q.id: None for q in queries}
        for values in self._due(self.metrics):
            sums.update(values)
        return sums

    def find_in_queue(self, queue_url: str, event_id: str) -> FoundMessage | None:
        self.peeks.append(queue_url)
        due = self._due(self.dlq)
        return due[0] if due else None

    def mapping_state(self, uuid: str) -> MappingState | None:
        self.mapping_reads += 1
        due = self._due(self.mapping)
        return due[-1] if due else MappingState(uuid, "Enabled", "OK")


def plan(
    *, dlq: bool = True, functions: bool = True, visibility: int | None = None, timeout: float | None = None
) -> Plan:
    route = Route(
        "signup",
        RULE,
        "t1",
        QUEUE,
        "q",
        "http://x/1/q",
        dlq_arn=DLQ if dlq else None,
        dlq_url="http://x/1/q-dlq" if dlq else None,
        max_receive_count=3,
        visibility_timeout=visibility,
    )
    if functions:
        route.functions.append(FunctionHop("arn:mapping", "Enabled", FN, "fn", "/aws/lambda/fn", timeout=timeout))
    return Plan("default", {}, [RuleMatch("signup", RULE, "ENABLED")], [], [route], [], Graph(), DescribeCache())


def at(seconds: float) -> float:
    return T0 / 1000 + seconds


def delivery(outcome: str, seconds: float, **extra: Any) -> tuple[float, DeliveryRecord]:
    return at(seconds), DeliveryRecord(EVENT, RULE, QUEUE, outcome, int(at(seconds) * 1000), **extra)


def invocation(
    outcome: str, start: float, end: float, request: str = "req", **extra: Any
) -> tuple[float, InvocationRecord]:
    record = InvocationRecord(
        request,
        "fn",
        outcome,
        ("m1",),
        (EVENT,),
        start_ms=int(at(start) * 1000),
        end_ms=int(at(end) * 1000),
        raw={"queue_arn": QUEUE},
        **extra,
    )
    return at(end), record


def follow(reads: FakeReads, clock: Clock, the_plan: Plan | None = None, timeout: float = 30) -> Follower:
    follower = Follower(the_plan or plan(), reads, EVENT, T0, clock=clock, sleep=clock.sleep)
    follower.run(timeout)
    return follower


def statuses(follower: Follower) -> list[tuple[str, str]]:
    return [(h.hop, h.status) for h in follower.hops()]


def test_healthy_every_hop_ok_with_its_time_from_the_ledgers() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.2))
    reads.invocation.append(invocation("success", 1.0, 2.5, deleted=("m1",)))
    follower = follow(reads, clock)
    assert statuses(follower) == [("delivered", "ok"), ("received", "ok"), ("processed", "ok")]
    assert [h.time_ms for h in follower.hops()] == [T0 + 200, T0 + 1000, T0 + 2500]
    assert not follower.timed_out and follower.waited < 4  # it stops as soon as the event is processed
    assert reads.peeks == []  # nothing failed: no DLQ is touched


def test_a_refused_delivery_stalls_at_delivered_at_once() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("dropped", 0.1, error_code="NO_PERMISSIONS", error_message="no policy"))
    follower = follow(reads, clock)
    assert statuses(follower) == [("delivered", "stalled")]
    assert "NO_PERMISSIONS" in follower.hops()[0].detail and follower.waited <= 1


def test_retrying_waits_then_delivered() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery += [
        delivery("retrying", 0.1, attempt=1, error_code="THROTTLING"),
        delivery("delivered", 3, attempt=2),
    ]
    reads.invocation.append(invocation("success", 3.5, 4.0))
    follower = follow(reads, clock)
    assert statuses(follower)[0] == ("delivered", "ok") and "attempt 2" in follower.hops()[0].detail


def test_failures_with_a_dlq_wait_until_the_peek_finds_it_there() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    for n in range(3):
        reads.invocation.append(invocation("error", 1 + 2 * n, 1.5 + 2 * n, kept=("m1",), error="KeyError: 'Message'"))
    reads.dlq.append((at(8), FoundMessage(DLQ, "m1", None, 3, int(at(8) * 1000))))
    follower = follow(reads, clock)
    assert statuses(follower) == [
        ("delivered", "ok"),
        ("received", "ok"),
        ("processed", "stalled"),
        ("dead_lettered", "ok"),
    ]
    processed = follower.hops()[2]
    assert "failed 3 time(s): KeyError: 'Message'; moved to the DLQ" in processed.detail
    assert follower.hops()[3].resource == DLQ and not follower.timed_out
    assert set(reads.peeks) == {"http://x/1/q-dlq"}


def test_a_failure_without_a_dlq_stalls_at_once() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("error", 1, 1.5, error="ValueError: no email"))
    follower = follow(reads, clock, plan(dlq=False))
    assert statuses(follower)[-1] == ("processed", "stalled")
    assert "no DLQ" in follower.hops()[-1].detail and follower.waited < 3


def test_a_failing_event_not_in_the_dlq_by_the_timeout_is_stalled_after_a_last_peek() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("timeout", 1, 2, error="Task timed out"))
    follower = follow(reads, clock, timeout=10)
    assert follower.timed_out and statuses(follower)[-1] == ("processed", "stalled")
    assert "not in the DLQ yet" in follower.hops()[-1].detail


def test_no_ledger_and_no_metrics_yet_is_not_yet_visible_never_failed() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    follower = follow(reads, clock, timeout=5)
    assert follower.timed_out
    delivered = follower.hops()[0]
    assert delivered.status == "waiting" and "not yet visible" in delivered.detail and not delivered.exact
    assert statuses(follower)[1:] == [("received", "skipped"), ("processed", "skipped")]


def test_log_lines_with_the_event_id_show_received_and_processed_and_imply_delivery() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    line: LogEvent = {
        "source": "fn",
        "group": "/aws/lambda/fn",
        "stream": "s",
        "timestamp": T0 + 1500,
        "ingestionTime": None,
        "message": f"processing {EVENT}",
        "eventId": "1",
    }  # type: ignore[typeddict-item]
    reads.lines.append((at(2), line))
    follower = follow(reads, clock)
    assert statuses(follower) == [("delivered", "ok"), ("received", "ok"), ("processed", "ok")]
    assert follower.hops()[0].evidence == "inferred" and follower.hops()[0].time_ms == T0 + 1500


def test_metrics_only_processed_is_not_exact_and_waits_for_the_metrics() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    reads.metrics.append(
        (at(20), {"rule_invocations": 1, "sent": 1, "fn_invocations0": 1, "deleted": 1, "fn_errors0": 0})
    )
    follower = follow(reads, clock, timeout=60)
    assert statuses(follower) == [("delivered", "ok"), ("received", "ok"), ("processed", "ok")]
    assert all(h.evidence == "metrics" and not h.exact for h in follower.hops())
    assert 20 <= follower.waited <= 31  # metrics are read every 15 s, not every second


def test_failed_invocations_in_the_metrics_stall_delivery() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    reads.metrics.append((at(0), {"failed": 2}))
    follower = follow(reads, clock)
    assert statuses(follower) == [("delivered", "stalled")] and not follower.hops()[0].exact


def test_a_queue_nothing_reads_stalls_at_received() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    follower = follow(reads, clock, plan(functions=False))
    assert statuses(follower) == [("delivered", "ok"), ("received", "stalled"), ("processed", "skipped")]


def test_filtered_by_the_mapping_stalls_at_received() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("filtered", 1, 1))
    follower = follow(reads, clock)
    assert statuses(follower)[1:] == [("received", "stalled"), ("processed", "skipped")]


def test_a_stop_ends_the_wait_with_what_is_known() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    follower = Follower(plan(), reads, EVENT, T0, clock=clock, sleep=clock.sleep)
    follower.run(60, should_stop=lambda: clock() >= at(3))
    assert follower.stopped and not follower.timed_out and follower.waited < 5
    assert statuses(follower)[0] == ("delivered", "ok")


# ---- a mapping that cannot poll ---------------------------------------------------------------------------------
PROBLEM = "PROBLEM: The function execution role does not have permissions to call ReceiveMessage on SQS"


def test_a_mapping_whose_role_cannot_poll_stalls_at_received_within_seconds_not_at_the_timeout() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.mapping.append((at(0), MappingState("uuid-1", "Enabled", PROBLEM, "USER_INITIATED")))
    follower = follow(reads, clock, timeout=60)
    assert statuses(follower) == [("delivered", "ok"), ("received", "stalled"), ("processed", "skipped")]
    received = follower.hops()[1]
    assert received.evidence == "mapping" and received.resource == "arn:mapping"
    assert PROBLEM in received.detail and received.data["mappings"][0]["uuid"] == "uuid-1"
    assert not follower.timed_out and 2 <= follower.waited <= 4  # seen on reads 2 s apart, then it stops


def test_a_problem_shown_once_then_gone_does_not_stall_and_the_event_is_processed() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.mapping += [
        (at(0), MappingState("uuid-1", "Enabled", PROBLEM)),
        (at(1), MappingState("uuid-1", "Enabled", "OK")),  # the role was just fixed: the next poll worked
    ]
    reads.invocation.append(invocation("success", 4, 4.2, deleted=("m1",)))
    follower = follow(reads, clock)
    assert statuses(follower) == [("delivered", "ok"), ("received", "ok"), ("processed", "ok")]


def test_the_mapping_is_not_read_once_the_event_was_received() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.0))
    reads.invocation.append(invocation("error", 0.0, 0.0, error="boom"))  # seen at the first read
    reads.dlq.append((at(30), FoundMessage(DLQ, "m1", None, 3, int(at(30) * 1000))))
    follow(reads, clock, timeout=60)
    assert reads.mapping_reads == 0


# ---- a duplicate ------------------------------------------------------------------------------------------------


def test_two_invocations_processing_the_event_are_a_duplicate_with_both_request_ids_and_times() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation += [  # visibility 1 s, each run 1.6 s: a second poller gets the message after 1 s
        invocation("success", 0.2, 1.8, request="req-a", deleted=("m1",)),
        invocation("success", 1.25, 2.85, request="req-b", deleted=("m1",)),
    ]
    follower = follow(reads, clock, plan(visibility=1, timeout=3))
    assert statuses(follower) == [("delivered", "ok"), ("received", "ok"), ("processed", "duplicated")]
    processed = follower.hops()[2]
    assert "processed 2 times" in processed.detail and "req-a" in processed.detail and "req-b" in processed.detail
    assert processed.time_ms == T0 + 2850
    assert [r["request_id"] for r in processed.data["processed_by"]] == ["req-a", "req-b"]
    assert processed.data["processed_by"][1]["start"].endswith(":21.250Z")
    assert follower.waited <= 4  # the duplicate ends the watch at once


def test_a_run_longer_than_the_visibility_timeout_is_watched_for_the_function_timeout_then_processed() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("success", 0.2, 1.8, deleted=("m1",)))
    follower = follow(reads, clock, plan(visibility=1, timeout=3))
    assert statuses(follower)[-1] == ("processed", "ok")
    # the first run ended at 1.8 s; a second one started before that ends within the 3 s timeout (+1 s to read it)
    assert 5.8 <= follower.waited <= 7 and not follower.timed_out
    assert follower.hops()[-1].data["duplicate_watch_until"].endswith(":25.800Z")


def test_a_run_shorter_than_the_visibility_timeout_is_not_watched() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("success", 0.2, 0.5, deleted=("m1",)))
    follower = follow(reads, clock, plan(visibility=30, timeout=3))
    assert statuses(follower)[-1] == ("processed", "ok") and follower.waited <= 1
    assert "duplicate_watch_until" not in follower.hops()[-1].data


def test_the_duplicate_watch_ends_at_the_timeout() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    reads.delivery.append(delivery("delivered", 0.1))
    reads.invocation.append(invocation("success", 0.2, 1.8, deleted=("m1",)))
    follower = follow(reads, clock, plan(visibility=1, timeout=900), timeout=10)
    assert statuses(follower)[-1] == ("processed", "ok") and 10 <= follower.waited <= 11


def _line(seconds: float, message: str, stream: str = "s") -> tuple[float, LogEvent]:
    line: LogEvent = {
        "source": "fn", "group": "/aws/lambda/fn", "stream": stream, "timestamp": int(at(seconds) * 1000),
        "ingestionTime": None, "message": message, "eventId": str(seconds),
    }  # type: ignore[typeddict-item]  # fmt: skip
    return at(seconds), line


def test_log_lines_with_the_event_id_under_two_request_ids_are_a_duplicate() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    reads.lines += [  # Lambda's JSON log format: each line names its request
        _line(0.5, json.dumps({"requestId": "req-a", "level": "INFO", "message": f"welcome {EVENT}"}), "s1"),
        _line(1.7, json.dumps({"requestId": "req-b", "level": "INFO", "message": f"welcome {EVENT}"}), "s2"),
    ]
    follower = follow(reads, clock, plan(visibility=1, timeout=3))
    processed = follower.hops()[2]
    assert processed.status == "duplicated" and processed.evidence == "logs"
    assert [r["request_id"] for r in processed.data["processed_by"]] == ["req-a", "req-b"]


def test_plain_print_lines_in_two_execution_environments_are_a_duplicate() -> None:
    clock = Clock()
    reads = FakeReads(clock, ledgers=False)
    reads.lines += [_line(0.5, f"welcome {EVENT}", "stream-1"), _line(1.7, f"welcome {EVENT}", "stream-2")]
    follower = follow(reads, clock, plan(visibility=1, timeout=3))
    processed = follower.hops()[2]
    assert processed.status == "duplicated" and "stream stream-1" in processed.detail


# ---- several routes ---------------------------------------------------------------------------------------------


def test_each_route_has_its_own_hops_named_by_rule_and_target() -> None:
    clock = Clock()
    reads = FakeReads(clock)
    two = plan()
    other = Route("signup", RULE, "t2", "arn:aws:sqs:us-east-1:1:audit", "audit", "http://x/1/audit")
    two.routes.append(other)  # a second target of the same rule, which nothing reads
    reads.delivery += [delivery("delivered", 0.1)]
    reads.delivery.append((at(0.1), DeliveryRecord(EVENT, RULE, other.queue_arn, "delivered", int(at(0.1) * 1000))))
    reads.invocation.append(invocation("success", 1.0, 1.2, deleted=("m1",)))
    follower = follow(reads, clock, two)
    assert [(h.route, h.hop, h.status) for h in follower.hops()] == [
        ("signup/t1", "delivered", "ok"),
        ("signup/t1", "received", "ok"),
        ("signup/t1", "processed", "ok"),
        ("signup/t2", "delivered", "ok"),
        ("signup/t2", "received", "stalled"),
        ("signup/t2", "processed", "skipped"),
    ]
