"""`evctl publish --dry-run` also says which enabled rules each event would match on its bus (stderr), and
warns about an event no rule would take. stdout stays the entries, so the dry run's output can be published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.helpers import run_cli


@pytest.fixture
def aws() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.create_event_bus(Name="orders")
        for name, bus, pattern, state in [
            ("signups", "default", {"detail-type": ["UserSignup"]}, "ENABLED"),
            ("paused", "default", {"detail-type": ["UserSignup"]}, "DISABLED"),
            ("big-orders", "orders", {"detail": {"total": [{"numeric": [">", 100]}]}}, "ENABLED"),
        ]:
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State=state)
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        yield sqs, url


def test_dry_run_lists_matching_rules_per_event_and_sends_nothing(aws: tuple[Any, str]) -> None:
    sqs, url = aws
    lines = [
        {"Source": "app", "DetailType": "UserSignup", "Detail": {"email": "a@example.com"}},
        {"Source": "app", "DetailType": "Order", "Detail": {"total": 250}, "EventBusName": "orders"},
        {"Source": "app", "DetailType": "Order", "Detail": {"total": 5}, "EventBusName": "orders"},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    result = run_cli(["publish", "--file", "-", "--dry-run"], input=text)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["DetailType"] for line in result.stdout.splitlines()] == ["UserSignup", "Order", "Order"]
    assert result.stderr.splitlines()[:3] == [
        "line 1 would match on bus default: signups",
        "line 2 would match on bus orders: big-orders",
        "evctl: warning: line 3 matches no enabled rule on bus orders: it would be accepted and go nowhere",
    ]
    assert "nothing was sent" in result.stderr
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_dry_run_of_one_event(aws: tuple[Any, str]) -> None:
    result = run_cli(["publish", "--source", "app", "--detail-type", "UserSignup", "--dry-run"])
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == "the event would match on bus default: signups"


def test_dry_run_to_a_missing_bus_still_shows_the_entry(aws: tuple[Any, str]) -> None:
    result = run_cli(["publish", "--source", "app", "--detail-type", "X", "--bus", "nope", "--dry-run"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["EventBusName"] == "nope"
    assert result.stderr.splitlines()[0] == (
        "evctl: warning: could not check which rules the events would match: event bus 'nope' not found"
        " — Event bus nope does not exist."
    )


def test_dry_run_aggregates_events_with_the_same_answer(aws: tuple[Any, str]) -> None:
    """Thousands of events no rule takes are one warning with the count and the first line numbers, not one
    warning per event (issue 11); those matching the same rules are one line too."""
    nowhere = {"Source": "app", "DetailType": "Nobody", "Detail": {}}
    signup = {"Source": "app", "DetailType": "UserSignup", "Detail": {}}
    lines = [signup if n in (3, 7) else nowhere for n in range(1, 5001)]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    result = run_cli(["publish", "--file", "-", "--dry-run"], input=text)
    assert result.exit_code == 0, result.stderr[-500:]
    assert result.stderr.splitlines() == [
        "evctl: warning: 4998 events (lines 1, 2, 4, 5, 6, …) match no enabled rule on bus default: "
        "they would be accepted and go nowhere",
        "2 events (lines 3, 7) would match on bus default: signups",
        "dry run: 5000 valid event(s) of 5000; nothing was sent",
    ]
    assert len(result.stdout.splitlines()) == 5000
