"""The one count + size batching rule (SendMessageBatch, PutEvents, a redrive queue sink).

    batches(entries, size_of=entry_size, max_count=10, max_bytes=256 * 1024)   # [[e0, e1, ...], [...]]
    batch_admits(count, total_bytes, item_bytes, max_count=10, max_bytes=...)   # one step of the same rule

Order is kept. A batch takes the next item while it holds fewer than `max_count` items and the sum of its
item sizes, the next one included, stays within `max_bytes`. An item bigger than `max_bytes` on its own is
never dropped or raised on: it gets a batch of its own, and the service judges it (its per-entry error is
reported like any other). Callers that must refuse such an item beforehand validate it first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["batch_admits", "batches"]


def batch_admits(count: int, total_bytes: int, item_bytes: int, *, max_count: int, max_bytes: int) -> bool:
    """Whether a batch of `count` items (`total_bytes` in all) can take one more of `item_bytes`.

    An empty batch admits anything (an oversized item goes alone)."""
    if count == 0:
        return True
    return count < max_count and total_bytes + item_bytes <= max_bytes


def batches(items: Iterable[T], *, size_of: Callable[[T], int], max_count: int, max_bytes: int) -> list[list[T]]:
    """`items` grouped in order into batches of at most `max_count` items and `max_bytes` in total (see module doc)."""
    if max_count < 1:
        raise ValueError("max_count must be at least 1")
    result: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in items:
        size = size_of(item)
        if not batch_admits(len(current), total, size, max_count=max_count, max_bytes=max_bytes):
            result.append(current)
            current, total = [], 0
        current.append(item)
        total += size
    if current:
        result.append(current)
    return result
