"""One `evctl tail logs`: fetch a window, follow it, or live tail (falling back to following); filter and annotate.

    options = options_from_cli("1h", None, follow=True, errors_only=True)   # every mistake a UsageError, up front
    tail = Tail(logs_client, resolve_sources(targets, logs_client, lambda_client), options, on_notice=warn)
    for event in tail:          # annotated LogEvents (kind, requestId, parsed), in timestamp order
        ...
    tail.flush(); tail.summary()   # after Ctrl-C: events held back by --settle; "N events from ..."

The mode is fetch (a window, then stop), follow (Follower) or live (StartLiveTail, else a Follower from now).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evctl.core.common.time import parse_duration
from evctl.core.logs.classify import Classifier, is_error
from evctl.core.logs.event import Clock, LogEvent, LogSource, Notify, Sleep, ignore_notice, time_order
from evctl.core.logs.fetch import DEFAULT_MAX_RATE, RequestBudget, fetch_events
from evctl.core.logs.follow import DEFAULT_INTERVAL, DEFAULT_LOOKBACK, Follower
from evctl.core.logs.live import (
    LIVE_MAX_GROUPS,
    LiveTailUnavailable,
    check_live_targets,
    is_unsupported,
    live_events,
    start_live_tail,
)
from evctl.core.logs.window import resolve_window
from evctl.errors import UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["EventFilter", "Tail", "TailOptions", "options_from_cli"]


@dataclass(frozen=True)
class EventFilter:
    """Filters applied by evctl after CloudWatch Logs' own (they need state or AWS cannot express them)."""

    stream_prefixes: tuple[str, ...] = ()
    request_id: str | None = None
    errors_only: bool = False

    def apply(self, events: Iterable[LogEvent], classifier: Classifier | None = None) -> Iterator[LogEvent]:
        """Annotates every event (kind, requestId, parsed) and yields those that pass."""
        classifier = classifier or Classifier()
        for event in events:
            if self.stream_prefixes and not event["stream"].startswith(self.stream_prefixes):
                continue
            classifier.annotate(event)
            if (
                self.request_id
                and event.get("requestId") != self.request_id
                and self.request_id not in event["message"]
            ):
                continue
            if self.errors_only and not is_error(event):
                continue
            yield event


@dataclass(frozen=True)
class TailOptions:
    start_ms: int
    end_ms: int | None = None
    follow: bool = False
    live: bool = False
    filter_pattern: str | None = None
    stream_prefixes: tuple[str, ...] = ()
    request_id: str | None = None
    errors_only: bool = False
    interval: float = DEFAULT_INTERVAL
    lookback: float = DEFAULT_LOOKBACK
    settle: float = 0.0
    max_rate: float = DEFAULT_MAX_RATE
    page_size: int | None = None


def options_from_cli(
    since: str | None,
    until: str | None,
    *,
    targets: Sequence[str] = (),
    follow: bool = False,
    live: bool = False,
    filter_pattern: str | None = None,
    streams: Sequence[str] = (),
    request_id: str | None = None,
    errors_only: bool = False,
    interval: str = "1s",
    lookback: str = "30s",
    settle: str = "0s",
    now_ms: int | None = None,
) -> TailOptions:
    """TailOptions from the command line's strings; every mistake is a UsageError before any call is made."""
    if live and since is not None:
        raise UsageError("--live shows new events only and takes no --since", "drop --since, or use --follow")
    if live:
        check_live_targets(targets)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    start, end = resolve_window(since, until, now)
    poll_every = parse_duration(interval, "--interval")
    if poll_every < 0.1:
        raise UsageError(f"--interval {interval} is too short", "use 100ms or more (the default is 1s)")
    prefixes = tuple(p for p in streams if p)
    if len(prefixes) != len(streams):
        raise UsageError("--stream: empty stream name")
    return TailOptions(
        start_ms=start,
        end_ms=end,
        follow=follow,
        live=live,
        filter_pattern=filter_pattern or None,
        stream_prefixes=prefixes,
        request_id=request_id or None,
        errors_only=errors_only,
        interval=poll_every,
        lookback=parse_duration(lookback, "--lookback"),
        settle=parse_duration(settle, "--settle"),
    )


