"""Throttling slows the send: after each throttled call nothing new starts for a growing pause.

    gate = ThrottleGate()
    gate.throttled(at=12.0)      # the 1st throttle in a row: no new batch before 12.1; the 2nd: 12.2, … at most 5 s
    gate.answered()              # a call went through unthrottled: the next pause starts small again
    gate.resume_at(now)          # when new batches may start (<= now: at once)

The pause grows with `backoff_delay` (the one backoff formula), without jitter: one client, one pause. The schedule
is not moved: batches due during a pause go out late, and their lag is measured (docs/load.md). Thread-safe.
"""

from __future__ import annotations

import threading

from evctl.core.common.backoff import backoff_delay

__all__ = ["PAUSE_BASE", "PAUSE_CAP", "ThrottleGate"]

PAUSE_BASE = 0.1  # seconds after the first throttle
PAUSE_CAP = 5.0  # the longest single pause


class ThrottleGate:
    def __init__(self, *, base: float = PAUSE_BASE, cap: float = PAUSE_CAP) -> None:
        self.base, self.cap = base, cap
        self._in_a_row = 0
        self._pauses: list[tuple[float, float]] = []  # (from, until); a simulated clock can report one ahead of now
        self._lock = threading.Lock()

    def throttled(self, at: float) -> None:
        with self._lock:
            self._in_a_row += 1
            pause = backoff_delay(self._in_a_row, base=self.base, cap=self.cap)
            self._pauses.append((at, at + pause))

    def answered(self) -> None:
        with self._lock:
            self._in_a_row = 0

    def resume_at(self, now: float) -> float:
        """The end of the pauses begun by `now` (a time <= now when there is none)."""
        with self._lock:
            self._pauses = [p for p in self._pauses if p[1] > now]
            return max((until for since, until in self._pauses if since <= now), default=now)
