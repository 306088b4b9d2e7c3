"""The on-disk memory of peeks: the receive counts earlier peeks saw, per queue, so a later peek can refuse
before it pushes a message to the DLQ (SQS shows a message's count only by receiving it).

Keyed by the queue's identity, not its ARN (`memory_key`: endpoint, URL and CreatedTimestamp): after `sandbox reset`,
on another endpoint, or for a queue deleted and created again under the same name, a fresh queue starts with no
memory, so messages that no longer exist never block it."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


def memory_key(endpoint: str, url: str, created: str | None) -> str:
    """The identity a queue's memory is kept under: where it is served, its URL, and when it was created."""
    return f"{endpoint.rstrip('/')} {url} {created or '?'}"


class PeekMemory:
    """A small JSON file {queue identity: {message id: receive count}}; bounded; best effort (never fails a peek:
    `remember` returns why it could not write, for a one-line warning)."""

    def __init__(self, path: Path, *, keep: int = 2000) -> None:
        self.path = path
        self.keep = keep

    def _read(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, queue_arn: str) -> dict[str, int]:
        counts = self._read().get(queue_arn, {})
        return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}

    def remember(self, queue_arn: str, counts: dict[str, int], *, replace: bool = False) -> str | None:
        """Store the counts; None when stored (or nothing to store), else why not (memory is an aid: a peek goes
        on, but the user is told its protection is off)."""
        data = self._read()
        merged = dict(counts) if replace else {**data.get(queue_arn, {}), **counts}
        if not merged and queue_arn not in data:
            return None
        data[queue_arn] = dict(list(merged.items())[-self.keep :])
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            reason = exc.strerror or str(exc)
            return (
                f"cannot write the peek memory {self.path} ({reason}): later peeks cannot warn before a receive "
                "pushes these messages to the DLQ; make $XDG_STATE_HOME writable"
            )
        return None


def default_peek_memory() -> PeekMemory:
    """$XDG_STATE_HOME/evctl/peek-counts.json (~/.local/state by default)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return PeekMemory(Path(base) / "evctl" / "peek-counts.json")
