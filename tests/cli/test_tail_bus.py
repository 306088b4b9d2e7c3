"""`evctl tail bus` in-process against moto: output modes, bad input (nothing created), --cleanup confirmation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.rules.bus_tail import NAME_PREFIX, BusTail
from tests.helpers import run_cli


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        yield boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")


def leftovers(events: Any, sqs: Any) -> tuple[list[str], list[str]]:
    rules = [r["Name"] for r in events.list_rules(NamePrefix=NAME_PREFIX)["Rules"]]
    return rules, sqs.list_queues(QueueNamePrefix=NAME_PREFIX).get("QueueUrls", [])


def publish_when_tail_is_ready(events: Any, sources: list[str]) -> threading.Thread:
    """Publish once the tail listens (the tail runs in this process, so from a thread)."""

    def ready() -> bool:  # the rule exists and has its target: the tail is listening
        found = events.list_rules(NamePrefix=NAME_PREFIX)["Rules"]
        return bool(found) and bool(events.list_targets_by_rule(Rule=found[0]["Name"])["Targets"])

    def run() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not ready():
            time.sleep(0.05)
        for n, source in enumerate(sources):
            events.put_events(Entries=[{"Source": source, "DetailType": "Ping", "Detail": json.dumps({"n": n})}])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_ndjson_when_piped_with_a_pattern(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    thread = publish_when_tail_is_ready(events, ["skip", "keep", "skip", "keep"])
    result = run_cli(["tail", "bus", "--pattern", '{"source": ["keep"]}', "--count", "2", "--duration", "20"])
    thread.join()
    assert result.exit_code == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(e["detail"]["n"] for e in printed) == [1, 3]
    assert result.stderr.endswith("2 event(s); temporary rule and queue removed\n")
    assert "a newly created rule may take a moment to become active" in result.stderr
    assert leftovers(events, sqs) == ([], [])


def test_one_line_per_event_on_a_terminal(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    thread = publish_when_tail_is_ready(events, ["app"])
    result = run_cli(["--color", "never", "tail", "bus", "--count", "1", "--duration", "20"], tty=True)
    thread.join()
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.endswith('  app  Ping  {"n":0}')
    assert leftovers(events, sqs) == ([], [])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--pattern", "{nope"], 2, "invalid event pattern at $: not valid JSON"),
        (["--pattern", "[1]"], 2, "invalid event pattern at $: an event pattern must be a JSON object"),
        (["--pattern", '{"source": [{"nope": 1}]}'], 2, "invalid event pattern at $.source"),
        (["no-such-bus"], 3, "event bus 'no-such-bus' not found"),
        (["arn:aws:sqs:us-east-1:123456789012:q"], 2, "'arn:aws:sqs:us-east-1:123456789012:q' is not an event bus ARN"),
    ],
)
def test_bad_input_creates_nothing(aws: tuple[Any, Any], args: list[str], code: int, message: str) -> None:
    events, sqs = aws
    result = run_cli(["tail", "bus", *args, "--count", "1"])
    assert (result.exit_code, result.stdout) == (code, "")
    assert result.stderr.startswith(f"evctl: error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert leftovers(events, sqs) == ([], [])


def test_cleanup_nothing_to_do(aws: tuple[Any, Any]) -> None:
    result = run_cli(["tail", "bus", "--cleanup"])
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])
    assert result.stderr == "no temporary rules or queues of evctl tail bus found\n"


def test_cleanup_asks_on_a_terminal(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    BusTail(events, sqs, "default").create()  # left behind, as by a killed run
    declined = run_cli(["--color", "never", "tail", "bus", "--cleanup"], tty=True, input="n\n")
    assert declined.exit_code == 2
    assert declined.stderr.endswith("evctl: error: not confirmed; nothing was done\n")
    assert [len(x) for x in leftovers(events, sqs)] == [1, 1]

    accepted = run_cli(["--color", "never", "tail", "bus", "--cleanup"], tty=True, input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert "Remove 2 temporary rule(s)/queue(s) left by evctl tail bus? [y/N]" in accepted.stderr
    assert accepted.stderr.endswith("removed 2 temporary rule(s)/queue(s)\n")
    assert "rule" in accepted.stdout and "queue" in accepted.stdout
    assert leftovers(events, sqs) == ([], [])
