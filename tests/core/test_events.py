"""Pure rules of evctl.core.events (entries, reading, settings, batching): building, validating, sizing, reading and batching entries."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evctl.core import events as ev
from evctl.errors import UsageError

SQS_BODY = {  # an EventBridge event as moto/AWS put it in an SQS message body
    "id": "7a3c-1",
    "time": "2026-11-27T10:15:06Z",
    "version": "0",
    "detail-type": "UserSignup",
    "source": "my.webapp",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": ["arn:aws:iam::123456789012:user/ann"],
    "detail": {"user_id": "42", "email": "ann@example.com"},
}


def test_entry_form_with_detail_object_is_serialised_compactly() -> None:
    entry = ev.entry_from_json(
        {"Source": "my.webapp", "DetailType": "UserSignup", "Detail": {"a": 1, "b": [1, 2]}}, default_bus="default"
    )
    assert entry == {
        "Source": "my.webapp",
        "DetailType": "UserSignup",
        "Detail": '{"a":1,"b":[1,2]}',
        "EventBusName": "default",
    }


def test_entry_form_keeps_detail_text_and_its_own_bus() -> None:
    entry = ev.entry_from_json(
        {"Source": "s", "DetailType": "t", "Detail": '{ "a" : 1 }', "EventBusName": "orders", "TraceHeader": "Root=1"},
        default_bus="default",
    )
    assert entry["Detail"] == '{ "a" : 1 }'
    assert entry["EventBusName"] == "orders"
    assert entry["TraceHeader"] == "Root=1"


def test_envelope_from_an_sqs_body_becomes_an_entry_on_the_default_bus() -> None:
    entry = ev.entry_from_json(SQS_BODY, default_bus="replay-bus")
    assert entry == {
        "EventBusName": "replay-bus",
        "Source": "my.webapp",
        "DetailType": "UserSignup",
        "Detail": '{"user_id":"42","email":"ann@example.com"}',
        "Resources": ["arn:aws:iam::123456789012:user/ann"],
        "Time": dt.datetime(2026, 11, 27, 10, 15, 6, tzinfo=dt.UTC),
    }
    assert ev.validate_entry(entry) == []


def test_an_sqs_message_holding_an_event_is_unwrapped() -> None:
    drain_line = {
        "messageId": "m-1",
        "body": json.dumps(SQS_BODY),
        "attributes": {"ApproximateReceiveCount": "3", "AWSTraceHeader": "Root=1-abc"},
        "eventSource": "aws:sqs",
    }
    entry = ev.entry_from_json(drain_line, default_bus="default")
    assert entry == {**ev.entry_from_json(SQS_BODY, default_bus="default"), "TraceHeader": "Root=1-abc"}
    boto3_message = {"MessageId": "m-2", "Body": json.dumps(SQS_BODY), "ReceiptHandle": "r"}
    assert ev.entry_from_json(boto3_message, default_bus="default")["Source"] == "my.webapp"


@pytest.mark.parametrize(
    ("body", "message"),
    [("not json", "body is not JSON"), (json.dumps({"order": 1}), "body is not an EventBridge event")],
)
def test_an_sqs_message_with_another_body_is_invalid(body: str, message: str) -> None:
    with pytest.raises(ev.InvalidEntry, match=message):
        ev.entry_from_json({"messageId": "m", "body": body}, default_bus="default")


def test_entry_round_trips_through_its_json_lines_form() -> None:
    entry = ev.entry_from_json(SQS_BODY, default_bus="default")
    line = json.dumps(ev.entry_to_json(entry))
    assert ev.entry_from_json(json.loads(line), default_bus="other") == entry
    assert json.loads(line)["Time"] == "2026-11-27T10:15:06Z"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2], "expected a JSON object, got an array"),
        ("text", "expected a JSON object, got a string"),
        ({}, "neither a PutEvents entry nor an EventBridge event"),
        ({"Source": "s", "Details": {}}, "unknown PutEvents entry field(s): Details"),
        ({"Source": "s", "DetailType": "t", "Detail": {}, "Time": "yesterday"}, "is not an RFC 3339 timestamp"),
        ({"Source": "s", "DetailType": "t", "Detail": {}, "Time": [1]}, "Time must be a timestamp string"),
    ],
)
def test_unreadable_input_raises_invalid_entry(obj: object, message: str) -> None:
    with pytest.raises(ev.InvalidEntry) as caught:
        ev.entry_from_json(obj, default_bus="default")
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_time_accepts_epoch_seconds_and_naive_iso_as_utc() -> None:
    assert ev.parse_time(0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert ev.parse_time("2026-01-02T03:04:05") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert ev.parse_time("2026-01-02T03:04:05+02:00").utcoffset() == dt.timedelta(hours=2)


VALID = {"Source": "my.webapp", "DetailType": "UserSignup", "Detail": '{"a":1}', "EventBusName": "default"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"Source": None}, "Source is missing"),
        ({"Source": ""}, "Source is missing"),
        ({"DetailType": None}, "DetailType is missing"),
        ({"Source": 5}, "Source must be a string, not a number"),
        ({"Source": "aws.s3"}, "reserved for AWS services"),
        ({"DetailType": "x" * 129}, "DetailType is 129 characters; the limit is 128"),
        ({"Detail": None}, "Detail is missing"),
        ({"Detail": "[1,2]"}, "Detail must be a JSON object, not an array"),
        ({"Detail": '"hello"'}, "Detail must be a JSON object, not a string"),
        ({"Detail": "{oops"}, "Detail is not valid JSON"),
        ({"Resources": [f"arn:aws:x:::{i}" for i in range(11)]}, "11 Resources; at most 10"),
        ({"Resources": ["ok", 3]}, "every Resource must be a non-empty string"),
        ({"Resources": "arn:aws:x"}, "Resources must be a list"),
        ({"EventBusName": "no spaces allowed"}, "is not an event bus name or ARN"),
        ({"TraceHeader": "x" * 501}, "TraceHeader must be a string of 1-500"),
        ({"Time": "soon"}, "is not an RFC 3339 timestamp"),
    ],
)
def test_validate_entry_names_each_problem(change: dict[str, object], problem: str) -> None:
    entry = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    problems = ev.validate_entry(entry)
    assert len(problems) == 1, problems
    assert problem in problems[0]


def test_valid_entries_have_no_problems() -> None:
    assert ev.validate_entry(VALID) == []
    arn = "arn:aws:events:us-east-1:123456789012:event-bus/orders"
    assert ev.validate_entry({**VALID, "EventBusName": arn, "Detail": "{}"}) == []


def test_entry_size_is_the_documented_formula() -> None:
    entry = {
        "Source": "my.webapp",  # 9
        "DetailType": "Ünïcode",  # 7 chars, 9 bytes
        "Detail": '{"k":"€"}',  # 11 bytes
        "Resources": ["arn:a", "arn:bb"],  # 5 + 6
        "Time": dt.datetime.now(dt.UTC),  # 14
        "EventBusName": "does-not-count",
        "TraceHeader": "does-not-count-either",
    }
    assert ev.entry_size(entry) == 14 + 9 + 9 + 11 + 5 + 6
    assert ev.entry_size({"Source": "a"}) == 1


def test_oversized_entry_against_default_and_opt_in_caps() -> None:
    big = {**VALID, "Detail": json.dumps({"x": "y" * (300 * 1024)})}
    assert "over the 262144-byte cap" in ev.validate_entry(big)[0]
    assert ev.validate_entry(big, max_entry_bytes=ev.LARGE_MAX_ENTRY_BYTES) == []
    exactly = {**VALID, "Detail": '{"x":"' + "y" * (ev.DEFAULT_MAX_ENTRY_BYTES - 27) + '"}'}
    assert ev.entry_size(exactly) == ev.DEFAULT_MAX_ENTRY_BYTES
    assert ev.validate_entry(exactly) == []
    one_more = {**exactly, "Source": "my.webapp2"}
    assert ev.validate_entry(one_more) == ["entry is 262145 bytes, over the 262144-byte cap"]


@pytest.mark.parametrize(
    ("text", "size"), [("262144", 262144), ("256KiB", 262144), ("1MiB", 1048576), ("1 mb", 1048576)]
)
def test_parse_size(text: str, size: int) -> None:
    assert ev.parse_size(text) == size


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="cannot read size"):
        ev.parse_size("lots")


def test_read_jsonl_numbers_lines_skips_blanks_and_reports_garbage() -> None:
    lines = [
        "\ufeff" + json.dumps({"Source": "s", "DetailType": "t", "Detail": {}}) + "\n",
        "\n",
        "{not json\n",
        b"\xff\xfe\x00garbage\n",
        json.dumps({"DetailType": "t", "Detail": []}) + "\n",
        json.dumps(SQS_BODY),
    ]
    events = ev.read_jsonl(lines, default_bus="default")
    assert [e.line for e in events] == [1, 3, 4, 5, 6]
    assert [e.valid for e in events] == [True, False, False, False, True]
    assert "not valid JSON" in events[1].problems[0]
    assert "not UTF-8" in events[2].problems[0]
    assert events[3].problems == ["Source is missing", "Detail must be a JSON object, not an array"]


def test_read_jsonl_of_nothing_is_empty() -> None:
    assert ev.read_jsonl([], default_bus="default") == []
    assert ev.read_jsonl(["\n", "  \n"], default_bus="default") == []


def _entry(detail_bytes: int) -> dict[str, str]:
    return {"Source": "s", "DetailType": "t", "Detail": "x" * detail_bytes}


def test_batches_hold_at_most_ten_entries() -> None:
    assert [len(b) for b in ev.plan_batches([_entry(1)] * 25)] == [10, 10, 5]


def test_batches_keep_the_sum_of_sizes_under_the_cap() -> None:
    entries = [_entry(98)] * 5  # 100 bytes each
    assert ev.plan_batches(entries, max_request_bytes=250) == [[0, 1], [2, 3], [4]]
    assert ev.plan_batches(entries, max_request_bytes=300) == [[0, 1, 2], [3, 4]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=60), st.integers(min_value=1002, max_value=5000))
def test_batching_invariants(sizes: list[int], cap: int) -> None:
    entries = [_entry(n) for n in sizes]
    batches = ev.plan_batches(entries, max_request_bytes=cap)
    assert [i for batch in batches for i in batch] == list(range(len(entries)))  # every entry once, in order
    for batch in batches:
        assert 1 <= len(batch) <= ev.MAX_ENTRIES_PER_CALL
        assert sum(ev.entry_size(entries[i]) for i in batch) <= cap


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(
    detail=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    source=st.text(min_size=1, max_size=30).filter(lambda s: not s.startswith("aws.")),
    resources=st.lists(st.text(min_size=1, max_size=20), max_size=10),
    epoch=st.integers(min_value=0, max_value=4_000_000_000),
)
def test_json_lines_form_round_trips_and_sizes_match(
    detail: dict[str, object], source: str, resources: list[str], epoch: int
) -> None:
    entry = ev.entry_from_json(
        {"Source": source, "DetailType": "T", "Detail": detail, "Resources": resources, "Time": epoch},
        default_bus="default",
    )
    assert json.loads(entry["Detail"]) == detail
    again = ev.entry_from_json(json.loads(json.dumps(ev.entry_to_json(entry))), default_bus="x")
    assert again == entry
    expected = 14 + len(source.encode()) + 1 + len(entry["Detail"].encode()) + sum(len(r.encode()) for r in resources)
    assert ev.entry_size(entry) == expected
    assert ev.validate_entry(entry) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"Source":"s","DetailType":"t","Detail":{"a":"\\ud800"}}', "contains a lone surrogate"),
        ('{"Source":"\\ud800","DetailType":"t","Detail":{}}', "contains a lone surrogate"),
        ('{"Source":"s","DetailType":"t","Detail":{},"Resources":5}', "Resources must be a list of ARNs, not a number"),
        ('{"Source":"s","DetailType":"t","Detail":{},"Time":1e300}', "out of range for epoch seconds"),
        ('{"Source":"s","DetailType":"t","Detail":{"a":NaN}}', "Detail contains NaN or Infinity"),
        ('{"Source":"s","DetailType":"t","Detail":"{\\"a\\":Infinity}"}', "Infinity is not valid JSON"),
        ("[" * 100_000, "JSON nested too deeply"),
        ('{"Source":"s","DetailType":"t","Detail":' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ('{"Source":"s","DetailType":"t","Detail":{},"X\\ud800":1}', "unknown PutEvents entry field(s): X\\ud800"),
    ],
)
def test_hostile_lines_are_problems_not_crashes(line: str, problem: str) -> None:
    [event] = ev.read_jsonl([line], default_bus="default")
    assert not event.valid
    assert problem in event.problems[0]
    json.dumps(event.problems, ensure_ascii=False).encode("utf-8")  # printable as is


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80) | st.text(max_size=80), max_size=5))
def test_read_jsonl_never_raises_on_arbitrary_input(lines: list[bytes | str]) -> None:
    for event in ev.read_jsonl(lines, default_bus="default"):
        assert event.valid or event.problems
        json.dumps(event.problems, ensure_ascii=False).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["Source", "DetailType", "Detail", "Resources", "Time", "source", "detail"]), json_values
    )
)
def test_parse_event_never_raises_on_arbitrary_objects(obj: dict[str, object]) -> None:
    event = ev.parse_event(obj, line=1, default_bus="default")
    assert event.valid or event.problems


def test_publish_settings_flag_then_config_then_default() -> None:
    from pathlib import Path

    from evctl.config import Config
    from evctl.core.events import DEFAULT_CONCURRENCY, PublishSettings
    from evctl.errors import ConfigError

    none = {"bus": None, "concurrency": None, "max_attempts": None, "max_entry_size": None}
    defaults = PublishSettings.resolve(Config(), **none, default_max_attempts=5)
    assert (defaults.bus, defaults.concurrency, defaults.max_attempts, defaults.cap) == (
        "default",
        DEFAULT_CONCURRENCY,
        5,
        256 * 1024,
    )
    config = Config(Path("evctl.toml"), {"publish": {"bus": "orders", "concurrency": 8, "max_entry_size": "1MiB"}})
    from_file = PublishSettings.resolve(config, **none, default_max_attempts=5)
    assert (from_file.bus, from_file.concurrency, from_file.cap, from_file.bus_flag) == ("orders", 8, 1_048_576, None)
    flags = PublishSettings.resolve(
        config, bus="b", concurrency=2, max_attempts=3, max_entry_size="1KiB", default_max_attempts=5
    )
    assert (flags.bus, flags.concurrency, flags.max_attempts, flags.cap, flags.bus_flag) == ("b", 2, 3, 1024, "b")
    with pytest.raises(ConfigError, match="out of range"):
        PublishSettings.resolve(Config(Path("x"), {"publish": {"concurrency": 0}}), **none, default_max_attempts=5)


@pytest.mark.parametrize(
    ("unpublished", "invalid", "failed_to", "hint"),
    [
        (2, 0, None, "pass --failed-to FILE to keep them for a retry"),
        (2, 0, "f.jsonl", "they are in f.jsonl"),
        (0, 1, None, "fix the invalid line named above and publish again"),
        (
            0,
            2,
            "f.jsonl",
            "fix the invalid lines named above and publish again (f.jsonl holds only events that failed to send)",
        ),
        (
            1,
            2,
            None,
            "1 failed to send: pass --failed-to FILE to keep them for a retry; 2 invalid: fix the invalid lines named above and publish again",
        ),
        (
            1,
            1,
            "f.jsonl",
            "1 failed to send: they are in f.jsonl; 1 invalid: fix the invalid line named above and publish again",
        ),
    ],
)
def test_the_hint_says_where_each_kind_of_unpublished_event_is(
    unpublished: int, invalid: int, failed_to: str | None, hint: str
) -> None:
    """--failed-to records events that failed or were not sent, never invalid lines; the hint says so (issue 11)."""
    from evctl.core.events.outcome import missing_hint

    assert missing_hint(unpublished, invalid, failed_to) == hint
