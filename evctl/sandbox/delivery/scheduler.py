"""Run a function later: the retries of failed deliveries (retry.py decides when) on one background thread, or,
for tests, by hand (ManualScheduler: nothing runs until run_due()/run_all(), on an injected clock)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

Task = Callable[[], None]


class Scheduler(Protocol):
    def after(self, delay: float, task: Task) -> None:
        """Run `task` once, `delay` real seconds from now."""

    def stop(self) -> None:
        """Stop; tasks not yet run are dropped."""


class ThreadScheduler:
    """A daemon thread, started at the first task. A task that raises is reported to `on_error` and forgotten."""

    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._heap: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._on_error = on_error

    def after(self, delay: float, task: Task) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._order), task))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="evctl-delivery-retries", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, task = heapq.heappop(self._heap)
            try:
                task()
            except Exception as exc:  # a retry that fails unexpectedly must not end the thread
                if self._on_error is not None:
                    self._on_error(exc)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)


class ManualScheduler:
    """For tests: tasks wait on a clock the test moves (`now`); run_due() runs those due, run_all() everything."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    def after(self, delay: float, task: Task) -> None:
        self.delays.append(delay)
        heapq.heappush(self._heap, (self.now + delay, next(self._order), task))

    def run_all(self, limit: int = 10_000) -> int:
        """Advance the clock to each task in turn and run it (tasks may add tasks); how many ran."""
        ran = 0
        while self._heap and ran < limit:
            due, _, task = heapq.heappop(self._heap)
            self.now = max(self.now, due)
            task()
            ran += 1
        return ran

    def pending(self) -> int:
        return len(self._heap)

    def stop(self) -> None:
        self._heap.clear()
