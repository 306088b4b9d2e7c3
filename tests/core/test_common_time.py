"""core/common/time.py: the one UTC-ISO formatter and the one time parser, pinned byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest

from evctl.core.common.time import (
    MAX_DURATION_SECONDS,
    MAX_EPOCH_MS,
    TimeFormatError,
    epoch_ms,
    iso_utc,
    parse_datetime,
    parse_duration,
    parse_event_time,
    parse_time,
)
from evctl.errors import UsageError

MS = 1795780800123  # 2026-11-27T12:00:00.123Z


def test_iso_utc_from_epoch_ms() -> None:
    assert iso_utc(MS) == "2026-11-27T12:00:00Z"
    assert iso_utc(MS, precision="milliseconds") == "2026-11-27T12:00:00.123Z"
    assert iso_utc(MS, suffix="+00:00") == "2026-11-27T12:00:00+00:00"
    assert iso_utc(MS - 123, precision="milliseconds") == "2026-11-27T12:00:00.000Z"
    assert iso_utc(-500, precision="milliseconds") == "1969-12-31T23:59:59.500Z"


def test_iso_utc_milliseconds_are_exact_where_float_division_is_not() -> None:
    # 1700000000123 / 1000 is 1700000000.1229999…; the milliseconds must still read .123
    for ms in (1700000000123, 1700000000999, 1, 999):
        assert iso_utc(ms, precision="milliseconds").endswith(f".{ms % 1000:03d}Z")


def test_iso_utc_from_datetimes() -> None:
    plus_two = dt.datetime(2026, 11, 27, 14, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert iso_utc(plus_two) == "2026-11-27T12:00:00Z"
    assert iso_utc(plus_two, precision="auto") == "2026-11-27T12:00:00.250000Z"
    assert iso_utc(plus_two.replace(microsecond=0), precision="auto") == "2026-11-27T12:00:00Z"
    assert iso_utc(dt.datetime(2026, 11, 27, 12)) == "2026-11-27T12:00:00Z"  # naive = UTC


def test_epoch_ms() -> None:
    assert epoch_ms(dt.datetime(1970, 1, 1, 0, 0, 1)) == 1000
    assert epoch_ms(dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == 0


def test_parse_datetime_keeps_the_offset_and_reads_naive_as_utc() -> None:
    assert parse_datetime(0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert parse_datetime(" 2026-01-02T03:04:05 ") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_datetime("2026-01-02T03:04:05+02:00").utcoffset() == dt.timedelta(hours=2)
    assert parse_datetime(dt.datetime(2026, 1, 2)).tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("value", "kind"), [(True, "type"), (None, "type"), ([], "type"), (1e20, "range"), ("yesterday", "format")]
)
def test_parse_datetime_says_why_it_refuses(value: object, kind: str) -> None:
    with pytest.raises(TimeFormatError) as raised:
        parse_datetime(value)  # type: ignore[arg-type]
    assert raised.value.kind == kind
    assert isinstance(raised.value, ValueError)


def test_parse_time_reads_iso_through_parse_datetime() -> None:
    assert parse_time("2026-11-27T12:00:00.123Z", 0) == MS
    assert parse_time("2026-11-27T13:00:00.123+01:00", 0) == MS


# ---- ranges: every time read is checked here, once (issue 11) --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "99999999d",  # a duration back past 1970 (botocore's validator used to meet it)
        "1000000w",
        "99999999999999999999",  # epoch ms past the year 9999
        "9" * 400,  # a float infinity
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:00:00-02:00",  # past the last moment a datetime holds, once in UTC
    ],
)
def test_parse_time_refuses_times_out_of_range_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_time(text, MS, "--until")
    assert raised.value.message.startswith(f"--until {text!r} is out of range")
    assert raised.value.exit_code == 2


def test_parse_time_keeps_the_edges_of_the_range() -> None:
    assert parse_time("1970-01-01T00:00:00Z", MS) == 0
    assert parse_time("9999-12-31T23:59:59.999Z", MS) == MAX_EPOCH_MS
    assert parse_time("0", MS) == 0


@pytest.mark.parametrize("text", ["36501d", "1e999", "nan", "5300000w"])
def test_parse_duration_refuses_absurd_durations(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_duration(text, "--interval")
    assert raised.value.message.startswith("--interval: ")
    assert parse_duration("36500d") == MAX_DURATION_SECONDS


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1700000000", 1700000000.0), (" 1700000000.5 ", 1700000000.5), (1700000000, 1700000000.0), ("0", 0.0)],
)
def test_parse_datetime_reads_epoch_seconds_in_text_as_in_numbers(value: object, expected: float) -> None:
    assert parse_datetime(value).timestamp() == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 1e300, float("nan"), "99999999999999", "0001-01-01", "1969-12-31T23:59:59"])
def test_parse_datetime_range(value: object) -> None:
    with pytest.raises(TimeFormatError) as raised:
        parse_datetime(value)  # type: ignore[arg-type]
    assert raised.value.kind == "range"


def test_parse_event_time_names_the_option() -> None:
    assert parse_event_time("1700000000", "--time") == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    for text, words in (("99999999999999", "is out of range"), ("yesterday", "cannot read")):
        with pytest.raises(UsageError) as raised:
            parse_event_time(text, "--time")
        assert raised.value.message.startswith("--time") and words in raised.value.message
