"""The on-disk memory of peeks: the receive counts earlier peeks saw, per queue, so a later peek can refuse
before it pushes a message to the DLQ (SQS shows a message's count only by receiving it)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class PeekMemory:
    """A small JSON file {queue ARN: {message id: receive count}}; bounded; best effort (never fails a peek)."""

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

    def remember(self, queue_arn: str, counts: dict[str, int], *, replace: bool = False) -> None:
        data = self._read()
        merged = dict(counts) if replace else {**data.get(queue_arn, {}), **counts}
        if not merged and queue_arn not in data:
            return
        data[queue_arn] = dict(list(merged.items())[-self.keep :])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # memory is an aid, not a requirement


def default_peek_memory() -> PeekMemory:
    """$XDG_STATE_HOME/evctl/peek-counts.json (~/.local/state by default)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return PeekMemory(Path(base) / "evctl" / "peek-counts.json")
