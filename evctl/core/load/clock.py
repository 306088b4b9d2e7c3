"""The clock a load run keeps time with: monotonic seconds, and a wait that ends early when the run stops.

    clock = SystemClock()
    clock.now()                 # monotonic seconds
    clock.wait(0.25, stop)      # sleeps; returns at once when `stop` is set

Tests inject their own (tests/core/load/sim.py: simulated time, calls of a chosen latency, no sleeping).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Let `seconds` pass (less when `stop` is set)."""
        ...


class SystemClock:
    """Real time: time.monotonic and Event.wait (a signal still interrupts the main thread's wait)."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, stop: threading.Event) -> None:
        if seconds > 0:
            stop.wait(seconds)
