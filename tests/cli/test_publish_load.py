"""`evctl publish --count/--rate/--duration` through the CLI against moto: what arrives, the JSON summary, bad input,
and a SIGTERM mid-run (the installed evctl against a moto server) that still prints a summary equal to what happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.cli.test_publish import received, route_to_queue
from tests.helpers import evctl_executable, restore_default_signals, run_cli


@pytest.fixture
def queue() -> Iterator[str]:
    with mock_aws():
        yield route_to_queue()


def details(url: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in received(url)]


def summary_of(stdout: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(stdout)
    assert summary["published"] + summary["failed"] + summary["not_sent"] == summary["requested"]
    return summary


def test_count_from_a_template_gives_each_event_fresh_values(queue: str) -> None:
    result = run_cli(["publish", "signup", "--count", "25", "--set", "name=n-{seq}", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    summary = summary_of(result.stdout)
    assert summary["published"] == 25 and summary["offered_rate"] is None and summary["api_calls"] == 3
    got = details(queue)
    assert sorted(d["name"] for d in got) == sorted(f"n-{n}" for n in range(25))
    assert len({d["user_id"] for d in got}) == 25  # {uuid}: a new one per event
    assert "load: published 25 of 25" in result.stderr


def test_rate_and_duration_send_rate_times_duration_on_schedule(queue: str) -> None:
    detail = '{"n": "{seq}", "at": "{now}"}'
    args = ["publish", "--source", "evctl.test", "--detail-type", "T", "--detail", detail]
    started = time.monotonic()
    result = run_cli([*args, "--rate", "40/s", "--duration", "1s", "-o", "json"])
    took = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    summary = summary_of(result.stdout)
    assert summary["requested"] == 40 and summary["published"] == 40 and summary["batch_size"] == 4
    assert summary["offered_rate"] == 40.0 and took >= 0.9  # the last batch was due at 39/40 s
    assert summary["schedule_lag_ms"]["p99"] is not None and summary["latency_ms"]["max"] is not None
    got = details(queue)
    assert sorted(int(d["n"]) for d in got) == list(range(40))
    assert all(d["at"].endswith("Z") and d["at"].startswith("20") for d in got)


def test_rate_per_minute(queue: str) -> None:
    result = run_cli(["publish", "signup", "--count", "2", "--rate", "600/m", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert summary_of(result.stdout)["offered_rate"] == 10.0 and len(received(queue)) == 2


def test_a_file_is_cycled_to_the_count(queue: str, tmp_path: Path) -> None:
    lines = [{"Source": "evctl.test", "DetailType": t, "Detail": {"n": "{seq}"}} for t in ("A", "B", "C")]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json\n")
    result = run_cli(["publish", "--file", str(path), "--count", "7", "-o", "json"])
    assert result.exit_code == 1  # the invalid line is not sent, and says so
    assert "line 4: not valid JSON" in result.stderr
    summary = summary_of(result.stdout)
    assert summary["published"] == 7 and summary["invalid"] == 1
    got = sorted((int(e["detail"]["n"]), e["detail-type"]) for e in received(queue))
    assert got == [(n, "ABC"[n % 3]) for n in range(7)]


def test_rate_with_a_file_sends_the_file_once(queue: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": {}}) + "\n" for _ in "abc")
    )
    result = run_cli(["publish", "--file", str(path), "--rate", "100"])
    assert result.exit_code == 0 and summary_of(result.stdout)["requested"] == 3 and len(received(queue)) == 3


def test_events_that_finally_fail_go_to_failed_to(tmp_path: Path) -> None:
    with mock_aws():
        boto3.client("events").create_event_bus(Name="exists")
        failed = tmp_path / "failed.jsonl"
        result = run_cli(
            [
                "publish",
                "signup",
                "--count",
                "12",
                "--rate",
                "20",
                "--bus",
                "nope",
                "--failed-to",
                str(failed),
                "-o",
                "json",
            ]
        )
    assert result.exit_code == 3, result.stderr  # the bus does not exist: the run stops with that error
    summary = summary_of(result.stdout)
    # batches of 2, one every 0.1 s: the first answer stops the run (a later batch only if it left meanwhile)
    assert summary["published"] == 0 and summary["failed"] >= 2 and summary["not_sent"] >= 2
    assert summary["failures"] == {"ResourceNotFoundException": summary["failed"]}
    assert "event bus 'nope' not found" in result.stderr
    kept = [json.loads(line) for line in failed.read_text().splitlines()]
    assert len(kept) == summary["failed"] and {k["DetailType"] for k in kept} == {"UserSignup"}


def test_the_terminal_shows_a_summary_table(queue: str) -> None:
    result = run_cli(["publish", "signup", "--count", "3", "--rate", "50"], tty=True)
    assert result.exit_code == 0, result.stderr
    for label in ("offered rate", "achieved rate", "latency p50/p95/p99/max", "schedule lag p50/p99/max", "failures"):
        assert label in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0", "--count", "5"], "--rate: '0' must be more than 0"),
        (["--rate", "abc", "--count", "5"], "--rate: 'abc' is not a rate"),
        (["--rate", "-3/s", "--count", "5"], "--rate: '-3/s' is not a rate"),
        (["--count", "-1"], "'--count': -1 is not in the range x>=1"),
        (["--count", "0"], "'--count': 0 is not in the range x>=1"),
        (["--duration", "5s"], "--duration needs --rate"),
        (["--rate", "5"], "--rate needs --count N or --duration D"),
        (["--count", "3", "--rate", "5", "--duration", "1s"], "--count or --duration, not both"),
        (["--rate", "5", "--duration", "later"], "--duration: malformed duration"),
        (["--count", "3", "--dry-run"], "--dry-run cannot be combined with --count"),
        (["--count", "many"], "'many' is not a whole number"),
    ],
)
def test_bad_load_options_are_one_line_usage_errors(queue: str, args: list[str], message: str) -> None:
    result = run_cli(["publish", "signup", *args])
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert received(queue) == []


def test_sigterm_mid_run_prints_the_summary_of_what_happened(moto_server: str, tmp_path: Path) -> None:
    events = boto3.client("events", endpoint_url=moto_server, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    url = sqs.create_queue(QueueName="all")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["my.webapp"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [evctl_executable(), "publish", "signup", "--rate", "50", "--duration", "60s", "-o", "json"],
            stdout=stdout,
            stderr=stderr,
            env=dict(os.environ, AWS_ENDPOINT_URL=moto_server),
            start_new_session=True,
            preexec_fn=restore_default_signals,
        )
    try:
        deadline = time.monotonic() + 60
        while (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            < 20
        ):
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 143, err.read_text()
    summary = summary_of(out.read_text())
    assert summary["stopped"] and summary["requested"] == 3000 and summary["not_sent"] > 0
    delivered = int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    assert summary["published"] == delivered and summary["failed"] == 0  # the summary is what happened
    assert "evctl: error: terminated: published" in err.read_text() and "Traceback" not in err.read_text()
