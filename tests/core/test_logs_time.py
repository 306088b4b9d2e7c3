"""--since / --until / durations: every accepted form, and every malformed one refused as a usage error."""

from __future__ import annotations

import datetime as dt

import pytest

from evctl.core.common.time import parse_duration, parse_time
from evctl.core.logs import options_from_cli, resolve_window
from evctl.errors import ExitCode, UsageError

NOW_MS = int(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("500ms", 0.5),
        ("1h30m", 5400),
        ("1.5s", 1.5),
        ("2", 2),
        ("0.25", 0.25),
        (" 5M ", 300),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m5", "5 m", "-5m", "1d-2h", "five minutes", "nan", "inf", "5mm"])
def test_malformed_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_duration(text, "--interval")
    assert raised.value.exit_code == ExitCode.USAGE
    assert raised.value.message == f"--interval: malformed duration {text!r}"
    assert "30s, 5m, 2h, 1d" in str(raised.value.hint)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", NOW_MS - 600_000),
        ("1d", NOW_MS - 86_400_000),
        ("now", NOW_MS),
        ("2026-11-27T11:00:00Z", NOW_MS - 3_600_000),
        ("2026-11-27T11:00:00", NOW_MS - 3_600_000),  # no offset: UTC
        ("2026-11-27T12:00:00+01:00", NOW_MS - 3_600_000),
        ("2026-11-27", NOW_MS - 12 * 3_600_000),
        ("2026-11-27T11:59:59.250Z", NOW_MS - 750),
        (str(NOW_MS // 1000 - 60), NOW_MS - 60_000),  # epoch seconds
        (str(NOW_MS - 60_000), NOW_MS - 60_000),  # epoch milliseconds
    ],
)
def test_times(text: str, expected: int) -> None:
    assert parse_time(text, NOW_MS) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "10 minutes", "12:00", "5x"])
def test_unreadable_times_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_time(text, NOW_MS, "--until")
    assert raised.value.message == f"--until: cannot read {text!r} as a time"


def test_window_defaults_to_the_last_ten_minutes_until_now() -> None:
    assert resolve_window(None, None, NOW_MS) == (NOW_MS - 600_000, None)


def test_since_in_the_future_is_refused() -> None:
    with pytest.raises(UsageError) as raised:
        resolve_window("2026-11-27T13:00:00Z", None, NOW_MS)
    assert (
        raised.value.message
        == "--since 2026-11-27T13:00:00Z is in the future (2026-11-27T13:00:00Z, now is 2026-11-27T12:00:00Z)"
    )


def test_until_before_since_is_refused() -> None:
    with pytest.raises(UsageError) as raised:
        resolve_window("1h", "2h", NOW_MS)
    assert raised.value.message == "--until (2026-11-27T10:00:00Z) is before --since (2026-11-27T11:00:00Z)"


def test_options_from_cli_checks_every_duration_before_anything_runs() -> None:
    options = options_from_cli("5m", "1m", follow=True, streams=["2026/11/27"], now_ms=NOW_MS)
    assert (options.start_ms, options.end_ms, options.interval, options.lookback) == (
        NOW_MS - 300_000,
        NOW_MS - 60_000,
        1.0,
        30.0,
    )
    assert options.stream_prefixes == ("2026/11/27",)
    for bad in ({"interval": "0s"}, {"interval": "fast"}, {"lookback": "-1s"}, {"settle": "x"}, {"streams": [""]}):
        with pytest.raises(UsageError):
            options_from_cli(None, None, now_ms=NOW_MS, **bad)  # type: ignore[arg-type]
