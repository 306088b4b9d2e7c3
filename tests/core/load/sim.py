"""Simulated time for the load engine: a clock that only moves when waited on, a pool that runs each batch at once
on a branch of that clock (the call's own time), and a fake EventBridge whose calls take a chosen latency.

The engine under test is the real one; only time, threads and the service are stand-ins, so every figure is exact.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


class SimClock:
    """now() is the dispatcher's time, or inside `branch()` the running call's own time; wait() moves it."""

    def __init__(self) -> None:
        self.t = 0.0
        self._local = threading.local()

    def now(self) -> float:
        branch = getattr(self._local, "t", None)
        return self.t if branch is None else float(branch)

    def wait(self, seconds: float, stop: threading.Event) -> None:
        if seconds <= 0:
            return
        if getattr(self._local, "t", None) is not None:
            self._local.t += seconds
        else:
            self.t += seconds

    @contextmanager
    def branch(self) -> Iterator[None]:
        self._local.t = self.t
        try:
            yield
        finally:
            self._local.t = None


class SimPool:
    """Runs each submitted batch at once, on its own branch of the clock (as if on a thread of its own)."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        with self.clock.branch():
            fn(*args)

    def shutdown(self, wait: bool = True) -> None:
        pass


@dataclass
class Call:
    start: float
    end: float
    size: int
    seqs: list[int]


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} (simulated)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutEvents")


@dataclass
class FakeEvents:
    """PutEvents that takes `latency(call number)` seconds of the call's clock; `answer` may fail entries or calls."""

    clock: SimClock
    latency: Callable[[int], float] = lambda n: 0.03
    # (call number, entries) -> an exception to raise, or per-entry error codes (None: ok)
    answer: Callable[[int, Sequence[dict[str, Any]]], BaseException | list[str | None] | None] = lambda n, e: None
    calls: list[Call] = field(default_factory=list)

    def put_events(self, *, Entries: Sequence[Any]) -> Any:
        number = len(self.calls)
        start = self.clock.now()
        self.clock.wait(self.latency(number), threading.Event())
        seqs = [int(json.loads(e["Detail"]).get("seq", -1)) for e in Entries]
        self.calls.append(Call(start, self.clock.now(), len(Entries), seqs))
        result = self.answer(number, Entries)
        if isinstance(result, BaseException):
            raise result
        codes = result or [None] * len(Entries)
        return {
            "FailedEntryCount": sum(1 for c in codes if c),
            "Entries": [
                {"ErrorCode": c, "ErrorMessage": "simulated"} if c else {"EventId": f"id-{number}-{i}"}
                for i, c in enumerate(codes)
            ],
        }


def max_overlap(calls: Sequence[Call]) -> int:
    """The most calls in flight at one moment (an end at t frees its slot before a start at t)."""
    edges = sorted([(c.start, 1) for c in calls] + [(c.end, -1) for c in calls], key=lambda e: (e[0], e[1]))
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak
