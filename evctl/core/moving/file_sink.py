"""The file sink: one drain line (evctl.core.queues.drain_file) per message, appended, flushed and fsynced
before the mover is told the messages are taken. A write error truncates the file back to its last whole line,
takes nothing, and stops the move: nothing unwritten is ever deleted.

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

from evctl.core.moving.protocol import SinkResult
from evctl.core.queues.drain_file import record_line
from evctl.core.queues.messages import Received
from evctl.errors import PartialFailure, UsageError


class SinkWriteError(PartialFailure):
    """Writing to the sink failed mid-move; nothing of the failed batch was deleted."""


class FileSink:
    """Appends drain lines to a binary stream; durable (fsync) when the stream is a regular file."""

    def __init__(self, stream: IO[bytes], *, name: str, owns: bool = True) -> None:
        self._stream = stream
        self.name = name
        self._owns = owns
        self._lock = threading.Lock()
        self.lines = 0
        self.repaired_bytes = 0  # a partial last line cut when the file was opened
        try:
            self._durable = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
        except (OSError, ValueError, AttributeError):
            self._durable = False

    @property
    def durable(self) -> bool:
        """True when confirmation means fsynced to disk; a pipe or terminal only means the write returned."""
        return self._durable

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        data = b"".join(record_line(m) for m in batch)
        with self._lock:
            start = self._tell()
            try:
                self._write(data)
            except OSError as exc:
                self._truncate(start)
                raise _write_error(self.name, exc) from exc
            self.lines += len(batch)
        return SinkResult(taken=[m.message_id for m in batch])

    def _write(self, data: bytes) -> None:
        """Write, flush and fsync: the one path a line takes to disk (tests inject faults here)."""
        self._stream.write(data)
        self._stream.flush()
        if self._durable:
            os.fsync(self._stream.fileno())

    def _tell(self) -> int | None:
        if not self._durable:
            return None
        try:
            return self._stream.tell()
        except OSError:
            return None

    def _truncate(self, offset: int | None) -> None:
        """Cut a half-written batch so the file keeps whole lines only."""
        if offset is None:
            return
        with contextlib.suppress(OSError):
            self._stream.flush()
        try:
            os.ftruncate(self._stream.fileno(), offset)
            self._stream.seek(offset)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self._owns:
            with contextlib.suppress(OSError):
                self._stream.close()


def _write_error(name: str, exc: OSError) -> SinkWriteError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.ENOSPC:
        hint = "the disk is full: nothing that was not written was deleted; free space and run the drain again"
    else:
        hint = "nothing that was not written was deleted; fix the file and run the drain again"
    return SinkWriteError(f"could not write to {name}: {reason}", hint)


def check_file_target(target: str) -> Path:
    """Refuse a --to that cannot work (a directory, a missing directory, no write permission) before anything
    is received or confirmed; creates nothing."""
    path = Path(target).expanduser()
    if target == "-":
        return path
    if path.is_dir():
        raise UsageError(f"--to {target} is a directory", "name a file to append the messages to")
    if not path.parent.is_dir():
        raise UsageError(f"--to {target}: directory {path.parent} does not exist", "create it first")
    probe = path if path.exists() else path.parent
    if not os.access(probe, os.W_OK):
        raise UsageError(f"cannot write to {target}: permission denied", "choose a path you can write to")
    return path


def open_file_sink(target: str, stdout: IO[bytes] | None = None) -> FileSink:
    """Open `target` for appending ("-" = stdout), checking it before any message is received."""
    if target == "-":
        if stdout is None:
            raise UsageError("--to - needs a standard output")
        return FileSink(stdout, name="standard output", owns=False)
    path = check_file_target(target)
    try:
        stream = open(path, "ab")  # noqa: SIM115 - the sink owns the file and closes it
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot write to {target}: {reason}", "choose a path you can write to") from exc
    sink = FileSink(stream, name=str(target))
    sink.repaired_bytes = _cut_partial_line(stream)
    return sink


def _cut_partial_line(stream: IO[bytes]) -> int:
    """A drain killed mid-write can leave half a line; its message was never confirmed, so never deleted.
    Cut it, so the next line starts on a line of its own. Returns the bytes removed."""
    try:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return 0
        with open(stream.fileno(), "rb", closefd=False) as reader:
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
        stream.seek(keep)
        return size - keep
    except OSError:
        return 0
