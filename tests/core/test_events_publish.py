"""evctl.core.events.publish against moto, and with botocore's Stubber where an exact AWS answer is needed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.core import events as ev
from evctl.core.events import publishing
from evctl.errors import error_code
from tests.core.test_events_faults import delivered, make_pipeline, numbered


@mock_aws
def test_publishes_every_entry_in_batches_of_ten_and_reports_positions() -> None:
    url = make_pipeline()
    seen: list[ev.EntryResult] = []
    report = ev.publish(boto3.client("events"), numbered(35), concurrency=3, on_result=seen.append)

    assert report.api_calls == 4 and report.retried_entries == 0
    assert [r.index for r in report.results] == list(range(35))
    assert all(r.ok and r.event_id and r.attempts == 1 for r in report.results)
    assert sorted(r.index for r in seen) == list(range(35))  # each outcome reported once
    assert sorted(delivered(url).elements()) == list(range(35))


def test_nothing_to_publish_makes_no_call() -> None:
    client = boto3.client("events")
    with Stubber(client):  # any call would raise
        report = ev.publish(client, [], concurrency=2)
    assert report.results == [] and report.api_calls == 0


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("events")
    return client, Stubber(client)


def test_only_retryable_codes_are_resent_with_backoff() -> None:
    client, stub = _stubbed()
    entries = numbered(3)
    stub.add_response(
        "put_events",
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"EventId": "id-1"},
                {"ErrorCode": "MalformedDetail", "ErrorMessage": "The JSON provided is not valid"},
            ],
        },
        {"Entries": entries},
    )
    stub.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]},
        {"Entries": [entries[0]]},
    )
    stub.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "id-0"}]}, {"Entries": [entries[0]]}
    )
    sleeps: list[float] = []
    with stub:
        report = ev.publish(client, entries, concurrency=1, max_attempts=5, sleep=sleeps.append, rand=lambda: 0.5)
    stub.assert_no_pending_responses()

    assert [(r.status, r.event_id, r.error_code, r.attempts) for r in report.results] == [
        ("ok", "id-0", None, 3),
        ("ok", "id-1", None, 1),
        ("failed", None, "MalformedDetail", 1),
    ]
    assert report.results[2].error_message == "The JSON provided is not valid"
    assert sleeps == [0.05, 0.1]  # 0.1 s * 2**(attempt-1), times the jitter draw
    assert report.api_calls == 3 and report.retried_entries == 2


def test_retries_stop_at_max_attempts_with_the_last_code() -> None:
    client, stub = _stubbed()
    entries = numbered(1)
    for _ in range(3):
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "x"}]},
            {"Entries": entries},
        )
    with stub:
        report = ev.publish(client, entries, concurrency=1, max_attempts=3, sleep=lambda _: None)
    stub.assert_no_pending_responses()
    assert (report.results[0].status, report.results[0].error_code, report.results[0].attempts) == (
        "failed",
        "ThrottlingException",
        3,
    )


def test_a_whole_call_error_stops_later_batches() -> None:
    client, stub = _stubbed()
    entries = numbered(25)
    stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(10)]})
    stub.add_client_error("put_events", "ResourceNotFoundException", "Event bus nope does not exist.", 400)
    with stub:
        report = ev.publish(client, entries, concurrency=1)
    assert [r.status for r in report.results] == ["ok"] * 10 + ["failed"] * 10 + ["not_sent"] * 5
    assert report.results[10].error_code == "ResourceNotFoundException"
    assert report.results[10].error_message == "Event bus nope does not exist."
    assert report.results[24].error_code == ev.NOT_SENT
    assert error_code(report.fatal) == "ResourceNotFoundException"  # type: ignore[arg-type]
    assert len(report.failed) == 15


def test_an_answer_with_fewer_results_is_never_taken_as_success() -> None:
    client, stub = _stubbed()
    stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "only-one"}]})
    with stub:
        report = ev.publish(client, numbered(2), concurrency=1)
    assert [r.status for r in report.results] == ["ok", "failed"]
    assert report.results[1].error_code == "MissingResult"


def test_ctrl_c_stops_new_batches_and_reports_the_rest_as_not_sent() -> None:
    client, stub = _stubbed()
    for b in range(2):
        stub.add_response(
            "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": f"{b}-{i}"} for i in range(10)]}
        )
    reported: list[int] = []

    def interrupt(result: ev.EntryResult) -> None:
        reported.append(result.index)
        if len(reported) == 1:
            raise KeyboardInterrupt

    with stub:
        report = ev.publish(client, numbered(50), concurrency=1, on_result=interrupt)
    assert report.interrupted
    statuses = [r.status for r in report.results]
    assert statuses.count("not_sent") >= 30 and statuses.count("ok") + statuses.count("not_sent") == 50
    assert sorted(reported) == list(range(50))  # every position still reported exactly once


@pytest.mark.parametrize("cap", [ev.DEFAULT_MAX_ENTRY_BYTES, 1000])
def test_request_cap_splits_batches(cap: int) -> None:
    client, stub = _stubbed()
    entries = [{"Source": "s", "DetailType": "t", "Detail": json.dumps({"pad": "x" * 400})} for _ in range(4)]
    calls = 1 if cap > 2000 else 2
    for size in [4] if calls == 1 else [2, 2]:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * size})
    with stub:
        report = ev.publish(client, entries, concurrency=1, max_request_bytes=cap)
    stub.assert_no_pending_responses()
    assert report.api_calls == calls and report.succeeded == 4


class _ThrottleFirstEntry:
    """A client double: the entry with n == 0 is always throttled, every other entry accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        answers = []
        for entry in Entries:
            if json.loads(entry["Detail"])["n"] == 0:
                answers.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                answers.append({"EventId": "ok"})
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def test_ctrl_c_cuts_a_backoff_wait_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing, "BACKOFF_BASE_SECONDS", 60.0)  # the first re-send would wait a minute
    seen: list[int] = []

    def interrupt_on_the_second_batch(result: ev.EntryResult) -> None:
        seen.append(result.index)
        if result.index >= 10 and len(seen) == 1:
            raise KeyboardInterrupt

    started = time.monotonic()
    report = ev.publish(
        _ThrottleFirstEntry(), numbered(20), concurrency=2, rand=lambda: 1.0, on_result=interrupt_on_the_second_batch
    )
    assert time.monotonic() - started < 10
    assert report.interrupted
    first = report.results[0]
    assert (first.status, first.error_code, first.attempts) == ("failed", "ThrottlingException", 1)
    assert sorted(seen) == list(range(20))
