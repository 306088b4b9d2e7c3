"""Stopping a recorded sandbox process: SIGTERM, then SIGKILL, only ever to the process the record names; the state
file goes either way. The sandbox lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evctl.errors import ConfigError
from evctl.sandbox import lifecycle, process, state
from tests.helpers import restore_default_signals

SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"
IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
)


def _start(code: str) -> subprocess.Popen[bytes]:
    """A Python child, returned once it runs `code` (its command line is final: it has exec'd)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, preexec_fn=restore_default_signals)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _record(proc: subprocess.Popen[bytes]) -> None:
    state.write(state.SandboxState.for_process(proc.pid, endpoint="http://127.0.0.1:9", port=9))


def test_down_stops_the_process_with_sigterm(children: list[subprocess.Popen[bytes]]) -> None:
    proc = _start(SLEEPER)
    children.append(proc)
    _record(proc)
    result = lifecycle.stop_running(timeout=10)
    assert result == {"stopped": True, "pid": proc.pid, "endpoint": "http://127.0.0.1:9", "forced": False}
    assert proc.wait(timeout=5) == -15
    assert state.read() is None


def test_down_kills_a_process_that_ignores_sigterm(children: list[subprocess.Popen[bytes]]) -> None:
    proc = _start(IGNORES_SIGTERM)
    children.append(proc)
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


def test_the_sigkill_is_not_sent_once_the_pid_is_another_process(
    children: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The escalation checks the identity again: a pid reused during the 15 s wait is left alone."""
    proc = _start(IGNORES_SIGTERM)
    children.append(proc)
    _record(proc)
    real_identify = process.identify
    reused = [False]

    def identify(pid: int) -> process.Identity | None:
        found = real_identify(pid)
        if reused[0] and found is not None:
            return process.Identity(found.start + "-reused", "some other program")
        return found

    monkeypatch.setattr(process, "identify", identify)
    now = [0.0]

    def sleep(seconds: float) -> None:  # while stop_running waits, the pid passes to another program
        reused[0] = True
        now[0] += seconds

    result = lifecycle.stop_running(timeout=0.5, clock=lambda: now[0], sleep=sleep)
    assert result["forced"] is False
    assert proc.poll() is None  # it ignored the SIGTERM and was never sent SIGKILL
    assert state.read() is None


@pytest.mark.parametrize("probe", ["proc", "ps"])
def test_a_record_naming_another_live_process_is_stale_and_nothing_is_signalled(
    probe: str, children: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    if probe == "ps":
        monkeypatch.setattr(process, "PROC", Path("/nonexistent-proc"))
    proc = _start(SLEEPER)
    children.append(proc)
    record = state.SandboxState.for_process(proc.pid, endpoint="http://127.0.0.1:9", port=9)
    assert record.process_start.startswith("linux:" if probe == "proc" else "ps:")
    state.write(record.__class__(**{**record.__dict__, "process_command": "python -m evctl sandbox up"}))
    with pytest.raises(ConfigError, match=f"process {proc.pid} is now another program; stale state file"):
        state.running()
    result = lifecycle.stop_running(timeout=0.5)
    assert result == {
        "stopped": False,
        "pid": proc.pid,
        "reason": f"stale state file removed (process {proc.pid} is now another program, not signalled)",
    }
    assert state.read() is None
    assert proc.poll() is None
    proc.kill()
    assert proc.wait(timeout=5) == -signal.SIGKILL  # our SIGKILL ended it: it had been sent no SIGTERM


def test_a_record_without_an_identity_naming_a_live_process_is_stale(children: list[subprocess.Popen[bytes]]) -> None:
    """A record that does not say which process it names (an older evctl, or a hand-written file) and whose pid
    does not hold the sandbox lock: stale, removed, nothing signalled."""
    proc = _start(SLEEPER)
    children.append(proc)
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=proc.pid))
    result = lifecycle.stop_running(timeout=0.5)
    assert result["stopped"] is False and "not signalled" in result["reason"]
    assert state.read() is None
    assert proc.poll() is None


HOLDS_THE_LOCK = (
    "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX);"
    " os.write(fd, str(os.getpid()).encode()); print('ready', flush=True); time.sleep(60)"
)


@pytest.mark.parametrize("recorded", ["identity", "no identity"])
def test_without_proc_or_ps_the_lock_decides(
    recorded: str, children: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No /proc and no `ps` (or no identity recorded): only the process holding the sandbox lock is signalled."""
    state.lock_path().parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDS_THE_LOCK, str(state.lock_path())],
        stdout=subprocess.PIPE,
        preexec_fn=restore_default_signals,
    )
    children.append(holder)
    assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
    bystander = _start(SLEEPER)
    children.append(bystander)
    if recorded == "identity":
        _record(bystander)
    else:
        state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=bystander.pid))
    monkeypatch.setattr(process, "PROC", Path("/nonexistent-proc"))
    monkeypatch.setenv("PATH", "/nonexistent-bin")
    result = lifecycle.stop_running(timeout=0.5)  # the record names the bystander, which holds no lock
    assert result["stopped"] is False and "not signalled" in result["reason"]
    assert bystander.poll() is None
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=holder.pid))
    assert state.running().pid == holder.pid
    result = lifecycle.stop_running(timeout=10)  # the record names the lock's holder: the sandbox
    assert result == {"stopped": True, "pid": holder.pid, "endpoint": "http://127.0.0.1:9", "forced": False}
    assert holder.wait(timeout=5) == -signal.SIGTERM
    assert state.read() is None


def test_up_refuses_while_one_runs_and_clears_a_stale_record(children: list[subprocess.Popen[bytes]]) -> None:
    proc = _start(SLEEPER)
    children.append(proc)
    _record(proc)
    with pytest.raises(ConfigError, match=f"a sandbox is already running \\(pid {proc.pid}") as caught:
        lifecycle.ensure_not_running()
    assert caught.value.exit_code == 4
    proc.kill()
    proc.wait()
    assert lifecycle.ensure_not_running() == f"removed a stale state file (sandbox process {proc.pid} is gone)"
    assert state.read() is None


def test_the_lock_is_taken_once_and_names_its_holder() -> None:
    with lifecycle.take_lock():
        with pytest.raises(ConfigError) as caught:
            lifecycle.take_lock()
        assert caught.value.exit_code == 4
        assert str(caught.value).startswith(f"a sandbox is already running or starting (pid {os.getpid()})")
        state.write(state.SandboxState.for_process(os.getpid(), endpoint="http://127.0.0.1:9", port=9))
        with pytest.raises(ConfigError, match=f"already running \\(pid {os.getpid()}, http://127.0.0.1:9\\)"):
            lifecycle.take_lock()
    with lifecycle.take_lock():  # released with its holder
        pass


def test_a_stop_while_the_detached_child_starts_stops_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C, SIGTERM or SIGHUP (all KeyboardInterrupt: cli/stopping.py) before the child is ready: no sandbox
    is left starting in the background."""
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(subprocess, "Popen", popen)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with lifecycle.take_lock() as lock, pytest.raises(KeyboardInterrupt):
        lifecycle.spawn_detached(["sandbox", "up", "--port", "0"], lock, sleep=interrupted)
    [child] = started
    assert child.poll() is not None  # stopped (terminated), and reaped
    assert state.read() is None
    with lifecycle.take_lock():  # the lock went with it
        pass
