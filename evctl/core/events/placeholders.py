"""Fresh values in events: `{uuid}`, `{seq}` and `{now}` in a Detail, filled at each send (the one place for them).

    fill('{"id":"{uuid}","n":"{seq}","at":"{now}"}', seq=7)   # '{"id":"5f0c…","n":"7","at":"2026-12-02T20:29:00.1Z"}'
    has_placeholders(text)                                     # whether `fill` would change anything
    widest(text, seq=999)                                      # the longest text `fill` can make for seqs up to 999

A placeholder is replaced wherever it stands in the Detail's JSON text: a whole string value (`"{uuid}"`) or part of
one (`"user-{seq}"`). `{uuid}` is a fresh UUID4 per occurrence, `{seq}` the event's 0-based sequence number in the
run, `{now}` the current UTC time (ISO 8601, microseconds when not zero), one value per event. The replacements hold
no character JSON escapes, so the text stays valid JSON. Nothing else in an entry is touched.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from evctl.core.common.time import iso_utc

__all__ = ["NOW", "PLACEHOLDERS", "SEQ", "UUID", "fill", "has_placeholders", "widest"]

UUID, SEQ, NOW = "{uuid}", "{seq}", "{now}"
PLACEHOLDERS = (UUID, SEQ, NOW)
_PATTERN = re.compile(r"\{(uuid|seq|now)\}")
_WIDEST_NOW = dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def has_placeholders(text: str) -> bool:
    """Whether `text` holds `{uuid}`, `{seq}` or `{now}`."""
    return "{" in text and _PATTERN.search(text) is not None


def fill(
    text: str,
    seq: int = 0,
    *,
    new_uuid: Callable[[], str] = _new_uuid,
    now: Callable[[], dt.datetime] = _utc_now,
) -> str:
    """`text` with every placeholder replaced: a new UUID per `{uuid}`, `seq` for `{seq}`, one time for `{now}`."""
    if "{" not in text:
        return text
    moment: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "uuid":
            return new_uuid()
        if name == "seq":
            return str(seq)
        if not moment:
            moment.append(iso_utc(now(), precision="auto"))
        return moment[0]

    return _PATTERN.sub(value, text)


def widest(text: str, seq: int) -> str:
    """The longest text `fill` makes of `text` for any sequence number up to `seq` (for size checks before a run)."""
    return fill(text, seq, now=lambda: _WIDEST_NOW)
