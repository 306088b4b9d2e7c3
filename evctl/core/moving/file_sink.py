"""The file sink: one drain line (evctl.core.queues.drain_file) per message, appended, flushed and fsynced
before the mover is told the messages are taken. Bytes go out with os.write (common.files.write_all), never
through a buffered writer, so after a write error the file is cut back to exactly the lines counted as written
and nothing can reach it later; the error takes nothing and stops the move: nothing unwritten is ever deleted.
A drain killed mid-write can leave a partial last line: the next open cuts it.

    check_file_target("out.jsonl")                  # refuse an impossible --to before anything is received
    sink = open_file_sink("out.jsonl")              # FileSink; "-" = the given binary stdout
    move(sqs, ref, sink, ...); sink.close()
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from evctl.core.common.files import FileWriteError, check_writable, write_all, write_error
from evctl.core.moving.protocol import SinkInterrupted, SinkResult
from evctl.core.queues.drain_file import record_line
from evctl.core.queues.messages import Received
from evctl.errors import UsageError


class SinkWriteError(FileWriteError):
    """Writing to the sink failed mid-move; nothing of the failed batch was deleted."""


class FileSink:
    """Appends drain lines to a file (os.write on its descriptor, then fsync: no buffered bytes can reach the file
    later), or to a binary stream such as stdout (write + flush). `what` names the option in errors ("--to")."""

    def __init__(self, stream: IO[bytes], *, name: str, owns: bool = True, what: str = "--to") -> None:
        self._stream = stream
        self.name = name
        self.what = what
        self._owns = owns
        self._lock = threading.Lock()
        self.lines = 0
        self.repaired_bytes = 0  # a partial last line cut when the file was opened
        try:
            self._fd: int | None = stream.fileno()
            self._durable = stat.S_ISREG(os.fstat(self._fd).st_mode)
        except (OSError, ValueError, AttributeError):
            self._fd, self._durable = None, False
        # Write on the descriptor whenever there is one (a file, a FIFO, a device, stdout): never through a buffer
        # that could hold the bytes of a failed batch and let them out later. A stream without a descriptor
        # (tests' StringIO) is written through the stream and flushed.
        self._raw = self._fd is not None
        if self._raw and not owns:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()  # whatever the stream holds goes out before the sink's own bytes

    @property
    def durable(self) -> bool:
        """True when confirmation means fsynced to disk; a pipe or terminal only means the write returned."""
        return self._durable

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        data = b"".join(record_line(m) for m in batch)
        with self._lock:
            start = self._size()
            try:
                self._write(data)
            except OSError as exc:
                error = _write_error(self.what, self.name, exc)
                if not self._truncate(start):
                    # The cut failed: some of these lines may be in the file although none is deleted.
                    kept = [m.message_id for m in batch]
                    raise SinkInterrupted(error, SinkResult(kept=kept)) from exc
                raise error from exc
            self.lines += len(batch)
        return SinkResult(taken=[m.message_id for m in batch])

    def _write(self, data: bytes) -> None:
        """Write and fsync (a file), or write and flush (a stream): the one path a line takes out."""
        if self._raw and self._fd is not None:
            write_all(self._fd, data)
            if self._durable:
                os.fsync(self._fd)
            return
        self._stream.write(data)
        self._stream.flush()

    def _size(self) -> int | None:
        if self._fd is None or not self._durable:
            return None
        try:
            return os.fstat(self._fd).st_size
        except OSError:
            return None

    def _truncate(self, size: int | None) -> bool:
        """Cut a half-written batch so the file keeps exactly the lines counted as written. False if it could not."""
        if self._fd is None or not self._durable:
            return True  # a stream: nothing can be taken back (and nothing of the batch is deleted)
        if size is None:
            return False
        try:
            os.ftruncate(self._fd, size)
            os.lseek(self._fd, size, os.SEEK_SET)
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self._owns:
            with contextlib.suppress(OSError):
                self._stream.close()


def _write_error(what: str, name: str, exc: OSError) -> SinkWriteError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "nothing that was not written was deleted; make room and run again (the file keeps whole lines only)"
    else:
        hint = "nothing that was not written was deleted; fix the file and run again"
    error = write_error(what, name, exc, hint)
    return SinkWriteError(error.message, error.hint)


def check_file_target(target: str, *, what: str = "--to") -> Path:
    """Refuse a target that cannot work (a directory, a missing directory, no write permission) before anything
    is received or confirmed; creates nothing."""
    if target == "-":
        return Path(target)
    return check_writable(target, what=what)


def open_file_sink(target: str, stdout: IO[bytes] | None = None, *, what: str = "--to") -> FileSink:
    """Open `target` for appending ("-" = stdout), checking it before any message is received."""
    if target == "-":
        if stdout is None:
            raise UsageError(f"{what} - needs a standard output")
        return FileSink(stdout, name="standard output", owns=False, what=what)
    path = check_file_target(target, what=what)
    try:
        stream = open(path, "ab", buffering=0)  # noqa: SIM115 - the sink owns the file and closes it
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot write {what} file {target!r}: {reason}", "choose a path you can write to") from exc
    sink = FileSink(stream, name=str(target), what=what)
    sink.repaired_bytes = _cut_partial_line(stream, path)
    return sink


def _cut_partial_line(stream: IO[bytes], path: Path) -> int:
    """A drain killed mid-write can leave half a line; its message was never confirmed, so never deleted.
    Cut it, so the next line starts on a line of its own. Returns the bytes removed. (The sink's descriptor is
    write-only: the end of the file is read through a descriptor of its own.)"""
    try:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return 0
        with open(path, "rb") as reader:
            step = 65536
            end = size
            while end > 0:
                start = max(0, end - step)
                reader.seek(start)
                chunk = reader.read(end - start)
                if end == size and chunk.endswith(b"\n"):
                    return 0
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                end = start
            else:
                keep = 0
        os.ftruncate(stream.fileno(), keep)
        return size - keep
    except OSError:
        return 0
