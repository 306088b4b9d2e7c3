"""Follower against moto with a fake clock: every event exactly once, in order, through faults.

The proof scenario (`-m slow`; a 2,000-event version runs by default): 10,000 events across 5 streams, ten events per millisecond, 5 % of them ingested
2-20 s late (older timestamps), pages of 997 events (so pages split inside a millisecond), 10 % of the
calls answered with an empty page carrying a nextToken, 5 % throttled.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from evctl.core.logs import Follower, LogSource
from tests.core.test_logs_harness import FakeClock, Faults, Producer, moto_logs

__all__ = ["moto_logs"]

GROUP = "/aws/lambda/user-signup-handler"


def schedule_traffic(
    producer: Producer,
    clock: FakeClock,
    *,
    total: int = 10_000,
    streams: int = 5,
    seconds: int = 100,
    late_fraction: float = 0.05,
    lateness: tuple[float, float] = (2.0, 20.0),
    per_ms: int = 10,
    seed: int = 1,
) -> tuple[int, int]:
    """Schedules `total` events; returns (first, last) timestamp in ms."""
    rnd = random.Random(seed)
    ticks = seconds * 2  # a batch per stream every 0.5 s
    per_batch = total // (ticks * streams)
    assert per_batch * ticks * streams == total
    start = clock.now + 1
    seq = 0
    first = last = 0
    for tick in range(ticks):
        moment = start + tick * 0.5
        for stream_index in range(streams):
            stream = f"2026/11/27/[$LATEST]{stream_index:032x}"
            on_time: list[dict[str, Any]] = []
            for i in range(per_batch):
                event = {"timestamp": int(moment * 1000) + i // per_ms, "message": f"event {seq:05d}"}
                seq += 1
                first = first or event["timestamp"]
                last = max(last, event["timestamp"])
                if rnd.random() < late_fraction:
                    producer.schedule(moment + rnd.uniform(*lateness), stream, [event])
                else:
                    on_time.append(event)
            producer.schedule(moment + 0.1, stream, on_time)
    return first, last


def follow_all(follower: Follower) -> list[dict[str, Any]]:
    return [dict(event) for event in follower]


@pytest.mark.parametrize(
    ("total", "seconds"),
    [
        pytest.param(2_000, 20, id="2000-events"),
        # The full proof scenario; about 15 s on a busy 2-core machine, so run with `-m slow`.
        pytest.param(10_000, 100, id="10000-events", marks=pytest.mark.slow),
    ],
)
def test_events_each_exactly_once_in_timestamp_order_through_faults(moto_logs: Any, total: int, seconds: int) -> None:
    moto_logs.create_log_group(logGroupName=GROUP)
    clock = FakeClock()
    producer = Producer(moto_logs, GROUP, clock)
    first, last = schedule_traffic(producer, clock, total=total, seconds=seconds)
    faults = Faults(moto_logs, empty_rate=0.10, throttle_rate=0.05, clock=clock)
    notices: list[str] = []
    follower = Follower(
        moto_logs,
        [LogSource(label="user-signup-handler", group=GROUP)],
        first - 1000,
        end_ms=last,
        settle=25.0,  # longer than the latest arrival (20 s): strict timestamp order
        page_size=997,
        clock=clock,
        sleep=clock.sleep,
        on_notice=notices.append,
    )
    shown = follow_all(follower)

    assert producer.pending == 0 and producer.put_count == total
    messages = [event["message"] for event in shown]
    assert len(messages) == total
    assert Counter(messages).most_common(1)[0][1] == 1
    assert set(messages) == {f"event {n:05d}" for n in range(total)}
    stamps = [event["timestamp"] for event in shown]
    assert stamps == sorted(stamps)
    assert {event["stream"] for event in shown} == {f"2026/11/27/[$LATEST]{i:032x}" for i in range(5)}
    # The faults really happened, and none of them ended the follow.
    assert faults.throttles >= 3 and faults.empty_pages >= 5
    assert faults.splits_inside_a_millisecond() >= 2
    assert follower.stats.duplicates > 0  # the overlap re-read events and dropped them
    assert any("throttled" in notice for notice in notices)
    # One request budget: never more than the 5 requests/s the account allows.
    assert faults.max_calls_in_any_second() <= 5


def test_late_events_shown_at_once_without_settle_and_on_time_events_stay_ordered(moto_logs: Any) -> None:
    moto_logs.create_log_group(logGroupName=GROUP)
    clock = FakeClock()
    producer = Producer(moto_logs, GROUP, clock)
    first, last = schedule_traffic(producer, clock, total=2_000, seconds=40, late_fraction=0.1, seed=3)
    Faults(moto_logs, empty_rate=0.1, throttle_rate=0.05, clock=clock, seed=3)
    follower = Follower(moto_logs, [GROUP], first - 1000, end_ms=last, page_size=250, clock=clock, sleep=clock.sleep)
    shown = follow_all(follower)

    messages = [event["message"] for event in shown]
    assert sorted(messages) == [f"event {n:05d}" for n in range(2_000)]
    assert follower.stats.late > 0
    # Events that were not late come out in timestamp order; a late one is printed as soon as it is found.
    newest = -1
    out_of_order = 0
    for event in shown:
        if event["timestamp"] < newest:
            out_of_order += 1
        newest = max(newest, event["timestamp"])
    assert 0 < out_of_order <= follower.stats.late


def test_events_later_than_the_lookback_are_not_shown_and_memory_stays_bounded(moto_logs: Any) -> None:
    moto_logs.create_log_group(logGroupName=GROUP)
    clock = FakeClock()
    producer = Producer(moto_logs, GROUP, clock)
    start = clock.now_ms
    # 20 events/s for 120 s, and one event that arrives 60 s late (beyond the 30 s lookback).
    for second in range(120):
        producer.schedule(
            clock.now + second + 0.1,
            "s",
            [{"timestamp": start + second * 1000 + i * 50, "message": f"{second}-{i}"} for i in range(20)],
        )
    producer.schedule(clock.now + 100, "other", [{"timestamp": start + 40_000, "message": "very late"}])
    follower = Follower(moto_logs, [GROUP], start, clock=clock, sleep=clock.sleep)
    seen: list[str] = []
    peak_ids = 0
    for _ in range(125):
        seen.extend(event["message"] for event in follower.poll_once())
        peak_ids = max(peak_ids, follower.remembered_ids)
        clock.sleep(1.0)
    assert len(seen) == 2400 and "very late" not in seen
    # Only the ids inside the 30 s window (plus one poll) are remembered: 20 events/s * 31 s.
    assert peak_ids <= 20 * 31


def test_new_streams_and_a_group_created_later_are_picked_up(moto_logs: Any) -> None:
    clock = FakeClock()
    notices: list[str] = []
    follower = Follower(
        moto_logs,
        [LogSource(label="fn", group=GROUP, exists=False)],
        clock.now_ms,
        clock=clock,
        sleep=clock.sleep,
        on_notice=notices.append,
    )
    assert follower.poll_once() == []
    moto_logs.create_log_group(logGroupName=GROUP)
    for index in range(3):
        clock.sleep(1)
        stream = f"stream-{index}"
        moto_logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        moto_logs.put_log_events(
            logGroupName=GROUP, logStreamName=stream, logEvents=[{"timestamp": clock.now_ms, "message": stream}]
        )
        assert [e["message"] for e in follower.poll_once()] == [stream]
    assert notices == [f"log group {GROUP} now exists"]


def test_several_groups_merge_by_timestamp_share_one_budget_and_are_labelled(moto_logs: Any) -> None:
    clock = FakeClock()
    groups = [f"/aws/lambda/fn-{i}" for i in range(6)]
    start = clock.now_ms
    for index, group in enumerate(groups):
        moto_logs.create_log_group(logGroupName=group)
        moto_logs.create_log_stream(logGroupName=group, logStreamName="s")
        moto_logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": start + t * 10 + index, "message": f"{group} {t}"} for t in range(50)],
        )
    faults = Faults(moto_logs, clock=clock)
    sources = [LogSource(label=g.rsplit("/", 1)[-1], group=g) for g in groups]
    follower = Follower(moto_logs, sources, start - 1, end_ms=start + 1000, clock=clock, sleep=clock.sleep)
    shown = follow_all(follower)
    assert len(shown) == 300
    assert [e["timestamp"] for e in shown] == sorted(e["timestamp"] for e in shown)
    assert {e["source"] for e in shown} == {s.label for s in sources}
    assert all(e["message"].startswith(e["group"]) for e in shown)
    # 6 groups at a 1 s interval would be 6 requests/s; the shared budget keeps it at 4.
    assert faults.max_calls_in_any_second() <= 4
    assert follower.stats.calls == dict.fromkeys(groups, follower.stats.rounds)


def test_throttling_every_call_for_a_while_backs_off_and_loses_nothing(moto_logs: Any) -> None:
    moto_logs.create_log_group(logGroupName=GROUP)
    moto_logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    clock = FakeClock()
    start = clock.now_ms
    moto_logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": start + i, "message": str(i)} for i in range(30)],
    )
    faults = Faults(moto_logs, throttle_rate=1.0, clock=clock)
    clock.on_sleep.append(lambda: setattr(faults, "throttle_rate", 0.0) if clock.now - start / 1000 > 20 else None)
    follower = Follower(moto_logs, [GROUP], start, clock=clock, sleep=clock.sleep)
    shown = follower.poll_once()
    assert [e["message"] for e in shown] == [str(i) for i in range(30)]
    assert faults.throttles >= 5
    assert follower.budget.rate < follower.budget.max_rate
    # Backing off: the waits grew instead of hammering the API.
    assert max(clock.slept) >= 2.5
