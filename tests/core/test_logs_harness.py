"""Test harness for the log tail: a fake clock whose sleep lets producers write, and fault injection.

`Faults` hooks a real botocore client (talking to moto) and makes chosen FilterLogEvents calls answer as
AWS may: an empty page that still carries a nextToken, or a ThrottlingException. It also records every
page so a test can prove a page boundary fell inside a millisecond. The tests at the bottom check that the
harness really injects what it claims, so that the tests relying on it cannot pass vacuously.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

EMPTY_PREFIX = "EMPTY|"


class FakeClock:
    """time.time and time.sleep for the code under test; sleeping runs the registered producers."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.slept: list[float] = []
        self.on_sleep: list[Callable[[], None]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook()

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)


@dataclass(order=True)
class _Put:
    at: float
    seq: int
    stream: str = field(compare=False)
    events: list[dict[str, Any]] = field(compare=False)


class Producer:
    """Writes scheduled batches to a log group once the fake clock reaches their time.

    Writes go straight to moto's in-process backend (the same model code PutLogEvents runs, without the
    HTTP round trip) so that 10,000 events stay quick to produce.
    """

    def __init__(self, logs: Any, group: str, clock: FakeClock) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.logs.models import logs_backends

        self.backend = logs_backends[DEFAULT_ACCOUNT_ID][logs.meta.region_name]
        self.group = group
        self.clock = clock
        self._queue: list[_Put] = []
        self._streams: set[str] = set()
        self.put_count = 0
        clock.on_sleep.append(self.deliver)

    def schedule(self, at: float, stream: str, events: list[dict[str, Any]]) -> None:
        self._queue.append(_Put(at, len(self._queue), stream, sorted(events, key=lambda e: e["timestamp"])))
        self._queue.sort()

    def deliver(self) -> None:
        while self._queue and self._queue[0].at <= self.clock.now:
            put = self._queue.pop(0)
            if put.stream not in self._streams:
                self.backend.create_log_stream(self.group, put.stream)
                self._streams.add(put.stream)
            _, rejected = self.backend.put_log_events(self.group, put.stream, put.events)
            assert not rejected, rejected
            self.put_count += len(put.events)

    @property
    def pending(self) -> int:
        return len(self._queue)


class Faults:
    """Injects empty pages (with nextToken) and ThrottlingExceptions into FilterLogEvents calls."""

    def __init__(
        self,
        client: Any,
        *,
        empty_rate: float = 0.0,
        throttle_rate: float = 0.0,
        seed: int = 7,
        clock: FakeClock | None = None,
    ) -> None:
        self.random = random.Random(seed)
        self.empty_rate = empty_rate
        self.throttle_rate = throttle_rate
        self.clock = clock
        self.calls = 0
        self.empty_pages = 0
        self.throttles = 0
        self.call_times: list[float] = []
        self.pages: list[tuple[list[int], bool]] = []  # (timestamps of the page, had nextToken)
        self._pending: str | None = None
        self._token: str | None = None
        events = client.meta.events
        events.register("before-parameter-build.cloudwatch-logs.FilterLogEvents", self._before_params)
        events.register("before-call.cloudwatch-logs.FilterLogEvents", self._before_call)
        events.register("after-call.cloudwatch-logs.FilterLogEvents", self._after_call)

    def _before_params(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        if self.clock is not None:
            self.call_times.append(self.clock.now)
        token = params.get("nextToken")
        if isinstance(token, str) and token.startswith(EMPTY_PREFIX):
            real = token[len(EMPTY_PREFIX) :]
            if real:
                params["nextToken"] = real
            else:
                del params["nextToken"]
        roll = self.random.random()
        if roll < self.throttle_rate:
            self._pending = "throttle"
        elif roll < self.throttle_rate + self.empty_rate:
            self._pending, self._token = "empty", params.get("nextToken", "")
        else:
            self._pending = None

    def _before_call(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        pending, self._pending = self._pending, None
        if pending == "throttle":
            self.throttles += 1
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            return AWSResponse("https://logs.test", 400, {}, None), {
                **error,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        if pending == "empty":
            self.empty_pages += 1
            page = {"events": [], "nextToken": EMPTY_PREFIX + (self._token or ""), "searchedLogStreams": []}
            return AWSResponse("https://logs.test", 200, {}, None), {
                **page,
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
        return None

    def _after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        if "Error" not in parsed:
            self.pages.append(([e["timestamp"] for e in parsed.get("events", [])], bool(parsed.get("nextToken"))))

    def splits_inside_a_millisecond(self) -> int:
        """Page boundaries where the next page starts in the same millisecond the previous one ended."""
        count = 0
        for (page, had_token), (following, _) in zip(self.pages, self.pages[1:], strict=False):
            if had_token and page and following and page[-1] == following[0]:
                count += 1
        return count

    def max_calls_in_any_second(self) -> int:
        times = sorted(self.call_times)
        best, left = 0, 0
        for right, moment in enumerate(times):
            while moment - times[left] >= 1.0:
                left += 1
            best = max(best, right - left + 1)
        return best


def logs_client() -> Any:
    """A logs client without botocore retries, so that every injected fault reaches the code under test."""
    return boto3.client("logs", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def moto_logs() -> Iterator[Any]:
    with mock_aws():
        yield logs_client()


# ---- the harness injects what it claims -----------------------------------------------------------------


def test_faults_inject_empty_pages_and_throttles(moto_logs: Any) -> None:
    moto_logs.create_log_group(logGroupName="g")
    moto_logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = int(time.time() * 1000)
    moto_logs.put_log_events(
        logGroupName="g", logStreamName="s", logEvents=[{"timestamp": now, "message": str(i)} for i in range(10)]
    )
    faults = Faults(moto_logs, empty_rate=1.0)
    page = moto_logs.filter_log_events(logGroupName="g", limit=3)
    assert page["events"] == [] and page["nextToken"].startswith(EMPTY_PREFIX)
    faults.empty_rate = 0.0
    page = moto_logs.filter_log_events(logGroupName="g", limit=3, nextToken=page["nextToken"])
    assert [e["message"] for e in page["events"]] == ["0", "1", "2"]
    second = moto_logs.filter_log_events(logGroupName="g", limit=3, nextToken=page["nextToken"])
    assert [e["message"] for e in second["events"]] == ["3", "4", "5"]
    assert faults.splits_inside_a_millisecond() == 1
    faults.throttle_rate = 1.0
    with pytest.raises(ClientError) as raised:
        moto_logs.filter_log_events(logGroupName="g")
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert (faults.empty_pages, faults.throttles, faults.calls) == (1, 1, 4)


def test_producer_writes_when_the_clock_reaches_the_put_time(moto_logs: Any) -> None:
    moto_logs.create_log_group(logGroupName="g")
    clock = FakeClock()
    producer = Producer(moto_logs, "g", clock)
    producer.schedule(clock.now + 2, "s", [{"timestamp": clock.now_ms - 5000, "message": "late"}])
    clock.sleep(1)
    assert moto_logs.filter_log_events(logGroupName="g")["events"] == []
    clock.sleep(1)
    assert [e["message"] for e in moto_logs.filter_log_events(logGroupName="g")["events"]] == ["late"]
