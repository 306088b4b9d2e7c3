"""What a move did: MoveReport (counters, failures, why it stopped) and its summary dict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evctl.core.moving.protocol import SinkFailure
from evctl.core.queues.ref import QueueRef
from evctl.errors import EvctlError


@dataclass
class MoveReport:
    """What a move did. Every received message is in exactly one of: deleted, undeleted, left (filtered/failed/
    released unprocessed)."""

    source: QueueRef
    received: int = 0  # distinct messages received
    accepted: int = 0  # confirmed by the sink
    deleted: int = 0  # confirmed and deleted from the source
    undeleted: int = 0  # in the sink but not deleted (the delete failed, or the sink kept them): duplicates
    filtered: int = 0  # did not match the filter: left in the source
    failed: int = 0  # the sink refused them (after retries): left in the source
    released: int = 0  # made visible again at the end (filtered, failed, or unprocessed at a stop)
    repeats: int = 0  # a held message came back (its visibility lapsed) and was recognised by MessageId
    extended: int = 0  # visibility extensions
    empty_polls: int = 0
    api_calls: Counter[str] = field(default_factory=Counter)
    failures: list[SinkFailure] = field(default_factory=list)  # the first few, for the summary
    duplicate_ids: list[str] = field(default_factory=list)  # the undeleted: in the sink AND still in the source
    stopped_by: str = ""  # "max", "empty", "stop", "error"
    error: EvctlError | None = None
    started: float = 0.0
    elapsed: float = 0.0

    @property
    def duplicates_possible(self) -> int:
        """Messages the sink has that are also still in the source queue."""
        return self.undeleted

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0 and self.undeleted == 0

    def summary(self) -> dict[str, Any]:
        return {
            "queue": self.source.name,
            "received": self.received,
            "written": self.accepted,
            "deleted": self.deleted,
            "filtered_out": self.filtered,
            "failed": self.failed,
            "not_deleted": self.undeleted,
            "released": self.released,
            "duplicates_possible": self.duplicates_possible,
            "duplicate_ids": list(self.duplicate_ids),
            "stopped_by": self.stopped_by,
            "api_calls": sum(self.api_calls.values()),
            "seconds": round(self.elapsed, 3),
        }
