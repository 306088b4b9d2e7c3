"""Read CloudWatch Logs: resolve targets, fetch a window, follow with no gaps or duplicates, live tail.

Stable API (the sandbox demo uses it):
- `fetch_events(logs_client, group, start_ms, end_ms=None, filter_pattern=None) -> Iterator[LogEvent]`
- `Follower(logs_client, groups, start_ms, ...)`: `poll_once()` for one round, iterate it to follow.

Following (see docs/logs.md): every round asks FilterLogEvents, per group, for the window
[min(newest timestamp seen, now - lookback), until], so events ingested late with older timestamps still
show. Events are deduplicated by eventId; only the ids inside the window are remembered, so memory is
bounded by the events of one lookback. All calls of one tail share one request budget (FilterLogEvents
allows 5 requests/s per account and region); a ThrottlingException halves the rate and the call is retried.
Nothing here prints: notices go to an injected `on_notice` callback, time to injected `clock` and `sleep`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import heapq
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from evctl.core.logs.classify import Classifier, LogEvent, is_error
from evctl.errors import (
    NotFoundError,
    ServiceError,
    UsageError,
    error_code,
    from_aws,
)

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_LOOKBACK",
    "DEFAULT_MAX_RATE",
    "DEFAULT_SINCE",
    "LIVE_MAX_GROUPS",
    "EventFilter",
    "Follower",
    "LogEvent",
    "LogSource",
    "RequestBudget",
    "Tail",
    "TailOptions",
    "fetch_events",
    "parse_duration",
    "parse_time",
    "resolve_sources",
    "resolve_window",
]

Notify = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]

DEFAULT_SINCE = "10m"
DEFAULT_INTERVAL = 1.0
DEFAULT_LOOKBACK = 30.0
# FilterLogEvents: 5 requests/s per account and region, not adjustable. Leave one for everything else.
DEFAULT_MAX_RATE = 4.0
LIVE_MAX_GROUPS = 10
_MAX_TRANSIENT_FAILURES = 10
_THROTTLE_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_LIVE_UNAVAILABLE_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "NotImplemented",
    "InvalidAction",
}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}
_FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$")
_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME_HINT = "use a duration (30s, 5m, 2h, 1d), an ISO-8601 time (2026-11-27T10:00:00Z) or epoch seconds"


# ---- time --------------------------------------------------------------------------------------------


def parse_duration(text: str, option: str = "duration") -> float:
    """Seconds in `30s`, `5m`, `2h`, `1d`, `1w`, `500ms`, `1h30m`, or a bare number of seconds."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION_RE.match(value):
            raise UsageError(f"{option}: malformed duration {text!r}", "use e.g. 500ms, 30s, 5m, 2h, 1d") from None
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART_RE.findall(value))
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise UsageError(f"{option}: malformed duration {text!r}", "use e.g. 500ms, 30s, 5m, 2h, 1d")
    return seconds


def parse_time(text: str, now_ms: int, option: str = "--since") -> int:
    """Epoch ms of a duration ago (`5m`), an ISO-8601 time, epoch seconds/milliseconds, or `now`."""
    value = text.strip()
    if value.lower() == "now":
        return now_ms
    if _DURATION_RE.match(value.lower()):
        return now_ms - int(parse_duration(value, option) * 1000)
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        # Milliseconds have 13 digits today; seconds have 10 (and will until the year 5138).
        return int(number if number >= 1e11 else number * 1000)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: cannot read {text!r} as a time", _TIME_HINT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # documented: times without an offset are UTC
    return int(moment.timestamp() * 1000)


def resolve_window(since: str | None, until: str | None, now_ms: int) -> tuple[int, int | None]:
    """(start_ms, end_ms or None) from --since/--until; rejects a future start and an end before the start."""
    start = parse_time(since or DEFAULT_SINCE, now_ms, "--since")
    if start > now_ms:
        raise UsageError(
            f"--since {since} is in the future ({_iso(start)}, now is {_iso(now_ms)})",
            "give a past time, e.g. --since 10m",
        )
    end = parse_time(until, now_ms, "--until") if until else None
    if end is not None and end < start:
        raise UsageError(f"--until ({_iso(end)}) is before --since ({_iso(start)})", "swap them or widen the window")
    return start, end


