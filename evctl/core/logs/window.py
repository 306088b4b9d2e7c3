"""The time window of one tail: --since/--until (durations ago, ISO-8601 times, epoch) checked against now.

    start_ms, end_ms = resolve_window("1h", None, now_ms)     # end_ms None: up to now (or on, when following)

Reading the times themselves is evctl.core.common.time's job (parse_time, parse_duration).
"""

from __future__ import annotations

from evctl.core.common.time import iso_utc, parse_time
from evctl.errors import UsageError

__all__ = ["DEFAULT_SINCE", "resolve_window"]

DEFAULT_SINCE = "10m"


def resolve_window(since: str | None, until: str | None, now_ms: int) -> tuple[int, int | None]:
    """(start_ms, end_ms or None) from --since/--until; rejects a future start and an end before the start."""
    start = parse_time(DEFAULT_SINCE if since is None else since, now_ms, "--since")  # "" is refused, not 10m
    if start > now_ms:
        raise UsageError(
            f"--since {since} is in the future ({iso_utc(start)}, now is {iso_utc(now_ms)})",
            "give a past time, e.g. --since 10m",
        )
    end = parse_time(until, now_ms, "--until") if until is not None else None
    if end is not None and end < start:
        raise UsageError(
            f"--until ({iso_utc(end)}) is before --since ({iso_utc(start)})", "swap them or widen the window"
        )
    return start, end
