"""Writing a file atomically: the target is replaced whole on commit, or left exactly as it was.

out = AtomicFile.create(Path("failed.jsonl"), what="--failed-to")  # UsageError now if it cannot be written
try:
    ...                                   # long work; the target may even be one of its inputs
except BaseException:
    out.discard()                         # the target is untouched
    raise
out.commit(lines)                         # written to a temporary file beside it, then renamed over it
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from evctl.errors import UsageError

__all__ = ["AtomicFile"]


class AtomicFile:
    """A temporary file beside the target, opened before any work (an unwritable path costs nothing) and renamed
    over the target by `commit`, so reading a file and writing the same path never loses it."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path, self.handle = path, handle

    @classmethod
    def create(cls, path: Path, *, what: str = "output") -> AtomicFile:
        """Open the temporary file now; UsageError (exit 2) naming `what` when `path` cannot be written."""
        if path.is_dir():
            raise UsageError(f"{what} {str(path)!r} is a directory", "give a file name")
        try:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in commit or discard)
                "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
            )
        except OSError as exc:
            raise UsageError(f"cannot write {what} file {str(path)!r}: {exc.strerror}") from exc
        return cls(path, handle)

    def commit(self, lines: Iterable[str]) -> None:
        """Write `lines` (each with its own newline) and rename the result over the target."""
        with self.handle:
            self.handle.writelines(lines)
        os.replace(self.handle.name, self.path)

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.handle.name)
