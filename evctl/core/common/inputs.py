"""Arguments that point at input: `-` is stdin, `@path` is a file, anything else is the text itself.

    read_text('{"a": 1}', stdin, what="the event")     # '{"a": 1}'
    read_text("@event.json", stdin, what="the event")  # the file's text (UTF-8; ~ expanded)
    read_text("-", stdin, what="--detail")             # all of stdin
    with open_lines("events.jsonl", stdin) as lines:   # a path or "-": raw lines (bytes) for a JSON-lines reader
        ...

Failures are UsageError (exit 2) naming `what`: "cannot read the event file 'x.json': No such file or directory";
a closed stdin (`<&-`) given as `-` is "no standard input to read --detail from". Every `-` of evctl is read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evctl.errors import UsageError

__all__ = ["input_name", "no_stdin", "open_lines", "read_bytes", "read_text", "stdin_bytes"]

STDIN = "-"


def no_stdin(what: str) -> UsageError:
    """The one refusal when `-` names a standard input that is not there (closed with `<&-`, or none here)."""
    return UsageError(f"no standard input to read {what} from (it is closed)", "pipe the input in, or name a file")


def stdin_bytes(stdin: IO[Any] | None, *, what: str) -> bytes:
    """All of stdin as bytes; a closed or missing stdin is UsageError (exit 2) "no standard input"."""
    if stdin is None:
        raise no_stdin(what)
    try:
        data = getattr(stdin, "buffer", stdin).read()
    except (OSError, ValueError) as exc:  # EBADF: fd 0 closed; ValueError: the stream object was closed
        raise no_stdin(what) from exc
    return data if isinstance(data, bytes) else str(data).encode("utf-8", "surrogateescape")


def read_bytes(value: str, stdin: IO[Any] | None = None, *, what: str = "the input") -> bytes:
    """The bytes a path or `-` (stdin) holds; failures are UsageError naming `what`."""
    if value == STDIN:
        return stdin_bytes(stdin, what=what)
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} file {str(path)!r}: {exc.strerror or exc}") from exc


def read_text(value: str, stdin: IO[Any] | None = None, *, what: str = "the value") -> str:
    """The text `value` stands for: stdin for `-`, a file's content for `@path`, else `value` itself."""
    if value == STDIN:
        data = stdin_bytes(stdin, what=what)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"cannot read {what} from stdin: not UTF-8 text") from None
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {what} file {str(path)!r}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read {what} file {str(path)!r}: not UTF-8 text") from exc
    return value


def input_name(path: str) -> str:
    """How messages name an input given as a path or `-`."""
    return "stdin" if path == STDIN else path


@contextmanager
def open_lines(
    path: str, stdin: IO[Any] | None = None, *, hint: str | None = None, what: str | None = None
) -> Iterator[Iterable[bytes]]:
    """The lines of a file, or of stdin for `-`, as bytes (decoding is the reader's job).

    An OSError opening or reading them (inside the `with` block) becomes a UsageError with `hint`; a closed stdin
    is "no standard input"."""
    if path == STDIN:
        if stdin is None:
            raise no_stdin(what or "the input")
        stream = getattr(stdin, "buffer", stdin)
        try:
            yield stream
        except OSError as exc:  # EBADF: fd 0 closed under the stream
            raise no_stdin(what or "the input") from exc
        except ValueError as exc:  # "I/O operation on closed file" (the caller's own ValueErrors pass through)
            if getattr(stream, "closed", False):
                raise no_stdin(what or "the input") from exc
            raise
        return
    try:
        with open(path, "rb") as handle:
            yield handle
    except OSError as exc:
        raise UsageError(f"cannot read {input_name(path)}: {exc.strerror}", hint) from exc