class Tail:
    """What `evctl tail logs` prints: fetch a window, follow, or live tail (falling back to following)."""

    def __init__(
        self,
        logs_client: CloudWatchLogsClient,
        sources: Sequence[LogSource],
        options: TailOptions,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        on_notice: Notify | None = None,
    ) -> None:
        if not sources:
            raise UsageError("nothing to tail", "give at least one function or log group")
        if options.live and len(sources) > LIVE_MAX_GROUPS:
            raise UsageError(
                f"--live takes at most {LIVE_MAX_GROUPS} log groups ({len(sources)} given)", "use --follow instead"
            )
        self._client = logs_client
        self.sources = list(sources)
        self.options = options
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._notify = on_notice or ignore_notice
        self.follower: Follower | None = None
        self.budget = RequestBudget(options.max_rate, clock=self._clock, sleep=self._sleep)
        self.calls: dict[str, int] = {}
        self.shown = 0
        self.mode = "live" if options.live else "follow" if options.follow else "fetch"
        self._live_since: int | None = None  # when the first live session began (its fallback polls from there)
        self._live_shown: set[tuple[str, str, int, str]] = set()  # what live showed: the fallback skips it
        self._live_last_ms: int | None = None  # the newest timestamp live showed
        self._filter = EventFilter(options.stream_prefixes, options.request_id, options.errors_only)

    def __iter__(self) -> Iterator[LogEvent]:
        for event in self._filter.apply(self._raw()):
            self.shown += 1
            yield event

    def flush(self) -> list[LogEvent]:
        """Events a follower still holds back (for `settle`), after an interruption."""
        if self.follower is None:
            return []
        return list(self._filter.apply(self.follower.flush()))

    def summary(self) -> str:
        groups = len(self.sources)
        if self.follower is not None:
            stats = self.follower.stats
            calls, throttles = sum(stats.calls.values()), stats.throttles
            extra = f", {stats.duplicates} overlap duplicates dropped, {stats.late} late events shown"
        else:
            calls, throttles, extra = sum(self.calls.values()), self.budget.throttles, ""
        noun = "group" if groups == 1 else "groups"
        tail = f"{self.shown} events from {groups} log {noun}"
        if self.mode == "live" and self.follower is None:
            return tail + " (live tail)"
        return f"{tail}; {calls} FilterLogEvents calls, {throttles} throttled{extra}"

    def _raw(self) -> Iterator[LogEvent]:
        existing = [s for s in self.sources if s.exists]
        if self.mode == "fetch":
            end = self.options.end_ms if self.options.end_ms is not None else int(self._clock() * 1000)
            yield from heapq.merge(
                *(self._fetch(source, end) for source in existing),
                key=time_order,
            )
            return
        if self.mode == "live":
            try:
                yield from self._live()
                return
            except LiveTailUnavailable as exc:
                self._notify(f"live tail is unavailable ({exc}); polling FilterLogEvents instead")
            start_ms = self._fallback_start()
        else:
            start_ms = self.options.start_ms
        self.follower = Follower(
            self._client,
            self.sources,
            start_ms,
            end_ms=self.options.end_ms,
            filter_pattern=self.options.filter_pattern,
            stream_prefixes=self.options.stream_prefixes,
            interval=self.options.interval,
            lookback=self.options.lookback,
            settle=self.options.settle,
            max_rate=self.options.max_rate,
            page_size=self.options.page_size,
            clock=self._clock,
            sleep=self._sleep,
            on_notice=self._notify,
        )
        shown = self._live_shown
        yield from (e for e in self.follower if not shown or _live_key(e) not in shown)

    def _remember_live(self, event: LogEvent) -> None:
        """Keep what live showed within the lookback of its newest event (bounded), for the fallback to skip."""
        self._live_shown.add(_live_key(event))
        self._live_last_ms = max(self._live_last_ms or 0, event["timestamp"])
        if len(self._live_shown) > _LIVE_MEMORY:
            oldest = self._live_last_ms - int(self.options.lookback * 1000)
            self._live_shown = {key for key in self._live_shown if key[2] >= oldest}

    def _fallback_start(self) -> int:
        """Live shows new events only; so does its fallback: from when live began (or the lookback before the
        newest event live showed, if later), skipping what live showed."""
        if self._live_since is None:
            return int(self._clock() * 1000)
        if self._live_last_ms is None:
            return self._live_since
        return max(self._live_since, self._live_last_ms - int(self.options.lookback * 1000))

    def _live(self) -> Iterator[LogEvent]:
        """Live tail sessions; AWS ends each after 3 hours (SessionTimeoutException), and a new one is started.

        LiveTailUnavailable when live tail is not served here: refused or unsupported, an answer that cannot be
        live (live_events' checks), or a session the endpoint ends by itself before `end_ms` (AWS never does)."""
        while True:
            if self._live_since is None:
                self._live_since = int(self._clock() * 1000)
            stream = start_live_tail(
                self._client,
                self.sources,
                filter_pattern=self.options.filter_pattern,
                stream_prefixes=self.options.stream_prefixes,
            )
            try:
                for event in live_events(
                    stream,
                    self.sources,
                    end_ms=self.options.end_ms,
                    clock=self._clock,
                    on_notice=self._notify,
                    since_ms=self._live_since,
                ):
                    self._remember_live(event)
                    yield event
            except LiveTailUnavailable:
                raise
            except Exception as exc:
                if error_code(exc) != "SessionTimeoutException":
                    if is_unsupported(exc):
                        raise LiveTailUnavailable(error_code(exc) or str(exc)) from exc
                    raise (from_aws(exc, "live tail") or exc) from exc
                self._notify("the live tail session reached AWS's 3-hour limit; starting a new one")
                continue
            end = self.options.end_ms
            if end is not None and self._clock() * 1000 > end:
                return
            raise LiveTailUnavailable("the endpoint ended the live tail session by itself")

    def _fetch(self, source: LogSource, end_ms: int) -> Iterator[LogEvent]:
        return fetch_events(
            self._client,
            source,
            self.options.start_ms,
            end_ms,
            self.options.filter_pattern,
            stream_prefixes=self.options.stream_prefixes,
            page_size=self.options.page_size,
            budget=self.budget,
            on_notice=self._notify,
            calls=self.calls,
        )


_LIVE_MEMORY = 10_000  # events of a live session remembered for its fallback (pruned to the lookback beyond)


def _live_key(event: LogEvent) -> tuple[str, str, int, str]:
    """What identifies an event live tail showed (live events carry no eventId) to the polling that follows it."""
    return event["group"], event["stream"], event["timestamp"], event["message"]
