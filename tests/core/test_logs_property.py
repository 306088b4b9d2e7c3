"""Property: whatever the arrival schedule, the Follower never shows an event twice, and shows every event that
arrives within the lookback (less two polls) of its timestamp — through empty pages, small pages and throttling.

The service here is an in-memory FilterLogEvents with AWS's documented behaviour (events ordered by timestamp
then ingestion time, pages of at most `limit`, a page may be empty and still carry a nextToken, visible only once
ingested), so that hundreds of schedules run in seconds; the moto runs in test_logs_follow.py cover the real model.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from evctl.core.logs import Follower
from tests.core.test_logs_harness import FakeClock

LOOKBACK = 10.0
INTERVAL = 1.0


class InMemoryLogs:
    def __init__(self, clock: FakeClock, events: list[tuple[int, int, str]], seed: int, faults: bool) -> None:
        self.clock = clock
        self.events = events  # (timestamp ms, visible-from ms, eventId)
        self.random = random.Random(seed)
        self.faults = faults
        self.throttles = 0
        self.poll_starts: list[int] = []  # when each poll's first page was answered

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        if self.faults and self.random.random() < 0.1:
            self.throttles += 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "FilterLogEvents")
        now = self.clock.now_ms
        if "nextToken" not in params:
            self.poll_starts.append(now)
        end = params.get("endTime", 2**62)
        visible = sorted(
            (e for e in self.events if e[1] <= now and params["startTime"] <= e[0] <= end), key=lambda e: (e[0], e[1])
        )
        offset = int(params.get("nextToken", "0"))
        if self.faults and self.random.random() < 0.15:
            return {"events": [], "nextToken": str(offset)}
        limit = params.get("limit", 10_000)
        page = visible[offset : offset + limit]
        answer: dict[str, Any] = {
            "events": [
                {"logStreamName": "s", "timestamp": ts, "ingestionTime": seen, "eventId": eid, "message": eid}
                for ts, seen, eid in page
            ]
        }
        if offset + limit < len(visible):
            answer["nextToken"] = str(offset + limit)
        return answer


schedules = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60_000),  # timestamp, ms after the start
        st.integers(min_value=0, max_value=30_000),  # lateness: ingested this long after its timestamp
        st.integers(min_value=0, max_value=3),  # how many more events share the millisecond
    ),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(
    schedule=schedules,
    page_size=st.integers(min_value=1, max_value=7),
    seed=st.integers(0, 2**16),
    faults=st.booleans(),
)
def test_never_twice_and_never_lost_within_the_lookback(
    schedule: list[tuple[int, int, int]], page_size: int, seed: int, faults: bool
) -> None:
    clock = FakeClock(start=1_795_000_000.0)
    start = clock.now_ms
    events = []
    for index, (offset, lateness, twins) in enumerate(schedule):
        for twin in range(twins + 1):
            events.append((start + offset, start + offset + lateness, f"{index}.{twin}"))
    service = InMemoryLogs(clock, events, seed, faults)
    follower = Follower(
        service,
        ["g"],
        start,
        end_ms=start + 60_000,
        interval=INTERVAL,
        lookback=LOOKBACK,
        page_size=page_size,
        clock=clock,
        sleep=clock.sleep,
    )
    shown = [e["eventId"] for e in follower]
    assert len(shown) == len(set(shown))
    # An event visible at V with timestamp T is inside the window of the first poll answered after V (at s, window
    # start <= s - lookback) when V - T <= lookback - (s - V). A page boundary shifted by an event ingested
    # meanwhile may hide it from that poll; the next one (within another gap) still has it. So every event whose
    # lateness is at most lookback - 2 * (the longest gap between polls) must be shown.
    starts = [start, *service.poll_starts]
    longest_gap = max(b - a for a, b in itertools.pairwise(starts)) if len(starts) > 1 else 0
    slack_ms = int(LOOKBACK * 1000) - 2 * longest_gap
    must_show = {eid for ts, seen, eid in events if seen - ts <= slack_ms}
    assert must_show <= set(shown)
    assert set(shown) <= {eid for _, _, eid in events}
    if not faults:
        # Without throttling a poll comes round every interval, or after its pages at 4 requests/s if longer.
        assert longest_gap <= max(1000, 250 * (len(events) // page_size + 2))
