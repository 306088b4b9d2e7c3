"""The journal sink: records what another sink took, as drain lines in a FileSink, before the mover deletes it."""

from __future__ import annotations

from collections.abc import Sequence

from evctl.core.moving.file_sink import FileSink
from evctl.core.moving.protocol import Sink, SinkInterrupted, SinkResult
from evctl.core.queues.messages import Received
from evctl.errors import EvctlError


class JournalSink:
    """Records what `inner` took in `journal` (a FileSink: appended, fsynced) before the mover deletes it. The lines
    are drain lines, so `evctl queue send QUEUE --from FILE` replays a journal.

    A journal that cannot be written stops the move, and what `inner` already delivered is reported as `kept`:
    it is in the destination AND stays in the source (never deleted unjournaled), so the summary counts and names
    those messages as possible duplicates; nothing is lost and nothing is uncounted.
    """

    def __init__(self, inner: Sink, journal: FileSink) -> None:
        self.inner = inner
        self.journal = journal

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        try:
            result = self.inner.accept(batch)
        except SinkInterrupted as stopped:  # the inner sink did part of the call: journal that part first
            stopped.done = self._journal(batch, stopped.done, stopped)
            raise
        return self._journal(batch, result, None)

    def _journal(self, batch: Sequence[Received], result: SinkResult, stopped: SinkInterrupted | None) -> SinkResult:
        taken = set(result.taken)
        moved = [m for m in batch if m.message_id in taken]
        if not moved:
            return result
        try:
            self.journal.accept(moved)
        except SinkInterrupted as failed:  # could not even cut the journal back: same account
            error: EvctlError = failed.error
        except EvctlError as exc:
            error = exc
        else:
            return result
        done = SinkResult(taken=[], failed=list(result.failed), kept=[*result.kept, *(m.message_id for m in moved)])
        if stopped is not None:
            return done  # the inner error stays the reason; the journal's is secondary
        told = type(error)(
            error.message,
            f"the {len(moved)} message(s) sent meanwhile were not journaled and stay in the source too "
            "(named in the summary); make room and run again",
        )
        raise SinkInterrupted(told, done) from error
