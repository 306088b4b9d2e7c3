"""The open-loop engine on simulated time (tests/core/load/sim.py): due times, no coordinated omission, the
concurrency cap, throttling, failures and stops, each accounted exactly (published + failed + not_sent = requested)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from evctl.core.load import EventStream, LoadProgress, run_load, summarize
from tests.core.load.sim import FakeEvents, SimClock, SimPool, client_error, max_overlap

ENTRY = {"Source": "load.test", "DetailType": "T", "Detail": '{"seq":"{seq}","id":"{uuid}"}', "EventBusName": "b"}


def run(
    fake: FakeEvents, *, count: int, rate: float | None, concurrency: int = 64, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    stream = EventStream([ENTRY], count=count, rate=rate, cap=256 * 1024)
    report = run_load(
        fake, stream, concurrency=concurrency, clock=fake.clock, pool=SimPool(fake.clock), rand=lambda: 0.5, **kwargs
    )
    summary = summarize(report)
    assert summary["published"] + summary["failed"] + summary["not_sent"] == summary["requested"] == count
    return report, summary


def test_batches_leave_at_their_due_times_and_the_rate_is_the_offered_one() -> None:
    fake = FakeEvents(SimClock())
    _report, summary = run(fake, count=1000, rate=200.0)
    assert [c.start for c in fake.calls] == pytest.approx([(10 * k + 9) / 200 for k in range(100)])
    assert all(c.size == 10 for c in fake.calls)
    assert [s for c in fake.calls for s in c.seqs] == list(range(1000))  # {seq} per event, in order
    assert summary["achieved_rate"] == 200.0 and summary["offered_rate"] == 200.0
    assert summary["schedule_lag_ms"] == {"p50": 0.0, "p99": 0.0, "max": 0.0}
    assert summary["latency_ms"]["p50"] == 30.0 and summary["latency_from_due_ms"]["max"] == 30.0
    assert summary["published"] == 1000 and summary["api_calls"] == 100 and not summary["stopped"]
    assert summary["concurrency"]["max_in_flight"] == 1


def test_a_slow_call_does_not_delay_the_next_due_time() -> None:
    fake = FakeEvents(SimClock(), latency=lambda n: 2.0 if n == 0 else 0.03)
    _report, summary = run(fake, count=400, rate=100.0)
    due = [(10 * k + 9) / 100 for k in range(40)]
    assert [c.start for c in fake.calls] == pytest.approx(due)  # batch 1 left at 0.19 s while batch 0 took 2 s
    assert summary["achieved_rate"] == 100.0
    assert summary["latency_ms"]["max"] == 2000.0 and summary["latency_from_due_ms"]["max"] == 2000.0
    assert summary["concurrency"]["max_in_flight"] == 2  # the slow call, and one more for the next batch


def test_the_cap_holds_calls_in_flight_and_the_wait_is_measured_as_lag() -> None:
    fake = FakeEvents(SimClock(), latency=lambda n: 1.0)
    _report, summary = run(fake, count=100, rate=100.0, concurrency=2)
    assert max_overlap(fake.calls) == 2 and summary["concurrency"]["max_in_flight"] == 2
    assert summary["concurrency"]["batches_waited_for_slot"] == 8
    # batch 2 was due at 0.29 s, but the first slot freed at 0.09 + 1.0 s: it left 0.8 s late
    assert fake.calls[2].start == pytest.approx(1.09)
    assert summary["schedule_lag_ms"]["max"] > 3000 and summary["latency_from_due_ms"]["max"] > 4000
    assert summary["achieved_rate"] < 0.5 * 100  # the shortfall is reported, not hidden
    assert summary["published"] == 100


def test_throttled_entries_are_resent_counted_and_pause_new_batches() -> None:
    def answer(n: int, entries: Any) -> list[str | None] | None:
        return ["ThrottlingException"] * len(entries) if n == 0 else None

    fake = FakeEvents(SimClock(), answer=answer)
    _report, summary = run(fake, count=100, rate=100.0)
    assert summary["throttled"]["entries"] == 10 and summary["retries"]["entries"] == 10
    assert summary["throttled"]["paused_seconds"] > 0  # batch 1 (due 0.19) waited for the pause (0.12 + 0.1)
    assert fake.calls[2].start == pytest.approx(0.22)
    assert summary["published"] == 100 and summary["failed"] == 0 and summary["api_calls"] == 11


def test_a_throttled_call_is_retried_and_counted() -> None:
    fake = FakeEvents(SimClock(), answer=lambda n, e: client_error("ThrottlingException") if n == 3 else None)
    _report, summary = run(fake, count=100, rate=100.0, max_attempts=3)
    assert summary["throttled"]["calls"] == 1 and summary["retries"]["calls"] == 1
    assert summary["published"] == 100 and summary["api_calls"] == 11


def test_a_call_throttled_to_the_last_attempt_fails_its_batch_only() -> None:
    fake = FakeEvents(SimClock(), answer=lambda n, e: client_error("ThrottlingException") if n < 2 else None)
    report, summary = run(fake, count=50, rate=100.0, max_attempts=2, keep_failed=True)
    assert summary["failed"] == 10 and summary["failures"] == {"ThrottlingException": 10}
    assert summary["published"] == 40 and not summary["stopped"] and report.fatal is None
    assert sorted(seq for seq, _ in report.stats.failed_entries) == list(range(10))


def test_entry_failures_are_counted_by_code_and_kept() -> None:
    def answer(n: int, entries: Any) -> list[str | None]:
        return ["AccessDeniedException" if i == 0 else None for i in range(len(entries))]

    fake = FakeEvents(SimClock(), answer=answer)
    report, summary = run(fake, count=30, rate=100.0, keep_failed=True)
    assert summary["failures"] == {"AccessDeniedException": 3} and summary["failed"] == 3
    assert [seq for seq, _ in report.stats.failed_entries] == [0, 10, 20]
    assert summary["retries"] == {"entries": 0, "calls": 0}  # a final code is not re-sent


def test_a_fatal_call_error_stops_the_run_and_the_rest_is_not_sent() -> None:
    fake = FakeEvents(SimClock(), answer=lambda n, e: client_error("ResourceNotFoundException") if n == 4 else None)
    report, summary = run(fake, count=200, rate=100.0)
    assert report.fatal is not None and not report.stopped
    assert summary["published"] == 40 and summary["failed"] == 10 and summary["not_sent"] == 150


def test_stop_mid_run_counts_every_event() -> None:
    stop = threading.Event()
    fake = FakeEvents(SimClock(), latency=lambda n: 0.5)

    def progress(p: LoadProgress) -> None:
        if p.elapsed >= 1.0:
            stop.set()

    _report, summary = run(fake, count=500, rate=100.0, stop=stop, on_progress=progress, progress_every=0.05)
    assert summary["stopped"] and 0 < summary["not_sent"] < 500
    assert summary["published"] == 10 * len(fake.calls)  # the calls in flight at the stop finished and count


def test_a_signal_in_the_dispatcher_stops_the_run_cleanly() -> None:
    fake, signalled = FakeEvents(SimClock()), list[float]()

    def progress(p: LoadProgress) -> None:
        if p.elapsed >= 0.5 and not signalled:
            signalled.append(p.elapsed)
            raise KeyboardInterrupt  # what stop_signals raises on SIGINT, SIGTERM or SIGHUP

    _report, summary = run(fake, count=500, rate=100.0, on_progress=progress, progress_every=0.05)
    assert summary["stopped"] and summary["published"] == 10 * len(fake.calls) and summary["not_sent"] > 0


def test_without_a_rate_every_batch_is_due_at_once_within_the_cap() -> None:
    fake = FakeEvents(SimClock(), latency=lambda n: 0.1)
    _report, summary = run(fake, count=100, rate=None, concurrency=4)
    assert max_overlap(fake.calls) == 4 and summary["seconds"] == pytest.approx(0.3)
    assert summary["schedule_lag_ms"] is None and summary["offered_rate"] is None
    assert summary["published"] == 100
