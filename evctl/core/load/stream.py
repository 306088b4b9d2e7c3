"""The events of a load run, made as they are due: source entries cycled, placeholders filled, cut into batches.

    stream = EventStream(entries, count=6000, rate=200.0, cap=256 * 1024)
    for batch in stream:       # Batch(first=0, entries=[...], due=0.045): seconds after the start it is due
        ...

Event `seq` (0-based) is made from entries[seq % len(entries)] with `{uuid}`, `{seq}` and `{now}` filled
(core/events/placeholders.py). A batch holds at most `batch_size` events (and, by the one batching rule, at most
`cap` bytes); it is due when its last event is: `(last seq) / rate` seconds after the start, so no event is sent
before its time and the offered rate is `rate` whatever the batch size. Without a rate every batch is due at 0.
`batch_size` is 10 (PutEvents' limit) from 100 events/s up, fewer below, so a batch never waits for more than
BATCH_WINDOW seconds of events.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evctl.core.common.batching import batch_admits
from evctl.core.events import MAX_ENTRIES_PER_CALL, entry_size, fill_placeholders, widest_placeholders
from evctl.errors import UsageError

__all__ = ["BATCH_WINDOW", "Batch", "EventStream", "batch_size_for"]

BATCH_WINDOW = 0.1  # seconds: the longest an event waits in a batch for the batch's last one


@dataclass
class Batch:
    """Events `first` … `first + len(entries) - 1`, due `due` seconds after the run's start."""

    first: int
    entries: list[dict[str, Any]] = field(default_factory=list)
    due: float = 0.0

    def __len__(self) -> int:
        return len(self.entries)


def batch_size_for(rate: float | None) -> int:
    """Events per PutEvents call: 10, or fewer when the rate would make a batch of 10 wait over BATCH_WINDOW."""
    if rate is None:
        return MAX_ENTRIES_PER_CALL
    return max(1, min(MAX_ENTRIES_PER_CALL, math.floor(rate * BATCH_WINDOW)))


class EventStream:
    """`count` events made from `entries` (cycled), in batches with their due times; iterate once."""

    def __init__(self, entries: Sequence[Mapping[str, Any]], *, count: int, rate: float | None, cap: int) -> None:
        if not entries:
            raise ValueError("no entries to make events from")
        self.entries = [dict(entry) for entry in entries]
        self.count, self.rate, self.cap = count, rate, cap
        self.batch_size = batch_size_for(rate)
        self._fills = [isinstance(e.get("Detail"), str) and "{" in e["Detail"] for e in self.entries]
        widest = [self._widest_size(entry, count - 1) for entry in self.entries]
        for position, size in enumerate(widest):
            if size > cap:
                raise UsageError(
                    f"event {position + 1} of the input can reach {size:,} bytes once its placeholders are filled,"
                    f" over the {cap:,}-byte entry cap",
                    "shorten the Detail or raise --max-entry-size",
                )
        # every batch of batch_size fits the cap: batching by count alone, no size computed per event
        self._by_count = max(widest) * self.batch_size <= cap

    def _widest_size(self, entry: Mapping[str, Any], seq: int) -> int:
        detail = entry.get("Detail")
        if isinstance(detail, str):
            return entry_size({**entry, "Detail": widest_placeholders(detail, seq)})
        return entry_size(entry)

    def event(self, seq: int) -> dict[str, Any]:
        """Event number `seq`: its source entry with the placeholders filled."""
        position = seq % len(self.entries)
        entry = self.entries[position]
        if not self._fills[position]:
            return entry
        return {**entry, "Detail": fill_placeholders(entry["Detail"], seq)}

    def due(self, last_seq: int) -> float:
        """Seconds after the start a batch ending with event `last_seq` is due."""
        return last_seq / self.rate if self.rate else 0.0

    def __iter__(self) -> Iterator[Batch]:
        seq, count = 0, self.count
        while seq < count:
            batch = Batch(seq)
            if self._by_count:
                end = min(count, seq + self.batch_size)
                batch.entries = [self.event(n) for n in range(seq, end)]
                seq = end
            else:
                total = 0
                while seq < count:
                    event = self.event(seq)
                    size = entry_size(event)
                    if not batch_admits(len(batch), total, size, max_count=self.batch_size, max_bytes=self.cap):
                        break
                    batch.entries.append(event)
                    total += size
                    seq += 1
            batch.due = self.due(seq - 1)
            yield batch
