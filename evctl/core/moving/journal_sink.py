"""The journal sink: records what another sink took, as drain lines in a FileSink, before the mover deletes it."""

from __future__ import annotations

from collections.abc import Sequence

from evctl.core.moving.file_sink import FileSink
from evctl.core.moving.protocol import Sink, SinkResult
from evctl.core.queues.messages import Received


class JournalSink:
    """Records what `inner` took in `journal` (a FileSink: appended, flushed and fsynced) before the mover deletes
    it. The lines are drain lines, so `evctl queue send QUEUE --from FILE` replays a journal. A journal that cannot be
    written stops the move with nothing of that batch deleted (those messages were sent: duplicates, never a loss).
    """

    def __init__(self, inner: Sink, journal: FileSink) -> None:
        self.inner = inner
        self.journal = journal

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        result = self.inner.accept(batch)
        taken = set(result.taken)
        moved = [m for m in batch if m.message_id in taken]
        if moved:
            self.journal.accept(moved)
        return result