def _iso(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- targets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSource:
    """One log group to read, and the name the user knows it by."""

    label: str
    group: str
    arn: str | None = None  # logGroupArn, without ":*" (the form StartLiveTail wants)
    exists: bool = True
    function: str | None = None


def resolve_sources(
    targets: Sequence[str], logs_client: Any, lambda_client: Any, *, on_notice: Notify | None = None
) -> list[LogSource]:
    """Log groups for function names/ARNs and log group names/ARNs, in the order given, without repeats."""
    notify = on_notice or _ignore
    sources: dict[str, LogSource] = {}
    for target in targets:
        source = _resolve_one(target.strip(), logs_client, lambda_client, notify)
        sources.setdefault(source.group, source)
    return list(sources.values())


def _resolve_one(target: str, logs_client: Any, lambda_client: Any, notify: Notify) -> LogSource:
    if not target:
        raise UsageError("empty target", "give a function name or ARN, or a log group name or ARN")
    if target.startswith("arn:"):
        return _resolve_arn(target, logs_client, lambda_client, notify)
    if _FUNCTION_NAME_RE.match(target):
        source = _function_source(target, target.split(":")[0], logs_client, lambda_client, notify)
        if source is not None:
            return source
        group = _describe_group(logs_client, target)
        if group is not None:
            return LogSource(label=target, group=target, arn=_group_arn(group))
        raise NotFoundError(f"no function or log group named {target!r}", _suggest(target, logs_client, lambda_client))
    return _group_source(target, target, logs_client, lambda_client)


def _resolve_arn(arn: str, logs_client: Any, lambda_client: Any, notify: Notify) -> LogSource:
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise UsageError(f"malformed ARN {arn!r}", "expected arn:aws:logs:REGION:ACCOUNT:log-group:NAME")
    service, region, resource = parts[2], parts[3], parts[5]
    if service == "logs" and resource.startswith("log-group:"):
        _check_region(arn, region, logs_client)
        name = resource[len("log-group:") :].split(":", 1)[0]
        return _group_source(name, name, logs_client, lambda_client)
    if service == "lambda" and resource.startswith("function:"):
        _check_region(arn, region, lambda_client)
        name = resource.split(":")[1]
        source = _function_source(arn, name, logs_client, lambda_client, notify)
        if source is None:
            raise NotFoundError(f"function {name} not found", _suggest(name, logs_client, lambda_client))
        return source
    raise UsageError(f"{arn} is neither a Lambda function ARN nor a log group ARN")


def _check_region(arn: str, region: str, client: Any) -> None:
    current = getattr(getattr(client, "meta", None), "region_name", None)
    if region and current and region != current:
        raise UsageError(f"{arn} is in {region} but evctl is using {current}", f"pass --region {region}")


def _function_source(
    function_id: str, name: str, logs_client: Any, lambda_client: Any, notify: Notify
) -> LogSource | None:
    """The function's log group (LoggingConfig.LogGroup, else /aws/lambda/<name>); None if no such function."""
    try:
        config = lambda_client.get_function_configuration(FunctionName=function_id)
    except Exception as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return None
        if code not in _DENIED_CODES:
            raise _translate(exc, f"function {name}") from exc
        group = f"/aws/lambda/{name}"
        notify(f"cannot read function {name}'s configuration (access denied); assuming log group {group}")
    else:
        name = str(config.get("FunctionName") or name)
        group = str((config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}")
    described = _describe_group(logs_client, group)
    if described is None:
        notify(f"log group {group} does not exist yet (function {name} has not logged anything)")
        return LogSource(label=name, group=group, exists=False, function=name)
    return LogSource(label=name, group=group, arn=_group_arn(described), function=name)


def _group_source(name: str, label: str, logs_client: Any, lambda_client: Any) -> LogSource:
    described = _describe_group(logs_client, name)
    if described is None:
        raise NotFoundError(f"log group {name} not found", _suggest(name, logs_client, lambda_client))
    return LogSource(label=label, group=name, arn=_group_arn(described))


_UNKNOWN: dict[str, Any] = {}


def _describe_group(logs_client: Any, name: str) -> dict[str, Any] | None:
    """The DescribeLogGroups entry for exactly `name`; {} when we may not look (assume it exists).

    Names come back sorted, so the exact name, if it exists, is the first with its prefix.
    """
    try:
        response = logs_client.describe_log_groups(logGroupNamePrefix=name, limit=50)
    except Exception as exc:
        if error_code(exc) in _DENIED_CODES:
            return _UNKNOWN
        mapped = _translate(exc, f"log group {name}")
        if isinstance(mapped, UsageError):  # a name DescribeLogGroups refuses cannot exist
            return None
        raise mapped from exc
    for group in response.get("logGroups", []):
        if group.get("logGroupName") == name:
            return dict(group)
    return None


def _group_arn(described: dict[str, Any]) -> str | None:
    arn = described.get("logGroupArn") or described.get("arn")
    return str(arn).removesuffix(":*") if arn else None


def _suggest(target: str, logs_client: Any, lambda_client: Any) -> str:
    """'did you mean ...?' from function and log group names close to `target` (best effort)."""
    names: dict[str, str] = {}
    try:
        for page in lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"MaxItems": 500}):
            for function in page.get("Functions", []):
                names[function["FunctionName"]] = function["FunctionName"]
    except Exception:  # suggestions are a courtesy; a denied listing must not hide the real error
        pass
    try:
        for page in logs_client.get_paginator("describe_log_groups").paginate(PaginationConfig={"MaxItems": 500}):
            for group in page.get("logGroups", []):
                full = group["logGroupName"]
                names.setdefault(full, full)
                names.setdefault(full.rsplit("/", 1)[-1], full)
    except Exception:
        pass
    close = difflib.get_close_matches(target, list(names), n=3, cutoff=0.6)
    shown = list(dict.fromkeys(names[c] for c in close))
    # A function and its /aws/lambda/<name> group are one suggestion, in the form the user typed.
    if target.startswith("/"):
        shown = [s for s in shown if f"/aws/lambda/{s}" not in shown]
    else:
        shown = [s for s in shown if not (s.startswith("/aws/lambda/") and s.removeprefix("/aws/lambda/") in shown)]
    if shown:
        return "did you mean " + " or ".join(shown) + "?"
    return "check the name (function name or ARN, log group name or ARN) and --region"


