"""A process's identity (start time + command line) through /proc and through `ps`, signalling only the same
process, and the sandbox lock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evctl.sandbox import process
from tests.helpers import restore_default_signals

PROBES = ["proc", "ps"]


@pytest.fixture(params=PROBES)
def probe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "ps":
        monkeypatch.setattr(process, "PROC", Path("/nonexistent-proc"))
    return str(request.param)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], preexec_fn=restore_default_signals)
    try:
        for _ in range(500):  # until it has exec'd
            if Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"sleep"):
                break
            time.sleep(0.01)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_identity_is_stable_and_names_the_program(probe: str, sleeper: subprocess.Popen[bytes]) -> None:
    first = process.identify(sleeper.pid)
    assert first is not None and first == process.identify(sleeper.pid)
    assert first.command == "sleep 60"
    assert first.start.startswith("linux:" if probe == "proc" else "ps:")
    assert process.identify(os.getpid()) != first


def test_a_gone_process_and_a_zombie_have_no_identity(probe: str) -> None:
    zombie = subprocess.Popen(["true"], preexec_fn=restore_default_signals)
    for _ in range(500):  # exited, not yet reaped
        if Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.01)
    assert process.identify(zombie.pid) is None
    zombie.wait()
    assert process.identify(zombie.pid) is None  # gone (reaped)
    assert process.identify(0) is None and process.identify(-1) is None


def test_signal_if_same_never_signals_another_process(probe: str, sleeper: subprocess.Popen[bytes]) -> None:
    real = process.identify(sleeper.pid)
    assert real is not None
    other = process.Identity(real.start, "python -m evctl sandbox up")
    assert process.signal_if_same(sleeper.pid, other, signal.SIGTERM) == "other"
    earlier = process.Identity(real.start + "0", real.command)
    assert process.signal_if_same(sleeper.pid, earlier, signal.SIGTERM) == "other"
    assert sleeper.poll() is None
    assert process.signal_if_same(sleeper.pid, real, signal.SIGTERM) == "same"
    assert sleeper.wait(timeout=5) == -signal.SIGTERM
    assert process.signal_if_same(sleeper.pid, real, signal.SIGTERM) == "gone"


def test_without_proc_or_ps_the_identity_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "PROC", Path("/nonexistent-proc"))
    monkeypatch.setenv("PATH", "/nonexistent-bin")
    with pytest.raises(process.IdentityUnknown, match="no /proc and `ps` failed"):
        process.identify(os.getpid())


def test_the_lock_is_exclusive_and_says_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.lock"
    with process.SandboxLock.acquire(path) as lock:
        assert not lock.inherited
        with pytest.raises(process.LockHeld) as held:
            process.SandboxLock.acquire(path)
        assert held.value.holder == os.getpid()
    process.SandboxLock.acquire(path).release()  # free again


def test_a_lock_fd_in_the_environment_is_adopted_only_if_it_is_the_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sandbox.lock"
    other = os.open(tmp_path / "something-else", os.O_RDWR | os.O_CREAT)
    try:
        monkeypatch.setenv(process.LOCK_FD_ENV, str(other))
        with process.SandboxLock.acquire(path) as lock:
            assert not lock.inherited and lock.fd != other
        assert process.LOCK_FD_ENV not in os.environ  # popped: the handlers it starts do not see it
    finally:
        os.close(other)
    parent = process.SandboxLock.acquire(path)
    monkeypatch.setenv(process.LOCK_FD_ENV, str(parent.fd))
    with process.SandboxLock.acquire(path) as child:  # what the --detach child does with the fd it inherited
        assert child.inherited and child.fd == parent.fd
        assert process.LOCK_FD_ENV not in os.environ
