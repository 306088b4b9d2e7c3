"""core/watch history: a ring buffer per series (fixed memory however long the watch runs), CloudWatch minutes
merged by time (a minute read again replaces the one held)."""

from __future__ import annotations

import pytest

from evctl.core.watch import History, Ring


def test_a_ring_keeps_the_last_points_oldest_first() -> None:
    ring = Ring(3)
    for i in range(5):
        ring.append(float(i), i * 10.0)
    assert ring.points() == [(2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
    assert ring.last() == (4.0, 40.0) and len(ring) == 3 and ring.size == 3


def test_a_reading_that_failed_is_a_gap_not_a_zero() -> None:
    ring = Ring(4)
    ring.append(0.0, 5.0)
    ring.append(2.0, None)
    assert ring.points() == [(0.0, 5.0), (2.0, None)]


def test_minutes_merge_by_time_late_ones_replace_what_was_held() -> None:
    ring = Ring(4)
    ring.merge({0.0: 1.0, 60.0: 2.0})
    ring.merge({60.0: 5.0, 120.0: 3.0, 180.0: 4.0, 240.0: 6.0})  # 60 revised; 0 falls out (size 4)
    assert ring.points() == [(60.0, 5.0), (120.0, 3.0), (180.0, 4.0), (240.0, 6.0)]
    ring.merge({0.0: 9.0})  # older than everything held: dropped, the ring only moves forward
    assert ring.points()[0] == (60.0, 5.0)


def test_history_sizes_rings_by_kind_and_knows_the_reading_before() -> None:
    history = History(samples=2, minutes=3)
    for i in range(4):
        history.sample("q", at=float(i), value=float(i))
    history.minutes_of("m", {60.0 * i: float(i) for i in range(5)})
    assert history.points("q") == [(2.0, 2.0), (3.0, 3.0)]
    assert [t for t, _ in history.points("m")] == [120.0, 180.0, 240.0]
    assert history.previous("q") == (2.0, 2.0) and history.last("q") == (3.0, 3.0)
    assert history.points("nothing") == [] and history.previous("nothing") is None


def test_a_ring_holds_at_least_one_point() -> None:
    with pytest.raises(ValueError):
        Ring(0)