def _ignore(_message: str) -> None:
    return None


# ---- requests ----------------------------------------------------------------------------------------


class RequestBudget:
    """Spaces every FilterLogEvents call of one tail (all groups) under one rate; halves it when throttled.

    Additive increase, multiplicative decrease: after a ThrottlingException the rate halves (down to
    `min_rate`) and the next call waits 1/rate; every success gives back a twentieth of the maximum.
    """

    def __init__(self, max_rate: float = DEFAULT_MAX_RATE, *, clock: Clock, sleep: Sleep, min_rate: float = 0.2):
        if max_rate <= 0:
            raise UsageError("the request rate must be positive")
        self.max_rate = max_rate
        self.min_rate = min(min_rate, max_rate)
        self.rate = max_rate
        self.calls = 0
        self.throttles = 0
        self.waited = 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_at = 0.0
        self._announced_at = float("-inf")

    def acquire(self) -> None:
        now = self._clock()
        if now < self._next_at:
            self.waited += self._next_at - now
            self._sleep(self._next_at - now)
            now = max(self._clock(), self._next_at)
        self._next_at = now + 1.0 / self.rate
        self.calls += 1

    def throttled(self) -> float:
        """Record a throttle; returns the new rate."""
        self.throttles += 1
        self.rate = max(self.min_rate, self.rate / 2)
        self._next_at = max(self._next_at, self._clock() + 1.0 / self.rate)
        return self.rate

    def succeeded(self) -> None:
        self.rate = min(self.max_rate, self.rate + self.max_rate / 20)

    def announce_throttling(self, every: float = 60.0) -> bool:
        """True at most once per `every` seconds: throttling is worth a warning, not one per call."""
        now = self._clock()
        if now - self._announced_at < every:
            return False
        self._announced_at = now
        return True


def _translate(exc: Exception, what: str) -> Exception:
    return from_aws(exc, what) or exc


def _filter_page(
    logs_client: Any, params: dict[str, Any], budget: RequestBudget, notify: Notify, calls: dict[str, int]
) -> dict[str, Any]:
    """One FilterLogEvents page; throttling is waited out here and never escapes."""
    group = params["logGroupName"]
    while True:
        budget.acquire()
        calls[group] = calls.get(group, 0) + 1
        try:
            page: dict[str, Any] = logs_client.filter_log_events(**params)
        except Exception as exc:
            if error_code(exc) not in _THROTTLE_CODES:
                raise _translate(exc, f"log group {group}") from exc
            rate = budget.throttled()
            if budget.announce_throttling():
                notify(
                    f"FilterLogEvents is throttled (5 requests/s per account and region); "
                    f"slowing to {rate:g} requests/s and carrying on"
                )
            continue
        budget.succeeded()
        return page


