"""Which process a sandbox record names, signalling it only while it still is that process, and the sandbox lock.

A pid alone names nothing for long: after a crash or a reboot the state file outlives the sandbox and the pid goes
to another program. A record therefore keeps the process's identity, its start time and its command line, and
every signal (and every "is it running?") checks that identity first. On Linux the start time is the kernel's
(boot id + start tick from /proc/<pid>/stat) and the signal goes through a pidfd, so the process checked is the
process signalled; elsewhere `ps -o lstart= -o command=` gives the identity. Where no identity can be read (no
/proc, no `ps`: IdentityUnknown) or none was recorded, the lock decides: only the process holding it is the
sandbox. Whatever is not proven to be the sandbox is never signalled.

The lock (`sandbox.lock` beside the state file, fcntl.flock) is held by the sandbox for its whole life, and by
`sandbox up --detach` from its check until its child holds it: a second `sandbox up` fails at once.

Standard library only: the root `--sandbox` option reads the state on every command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PROC = Path("/proc")  # tests point it elsewhere to take the `ps` path
Verdict = Literal["same", "gone", "other"]


class IdentityUnknown(Exception):
    """This system cannot tell which program a pid is (no /proc, no usable `ps`)."""


@dataclass(frozen=True)
class Identity:
    start: str  # "linux:<boot id>:<start tick>" or "ps:<lstart>"
    command: str  # the command line, arguments joined by spaces


def identify(pid: int) -> Identity | None:
    """The identity of process `pid`; None when there is no such process (or only its zombie)."""
    if pid <= 0:
        return None
    if (PROC / "self" / "stat").exists():
        return _from_proc(pid)
    return _from_ps(pid)


def _from_proc(pid: int) -> Identity | None:
    base = PROC / str(pid)
    try:
        stat = (base / "stat").read_text(encoding="ascii", errors="replace")
        cmdline = (base / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError as exc:
        raise IdentityUnknown(f"cannot read {base}: {exc.strerror}") from exc
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20:
        raise IdentityUnknown(f"cannot parse {base / 'stat'}")
    if fields[0] in ("Z", "X"):  # a zombie has exited: nothing to signal
        return None
    try:
        boot = (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        boot = ""
    command = " ".join(part.decode("utf-8", "replace") for part in cmdline.split(b"\0") if part)
    return Identity(start=f"linux:{boot}:{fields[19]}", command=command)


def _from_ps(pid: int) -> Identity | None:
    try:
        done = subprocess.run(
            ["ps", "-ww", "-o", "stat=", "-o", "lstart=", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            errors="replace",
            env=dict(os.environ, LC_ALL="C", TZ="UTC"),
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise IdentityUnknown(f"no /proc and `ps` failed ({exc})") from exc
    line = done.stdout.strip()
    if not line:
        if done.returncode != 0 and not done.stderr.strip():
            return None  # ps's answer for "no such process": a failing status and nothing said
        raise IdentityUnknown(f"no /proc and `ps` failed ({done.stderr.strip() or done.returncode})")
    parts = line.split(None, 6)  # STAT, then lstart's five words (Wed Dec  2 20:32:57 2026), then the command
    if len(parts) < 6:
        raise IdentityUnknown(f"cannot parse `ps` output {line!r}")
    if parts[0].startswith("Z"):
        return None
    return Identity(start="ps:" + " ".join(parts[1:6]), command=parts[6] if len(parts) > 6 else "")


def check(pid: int, expected: Identity) -> Verdict:
    """Whether `pid` is still the process `expected` describes ("same"), there is no such process ("gone"), or
    another program has the pid now ("other"). IdentityUnknown when this system cannot tell."""
    current = identify(pid)
    if current is None:
        return "gone"
    return "same" if current == expected else "other"


def signal_if(pid: int, same: Callable[[], Verdict], signum: signal.Signals) -> Verdict:
    """Send `signum` to `pid` only when `same()` says it is the expected process; the verdict says whether it was
    sent ("same") or why not. With a pidfd (opened before the check) the process checked is the process
    signalled, even if the pid is reused in between."""
    fd: int | None = None
    with contextlib.suppress(AttributeError, OSError):
        fd = os.pidfd_open(pid)  # ProcessLookupError (an OSError) when gone: then the check says so below
    try:
        verdict = same()
        if verdict != "same":
            return verdict
        try:
            if fd is not None:
                signal.pidfd_send_signal(fd, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            return "gone"
        return "same"
    finally:
        if fd is not None:
            os.close(fd)


def signal_if_same(pid: int, expected: Identity, signum: signal.Signals) -> Verdict:
    """Send `signum` only when `pid` is the process `expected` describes (see signal_if)."""
    return signal_if(pid, lambda: check(pid, expected), signum)


# ---- the lock -----------------------------------------------------------------------------------------------------

LOCK_ATTEMPTS = 5  # over ~80 ms: "fails at once" still, and never because of another command's probe
LOCK_FD_ENV = "EVCTL_SANDBOX_LOCK_FD"  # `sandbox up --detach` hands its held lock to the child through this


class LockHeld(Exception):
    """Another process holds the sandbox lock; `holder` is the pid it wrote, when readable."""

    def __init__(self, holder: int | None) -> None:
        super().__init__(f"the sandbox lock is held (pid {holder})")
        self.holder = holder


class LockError(Exception):
    """The lock file cannot be opened or locked (an unwritable state directory, a directory at its path...)."""


class SandboxLock:
    """An exclusive, non-blocking fcntl.flock on the lock file; released when closed or when the process ends."""

    def __init__(self, path: Path, fd: int, *, inherited: bool = False) -> None:
        self.path = path
        self.fd = fd
        self.inherited = inherited  # handed down by `sandbox up --detach`: this process is the detached sandbox

    @classmethod
    def acquire(cls, path: Path) -> SandboxLock:
        """Take the lock now or raise LockHeld (never waits)."""
        import fcntl

        inherited = _inherited_fd(path)
        try:
            if inherited is not None:
                fd = inherited
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            raise LockError(f"cannot open the sandbox lock file {path}: {exc.strerror}") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LockError(f"cannot open the sandbox lock file {path}: it is not a regular file")
        for attempt in range(LOCK_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 < LOCK_ATTEMPTS:
                    time.sleep(0.02)  # a lock_holder() probe holds it for an instant: not a holder
                    continue
                holder = _read_holder(fd)
                os.close(fd)
                raise LockHeld(holder) from None
            except OSError as exc:
                os.close(fd)
                raise LockError(f"cannot lock {path}: {exc.strerror}") from exc
        lock = cls(path, fd, inherited=inherited is not None)
        lock.record_holder(os.getpid())
        return lock

    def record_holder(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{pid}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SandboxLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(path: Path) -> int | None:
    """The pid holding the lock at `path` (as it wrote it), or None when nobody holds it. A process holding the
    lock is alive (the kernel releases it with the process), so `lock_holder(path) == pid` proves `pid` is the
    sandbox where no identity can be read."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO there must not hang us
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared, released at once: a probe, never a holder
    except BlockingIOError:
        return _read_holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


def check_holder(pid: int, path: Path) -> Verdict:
    """check() by the lock instead of the identity: "same" when `pid` holds the lock at `path`."""
    if lock_holder(path) == pid:
        return "same"
    try:
        return "gone" if identify(pid) is None else "other"
    except IdentityUnknown:
        return "other"  # not the sandbox either way


def _read_holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inherited_fd(path: Path) -> int | None:
    """The lock fd a `sandbox up --detach` parent passed down, if it really is this lock file (else None)."""
    text = os.environ.pop(LOCK_FD_ENV, "")  # popped: the handler processes this one starts inherit nothing
    if not text.isdigit():
        return None
    fd = int(text)
    try:
        held, wanted = os.fstat(fd), os.stat(path)
    except OSError:
        return None
    if (held.st_dev, held.st_ino) != (wanted.st_dev, wanted.st_ino):
        return None
    os.set_inheritable(fd, False)
    return fd
