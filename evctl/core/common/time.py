"""The one place for reading and writing times: UTC ISO-8601 text, durations, --since/--until style times.

    iso_utc(1795780800123)                              # '2026-11-27T12:00:00Z'   (int/float = epoch ms)
    iso_utc(1795780800123, precision="milliseconds")    # '2026-11-27T12:00:00.123Z'
    iso_utc(moment, precision="auto")                   # microseconds only when non-zero (datetime.isoformat)
    iso_utc(moment, suffix="+00:00")                    # '2026-11-27T12:00:00+00:00'
    parse_duration("1h30m")                             # 5400.0 seconds; UsageError naming the option if bad
    parse_time("5m", now_ms)                            # epoch ms: now | duration ago | epoch s/ms | ISO-8601
    parse_datetime("2026-11-27T10:00:00+01:00")         # aware datetime: datetime | epoch seconds | ISO text
    parse_event_time("1700000000", "--time")            # parse_datetime for an option: UsageError naming it

Rules: times without an offset are UTC; epoch numbers are milliseconds for `iso_utc` and `parse_time` (13-digit
numbers are milliseconds, 10-digit ones seconds) and seconds for `parse_datetime` (as EventBridge's `Time`; text
of digits is epoch seconds too). Every time read is range-checked here, in one place: between 1970-01-01T00:00:00Z
and 9999-12-31T23:59:59.999Z (`check_epoch_ms`), and a duration at most MAX_DURATION_SECONDS (100 years).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from evctl.errors import UsageError

__all__ = [
    "MAX_DURATION_SECONDS",
    "MAX_EPOCH_MS",
    "Precision",
    "TimeFormatError",
    "check_epoch_ms",
    "epoch_ms",
    "iso_utc",
    "parse_datetime",
    "parse_duration",
    "parse_event_time",
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
MAX_EPOCH_MS = 253402300799999  # 9999-12-31T23:59:59.999Z: the last moment a datetime (and AWS) can hold
MAX_DURATION_SECONDS = 100 * 365 * 86400  # longer than any window or wait makes sense for (and than sleep allows)
_RANGE_HINT = "give a time between 1970-01-01 and 9999-12-31"


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
    if seconds > MAX_DURATION_SECONDS:
        raise UsageError(f"{option}: duration {text!r} is out of range", "give at most 100 years (36500d)")
    return seconds


def check_epoch_ms(ms: int, option: str, text: str) -> int:
    """`ms` if it lies between 1970-01-01 and 9999-12-31 (what AWS and a datetime can hold); else a UsageError
    naming the option and the value given."""
    if ms < 0:
        raise UsageError(f"{option} {text!r} is out of range (before 1970-01-01T00:00:00Z)", _RANGE_HINT)
    if ms > MAX_EPOCH_MS:
        raise UsageError(f"{option} {text!r} is out of range (after 9999-12-31T23:59:59Z)", _RANGE_HINT)
    return ms


def parse_time(text: str, now_ms: int, option: str = "--since") -> int:
    """Epoch ms of `now`, a duration ago (`5m`), epoch seconds or milliseconds, or an ISO-8601 time (naive = UTC).

    Raises UsageError("<option>: cannot read '<text>' as a time") for anything else, and UsageError naming the
    option for a time out of range (check_epoch_ms).
    """
    value = text.strip()
    if value.lower() == "now":
        return check_epoch_ms(now_ms, option, text)
    if _DURATION_RE.match(value.lower()):
        seconds = _duration_or_range_error(value, option, text)
        return check_epoch_ms(now_ms - int(seconds * 1000), option, text)
    if _NUMBER_RE.fullmatch(value):
        number = float(value)
        if number != number or number == float("inf"):
            raise UsageError(f"{option} {text!r} is out of range", _RANGE_HINT)
        # Milliseconds have 13 digits today; seconds have 10 (and will until the year 5138).
        return check_epoch_ms(int(number if number >= 1e11 else number * 1000), option, text)
    try:
        moment = parse_datetime(value)
    except TimeFormatError as exc:
        if exc.kind == "range":
            raise UsageError(f"{option} {text!r} is out of range", _RANGE_HINT) from None
        raise UsageError(f"{option}: cannot read {text!r} as a time", _TIME_HINT) from None
    return check_epoch_ms(epoch_ms(moment), option, text)


def _duration_or_range_error(value: str, option: str, text: str) -> float:
    """A duration back from now; one longer than 100 years reaches before 1970 anyway: say so, as for any time."""
    try:
        return parse_duration(value, option)
    except UsageError:
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART_RE.findall(value.lower()))
        if seconds == seconds and seconds > MAX_DURATION_SECONDS:
            raise UsageError(f"{option} {text!r} is out of range (before 1970-01-01T00:00:00Z)", _RANGE_HINT) from None
        raise


def parse_event_time(text: str, option: str) -> dt.datetime:
    """An event time given on the command line (`publish --time`): ISO-8601 / RFC 3339 text or epoch seconds.

    UsageError naming the option when it is unreadable or out of range (exit 2)."""
    try:
        return parse_datetime(text)
    except TimeFormatError as exc:
        if exc.kind == "range":
            raise UsageError(f"{option} {text!r} is out of range", _RANGE_HINT + " (epoch seconds)") from None
        raise UsageError(
            f"{option}: cannot read {text!r} as a time", "use RFC 3339 (2026-11-27T10:15:06Z) or epoch seconds"
        ) from None


def parse_datetime(value: dt.datetime | int | float | str) -> dt.datetime:
    """An aware datetime from a datetime, epoch seconds, or ISO-8601 / RFC 3339 text; naive times are UTC.

    Text of digits (`1700000000`, `1700000000.5`) is epoch seconds, as a JSON number is. The offset given is kept
    (not converted to UTC). Raises TimeFormatError (a ValueError) with `kind` "type" (not one of those; bools are
    refused), "range" (before 1970-01-01 or after 9999-12-31 UTC) or "format" (unreadable text).
    """
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= MAX_EPOCH_MS / 1000:  # NaN fails this too
            raise TimeFormatError(f"{value!r} is out of range for epoch seconds", "range")
        parsed = _EPOCH + dt.timedelta(seconds=value)
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise TimeFormatError(f"{value!r} is not an ISO-8601 time", "format") from None
    else:
        raise TimeFormatError(f"{type(value).__name__} is not a time", "type")
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    try:
        in_range = parsed.astimezone(dt.UTC) >= _EPOCH
    except OverflowError:  # 9999-12-31T23:00-02:00 is past the last moment a datetime holds
        in_range = False
    if not in_range:
        raise TimeFormatError(f"{value!r} is out of range (before 1970-01-01 or after 9999-12-31 UTC)", "range")
    return parsed