def _event(raw: dict[str, Any], source: LogSource) -> LogEvent:
    return {
        "source": source.label,
        "group": source.group,
        "stream": str(raw.get("logStreamName", "")),
        "timestamp": int(raw["timestamp"]),
        "ingestionTime": int(raw["ingestionTime"]) if raw.get("ingestionTime") is not None else None,
        "eventId": str(raw["eventId"]) if raw.get("eventId") is not None else None,
        "message": str(raw.get("message", "")),
    }


def _order(event: LogEvent) -> tuple[int, int]:
    return event["timestamp"], event["ingestionTime"] or 0


def _filter_params(
    group: str, start_ms: int, end_ms: int | None, filter_pattern: str | None, stream_prefixes: Sequence[str]
) -> dict[str, Any]:
    # interleaved is ignored by AWS (always interleaved since 2019); emulators such as moto still need it.
    params: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
    if end_ms is not None:
        params["endTime"] = end_ms
    if filter_pattern:
        params["filterPattern"] = filter_pattern
    if len(stream_prefixes) == 1:
        params["logStreamNamePrefix"] = stream_prefixes[0]
    return params


def fetch_events(
    logs_client: Any,
    group: str | LogSource,
    start_ms: int,
    end_ms: int | None = None,
    filter_pattern: str | None = None,
    *,
    stream_prefixes: Sequence[str] = (),
    page_size: int | None = None,
    budget: RequestBudget | None = None,
    on_notice: Notify | None = None,
    calls: dict[str, int] | None = None,
) -> Iterator[LogEvent]:
    """Every event of one group in [start_ms, end_ms], in the order CloudWatch Logs returns them (by time).

    Follows nextToken through partial and empty pages. An event repeated across a page boundary (same
    millisecond, same eventId) is yielded once. `stream_prefixes` are also checked here because some
    emulators ignore logStreamNamePrefix.
    """
    source = group if isinstance(group, LogSource) else LogSource(label=group, group=group)
    budget = budget or RequestBudget(clock=time.time, sleep=time.sleep)
    params = _filter_params(source.group, start_ms, end_ms, filter_pattern, stream_prefixes)
    if page_size:
        params["limit"] = page_size
    calls = {} if calls is None else calls
    prefixes = tuple(stream_prefixes)
    last_ms, ids_at_last_ms = -1, set[str]()
    while True:
        page = _filter_page(logs_client, params, budget, on_notice or _ignore, calls)
        for raw in page.get("events", []):
            event = _event(raw, source)
            if prefixes and not event["stream"].startswith(prefixes):
                continue
            if event["timestamp"] != last_ms:
                last_ms, ids_at_last_ms = event["timestamp"], set()
            elif event["eventId"] in ids_at_last_ms:
                continue
            if event["eventId"] is not None:
                ids_at_last_ms.add(event["eventId"])
            yield event
        token = page.get("nextToken")
        if not token:
            return
        params["nextToken"] = token


# ---- following ---------------------------------------------------------------------------------------


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
        logs_client: Any,
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
        self._notify = on_notice or _ignore
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
        fresh.sort(key=_order)  # stable: equal (timestamp, ingestion) keep CloudWatch's order
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


# ---- live tail ---------------------------------------------------------------------------------------


class LiveTailUnavailable(Exception):
    """StartLiveTail cannot be used here (API missing, denied, or a group without an ARN)."""


