"""Follow log groups with FilterLogEvents: no gaps, no duplicates, late events, new streams, shared throttling.

    follower = Follower(logs_client, sources, start_ms, interval=1.0, lookback=30.0)
    for event in follower:          # polls every `interval` until follower.stop() (or end_ms + lookback)
        ...
    follower.poll_once()            # or one round at a time: the new events, in timestamp order

Every round asks FilterLogEvents, per group, for the window [min(newest timestamp seen, now - lookback), until], so
events ingested late with older timestamps still show (see docs/logs.md). Events are deduplicated by eventId; only
the ids inside the window are remembered, so memory is bounded by the events of one lookback. All groups share one
RequestBudget. Nothing here prints: notices go to `on_notice`, time to the injected `clock` and `sleep`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evctl.core.logs.event import Clock, LogEvent, LogSource, Notify, Sleep, ignore_notice, time_order
from evctl.core.logs.fetch import DEFAULT_MAX_RATE, RequestBudget, fetch_events
from evctl.errors import NotFoundError, ServiceError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_LOOKBACK", "FollowStats", "Follower"]

DEFAULT_INTERVAL = 1.0
DEFAULT_LOOKBACK = 30.0
_MAX_TRANSIENT_FAILURES = 10


@dataclass
class _GroupState:
    cursor: int  # newest timestamp seen (or the start of the window)
    seen: dict[str, int] = field(default_factory=dict)  # eventId -> timestamp, only inside the window
    by_time: list[tuple[int, str]] = field(default_factory=list)  # heap to forget ids leaving the window
    newest_shown: int = -1
    missing: bool = False
    failures: int = 0


@dataclass
class FollowStats:
    rounds: int = 0
    events: int = 0
    duplicates: int = 0  # events fetched again inside the overlap and not shown again
    late: int = 0  # shown with a timestamp older than one already shown for the group
    calls: dict[str, int] = field(default_factory=dict)  # FilterLogEvents calls per group
    throttles: int = 0


class Follower:
    """Follows log groups with FilterLogEvents: no duplicates, late events within `lookback`, new streams.

    `poll_once()` runs one round (each group, every page) and returns the new events in timestamp order;
    iterating polls every `interval` seconds until `stop()`, or until `end_ms + lookback` has passed.
    `settle` (seconds) holds events back that long so late arrivals can still be put in timestamp order.
    """

    def __init__(
        self,
        logs_client: CloudWatchLogsClient,
        groups: Sequence[str | LogSource],
        start_ms: int,
        *,
        end_ms: int | None = None,
        filter_pattern: str | None = None,
        stream_prefixes: Sequence[str] = (),
        interval: float = DEFAULT_INTERVAL,
        lookback: float = DEFAULT_LOOKBACK,
        settle: float = 0.0,
        max_rate: float = DEFAULT_MAX_RATE,
        page_size: int | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        on_notice: Notify | None = None,
    ) -> None:
        if interval <= 0:
            raise UsageError("--interval must be positive")
        self._client = logs_client
        self.sources = [g if isinstance(g, LogSource) else LogSource(label=g, group=g) for g in groups]
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.filter_pattern = filter_pattern
        self.stream_prefixes = tuple(stream_prefixes)
        self.interval = interval
        self.lookback_ms = int(lookback * 1000)
        self.settle_ms = int(settle * 1000)
        self.page_size = page_size
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._notify = on_notice or ignore_notice
        self.budget = RequestBudget(max_rate, clock=self._clock, sleep=self._sleep)
        self.stats = FollowStats()
        self._state = {s.group: _GroupState(cursor=start_ms, missing=not s.exists) for s in self.sources}
        self._held: list[tuple[int, int, int, int, LogEvent]] = []  # (ts, ingestion, seq, release_at, event)
        self._seq = 0
        self._stopped = False

    # -- the loop -------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[LogEvent]:
        return self.events()

    def events(self) -> Iterator[LogEvent]:
        while not self._stopped:
            round_started = self._clock()
            yield from self.poll_once()
            if self.end_ms is not None and self._now_ms() > self.end_ms + self.lookback_ms:
                break
            delay = self.interval - (self._clock() - round_started)
            if delay > 0 and not self._stopped:
                self._sleep(delay)
        yield from self.flush()

    def stop(self) -> None:
        self._stopped = True

    def flush(self) -> list[LogEvent]:
        """Events still held back by `settle`, in timestamp order."""
        released = [item[-1] for item in sorted(self._held, key=lambda item: item[:3])]
        self._held.clear()
        self.stats.events += len(released) if self.settle_ms else 0
        return released

    def poll_once(self) -> list[LogEvent]:
        now_ms = self._now_ms()
        fresh: list[LogEvent] = []
        for source in self.sources:
            fresh.extend(self._poll_group(source, now_ms))
        fresh.sort(key=time_order)  # stable: equal (timestamp, ingestion) keep CloudWatch's order
        self.stats.rounds += 1
        self.stats.throttles = self.budget.throttles
        if not self.settle_ms:
            self.stats.events += len(fresh)
            return fresh
        return self._release(fresh, self._now_ms())

    @property
    def remembered_ids(self) -> int:
        return sum(len(state.seen) for state in self._state.values())

    # -- one group ------------------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _poll_group(self, source: LogSource, now_ms: int) -> list[LogEvent]:
        state = self._state[source.group]
        window_start = max(self.start_ms, min(state.cursor, now_ms - self.lookback_ms))
        self._forget_before(state, window_start)
        fresh: list[LogEvent] = []
        if self.end_ms is not None and window_start > self.end_ms:
            return fresh  # nothing can arrive in an empty window; AWS refuses startTime > endTime
        try:
            for event in fetch_events(
                self._client,
                source,
                window_start,
                self.end_ms,
                self.filter_pattern,
                stream_prefixes=self.stream_prefixes,
                page_size=self.page_size,
                budget=self.budget,
                on_notice=self._notify,
                calls=self.stats.calls,
            ):
                event_id = event["eventId"] or f"{event['stream']}/{event['timestamp']}/{hash(event['message'])}"
                if event_id in state.seen:
                    self.stats.duplicates += 1
                    continue
                state.seen[event_id] = event["timestamp"]
                heapq.heappush(state.by_time, (event["timestamp"], event_id))
                state.cursor = max(state.cursor, event["timestamp"])
                if event["timestamp"] < state.newest_shown:
                    self.stats.late += 1
                state.newest_shown = max(state.newest_shown, event["timestamp"])
                fresh.append(event)
        except NotFoundError:
            if not state.missing:
                self._notify(f"log group {source.group} does not exist (yet); waiting for it")
            state.missing = True
            return fresh
        except ServiceError as exc:
            state.failures += 1
            if state.failures > _MAX_TRANSIENT_FAILURES:
                raise
            self._notify(f"reading {source.group} failed ({exc}); retrying")
            return fresh
        if state.missing:
            self._notify(f"log group {source.group} now exists")
        state.missing = False
        state.failures = 0
        return fresh

    @staticmethod
    def _forget_before(state: _GroupState, window_start: int) -> None:
        while state.by_time and state.by_time[0][0] < window_start:
            _, event_id = heapq.heappop(state.by_time)
            state.seen.pop(event_id, None)

    def _release(self, fresh: list[LogEvent], now_ms: int) -> list[LogEvent]:
        for event in fresh:
            self._seq += 1
            release_at = min(event["timestamp"], now_ms) + self.settle_ms
            heapq.heappush(self._held, (event["timestamp"], event["ingestionTime"] or 0, self._seq, release_at, event))
        released: list[LogEvent] = []
        while self._held and self._held[0][3] <= now_ms:
            released.append(heapq.heappop(self._held)[-1])
        self.stats.events += len(released)
        return released
