"""Fetching a window: pagination through split and empty pages, throttling, errors, several groups merged."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from evctl.core.logs import LogSource, RequestBudget, Tail, TailOptions, fetch_events
from evctl.errors import ConfigError, ExitCode, NotFoundError
from tests.core.test_logs_harness import FakeClock, Faults, moto_logs

__all__ = ["moto_logs"]


def raw(event_id: str, ts: int, message: str = "m", stream: str = "s") -> dict[str, Any]:
    return {"logStreamName": stream, "timestamp": ts, "message": message, "ingestionTime": ts + 5, "eventId": event_id}


def params(**extra: Any) -> dict[str, Any]:
    return {"logGroupName": "g", "startTime": 1000, "endTime": 5000, "interleaved": True, **extra}


def test_pages_split_inside_a_millisecond_and_empty_pages_with_next_token() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stub:
        stub.add_response("filter_log_events", {"events": [raw("1", 1000), raw("2", 1000)], "nextToken": "a"}, params())
        stub.add_response("filter_log_events", {"events": [], "nextToken": "b"}, params(nextToken="a"))
        stub.add_response("filter_log_events", {"events": [], "nextToken": "c"}, params(nextToken="b"))
        # The next page starts inside the same millisecond and repeats the boundary event.
        stub.add_response(
            "filter_log_events",
            {"events": [raw("2", 1000), raw("3", 1000), raw("4", 1001)], "nextToken": "d"},
            params(nextToken="c"),
        )
        stub.add_response("filter_log_events", {"events": [raw("5", 1002)]}, params(nextToken="d"))
        events = list(fetch_events(logs, "g", 1000, 5000))
        stub.assert_no_pending_responses()
    assert [e["eventId"] for e in events] == ["1", "2", "3", "4", "5"]
    assert events[0] == {
        "source": "g",
        "group": "g",
        "stream": "s",
        "timestamp": 1000,
        "ingestionTime": 1005,
        "eventId": "1",
        "message": "m",
    }


def test_filter_pattern_and_stream_prefix_are_sent_and_the_prefix_is_also_checked_here() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stub:
        stub.add_response(
            "filter_log_events",
            {"events": [raw("1", 1000, stream="2026/11/27/a"), raw("2", 1001, stream="2026/11/26/b")]},
            params(filterPattern="ERROR", logStreamNamePrefix="2026/11/27"),
        )
        events = list(fetch_events(logs, "g", 1000, 5000, "ERROR", stream_prefixes=["2026/11/27"]))
    assert [e["eventId"] for e in events] == ["1"]  # an emulator ignoring the prefix does not leak b


def test_throttled_page_is_retried_with_the_same_token_after_backing_off() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    clock = FakeClock(start=100.0)
    budget = RequestBudget(4.0, clock=clock, sleep=clock.sleep)
    notices: list[str] = []
    with Stubber(logs) as stub:
        stub.add_response("filter_log_events", {"events": [raw("1", 1000)], "nextToken": "a"}, params())
        for _ in range(3):
            stub.add_client_error(
                "filter_log_events", "ThrottlingException", "Rate exceeded", 400, expected_params=params(nextToken="a")
            )
        stub.add_response("filter_log_events", {"events": [raw("2", 1001)]}, params(nextToken="a"))
        events = list(fetch_events(logs, "g", 1000, 5000, budget=budget, on_notice=notices.append))
        stub.assert_no_pending_responses()
    assert [e["eventId"] for e in events] == ["1", "2"]
    assert (budget.calls, budget.throttles) == (5, 3)
    assert budget.rate == pytest.approx(0.5 + 4 / 20)  # halved three times, then one success
    assert clock.slept == [0.25, 0.5, 1.0, 2.0]  # the waits double while throttled
    assert notices == [
        "FilterLogEvents is throttled (5 requests/s per account and region); slowing to 2 requests/s and carrying on"
    ]


@pytest.mark.parametrize(
    ("code", "status", "error", "exit_code", "message"),
    [
        ("AccessDeniedException", 400, ConfigError, ExitCode.CONFIG, "access denied: not authorized to perform logs:FilterLogEvents"),
        ("ResourceNotFoundException", 400, NotFoundError, ExitCode.NOT_FOUND, "log group g not found"),
    ],
)  # fmt: skip
def test_errors_are_mapped(code: str, status: int, error: type, exit_code: int, message: str) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stub:
        stub.add_client_error("filter_log_events", code, "not authorized to perform logs:FilterLogEvents", status)
        with pytest.raises(error) as raised:
            list(fetch_events(logs, "g", 1000, 5000))
    assert raised.value.exit_code == exit_code
    assert raised.value.message == message


def test_10000_events_fetched_once_each_in_timestamp_order_across_streams_and_groups(moto_logs: Any) -> None:
    now = int(time.time() * 1000) - 60_000
    expected: list[str] = []
    for group in ("/aws/lambda/a", "/aws/lambda/b"):
        moto_logs.create_log_group(logGroupName=group)
        for stream in range(5):
            name = f"stream-{stream}"
            moto_logs.create_log_stream(logGroupName=group, logStreamName=name)
            batch = [{"timestamp": now + i // 20, "message": f"{group} {name} {i}"} for i in range(1000)]
            moto_logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=batch)
            expected += [e["message"] for e in batch]
    faults = Faults(moto_logs, empty_rate=0.2, throttle_rate=0.1)
    sources = [LogSource(label="a", group="/aws/lambda/a"), LogSource(label="b", group="/aws/lambda/b")]
    clock = FakeClock()
    tail = Tail(moto_logs, sources, TailOptions(start_ms=now - 1, page_size=997), clock=clock, sleep=clock.sleep)
    shown = list(tail)
    assert sorted(e["message"] for e in shown) == sorted(expected)
    assert len(shown) == 10_000
    assert [e["timestamp"] for e in shown] == sorted(e["timestamp"] for e in shown)
    assert faults.empty_pages > 0 and faults.throttles > 0 and faults.splits_inside_a_millisecond() > 0
    assert tail.summary().startswith("10000 events from 2 log groups; ")
