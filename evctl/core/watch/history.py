"""The watch's memory: one ring buffer per series, so a dashboard that runs for days holds a fixed amount.

    history = History(samples=450, minutes=15)
    history.sample(("arn:…:orders", "visible"), at=1700000000.0, value=3)      # a queue reading (every interval)
    history.minutes_of(("arn:…:rule/r", "matched"), {1699999940.0: 12.0})       # CloudWatch's per-minute points
    history.points(("arn:…:orders", "visible"))                                 # [(at, value)], oldest first

A reading that could not be made is recorded as None (a gap, never a 0). CloudWatch's points are per minute and
may arrive late or be revised: a minute read again replaces what was held for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping

__all__ = ["History", "Point", "Ring"]

Point = tuple[float, float | None]  # (epoch seconds, value; None: not read)


class Ring:
    """The last `size` points of one series, oldest first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a ring holds at least one point")
        self._points: deque[Point] = deque(maxlen=size)

    @property
    def size(self) -> int:
        return int(self._points.maxlen or 0)

    def append(self, at: float, value: float | None) -> None:
        self._points.append((at, value))

    def merge(self, points: Mapping[float, float | None]) -> None:
        """Points keyed by time: a time already held is replaced, newer ones appended in order (older ones than
        everything held are dropped: the ring only moves forward)."""
        held = dict(self._points)
        oldest = min(held) if held else float("-inf")
        for at, value in points.items():
            if at >= oldest:
                held[at] = value
        merged = sorted(held.items())
        self._points.clear()
        self._points.extend(merged[-self.size :])

    def points(self) -> list[Point]:
        return list(self._points)

    def last(self) -> Point | None:
        return self._points[-1] if self._points else None

    def __len__(self) -> int:
        return len(self._points)


class History:
    """Ring buffers by series key: `samples` points for readings made every interval, `minutes` for per-minute
    CloudWatch series."""

    def __init__(self, *, samples: int, minutes: int) -> None:
        self.samples_size = samples
        self.minutes_size = minutes
        self._rings: dict[Hashable, Ring] = {}

    def _ring(self, key: Hashable, size: int) -> Ring:
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = Ring(size)
        return ring

    def sample(self, key: Hashable, *, at: float, value: float | None) -> None:
        self._ring(key, self.samples_size).append(at, value)

    def minutes_of(self, key: Hashable, points: Mapping[float, float | None]) -> None:
        self._ring(key, self.minutes_size).merge(points)

    def points(self, key: Hashable) -> list[Point]:
        ring = self._rings.get(key)
        return ring.points() if ring is not None else []

    def last(self, key: Hashable) -> Point | None:
        ring = self._rings.get(key)
        return ring.last() if ring is not None else None

    def previous(self, key: Hashable) -> Point | None:
        """The point before the last one (None when there is none)."""
        points = self.points(key)
        return points[-2] if len(points) >= 2 else None
