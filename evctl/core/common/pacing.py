"""The one request-rate limiter: callers take slots, and wait when they are ahead of the rate.

    pacer = Pacer(10.0)              # at most 10 per second (None: no limit, never waits)
    pacer.take(4)                    # reserve 4 units; sleeps until they are due; returns the seconds waited
    pacer.set_rate(2.0)              # adapt (e.g. halve after a throttle); takes effect from the next take
    pacer.hold(0.5)                  # nothing starts before 0.5 s from now (e.g. after a throttle)

Thread-safe: the slot is reserved under a lock and the sleep happens outside it, so concurrent callers are
spaced one after another. `clock` (monotonic seconds) and `sleep` are injected for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Pacer"]


class Pacer:
    """Keeps its callers at or under `rate` units per second (None or 0: as fast as they go)."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError("the rate must not be negative")
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self, count: int = 1) -> float:
        """Reserve `count` units; sleep until the first is due. Returns the seconds waited (0.0 if none)."""
        if count <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            if self.rate:
                self._next = start + count / self.rate
        if start > now:
            self.sleep(start - now)
            return start - now
        return 0.0

    def set_rate(self, rate: float | None) -> None:
        """Change the rate (None: unlimited) for the calls that follow."""
        if rate is not None and rate < 0:
            raise ValueError("the rate must not be negative")
        with self._lock:
            self.rate = rate

    def hold(self, seconds: float) -> None:
        """Let nothing start before `seconds` from now (slots already further out are kept)."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)
