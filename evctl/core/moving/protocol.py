"""The contract between the mover and a sink: a sink takes a batch of received messages and says which it
durably took and which failed (and whether a retry could help). A leaf: the sinks and the engine import it.

    class MySink:
        def accept(self, batch: Sequence[Received]) -> SinkResult:
            ...  # make them durable first
            return SinkResult(taken=[m.message_id for m in batch])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from evctl.core.queues.messages import Received
from evctl.errors import EvctlError


@dataclass(frozen=True)
class SinkFailure:
    message_id: str
    code: str
    message: str
    retryable: bool


@dataclass
class SinkResult:
    taken: list[str] = field(default_factory=list)
    failed: list[SinkFailure] = field(default_factory=list)
    # Delivered (or possibly delivered) to the destination but not to be deleted from the source, e.g. sent but
    # not journaled: the mover leaves them in the source and counts them as duplicates, by id.
    kept: list[str] = field(default_factory=list)


class SinkInterrupted(Exception):
    """A sink failed part way, after side effects: `done` says what that call already did (taken: durable, may be
    deleted; kept: delivered but must stay in the source; failed), `error` is what stopped it. The mover counts
    `done` exactly as if the call had returned it, then stops with `error`."""

    def __init__(self, error: EvctlError, done: SinkResult) -> None:
        super().__init__(str(error))
        self.error = error
        self.done = done


class Sink(Protocol):
    def accept(self, batch: Sequence[Received]) -> SinkResult:
        """Take the messages durably; return which ids were taken and which failed (see evctl.core.moving.engine).
        Raise EvctlError when nothing of the call happened, SinkInterrupted when something did."""
        ...
