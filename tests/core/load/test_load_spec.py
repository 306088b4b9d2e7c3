"""--count / --rate / --duration rules, the event stream (cycling, placeholders, batch sizes, due times)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from evctl.core.events import fill_placeholders
from evctl.core.load import EventStream, LoadSpec, parse_rate
from evctl.errors import UsageError


@pytest.mark.parametrize(
    ("text", "per_second"), [("100", 100.0), ("100/s", 100.0), ("2.5/s", 2.5), ("6000/m", 100.0), (" 30 / min ", 0.5)]
)
def test_rates(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


@pytest.mark.parametrize("text", ["0", "0/s", "abc", "-1", "nan", "inf", "1e3", "10/h", "", "2000000"])
def test_bad_rates_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--rate"):
        parse_rate(text)


def test_duration_times_rate_is_the_count() -> None:
    assert LoadSpec.resolve(count=None, rate="200/s", duration="30s", from_file=False) == LoadSpec(6000, 200.0, 30.0)
    assert LoadSpec.resolve(count=None, rate="2.5", duration="3s", from_file=False) == LoadSpec(8, 2.5, 3.0)  # 0…2.8 s
    assert LoadSpec.resolve(count=None, rate="0.1", duration="30s", from_file=False) == LoadSpec(3, 0.1, 30.0)  # not 4
    assert LoadSpec.resolve(count=None, rate=None, duration=None, from_file=False) is None
    assert LoadSpec.resolve(count=5, rate=None, duration=None, from_file=False) == LoadSpec(5, None)
    assert LoadSpec.resolve(count=None, rate="10", duration=None, from_file=True) == LoadSpec(None, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": None, "rate": None, "duration": "30s"}, "--duration needs --rate"),
        ({"count": 5, "rate": "10", "duration": "30s"}, "--count or --duration, not both"),
        ({"count": None, "rate": "10", "duration": None}, "--rate needs --count N or --duration D"),
        ({"count": 0, "rate": None, "duration": None}, "--count must be at least 1"),
        ({"count": -1, "rate": None, "duration": None}, "--count must be at least 1"),
        ({"count": None, "rate": "10", "duration": "0s"}, "--duration must be more than 0"),
        ({"count": None, "rate": "10", "duration": "soon"}, "--duration: malformed duration"),
    ],
)
def test_conflicts_and_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LoadSpec.resolve(from_file=False, **kwargs)  # type: ignore[arg-type]


def test_dry_run_does_not_combine_with_load() -> None:
    with pytest.raises(UsageError, match="--dry-run cannot be combined with --count"):
        LoadSpec.resolve(count=3, rate=None, duration=None, from_file=False, dry_run=True)


def test_placeholders_fill_whole_values_and_parts_of_strings() -> None:
    at = dt.datetime(2026, 12, 2, 20, 29, tzinfo=dt.UTC)
    text = fill_placeholders(
        '{"id":"{uuid}","u":"user-{seq}","at":"{now}","again":"{now}","k":"{x}"}',
        42,
        new_uuid=lambda: "U",
        now=lambda: at,
    )
    assert json.loads(text) == {
        "id": "U",
        "u": "user-42",
        "at": "2026-12-02T20:29:00Z",
        "again": "2026-12-02T20:29:00Z",
        "k": "{x}",
    }


def test_a_file_is_cycled_and_each_event_gets_its_own_values() -> None:
    entries = [
        {"Source": "s", "DetailType": "A", "Detail": '{"n":"{seq}","id":"{uuid}"}'},
        {"Source": "s", "DetailType": "B", "Detail": '{"fixed":1}'},
    ]
    stream = EventStream(entries, count=5, rate=None, cap=256 * 1024)
    events = [e for batch in stream for e in batch.entries]
    assert [e["DetailType"] for e in events] == ["A", "B", "A", "B", "A"]
    details = [json.loads(e["Detail"]) for e in events]
    assert [d.get("n") for d in details] == ["0", None, "2", None, "4"]
    assert len({d["id"] for d in details if "id" in d}) == 3


@pytest.mark.parametrize(("rate", "size"), [(None, 10), (4000.0, 10), (100.0, 10), (50.0, 5), (5.0, 1), (0.2, 1)])
def test_batch_size_keeps_a_batch_within_a_tenth_of_a_second(rate: float | None, size: int) -> None:
    stream = EventStream([{"Source": "s", "DetailType": "T", "Detail": "{}"}], count=20, rate=rate, cap=1024)
    batches = list(stream)
    assert batches[0].entries and len(batches[0]) == size
    assert batches[-1].due == (19 / rate if rate else 0.0)  # due when its last event is


def test_batches_respect_the_byte_cap() -> None:
    entry = {"Source": "s", "DetailType": "T", "Detail": json.dumps({"pad": "x" * 300})}
    batches = list(EventStream([entry], count=10, rate=None, cap=1000))
    assert [len(b) for b in batches] == [3, 3, 3, 1]


def test_an_event_that_outgrows_the_cap_once_filled_is_refused_before_sending() -> None:
    entry = {"Source": "s", "DetailType": "T", "Detail": '{"a":"' + "{uuid}" * 20 + '"}'}
    with pytest.raises(UsageError, match="once its placeholders are filled"):
        EventStream([entry], count=1, rate=None, cap=600)
