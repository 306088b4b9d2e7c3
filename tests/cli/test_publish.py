"""`evctl publish` through the CLI, in every output mode, against in-process moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.helpers import run_cli

SOURCES = ["my.webapp", "evctl.test"]


@pytest.fixture
def queue() -> Iterator[str]:
    """moto with a rule routing every source the tests use to one queue; yields the queue URL."""
    with mock_aws():
        yield route_to_queue()


def route_to_queue(bus: str = "default") -> str:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"all-{bus}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if bus != "default":
        events.create_event_bus(Name=bus)
    events.put_rule(Name=f"all-{bus}", EventBusName=bus, EventPattern=json.dumps({"source": SOURCES}))
    events.put_targets(Rule=f"all-{bus}", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(url: str) -> list[dict[str, Any]]:
    """Every event in the queue (the EventBridge envelopes)."""
    sqs, bodies = boto3.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(json.loads(m["Body"]) for m in messages)


def jsonl(count: int, start: int = 0) -> str:
    return "".join(
        json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": {"n": n}}) + "\n"
        for n in range(start, start + count)
    )


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_signup_piped_prints_one_ndjson_record_and_delivers(queue: str) -> None:
    result = run_cli(["publish", "signup", "--set", "email=ann@example.com", "--set", "name=Ann"])
    assert result.exit_code == 0, result.stderr
    [record] = ndjson(result.stdout)
    assert record["status"] == "ok" and record["index"] == 0 and record["line"] is None
    assert record["error_code"] is None and record["attempts"] == 1
    [event] = received(queue)
    assert event["id"] == record["event_id"]
    assert (event["source"], event["detail-type"]) == ("my.webapp", "UserSignup")
    assert event["detail"]["email"] == "ann@example.com" and event["detail"]["name"] == "Ann"
    assert len(event["detail"]["user_id"]) == 36
    assert result.stderr.startswith("published 1 of 1 events in 1 call(s)")


def test_signup_on_a_tty_says_what_happened_in_one_line_with_the_event_id(queue: str) -> None:
    result = run_cli(["publish", "signup"], tty=True)
    assert result.exit_code == 0
    [event] = received(queue)
    assert "event id" in result.stdout and event["id"] in result.stdout
    assert "published" in result.stdout and "events not published" not in result.stdout
    assert result.stdout == f"published event id {event['id']} (my.webapp UserSignup) to bus default\n"
    assert result.stderr == ""  # one batch: no progress bar


def test_a_single_event_that_fails_on_a_tty_is_one_line_too(queue: str) -> None:
    result = run_cli(["publish", "signup", "--bus", "nope"], tty=True)
    assert result.exit_code != 0
    [line] = result.stdout.splitlines()
    assert line.startswith("not published (my.webapp UserSignup) to bus nope: ")


def test_flags_build_the_event(queue: str, tmp_path: Path) -> None:
    detail = tmp_path / "detail.json"
    detail.write_text('{"order": 7}')
    result = run_cli(
        [
            "publish",
            "--source",
            "evctl.test",
            "--detail-type",
            "Order",
            "--detail",
            f"@{detail}",
            "--resource",
            "arn:aws:x:::a",
            "--resource",
            "arn:aws:x:::b",
            "--time",
            "2026-11-27T10:00:00Z",
        ]
    )
    assert result.exit_code == 0, result.stderr
    [event] = received(queue)
    assert event["detail"] == {"order": 7} and event["resources"] == ["arn:aws:x:::a", "arn:aws:x:::b"]
    assert event["time"].startswith("2026-11-27T10:00:00")


def test_detail_from_stdin(queue: str) -> None:
    result = run_cli(["publish", "--source", "evctl.test", "--detail-type", "T", "--detail", "-"], input='{"a": 1}')
    assert result.exit_code == 0
    assert [e["detail"] for e in received(queue)] == [{"a": 1}]


def test_bus_option_and_bus_arn(queue: str) -> None:
    orders = route_to_queue("orders")
    arn = "arn:aws:events:us-east-1:123456789012:event-bus/orders"
    assert run_cli(["publish", "signup", "--bus", "orders"]).exit_code == 0
    assert run_cli(["publish", "signup", "-b", arn]).exit_code == 0
    assert len(received(orders)) == 2 and received(queue) == []


def test_file_from_stdin_piped_is_ndjson_per_event(queue: str) -> None:
    result = run_cli(["publish", "--file", "-"], input=jsonl(25))
    assert result.exit_code == 0, result.stderr
    records = ndjson(result.stdout)
    assert sorted(r["index"] for r in records) == list(range(25))
    assert sorted(r["line"] for r in records) == list(range(1, 26))
    assert all(r["status"] == "ok" for r in records)
    assert sorted(e["detail"]["n"] for e in received(queue)) == list(range(25))
    assert "in 3 call(s)" in result.stderr


def test_file_json_mode_is_one_document(queue: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl(12))
    result = run_cli(["--output", "json", "publish", "--file", str(path), "--concurrency", "2"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["summary"]["published"] == 12 and document["summary"]["api_calls"] == 2
    assert [r["index"] for r in document["results"]] == list(range(12))
    assert result.stderr == ""


def test_text_mode_is_tab_separated(queue: str) -> None:
    result = run_cli(["--output", "text", "publish", "--file", "-"], input=jsonl(2))
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert sorted(row[0] for row in rows) == ["0", "1"] and {row[2] for row in rows} == {"ok"}


def test_tty_summary_and_progress_for_many_batches(queue: str) -> None:
    result = run_cli(["publish", "--file", "-"], input=jsonl(30), tty=True)
    assert result.exit_code == 0
    assert "publishing" in result.stderr  # the progress bar, on stderr
    assert "published" in result.stdout and "30" in result.stdout
    assert len(received(queue)) == 30


def test_explicit_ndjson_on_a_tty(queue: str) -> None:
    result = run_cli(["-o", "ndjson", "publish", "--file", "-"], input=jsonl(2), tty=True)
    assert result.exit_code == 0
    assert sorted(r["index"] for r in ndjson(result.stdout)) == [0, 1]


def test_quiet_silences_the_stderr_summary(queue: str) -> None:
    result = run_cli(["--quiet", "publish", "--file", "-"], input=jsonl(3))
    assert result.exit_code == 0 and result.stderr == ""


def test_envelopes_from_a_queue_can_be_published_again(queue: str) -> None:
    assert run_cli(["publish", "--file", "-"], input=jsonl(3)).exit_code == 0
    bodies = received(queue)
    again = run_cli(["publish", "--file", "-"], input="".join(json.dumps(b) + "\n" for b in bodies))
    assert again.exit_code == 0, again.stderr
    assert sorted(e["detail"]["n"] for e in received(queue)) == [0, 1, 2]
    # drain lines (the Lambda SQS record shape, the body a string) are accepted too
    drained = "".join(json.dumps({"messageId": str(i), "body": json.dumps(b)}) + "\n" for i, b in enumerate(bodies))
    assert run_cli(["publish", "--file", "-"], input=drained).exit_code == 0
    assert sorted(e["detail"]["n"] for e in received(queue)) == [0, 1, 2]


def test_dry_run_prints_entries_and_sends_nothing(queue: str) -> None:
    result = run_cli(["publish", "signup", "--set", "user_id=u1", "--dry-run"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "Source": "my.webapp",
        "DetailType": "UserSignup",
        "Detail": {"user_id": "u1", "email": "test@example.com", "name": "Test User"},
        "EventBusName": "default",
    }
    assert "nothing was sent" in result.stderr
    tty = run_cli(["publish", "--file", "-", "--dry-run"], input=jsonl(2), tty=True)
    assert tty.exit_code == 0 and tty.stdout.count('"Source": "evctl.test"') == 2
    as_json = run_cli(["-o", "json", "publish", "--file", "-", "--dry-run"], input=jsonl(2))
    assert [e["Detail"]["n"] for e in json.loads(as_json.stdout)] == [0, 1]
    assert received(queue) == []


def test_dry_run_output_is_accepted_back_by_file(queue: str) -> None:
    dry = run_cli(["publish", "signup", "--dry-run"])
    result = run_cli(["publish", "--file", "-"], input=dry.stdout)
    assert result.exit_code == 0
    assert len(received(queue)) == 1


def test_config_file_supplies_defaults(queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    orders = route_to_queue("orders")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text(
        '[publish]\nbus = "orders"\nconcurrency = 2\n\n[templates.ping]\nsource = "evctl.test"\n'
        'detail-type = "Ping"\nresources = ["arn:aws:x:::ping"]\ndetail = { seq = 0 }\n'
    )
    result = run_cli(["publish", "ping", "--set", "seq=5"])
    assert result.exit_code == 0, result.stderr
    [event] = received(orders)
    assert event["detail"] == {"seq": 5} and event["resources"] == ["arn:aws:x:::ping"]
    assert run_cli(["publish", "ping", "--resource", "arn:aws:x:::other"]).exit_code == 0
    assert [e["resources"] for e in received(orders)] == [["arn:aws:x:::other"]]
    assert received(queue) == []


def test_max_entry_size_opts_into_bigger_entries(queue: str, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * 300_000}))
    args = ["publish", "--source", "evctl.test", "--detail-type", "Big", "--detail", f"@{big}", "--dry-run"]
    assert run_cli(args).exit_code == 2
    assert run_cli([*args, "--max-entry-size", "1MiB"]).exit_code == 0
