"""Writing files honestly: the one path bytes take to a file (`write_all`), the one way a write error is told
(`write_error`: "disk full writing --journal out.jsonl", exit 1), the one check of a target before any work
(`check_writable`), and writing a file atomically (`AtomicFile`).

out = AtomicFile.create(Path("failed.jsonl"), what="--failed-to")  # UsageError now if it cannot be written
try:
    ...                                   # long work; the target may even be one of its inputs
except BaseException:
    out.discard()                         # the target is untouched, the temporary file removed
    raise
out.commit(lines)                         # written to a temporary file beside it, then renamed over it;
                                          # a write error: FileWriteError, temporary file removed, target untouched

Every write goes through `write_all` with os.write on the file descriptor: no buffered writer holds leftover bytes
that a later flush or close could write after a failed write was cut back (tests inject disk-full faults there).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from evctl.errors import PartialFailure, UsageError

__all__ = ["AtomicFile", "FileWriteError", "check_writable", "write_all", "write_error"]


class FileWriteError(PartialFailure):
    """Writing a file failed (disk full, file size limit, I/O error): exit 1, the message names the option and
    the file; whatever the command already did is in its summary."""


_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file size limit reached",
    errno.EIO: "I/O error",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def write_error(what: str, target: str, exc: OSError, hint: str | None = None) -> FileWriteError:
    """'disk full writing --journal out.jsonl' (the cause first, then the option and the file it names)."""
    detail = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
    reason = _REASONS.get(exc.errno or 0)
    text = f"{reason} writing {what} {target} ({detail})" if reason else f"could not write {what} {target}: {detail}"
    return FileWriteError(text, hint)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (os.write until done; a short write is continued, an error raised)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises rather than returning 0 for regular files
            raise OSError(errno.EIO, "write returned 0")
        view = view[written:]


def check_writable(target: str, *, what: str) -> Path:
    """Refuse a target that cannot be written (a directory, a missing or non-directory parent, no permission)
    before any work, naming the option (`what`); creates nothing. UsageError (exit 2)."""
    path = Path(target).expanduser()
    if path.is_dir():
        raise UsageError(f"{what} {target!r} is a directory", "give a file name")
    parent = path.parent
    if not parent.exists():
        raise UsageError(
            f"cannot write {what} file {target!r}: directory {str(parent)!r} does not exist", "create it first"
        )
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {what} file {target!r}: {str(parent)!r} is a file, not a directory", "give a file name"
        )
    probe = path if path.exists() else parent
    if not os.access(probe, os.W_OK):
        raise UsageError(f"cannot write {what} file {target!r}: permission denied", "choose a path you can write to")
    return path


def _in_place(path: Path) -> bool:
    """Whether `path` is written where it is, never replaced: a device, a FIFO, a socket, or anything that resolves
    into /dev or /proc (`/dev/null`, `/dev/full`, `/dev/stderr`). Renaming a file over them would replace the device
    node itself (as root: `--failed-to /dev/full` left a regular file where /dev/full was)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    real = os.path.realpath(path)
    return not stat.S_ISREG(mode) or real.startswith(("/dev/", "/proc/"))


def _mode_for(path: Path) -> int:
    """The permission bits the replaced file keeps: the target's own, or 0666 less the umask for a new file."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)  # the only portable way to read it; set back at once
        os.umask(umask)
        return 0o666 & ~umask


class AtomicFile:
    """A temporary file beside the target, opened before any work (an unwritable path costs nothing) and renamed
    over the target by `commit`, so reading a file and writing the same path never loses it. A target that is not a
    regular file (a device, a FIFO, /dev/stderr) is written in place at commit (appended to), never replaced; a
    symbolic link to a regular file keeps the link (the file it points to is replaced)."""

    def __init__(self, path: Path, fd: int, tmp_name: str, *, what: str = "output") -> None:
        self.path, self.fd, self.tmp_name, self.what = path, fd, tmp_name, what
        self._closed = fd < 0  # fd -1: written in place at commit

    @property
    def name(self) -> str:
        """The temporary file's path (removed by discard, renamed by commit)."""
        return self.tmp_name

    @classmethod
    def create(cls, path: Path, *, what: str = "output") -> AtomicFile:
        """Open the temporary file now; UsageError (exit 2) naming `what` when `path` cannot be written."""
        path = check_writable(str(path), what=what)
        if _in_place(path):
            return cls(path, -1, "", what=what)
        if path.is_symlink():
            path = Path(os.path.realpath(path))
        try:
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise UsageError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from exc
        # mkstemp makes the file 0600: give it the mode the target has, or the one a plain open() would give
        with contextlib.suppress(OSError):
            os.fchmod(fd, _mode_for(path))
        return cls(path, fd, tmp_name, what=what)

    def commit(self, lines: Iterable[str]) -> None:
        """Write `lines` (each with its own newline) and rename the result over the target. On a write error the
        temporary file is removed, the target is left as it was, and FileWriteError names `what` and the file."""
        if not self.tmp_name:
            return self._commit_in_place(lines)
        try:
            write_all(self.fd, "".join(lines).encode("utf-8", "surrogateescape"))
            os.fsync(self.fd)
            self._close()
            os.replace(self.tmp_name, self.path)
        except OSError as exc:
            self.discard()
            raise write_error(self.what, str(self.path), exc, f"{self.path} was left as it was") from exc
        except BaseException:  # a signal, a bug: the temporary file never outlives the run
            self.discard()
            raise

    def _commit_in_place(self, lines: Iterable[str]) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                write_all(fd, "".join(lines).encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise write_error(self.what, str(self.path), exc) from exc

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was. Safe to call more than once."""
        self._close()
        if self.tmp_name:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp_name)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self.fd)
