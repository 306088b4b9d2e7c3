"""Stopping a recorded sandbox process: SIGTERM, then SIGKILL; the state file goes either way."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evctl.errors import ConfigError
from evctl.sandbox import lifecycle, state
from tests.helpers import restore_default_signals


def _record(proc: subprocess.Popen[bytes]) -> None:
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=proc.pid))


def test_down_stops_the_process_with_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=restore_default_signals)
    _record(proc)
    result = lifecycle.stop_running(timeout=10)
    assert result == {"stopped": True, "pid": proc.pid, "endpoint": "http://127.0.0.1:9", "forced": False}
    assert proc.wait(timeout=5) == -15
    assert state.read() is None


def test_down_kills_a_process_that_ignores_sigterm() -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, preexec_fn=restore_default_signals)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    _record(proc)
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:  # the injected clock moves only when stop_running sleeps
        slept.append(seconds)
        now[0] += seconds

    result = lifecycle.stop_running(timeout=0.5, clock=lambda: now[0], sleep=sleep)
    assert result["forced"] is True
    assert proc.wait(timeout=5) == -9
    assert sum(slept) == pytest.approx(0.5)  # SIGKILL once the timeout passed, not before, not later
    assert state.read() is None


def test_up_refuses_while_one_runs_and_clears_a_stale_record() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=restore_default_signals)
    try:
        _record(proc)
        with pytest.raises(ConfigError, match=f"a sandbox is already running \\(pid {proc.pid}") as caught:
            lifecycle.ensure_not_running()
        assert caught.value.exit_code == 4
    finally:
        proc.kill()
        proc.wait()
    assert lifecycle.ensure_not_running() == f"removed a stale state file (sandbox process {proc.pid} is gone)"
    assert state.read() is None
