"""Sinks for the mover (evctl.core.moving.engine.Sink): where received messages go before they are deleted.

FileSink: one JSON line per message (messages.to_record), appended, flushed and fsynced before the mover is
told the messages are taken. A write error truncates the file back to its last whole line, takes nothing,
and stops the move: nothing unwritten is ever deleted.

Sending to a queue (used by `queue send`, and ready for a redrive queue sink): `send_batches` groups
OutgoingMessages into SendMessageBatch requests (<= 10 entries, <= 1 MiB in total), `send_batch_once` makes one
call and reports every entry from Successful[]/Failed[], `send_messages` retries what was not the sender's fault.
A queue sink's accept() maps `send_batch_once(...)` outcomes to SinkResult(taken=..., failed=...).

(Sinks that send to another queue or publish to a bus are added by the redrive module, or at the end of this file.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evctl.core.moving.engine import SinkResult
from evctl.core.queues.messages import OutgoingMessage, Received, message_size, record_line
from evctl.core.queues.queues import QueueRef
from evctl.errors import ConfigError, NotFoundError, PartialFailure, UsageError, error_code, from_aws


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


# ---- sending to a queue (queue send; reusable by a redrive queue sink) -------------------------

MAX_BATCH_ENTRIES = 10
MAX_REQUEST_BYTES = 1_048_576  # SendMessageBatch: the sum of all messages in one request


@dataclass
class SendOutcome:
    """Per message of a send: its MessageId, or why it failed (and whether a retry could help)."""

    message: OutgoingMessage
    message_id: str | None = None
    code: str = ""
    error: str = ""
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.message_id is not None


def send_batches(
    messages: Sequence[OutgoingMessage], *, max_entries: int = MAX_BATCH_ENTRIES, max_bytes: int = MAX_REQUEST_BYTES
) -> Iterator[list[OutgoingMessage]]:
    """Group messages into SendMessageBatch requests: at most 10 entries and `max_bytes` in total each."""
    batch: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        n = message_size(message)
        if batch and (len(batch) >= max_entries or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += n
    if batch:
        yield batch


def send_batch_once(sqs_client: Any, queue: QueueRef, batch: Sequence[OutgoingMessage]) -> list[SendOutcome]:
    """One SendMessageBatch; every entry's outcome from Successful[]/Failed[]. A whole-call failure (after
    botocore's retries) makes every entry a failure, retryable unless the error is the caller's."""
    entries = [message.entry(str(i)) for i, message in enumerate(batch)]
    outcomes = [SendOutcome(message) for message in batch]
    try:
        response = sqs_client.send_message_batch(QueueUrl=queue.url, Entries=entries)
    except Exception as exc:
        mapped = from_aws(exc, f"queue {queue.name}")
        if mapped is None:
            raise
        retryable = not isinstance(mapped, UsageError | NotFoundError | ConfigError)
        for outcome in outcomes:
            outcome.code, outcome.error, outcome.retryable = error_code(exc) or "Error", str(mapped), retryable
        return outcomes
    for ok in response.get("Successful", []):
        outcomes[int(ok["Id"])].message_id = ok["MessageId"]
    for failed in response.get("Failed", []):
        outcome = outcomes[int(failed["Id"])]
        outcome.code = str(failed.get("Code", ""))
        outcome.error = str(failed.get("Message") or outcome.code)
        outcome.retryable = not failed.get("SenderFault", False)
    for outcome in outcomes:
        if outcome.message_id is None and not outcome.code:
            outcome.code, outcome.error, outcome.retryable = (
                "NoOutcome",
                "SQS reported neither success nor failure",
                True,
            )
    return outcomes


def send_messages(
    sqs_client: Any,
    queue: QueueRef,
    messages: Sequence[OutgoingMessage],
    *,
    attempts: int = 5,
    max_bytes: int = MAX_REQUEST_BYTES,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[list[SendOutcome]], None] | None = None,
) -> list[SendOutcome]:
    """Send everything in batches; retry the entries SQS says were not the sender's fault (with backoff)."""
    results: list[SendOutcome] = []
    for batch in send_batches(messages, max_bytes=max_bytes):
        pending = list(batch)
        final: dict[int, SendOutcome] = {}
        for attempt in range(max(1, attempts)):
            if attempt:
                sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
            outcomes = send_batch_once(sqs_client, queue, pending)
            pending = []
            for outcome in outcomes:
                final[id(outcome.message)] = outcome
                if not outcome.ok and outcome.retryable:
                    pending.append(outcome.message)
            if not pending:
                break
        batch_outcomes = [final[id(m)] for m in batch]
        results.extend(batch_outcomes)
        if on_batch is not None:
            on_batch(batch_outcomes)
    return results
