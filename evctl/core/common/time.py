"""The one place for reading and writing times: UTC ISO-8601 text, durations, --since/--until style times.

    iso_utc(1795780800123)                              # '2026-11-27T12:00:00Z'   (int/float = epoch ms)
    iso_utc(1795780800123, precision="milliseconds")    # '2026-11-27T12:00:00.123Z'
    iso_utc(moment, precision="auto")                   # microseconds only when non-zero (datetime.isoformat)
    iso_utc(moment, suffix="+00:00")                    # '2026-11-27T12:00:00+00:00'
    parse_duration("1h30m")                             # 5400.0 seconds; UsageError naming the option if bad
    parse_time("5m", now_ms)                            # epoch ms: now | duration ago | epoch s/ms | ISO-8601
    parse_datetime("2026-11-27T10:00:00+01:00")         # aware datetime: datetime | epoch seconds | ISO text

Rules: times without an offset are UTC; epoch numbers are milliseconds for `iso_utc` and `parse_time` (13-digit
numbers are milliseconds, 10-digit ones seconds) and seconds for `parse_datetime` (as EventBridge's `Time`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from evctl.errors import UsageError

__all__ = [
    "Precision",
    "TimeFormatError",
    "epoch_ms",
    "iso_utc",
    "parse_datetime",
    "parse_duration",
    "parse_time",
]

Precision = Literal["seconds", "milliseconds", "auto"]

_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_NUMBER_RE = re.compile(r"\d+(\.\d+)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_HINT = "use e.g. 500ms, 30s, 5m, 2h, 1d"
_TIME_HINT = "use a duration (30s, 5m, 2h, 1d), an ISO-8601 time (2026-11-27T10:00:00Z) or epoch seconds"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class TimeFormatError(ValueError):
    """A value `parse_datetime` cannot read; `kind` says why: "type", "range" (epoch) or "format" (text)."""

    def __init__(self, message: str, kind: Literal["type", "range", "format"]) -> None:
        super().__init__(message)
        self.kind = kind


# ---- writing -------------------------------------------------------------------------------------------


def iso_utc(
    moment: dt.datetime | int | float,
    *,
    precision: Precision = "seconds",
    suffix: Literal["Z", "+00:00"] = "Z",
) -> str:
    """ISO-8601 in UTC of a datetime (naive = UTC) or of epoch milliseconds, ending in `suffix`.

    precision: "seconds" (2026-11-27T12:00:00Z), "milliseconds" (…:00.123Z, truncated, never rounded up) or "auto"
    (datetime.isoformat's choice: microseconds when they are not zero).
    """
    if isinstance(moment, dt.datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
        utc = aware.astimezone(dt.UTC)
    else:
        # Whole milliseconds from integers: float division can land a microsecond short (…122999 → .122).
        millis = int(moment) if isinstance(moment, int) or float(moment).is_integer() else None
        if millis is not None:
            utc = _EPOCH + dt.timedelta(milliseconds=millis)
        else:
            utc = dt.datetime.fromtimestamp(moment / 1000, tz=dt.UTC)
    if precision == "seconds":
        text = utc.isoformat(timespec="seconds")
    elif precision == "milliseconds":
        text = utc.isoformat(timespec="milliseconds")
    else:
        text = utc.isoformat()
    return text.removesuffix("+00:00") + suffix


def epoch_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of a datetime (naive = UTC), truncated as `int(timestamp * 1000)`."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() * 1000)


# ---- reading -------------------------------------------------------------------------------------------


def parse_duration(text: str, option: str = "duration") -> float:
    """Seconds in `30s`, `5m`, `2h`, `1d`, `1w`, `500ms`, `1h30m`, or a bare number of seconds.

    Raises UsageError("<option>: malformed duration '<text>'") for anything else, negative, NaN or infinite.
    """
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION_RE.match(value):
            raise UsageError(f"{option}: malformed duration {text!r}", _DURATION_HINT) from None
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART_RE.findall(value))
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise UsageError(f"{option}: malformed duration {text!r}", _DURATION_HINT)
    return seconds


def parse_time(text: str, now_ms: int, option: str = "--since") -> int:
    """Epoch ms of `now`, a duration ago (`5m`), epoch seconds or milliseconds, or an ISO-8601 time (naive = UTC).

    Raises UsageError("<option>: cannot read '<text>' as a time") for anything else.
    """
    value = text.strip()
    if value.lower() == "now":
        return now_ms
    if _DURATION_RE.match(value.lower()):
        return now_ms - int(parse_duration(value, option) * 1000)
    if _NUMBER_RE.fullmatch(value):
        number = float(value)
        # Milliseconds have 13 digits today; seconds have 10 (and will until the year 5138).
        return int(number if number >= 1e11 else number * 1000)
    try:
        moment = parse_datetime(value)
    except TimeFormatError:
        raise UsageError(f"{option}: cannot read {text!r} as a time", _TIME_HINT) from None
    return epoch_ms(moment)


def parse_datetime(value: dt.datetime | int | float | str) -> dt.datetime:
    """An aware datetime from a datetime, epoch seconds, or ISO-8601 / RFC 3339 text; naive times are UTC.

    The offset given is kept (not converted to UTC). Raises TimeFormatError (a ValueError) with `kind` "type"
    (not one of those; bools are refused), "range" (epoch seconds out of range) or "format" (unreadable text).
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise TimeFormatError(f"{value!r} is out of range for epoch seconds", "range") from None
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise TimeFormatError(f"{value!r} is not an ISO-8601 time", "format") from None
    else:
        raise TimeFormatError(f"{type(value).__name__} is not a time", "type")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
