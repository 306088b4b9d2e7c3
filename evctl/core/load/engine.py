"""The open-loop dispatcher: each batch goes out at its due time, whatever the calls before it are doing.

    report = run_load(client, stream, concurrency=64, max_attempts=5)      # LoadReport
    run_load(..., clock=SimClock(), pool=SimPool(clock), stop=event)       # tests: simulated time, no threads

One thread (the caller's) walks the stream: waits until the batch is due, waits out a throttle pause (ThrottleGate),
waits for a free slot if `concurrency` calls are in flight, then hands the batch to the pool and goes on to the next
due time without waiting for the answer. The pool's threads grow with the calls in flight (a ThreadPoolExecutor
starts a thread only when none is idle), up to `concurrency`. Every wait, slot or pause, makes the batch late, and
lateness is measured, never absorbed into the schedule: the due times are fixed at the start (stream.py).

Each batch runs core/events' `send_batch` (the entry-level retries) through a TimedSender (timing, whole-call
retries, throttle counting). Outcomes come back on a queue and are accounted on the dispatcher's thread when their
call has finished by the clock. Stopping: `stop` set, or KeyboardInterrupt (Ctrl-C, SIGTERM, SIGHUP through
evctl/cli/stopping.py) in the dispatcher: no new batch starts, backoff waits end, the calls in flight finish and
are counted; the batches never sent are `not_sent`. A whole-call error `is_fatal` stops the run the same way and
is kept in `report.fatal`. published + failed + not_sent == requested, always.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from evctl.core.events import EntryResult, PutEventsClient, send_batch
from evctl.core.load.clock import Clock, SystemClock
from evctl.core.load.sender import CallLog, TimedSender, is_fatal
from evctl.core.load.stats import LoadStats, Outcome
from evctl.core.load.stream import Batch, EventStream
from evctl.core.load.throttle import ThrottleGate

__all__ = ["DEFAULT_CAP", "LoadProgress", "LoadReport", "Pool", "run_load"]

DEFAULT_CAP = 64  # calls in flight at most (`--concurrency`)
PROGRESS_EVERY = 0.25  # seconds between progress reports (and the longest the dispatcher waits unwatched)


class Pool(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...

    def shutdown(self, wait: bool = True) -> None: ...


@dataclass
class LoadReport:
    requested: int
    rate: float | None
    batch_size: int
    concurrency: int
    stats: LoadStats
    started: float = 0.0
    ended: float = 0.0
    stopped: bool = False  # by the user (a signal or `stop`)
    fatal: BaseException | None = None  # the error that stopped the run
    max_in_flight: int = 0
    slot_waits: int = 0  # batches that waited for a free slot (the cap was reached)
    paused: float = 0.0  # seconds the dispatcher waited out throttle pauses

    @property
    def not_sent(self) -> int:
        return self.requested - self.stats.sent


@dataclass(frozen=True)
class LoadProgress:
    elapsed: float
    requested: int
    sent: int  # events in batches handed to the pool
    published: int
    failed: int
    in_flight: int
    throttled: int  # throttled calls + entries so far


@dataclass
class _Dispatch:
    clock: Clock
    stop: threading.Event
    report: LoadReport
    on_progress: Callable[[LoadProgress], None] | None
    progress_every: float
    outcomes: queue.SimpleQueue[Outcome] = field(default_factory=queue.SimpleQueue)
    arrived: list[tuple[float, int, Outcome]] = field(default_factory=list)  # heap by finish time
    order: itertools.count[int] = field(default_factory=itertools.count)
    submitted: int = 0  # batches handed to the pool
    sent_events: int = 0  # their events
    collected: int = 0
    reported_at: float = float("-inf")

    @property
    def in_flight(self) -> int:
        return self.submitted - self.collected

    def collect(self, now: float, block: float = 0.0) -> None:
        """Account every outcome whose call has finished by `now`; wait up to `block` s for one to arrive."""
        try:
            while True:
                outcome = self.outcomes.get(timeout=block) if block > 0 else self.outcomes.get_nowait()
                heapq.heappush(self.arrived, (outcome.finished, next(self.order), outcome))
                block = 0.0
        except queue.Empty:
            pass
        while self.arrived and self.arrived[0][0] <= now:
            outcome = heapq.heappop(self.arrived)[2]
            self.report.stats.add(outcome)
            self.collected += 1
            if outcome.error is not None and is_fatal_error(outcome.error) and self.report.fatal is None:
                self.report.fatal = outcome.error
                self.stop.set()
        if now != float("inf"):
            self.progress(now)

    def progress(self, now: float, force: bool = False) -> None:
        if self.on_progress is None or (not force and now - self.reported_at < self.progress_every):
            return
        self.reported_at = now
        stats = self.report.stats
        self.on_progress(
            LoadProgress(
                now - self.report.started,
                self.report.requested,
                self.sent_events,
                stats.published,
                stats.failed,
                self.in_flight,
                stats.throttled_calls + stats.throttled_entries,
            )
        )

    def until(self, target: float, *, watch_stop: bool = True) -> bool:
        """Let the clock reach `target`, accounting outcomes on the way; False when stopped first."""
        while True:
            now = self.clock.now()
            self.collect(now)
            if watch_stop and self.stop.is_set():
                return False
            if now >= target:
                return True
            self.clock.wait(min(target - now, self.progress_every), self.stop)

    def next_finish(self) -> bool:
        """Wait for one call in flight to finish (by the clock); False when stopped first."""
        collected = self.collected
        while self.collected == collected:
            if self.stop.is_set():
                return False
            if self.arrived:  # answered, but finishing later by the clock (simulated time)
                self.until(self.arrived[0][0])
            else:
                self.collect(self.clock.now(), block=self.progress_every)
        return True

    def drain(self, workers: Pool) -> None:
        """Wait for every call in flight (stop or no stop) and account it; then for the pool itself, so that a batch
        handed over in the instant a signal came is accounted too."""
        while self.collected < self.submitted:
            if self.arrived and self.arrived[0][0] > self.clock.now():
                self.clock.wait(self.arrived[0][0] - self.clock.now(), threading.Event())
            self.collect(self.clock.now(), block=0.0 if self.arrived else self.progress_every)
        workers.shutdown(wait=True)
        self.collect(float("inf"))


def is_fatal_error(error: BaseException) -> bool:
    return not isinstance(error, Exception) or is_fatal(error)


def run_load(
    client: PutEventsClient,
    stream: EventStream,
    *,
    concurrency: int = DEFAULT_CAP,
    max_attempts: int = 5,
    clock: Clock | None = None,
    pool: Pool | None = None,
    stop: threading.Event | None = None,
    rand: Callable[[], float] = random.random,
    keep_failed: bool = False,
    on_progress: Callable[[LoadProgress], None] | None = None,
    progress_every: float = PROGRESS_EVERY,
) -> LoadReport:
    """Send `stream`'s batches open-loop (module doc); return what happened. Never raises for a failed call."""
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    cap = max(1, concurrency)
    report = LoadReport(stream.count, stream.rate, stream.batch_size, cap, LoadStats(keep_failed=keep_failed))
    run = _Dispatch(clock, stop, report, on_progress, progress_every)
    gate = ThrottleGate()
    workers: Pool = pool if pool is not None else ThreadPoolExecutor(cap, thread_name_prefix="evctl-load")

    def work(batch: Batch, due: float, sent: float) -> None:
        log = CallLog()
        error: BaseException | None = None
        results = [EntryResult(index) for index in range(len(batch))]
        try:
            sender = TimedSender(client, clock, gate, log, max_attempts=max_attempts, stop=stop, rand=rand)
            error = send_batch(
                sender,
                batch.entries,
                results,
                list(range(len(batch))),
                max_attempts=max_attempts,
                wait=lambda seconds: clock.wait(seconds, stop),
                stopping=stop.is_set,
                on_call=log.sent,
                rand=rand,
                is_fatal=is_fatal,
            )
        except BaseException as exc:  # a bug in a worker must not lose its batch from the accounting
            error = exc
            for result in results:
                if not result.ok:
                    result.status, result.error_code, result.error_message = "failed", type(exc).__name__, str(exc)
        run.outcomes.put(Outcome(batch, due, sent, clock.now(), results, log, error))

    report.started = clock.now()
    try:
        try:
            _dispatch(run, stream, workers, work, gate, cap)
        except KeyboardInterrupt:
            report.stopped = True
            stop.set()
        try:
            run.drain(workers)
        except KeyboardInterrupt:  # a signal while the last calls finish: they still finish and are counted
            report.stopped = True
            stop.set()
            run.drain(workers)
    finally:
        workers.shutdown(wait=True)
    report.ended = clock.now()
    if stop.is_set() and report.fatal is None:
        report.stopped = True
    run.progress(report.ended, force=True)
    return report


def _dispatch(
    run: _Dispatch, stream: EventStream, workers: Pool, work: Callable[..., None], gate: ThrottleGate, cap: int
) -> None:
    report, clock = run.report, run.clock
    for batch in stream:
        due = report.started + batch.due
        if not run.until(due):
            return
        while (resume := gate.resume_at(clock.now())) > clock.now():
            paused_from = clock.now()
            if not run.until(resume):
                return
            report.paused += clock.now() - paused_from
        if run.in_flight >= cap:
            report.slot_waits += 1
            if not run.next_finish():
                return
        if run.stop.is_set():
            return
        run.submitted += 1
        run.sent_events += len(batch)
        workers.submit(work, batch, due, clock.now())
        report.max_in_flight = max(report.max_in_flight, run.in_flight)
