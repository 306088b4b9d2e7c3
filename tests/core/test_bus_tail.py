"""BusTail against moto: temporary queue + rule are created tagged, stream events, and are always removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.rules import bus_tail
from evctl.core.rules.bus_tail import (
    MATCH_EVERYTHING,
    NAME_PREFIX,
    TAG_KEY,
    TAG_VALUE,
    BusTail,
    event_from_body,
    find_leftovers,
    remove_leftovers,
)
from evctl.errors import NotFoundError


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        yield boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def put(events: Any, n: int, bus: str = "default", source: str = "app.test") -> None:
    for i in range(n):
        answer = events.put_events(
            Entries=[{"Source": source, "DetailType": "Ping", "Detail": json.dumps({"n": i}), "EventBusName": bus}]
        )
        assert answer["FailedEntryCount"] == 0


def our_rules(events: Any, bus: str = "default") -> list[str]:
    return [r["Name"] for r in events.list_rules(EventBusName=bus, NamePrefix=NAME_PREFIX)["Rules"]]


def our_queues(sqs: Any) -> list[str]:
    return sqs.list_queues(QueueNamePrefix=NAME_PREFIX).get("QueueUrls", [])


def test_create_poll_remove(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    fake = FakeTime()
    tail = BusTail(events, sqs, "default", wait_seconds=0, clock=fake.clock, sleep=fake.sleep)
    res = tail.create()

    # the rule: tagged, the whole-bus pattern, the queue as its only target
    rule = events.describe_rule(Name=res.name, EventBusName="default")
    assert res.name.startswith(NAME_PREFIX)
    assert json.loads(rule["EventPattern"]) == MATCH_EVERYTHING
    assert {"Key": TAG_KEY, "Value": TAG_VALUE} in events.list_tags_for_resource(ResourceARN=res.rule_arn)["Tags"]
    targets = events.list_targets_by_rule(Rule=res.name)["Targets"]
    assert [t["Arn"] for t in targets] == [res.queue_arn]
    # the queue: tagged, and its policy admits EventBridge on behalf of this rule only
    assert sqs.list_queue_tags(QueueUrl=res.queue_url)["Tags"][TAG_KEY] == TAG_VALUE
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == res.queue_arn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": res.rule_arn}}

    put(events, 12)
    received = list(tail.poll(max_events=12, duration=60))
    assert sorted(e["detail"]["n"] for e in received) == list(range(12))
    assert all(e["source"] == "app.test" and e["detail-type"] == "Ping" for e in received)

    assert tail.remove() == []
    assert our_rules(events) == []
    assert our_queues(sqs) == []
    assert tail.remove() == []  # idempotent


def test_pattern_filters_and_duration_ends_the_poll(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    fake = FakeTime()
    tail = BusTail(
        events, sqs, "default", json.dumps({"source": ["wanted"]}), wait_seconds=0, clock=fake.clock, sleep=fake.sleep
    )
    tail.create()
    put(events, 2, source="wanted")
    put(events, 3, source="unwanted")
    received = list(tail.poll(duration=5))  # ends when the fake clock passes 5 s of idle sleeps
    assert [e["source"] for e in received] == ["wanted", "wanted"]
    assert fake.now >= 5 and fake.sleeps
    tail.remove()


def test_custom_bus(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    events.create_event_bus(Name="orders")
    tail = BusTail(events, sqs, "orders", wait_seconds=0)
    res = tail.create()
    assert our_rules(events, "orders") == [res.name]
    put(events, 1, bus="orders")
    put(events, 1, bus="default")  # another bus: not seen
    assert [e["detail"] for e in tail.poll(max_events=1)] == [{"n": 0}]
    tail.remove()
    assert our_rules(events, "orders") == [] and our_queues(sqs) == []


def test_failure_half_way_removes_what_was_created(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    tail = BusTail(events, sqs, "no-such-bus", wait_seconds=0)
    with pytest.raises(NotFoundError) as info:
        tail.create()
    assert "no-such-bus" in info.value.message
    assert our_queues(sqs) == []


class InterruptingEvents:
    """The events client, except that put_targets is interrupted as by Ctrl-C."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def put_targets(self, **kwargs: Any) -> Any:
        raise KeyboardInterrupt


def test_ctrl_c_during_create_removes_everything(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    tail = BusTail(InterruptingEvents(events), sqs, "default", wait_seconds=0)
    with pytest.raises(KeyboardInterrupt):
        tail.create()
    assert our_rules(events) == [] and our_queues(sqs) == []


def test_leftovers_are_found_by_prefix_and_tag_only(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    events.create_event_bus(Name="orders")
    killed = [BusTail(events, sqs, bus, wait_seconds=0) for bus in ("default", "orders")]
    for tail in killed:
        tail.create()  # never removed: as after SIGKILL
    # look-alikes without evctl's tag are not ours and must survive
    events.put_rule(Name=f"{NAME_PREFIX}someone-else", EventPattern=json.dumps({"source": ["x"]}))
    sqs.create_queue(QueueName=f"{NAME_PREFIX}someone-else")

    leftovers = find_leftovers(events, sqs)
    assert sorted((item.kind, item.name, item.bus) for item in leftovers) == sorted(
        [("rule", t.name, t.bus) for t in killed] + [("queue", t.name, None) for t in killed]
    )
    assert remove_leftovers(events, sqs, leftovers) == []
    assert our_rules(events) == [f"{NAME_PREFIX}someone-else"]
    assert our_rules(events, "orders") == []
    assert [url.rsplit("/", 1)[-1] for url in our_queues(sqs)] == [f"{NAME_PREFIX}someone-else"]
    assert find_leftovers(events, sqs) == []


def test_remove_leftovers_reports_failures(clients: tuple[Any, Any]) -> None:
    events, sqs = clients
    tail = BusTail(events, sqs, "default", wait_seconds=0)
    tail.create()
    leftovers = find_leftovers(events, sqs)

    class BrokenSqs:
        def delete_queue(self, **kwargs: Any) -> None:
            raise RuntimeError("endpoint went away")

    problems = remove_leftovers(events, BrokenSqs(), leftovers)
    assert problems == [f"queue {tail.name}: endpoint went away"]
    assert our_rules(events) == []  # the rule still went


def test_event_from_body() -> None:
    assert event_from_body('{"a": 1}') == {"a": 1}
    assert event_from_body("plain text") == {"body": "plain text"}
    assert event_from_body('"a json string"') == {"body": "a json string"}


def test_names_are_unique() -> None:
    assert len({bus_tail.new_name() for _ in range(100)}) == 100
