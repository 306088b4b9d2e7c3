"""Arguments that point at input: `-` is stdin, `@path` is a file, anything else is the text itself.

    read_text('{"a": 1}', stdin, what="the event")     # '{"a": 1}'
    read_text("@event.json", stdin, what="the event")  # the file's text (UTF-8; ~ expanded)
    read_text("-", stdin, what="--detail")             # all of stdin
    with open_lines("events.jsonl", stdin) as lines:   # a path or "-": raw lines (bytes) for a JSON-lines reader
        ...

Failures are UsageError (exit 2) naming `what`: "cannot read the event file 'x.json': No such file or directory".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evctl.errors import UsageError

__all__ = ["input_name", "open_lines", "read_text"]

STDIN = "-"


def read_text(value: str, stdin: IO[Any] | None = None, *, what: str = "the value") -> str:
    """The text `value` stands for: stdin for `-`, a file's content for `@path`, else `value` itself."""
    if value == STDIN:
        if stdin is None:
            raise UsageError(f"cannot read {what} from stdin here")
        data = getattr(stdin, "buffer", stdin).read()
        try:
            return data.decode("utf-8") if isinstance(data, bytes) else str(data)
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
def open_lines(path: str, stdin: IO[Any] | None = None, *, hint: str | None = None) -> Iterator[Iterable[bytes]]:
    """The lines of a file, or of stdin for `-`, as bytes (decoding is the reader's job).

    An OSError opening or reading them (inside the `with` block) becomes a UsageError with `hint`."""
    try:
        if path == STDIN:
            if stdin is None:
                raise UsageError("cannot read stdin here")
            yield getattr(stdin, "buffer", stdin)
            return
        with open(path, "rb") as handle:
            yield handle
    except OSError as exc:
        raise UsageError(f"cannot read {input_name(path)}: {exc.strerror}", hint) from exc
