"""The shared one-place rules in evctl.core.common: batching, backoff, pacing (issue 10)."""

from __future__ import annotations

import threading

import pytest

from evctl.core.common import Pacer, backoff_delay, batch_admits, batches

# ---- batching -------------------------------------------------------------------------------------------


def test_batches_keep_order_and_the_count_limit() -> None:
    assert batches(range(25), size_of=lambda _: 1, max_count=10, max_bytes=1000) == [
        list(range(10)),
        list(range(10, 20)),
        list(range(20, 25)),
    ]


def test_batches_keep_the_byte_limit_inclusive() -> None:
    sizes = [4, 4, 2, 5, 5, 1]
    got = batches(sizes, size_of=lambda n: n, max_count=10, max_bytes=10)
    assert got == [[4, 4, 2], [5, 5], [1]]
    assert all(sum(b) <= 10 for b in got)


def test_an_oversized_item_goes_alone_and_is_never_dropped() -> None:
    got = batches(["a", "x" * 50, "b"], size_of=len, max_count=10, max_bytes=10)
    assert got == [["a"], ["x" * 50], ["b"]]


def test_batches_of_nothing_is_no_batch() -> None:
    assert batches([], size_of=len, max_count=10, max_bytes=10) == []


def test_batches_refuse_a_zero_count_limit() -> None:
    with pytest.raises(ValueError):
        batches([1], size_of=lambda n: n, max_count=0, max_bytes=10)


def test_batch_admits_is_the_same_rule_one_step_at_a_time() -> None:
    assert batch_admits(0, 0, 10_000, max_count=10, max_bytes=10)  # empty: always
    assert batch_admits(9, 5, 5, max_count=10, max_bytes=10)  # exactly at the byte limit
    assert not batch_admits(9, 5, 6, max_count=10, max_bytes=10)
    assert not batch_admits(10, 0, 0, max_count=10, max_bytes=10)


# ---- backoff --------------------------------------------------------------------------------------------


def test_backoff_doubles_from_base_up_to_the_cap() -> None:
    assert [backoff_delay(a) for a in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert backoff_delay(3, base=0.1, cap=20.0) == pytest.approx(0.4)
    assert backoff_delay(10_000) == 5.0  # no overflow for huge attempts


def test_backoff_before_the_first_try_is_zero() -> None:
    assert backoff_delay(0) == 0.0
    assert backoff_delay(-1) == 0.0


def test_backoff_full_jitter_scales_by_rand() -> None:
    assert backoff_delay(2, base=1.0, cap=10.0, rand=lambda: 0.5) == 1.0
    assert backoff_delay(2, base=1.0, cap=10.0, rand=lambda: 0.0) == 0.0


# ---- pacing ---------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spaces_units_at_the_rate() -> None:
    fake = FakeClock()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    assert pacer.take(5) == 0.0
    assert pacer.take(5) == pytest.approx(0.5)
    assert pacer.take(1) == pytest.approx(0.5)
    assert fake.slept == [pytest.approx(0.5), pytest.approx(0.5)]


def test_pacer_without_a_rate_never_waits() -> None:
    Pacer(None, sleep=lambda s: pytest.fail("no rate, no sleep")).take(1000)
    assert Pacer(0, sleep=lambda s: pytest.fail("no rate, no sleep")).take(3) == 0.0


def test_pacer_rate_change_and_hold() -> None:
    fake = FakeClock()
    pacer = Pacer(4, clock=fake.clock, sleep=fake.sleep)
    pacer.take()
    pacer.set_rate(1)
    assert pacer.take() == pytest.approx(0.25)  # the slot reserved at the old rate
    assert pacer.take() == pytest.approx(1.0)  # the new rate
    pacer.hold(3.0)
    assert pacer.take() == pytest.approx(3.0)


def test_pacer_refuses_a_negative_rate() -> None:
    with pytest.raises(ValueError):
        Pacer(-1)
    with pytest.raises(ValueError):
        Pacer(1).set_rate(-2)


def test_pacer_is_thread_safe_every_slot_is_distinct() -> None:
    starts: list[float] = []
    lock = threading.Lock()
    base = [0.0]

    def clock() -> float:
        return base[0]

    def sleep(seconds: float) -> None:
        with lock:
            starts.append(seconds)

    pacer = Pacer(100, clock=clock, sleep=sleep)
    threads = [threading.Thread(target=lambda: [pacer.take() for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 200 takes at a frozen clock: one without a wait, then 199 distinct waits 0.01 s apart
    assert sorted(round(s, 6) for s in starts) == [round(0.01 * i, 6) for i in range(1, 200)]
