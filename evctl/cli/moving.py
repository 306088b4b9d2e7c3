"""CLI helpers shared by the commands that move messages (queue drain/peek/send, redrive dlq): Ctrl-C handling,
progress, the one way a finished move is reported and turned into an exit status, and binary stdio."""

from __future__ import annotations

import time
from typing import IO, TYPE_CHECKING, Any, cast

from evctl.errors import Interrupted, PartialFailure

if TYPE_CHECKING:
    from evctl.core.moving import MoveReport
    from evctl.output import Output


def show_progress(bar: Any, report: MoveReport) -> None:
    """Advance a progress bar from a mover report: messages taken by the sink, and the rate so far."""
    elapsed = max(time.monotonic() - report.started, 1e-6)
    bar.update(completed=report.accepted, rate=f"{report.accepted / elapsed:.0f} msg/s")


def finish_move(
    out: Output,
    report: MoveReport,
    *,
    line: str,
    result: dict[str, Any] | None,
    stopped: str,
    still_in: str,
    failure_note: str = "",
) -> None:
    """Report a finished move (drain or manual redrive) and turn it into an exit status.

    `line` is the one-line account (info); the first five sink failures are warnings (`failure_note` appended);
    `result`, when given, goes to stdout. Then: the move's error is raised; a Ctrl-C stop is Interrupted(`stopped`);
    anything not moved cleanly is a PartialFailure saying the messages are still in `still_in`.
    """
    out.info(line)
    for failure in report.failures[:5]:
        out.warn(f"message {failure.message_id}: {failure.code}: {failure.message}{failure_note}")
    if result is not None:
        out.result(result)
    if report.error is not None:
        raise report.error
    if report.stopped_by == "stop":
        raise Interrupted(stopped)
    if not report.ok:
        raise PartialFailure(
            f"{report.failed + report.undeleted} messages were not moved cleanly", f"they are still in {still_in}"
        )


def binary_stdout(out: Output) -> IO[bytes]:
    """The output's stdout as a byte stream (a text stream, as in tests, is wrapped)."""
    stream = out.streams.stdout
    return cast("IO[bytes]", getattr(stream, "buffer", None) or _TextAsBinary(stream))


def binary_stdin(out: Output) -> IO[bytes] | None:
    """The output's stdin as a byte stream (a text stream, as in tests, is wrapped); None when stdin is closed
    (`<&-`: reading `-` is then "no standard input", exit 2)."""
    stream = out.streams.stdin
    if stream is None:
        return None
    return cast("IO[bytes]", getattr(stream, "buffer", None) or _TextAsBinary(stream))


class _TextAsBinary:
    """A text stream (tests' StringIO) seen as bytes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()

    def read(self) -> bytes:
        data: str = self._stream.read()
        return data.encode("utf-8", "surrogateescape")

    def fileno(self) -> int:
        raise OSError("not a file")
