"""What a load run measured, batch by batch, and the figures made of it (percentiles, rates).

    stats = LoadStats(keep_failed=True)
    stats.add(outcome)                  # on the dispatcher's thread only
    percentiles(stats.lag, (50, 99))    # {"p50": …, "p99": …, "max": …} in milliseconds, None when empty

Latency is measured two ways (docs/load.md): per PutEvents call, from send to answer; and per batch, from the time
it was DUE to its final answer (retries and any wait for a slot or a throttle pause included), so a slow call that
holds up the batches behind it cannot hide in the figures (no coordinated omission). Schedule lag is sent − due.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evctl.core.events import EntryResult
from evctl.core.load.sender import CallLog
from evctl.core.load.stream import Batch

__all__ = ["LoadStats", "Outcome", "percentiles"]


@dataclass
class Outcome:
    """One batch, done: when it was due, sent and finally answered (clock seconds), and each entry's result."""

    batch: Batch
    due: float
    sent: float
    finished: float
    results: list[EntryResult]
    log: CallLog
    error: BaseException | None = None  # the whole-call error that ends the run (is_fatal), or a crash


@dataclass
class LoadStats:
    keep_failed: bool = False  # keep the entries that finally failed (--failed-to)
    latencies: array[float] = field(default_factory=lambda: array("d"))  # per call, seconds
    from_due: array[float] = field(default_factory=lambda: array("d"))  # per batch: final answer − due
    lag: array[float] = field(default_factory=lambda: array("d"))  # per batch: sent − due
    batches: int = 0
    sent: int = 0  # events in the batches sent
    published: int = 0
    failed: int = 0
    api_calls: int = 0
    entry_resends: int = 0
    call_retries: int = 0
    throttled_calls: int = 0
    throttled_entries: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # final error code → events
    failed_entries: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)  # (seq, entry)
    first_sent: float | None = None
    last_sent: float | None = None
    last_finished: float | None = None

    def add(self, outcome: Outcome) -> None:
        batch, log = outcome.batch, outcome.log
        self.batches += 1
        self.sent += len(batch)
        self.latencies.extend(log.latencies)
        self.from_due.append(outcome.finished - outcome.due)
        self.lag.append(outcome.sent - outcome.due)
        self.api_calls += log.api_calls
        self.entry_resends += log.entry_resends
        self.call_retries += log.call_retries
        self.throttled_calls += log.throttled_calls
        self.throttled_entries += log.throttled_entries
        for result in outcome.results:
            if result.ok:
                self.published += 1
                continue
            self.failed += 1
            self.failures[result.error_code or "Unknown"] += 1
            if self.keep_failed:
                self.failed_entries.append((batch.first + result.index, batch.entries[result.index]))
        self.first_sent = outcome.sent if self.first_sent is None else min(self.first_sent, outcome.sent)
        self.last_sent = outcome.sent if self.last_sent is None else max(self.last_sent, outcome.sent)
        if self.last_finished is None or outcome.finished > self.last_finished:
            self.last_finished = outcome.finished


def percentiles(values: Iterable[float], ranks: Iterable[int] = (50, 95, 99)) -> dict[str, float | None]:
    """Nearest-rank percentiles and the maximum of `values` (seconds), in milliseconds to 0.1; None when empty."""
    ordered = sorted(values)
    names = [f"p{rank}" for rank in ranks] + ["max"]
    if not ordered:
        return dict.fromkeys(names)
    picked = [ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)] for rank in ranks] + [ordered[-1]]
    return {name: round(max(0.0, value) * 1000, 1) for name, value in zip(names, picked, strict=True)}
