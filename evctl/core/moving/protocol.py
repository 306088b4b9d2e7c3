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


class Sink(Protocol):
    def accept(self, batch: Sequence[Received]) -> SinkResult:
        """Take the messages durably; return which ids were taken and which failed (see evctl.core.moving.engine)."""
        ...
