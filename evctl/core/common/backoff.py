"""The one retry backoff formula: exponential, capped, optionally with full jitter.

    backoff_delay(1) == 0.2; backoff_delay(2) == 0.4; ... capped at 5.0
    backoff_delay(attempt, base=0.1, cap=2.0, rand=random.random)   # full jitter: uniform in [0, delay)

`attempt` counts the retries: 1 is the wait before the first retry. There is no wait before the first try
(attempt < 1 gives 0.0).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_BACKOFF_BASE", "DEFAULT_BACKOFF_CAP", "backoff_delay"]

DEFAULT_BACKOFF_BASE = 0.2  # seconds before the first retry
DEFAULT_BACKOFF_CAP = 5.0  # no single wait is longer


def backoff_delay(
    attempt: int,
    *,
    base: float = DEFAULT_BACKOFF_BASE,
    cap: float = DEFAULT_BACKOFF_CAP,
    rand: Callable[[], float] | None = None,
) -> float:
    """Seconds to wait before retry number `attempt`: min(cap, base * 2 ** (attempt - 1)), times rand() if given."""
    if attempt < 1:
        return 0.0
    delay = min(cap, base * float(2 ** min(attempt - 1, 62)))
    return delay * rand() if rand is not None else delay
