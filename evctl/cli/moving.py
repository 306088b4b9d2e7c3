"""CLI helpers shared by the commands that move messages (queue drain/peek/send, redrive dlq)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evctl.core.moving.engine import MoveReport
    from evctl.output import Output


@contextmanager
def graceful_stop(out: Output, doing: str) -> Iterator[threading.Event]:
    """First Ctrl-C sets the event (the loop finishes cleanly and reports); a second one quits at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        out.warn(f"interrupted: {doing} (Ctrl-C again to quit now; held messages then reappear later)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def show_progress(bar: Any, report: MoveReport) -> None:
    """Advance a progress bar from a mover report: messages taken by the sink, and the rate so far."""
    elapsed = max(time.monotonic() - report.started, 1e-6)
    bar.update(completed=report.accepted, rate=f"{report.accepted / elapsed:.0f} msg/s")