def start_live_tail(
    logs_client: Any,
    sources: Sequence[LogSource],
    *,
    filter_pattern: str | None = None,
    stream_prefixes: Sequence[str] = (),
) -> Any:
    """Open a StartLiveTail session; raises LiveTailUnavailable when polling must be used instead."""
    if len(sources) > LIVE_MAX_GROUPS:
        raise UsageError(f"--live takes at most {LIVE_MAX_GROUPS} log groups ({len(sources)} given)", "use --follow")
    missing = [s.group for s in sources if not s.arn]
    if missing:
        raise LiveTailUnavailable(f"no ARN known for {', '.join(missing)}")
    params: dict[str, Any] = {"logGroupIdentifiers": [s.arn for s in sources]}
    if filter_pattern:
        params["logEventFilterPattern"] = filter_pattern
    if len(sources) == 1 and stream_prefixes:
        params["logStreamNamePrefixes"] = list(stream_prefixes)
    if not hasattr(logs_client, "start_live_tail"):
        raise LiveTailUnavailable("this botocore has no StartLiveTail")
    try:
        return logs_client.start_live_tail(**params)["responseStream"]
    except Exception as exc:
        from botocore.exceptions import EndpointConnectionError

        if isinstance(exc, EndpointConnectionError):
            # StartLiveTail goes to a "stream-" host: a local endpoint given through AWS_ENDPOINT_URL (not
            # --endpoint-url) gets that prefix and cannot be reached, while FilterLogEvents can.
            raise LiveTailUnavailable(f"could not reach {exc.kwargs.get('endpoint_url', 'its endpoint')}") from exc
        code = error_code(exc)
        status = int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _LIVE_UNAVAILABLE_CODES or status in (403, 404, 501):
            raise LiveTailUnavailable(f"{code or status}") from exc
        raise _translate(exc, "live tail") from exc


def live_events(
    stream: Any,
    sources: Sequence[LogSource],
    *,
    end_ms: int | None = None,
    clock: Clock | None = None,
    on_notice: Notify | None = None,
    sample_notice_every: float = 60.0,
) -> Iterator[LogEvent]:
    """Events from an open live tail session, until it closes, `end_ms` passes, or the caller stops."""
    notify = on_notice or _ignore
    clock = clock or time.time
    by_arn = {s.arn: s for s in sources if s.arn}
    last_sample_notice = float("-inf")
    try:
        for item in stream:
            update = item.get("sessionUpdate")
            if not update:
                continue
            if (update.get("sessionMetadata") or {}).get("sampled") and clock() - last_sample_notice >= (
                sample_notice_every
            ):
                last_sample_notice = clock()
                notify("live tail is sampling: more than 500 events/s match, so AWS sends only some of them")
            for raw in update.get("sessionResults", []):
                identifier = str(raw.get("logGroupIdentifier", ""))
                source = by_arn.get(identifier.removesuffix(":*")) or _source_for(identifier, sources)
                yield _event(raw, source)
            if end_ms is not None and clock() * 1000 > end_ms:
                return
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _source_for(identifier: str, sources: Sequence[LogSource]) -> LogSource:
    name = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    for source in sources:
        if source.group == name:
            return source
    return LogSource(label=name, group=name)


# ---- one tail: choose the mode, filter, annotate -----------------------------------------------------


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
    if live and since:
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
        logs_client: Any,
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
        self._notify = on_notice or _ignore
        self.follower: Follower | None = None
        self.budget = RequestBudget(options.max_rate, clock=self._clock, sleep=self._sleep)
        self.calls: dict[str, int] = {}
        self.shown = 0
        self.mode = "live" if options.live else "follow" if options.follow else "fetch"
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
                key=_order,
            )
            return
        if self.mode == "live":
            try:
                yield from self._live()
                return
            except LiveTailUnavailable as exc:
                self._notify(f"live tail is unavailable ({exc}); polling FilterLogEvents instead")
            start_ms = int(self._clock() * 1000)  # live shows new events only; so does its fallback
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
        yield from self.follower

    def _live(self) -> Iterator[LogEvent]:
        """Live tail sessions; AWS ends each after 3 hours, and a new one is started."""
        while True:
            stream = start_live_tail(
                self._client,
                self.sources,
                filter_pattern=self.options.filter_pattern,
                stream_prefixes=self.options.stream_prefixes,
            )
            try:
                yield from live_events(
                    stream, self.sources, end_ms=self.options.end_ms, clock=self._clock, on_notice=self._notify
                )
                return
            except Exception as exc:
                if error_code(exc) != "SessionTimeoutException":
                    raise _translate(exc, "live tail") from exc
                self._notify("the live tail session reached AWS's 3-hour limit; starting a new one")

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


def check_live_targets(targets: Sequence[str]) -> None:
    """Before any call: --live cannot take more than 10 groups."""
    if len(set(targets)) > LIVE_MAX_GROUPS:
        raise UsageError(
            f"--live takes at most {LIVE_MAX_GROUPS} log groups ({len(set(targets))} given)", "use --follow instead"
        )
