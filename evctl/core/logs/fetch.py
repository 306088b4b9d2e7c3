"""Read one log group's window with FilterLogEvents: every page, throttling waited out, under one request budget.

    for event in fetch_events(logs_client, "/aws/lambda/fn", start_ms, end_ms, "ERROR"):
        ...

All calls of one tail share one `RequestBudget` (FilterLogEvents allows 5 requests/s per account and region);
a ThrottlingException halves the rate and the call is retried.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from evctl.core.common.pacing import Pacer
from evctl.core.logs.event import Clock, LogEvent, LogSource, Notify, Sleep, event_from_raw, ignore_notice
from evctl.errors import UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import FilterLogEventsRequestTypeDef, FilterLogEventsResponseTypeDef

__all__ = ["DEFAULT_MAX_RATE", "RequestBudget", "fetch_events", "filter_page", "filter_params"]

# FilterLogEvents: 5 requests/s per account and region, not adjustable. Leave one for everything else.
DEFAULT_MAX_RATE = 4.0
THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})


class RequestBudget:
    """Spaces every FilterLogEvents call of one tail (all groups) under one rate; halves it when throttled.

    Additive increase, multiplicative decrease: after a ThrottlingException the rate halves (down to
    `min_rate`) and the next call waits 1/rate; every success gives back a twentieth of the maximum.
    The spacing itself is the shared `Pacer`; this class adds the rate policy and the counts.
    """

    def __init__(self, max_rate: float = DEFAULT_MAX_RATE, *, clock: Clock, sleep: Sleep, min_rate: float = 0.2):
        if max_rate <= 0:
            raise UsageError("the request rate must be positive")
        self.max_rate = max_rate
        self.min_rate = min(min_rate, max_rate)
        self.calls = 0
        self.throttles = 0
        self.waited = 0.0
        self._clock = clock
        self._pacer = Pacer(max_rate, clock=clock, sleep=sleep)
        self._announced_at = float("-inf")

    @property
    def rate(self) -> float:
        """The current rate, in requests per second."""
        return self._pacer.rate or self.max_rate

    def acquire(self) -> None:
        """Wait for the next slot (a call is about to be made)."""
        self.waited += self._pacer.take()
        self.calls += 1

    def throttled(self) -> float:
        """Record a throttle; returns the new rate."""
        self.throttles += 1
        rate = max(self.min_rate, self.rate / 2)
        self._pacer.set_rate(rate)
        self._pacer.hold(1.0 / rate)
        return rate

    def succeeded(self) -> None:
        self._pacer.set_rate(min(self.max_rate, self.rate + self.max_rate / 20))

    def announce_throttling(self, every: float = 60.0) -> bool:
        """True at most once per `every` seconds: throttling is worth a warning, not one per call."""
        now = self._clock()
        if now - self._announced_at < every:
            return False
        self._announced_at = now
        return True


def filter_params(
    group: str, start_ms: int, end_ms: int | None, filter_pattern: str | None, stream_prefixes: Sequence[str]
) -> FilterLogEventsRequestTypeDef:
    """FilterLogEvents' parameters for one group and window (one stream prefix is sent; several are checked here)."""
    # interleaved is ignored by AWS (always interleaved since 2019); emulators such as moto still need it.
    params: FilterLogEventsRequestTypeDef = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
    if end_ms is not None:
        params["endTime"] = end_ms
    if filter_pattern:
        params["filterPattern"] = filter_pattern
    if len(stream_prefixes) == 1:
        params["logStreamNamePrefix"] = stream_prefixes[0]
    return params


def filter_page(
    logs_client: CloudWatchLogsClient,
    params: FilterLogEventsRequestTypeDef,
    budget: RequestBudget,
    notify: Notify,
    calls: dict[str, int],
) -> FilterLogEventsResponseTypeDef:
    """One FilterLogEvents page; throttling is waited out here and never escapes. `calls` counts calls per group."""
    group = params["logGroupName"]
    while True:
        budget.acquire()
        calls[group] = calls.get(group, 0) + 1
        try:
            page = logs_client.filter_log_events(**params)
        except Exception as exc:
            if error_code(exc) not in THROTTLE_CODES:
                raise (from_aws(exc, f"log group {group}") or exc) from exc
            rate = budget.throttled()
            if budget.announce_throttling():
                notify(
                    f"FilterLogEvents is throttled (5 requests/s per account and region); "
                    f"slowing to {rate:g} requests/s and carrying on"
                )
            continue
        budget.succeeded()
        return page


def fetch_events(
    logs_client: CloudWatchLogsClient,
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
    params = filter_params(source.group, start_ms, end_ms, filter_pattern, stream_prefixes)
    if page_size:
        params["limit"] = page_size
    calls = {} if calls is None else calls
    prefixes = tuple(stream_prefixes)
    last_ms, ids_at_last_ms = -1, set[str]()
    while True:
        page = filter_page(logs_client, params, budget, on_notice or ignore_notice, calls)
        for raw in page.get("events", []):
            event = event_from_raw(raw, source)
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
