"""One way to stop: Ctrl-C (SIGINT), SIGTERM (`timeout`, a CI cancel, `docker stop`) and SIGHUP (a closed terminal)
all take the KeyboardInterrupt path, and the exit code says which signal it was (128 + its number: 130, 143, 129).

The API, for every command (sandbox and demo included):

    with stop_signals():            # the root group wraps every command in it (evctl/cli/main.py)
        ...                         # SIGINT / SIGTERM / SIGHUP raise KeyboardInterrupt here

    with graceful_stop(out, "finishing the batch in hand") as stop:   # loops that can stop at a safe point
        loop(should_stop=stop)      # the first signal sets `stop`; a second raises KeyboardInterrupt

    received()                      # the signal that stopped the command (None: none yet)
    stop_word()                     # "interrupted" / "terminated" / "hung up", for messages
    exit_code()                     # 130 / 143 / 129 (130 when nothing was received: a plain Interrupted error)
    exit_for(error, output)         # the root group's exit status for an error (stops, closed pipes)

A signal ignored when evctl started (`nohup` ignores SIGHUP, a background job SIGINT) stays ignored. Handlers are
installed only on the main thread; elsewhere (tests driving the CLI from a worker) the context managers do nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from evctl.errors import EvctlError, Interrupted
from evctl.output import Output, StdoutUnwritable

__all__ = ["STOP_SIGNALS", "exit_code", "exit_for", "graceful_stop", "received", "reset", "stop_signals", "stop_word"]

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}

_received: list[signal.Signals] = []  # the signals seen in this invocation, first first


def received() -> signal.Signals | None:
    """The first stop signal this invocation received, or None."""
    return _received[0] if _received else None


def reset() -> None:
    """Forget the signals seen (a new invocation in the same process: tests)."""
    _received.clear()


def stop_word() -> str:
    """How the stop is named in messages: interrupted (Ctrl-C), terminated (SIGTERM), hung up (SIGHUP)."""
    return _WORDS.get(received() or signal.SIGINT, "interrupted")


def exit_code() -> int:
    """The exit code of a stopped command: 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + int(received() or signal.SIGINT)


def _record(signum: int) -> None:
    _received.append(signal.Signals(signum))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _record(signum)
    raise KeyboardInterrupt


@contextmanager
def _handlers(handler: Any) -> Iterator[bool]:
    """Install `handler` for every stop signal not ignored at start-up; restore the previous ones on exit.
    Yields whether anything was installed (False off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            current = signal.getsignal(signum)
            if current == signal.SIG_IGN:
                continue  # nohup / a background job: what was ignored stays ignored
            previous[signum] = current
            signal.signal(signum, handler)
        yield True
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt inside the block (the signal is recorded)."""
    reset()
    with _handlers(_raise_interrupt):
        yield


@contextmanager
def graceful_stop(out: Output, doing: str) -> Iterator[threading.Event]:
    """The first stop signal sets the event (the loop finishes cleanly and reports); a second one quits at once
    (KeyboardInterrupt)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            _raise_interrupt(signum, frame)
        _record(signum)
        stop.set()
        again = "Ctrl-C again" if signum == signal.SIGINT else f"{signal.Signals(signum).name} again"
        out.warn(f"{stop_word()}: {doing} ({again} to quit now; held messages then reappear later)")

    with _handlers(handler):
        yield stop


def exit_for(error: EvctlError, output: Output | None) -> tuple[int, bool]:
    """The exit code for an error that ends a command, and whether its one line is printed.

    A stop (Interrupted) exits 128 + the signal's number; a closed pipe ends a read-only command quietly (exit 0, or
    the verdict a checking command had reached before printing it: `Output.verdict`, 1 for doctor's finding, a
    stalled trace, a failed demo step), and is reported (exit 1) by a command that moves data; every other error
    exits with its own code."""
    if isinstance(error, Interrupted):
        return exit_code(), True
    if isinstance(error, StdoutUnwritable) and error.closed_pipe and not (output is not None and output.moves_data):
        return (output.verdict if output is not None else 0), False
    return int(error.exit_code), True
