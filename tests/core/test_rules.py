"""core/rules: reading input, naming buses and rules, listing/describing rules, testing and matching events.

AWS calls run against moto (`mock_aws`); TestEventPattern, which moto answers without a Result, runs against
botocore's Stubber with the response shapes of the service model.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from evctl.core import rules
from evctl.core.patterns import EventError, PatternError
from evctl.errors import NotFoundError, UsageError
from evctl.render.rules import pattern_summary, rule_row

NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
SIGNUP = {"source": "app.users", "detail-type": "UserSignup", "detail": {"email": "ann@example.com", "plan": "pro"}}


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        yield boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")


def queue_arn(sqs: Any, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


class CallCounter:
    """Counts the API calls a client makes (botocore's before-call hook)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.events.*", self._count)

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(model.name)


# ---- input --------------------------------------------------------------------------------------------
def test_read_source(tmp_path: Path) -> None:
    file = tmp_path / "e.json"
    file.write_text('{"a": 1}')
    assert rules.read_source('{"x": 1}') == '{"x": 1}'
    assert rules.read_source(f"@{file}") == '{"a": 1}'
    assert rules.read_source("-", io.StringIO("from stdin")) == "from stdin"
    with pytest.raises(UsageError) as info:
        rules.read_source(f"@{tmp_path / 'missing.json'}", what="event")
    assert info.value.message.startswith("cannot read the event file")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ('{"source": "a"}', 1),
        ('[{"source": "a"}, {"source": "b"}]', 2),
        ('{"source": "a"}\n\n{"source": "b"}\n{"source": "c"}\n', 3),
    ],
)
def test_parse_events(text: str, count: int) -> None:
    assert len(rules.parse_events_text(text)) == count


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid event: no event given"),
        ("{not json", "invalid event: not valid JSON"),
        ('"a string"', "invalid event: an event must be a JSON object, not a string"),
        ("[1, 2]", "invalid event: event 1 of the array must be a JSON object, not a number"),
        ('{"a": 1}\n[]', "invalid event: line 2: an event must be a JSON object, not an array"),
        ('{"a": 1}\n{oops', "invalid event: line 2: not valid JSON"),
        ("null", "invalid event: an event must be a JSON object, not null"),
    ],
)
def test_bad_events(text: str, message: str) -> None:
    with pytest.raises(EventError) as info:
        rules.parse_events_text(text)
    assert info.value.message.startswith(message)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "invalid event pattern at $: not valid JSON"),
        ('["source"]', "invalid event pattern at $: an event pattern must be a JSON object"),
        ('{"source": "x"}', "invalid event pattern at $.source"),
    ],
)
def test_bad_patterns(text: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        rules.load_pattern(text)
    assert info.value.message.startswith(message)
    assert info.value.exit_code == 2


def test_empty_pattern() -> None:
    with pytest.raises(UsageError, match="no pattern given"):
        rules.load_pattern("  ")


# ---- names --------------------------------------------------------------------------------------------
def test_bus_and_rule_names() -> None:
    assert rules.bus_name(None) == "default"
    assert rules.bus_name("orders") == "orders"
    assert rules.bus_name("arn:aws:events:us-east-1:123456789012:event-bus/orders") == "orders"
    assert rules.rule_ref("r", "orders") == ("r", "orders")
    assert rules.rule_ref("arn:aws:events:us-east-1:123456789012:rule/r", "default") == ("r", "default")
    assert rules.rule_ref("arn:aws:events:us-east-1:123456789012:rule/orders/r", None) == ("r", "orders")
    with pytest.raises(UsageError, match="not an event bus ARN"):
        rules.bus_name("arn:aws:sqs:us-east-1:123456789012:q")
    with pytest.raises(UsageError, match="not a rule ARN"):
        rules.rule_ref("arn:aws:sqs:us-east-1:123456789012:q", None)


def test_pattern_summary() -> None:
    pattern = {"source": ["app"], "detail": {"plan": [{"prefix": "pro"}]}}
    assert pattern_summary(pattern) == 'source=["app"] detail.plan=[{"prefix": "pro"}]'
    assert pattern_summary(None) == ""
    long = pattern_summary({"source": ["x" * 100]}, width=20)
    assert len(long) == 20 and long.endswith("…")


# ---- list / show ----------------------------------------------------------------------------------------
def test_list_rules_reads_every_page(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    arn = queue_arn(sqs, "q")
    for i in range(5):
        events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps({"source": [f"s{i}"]}))
        events.put_targets(Rule=f"rule-{i}", Targets=[{"Id": "t", "Arn": arn}])
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    counter = CallCounter(events)
    listed = rules.list_rules(events, "default", page_size=2)
    assert sorted(r.name for r in listed) == ["nightly", *[f"rule-{i}" for i in range(5)]]
    assert counter.calls.count("ListRules") == 3  # 6 rules, 2 per page
    by_name = {r.name: r for r in listed}
    assert rule_row(by_name["rule-3"]) == {
        "name": "rule-3",
        "state": "ENABLED",
        "pattern": 'source=["s3"]',
        "schedule": "",
        "targets": "sqs:q",
    }
    assert rule_row(by_name["nightly"])["schedule"] == "rate(1 day)"
    assert rule_row(by_name["nightly"])["targets"] == "(none)"
    assert [r.name for r in rules.list_rules(events, "default", prefix="rule-1")] == ["rule-1"]


def test_list_rules_on_a_missing_bus(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    with pytest.raises(NotFoundError) as info:
        rules.list_rules(events, "nope")
    assert info.value.message == "event bus 'nope' not found"
    assert info.value.exit_code == 3


def test_describe_rule_with_targets(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    events.create_event_bus(Name="orders")
    arn, dlq = queue_arn(sqs, "q"), queue_arn(sqs, "dlq")
    events.put_rule(Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["app"]}), Description="d")
    transformer = {"InputPathsMap": {"e": "$.detail.email"}, "InputTemplate": '{"to": <e>}'}
    events.put_targets(
        Rule="r",
        EventBusName="orders",
        Targets=[
            {
                "Id": "t",
                "Arn": arn,
                "InputTransformer": transformer,
                "DeadLetterConfig": {"Arn": dlq},
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
            }
        ],
    )
    info = rules.describe_rule(events, "arn:aws:events:us-east-1:123456789012:rule/orders/r")
    assert (info.name, info.bus, info.state, info.description) == ("r", "orders", "ENABLED", "d")
    assert info.pattern == {"source": ["app"]}
    (target,) = info.targets
    assert target["InputTransformer"] == transformer
    assert target["DeadLetterConfig"] == {"Arn": dlq}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}

    with pytest.raises(NotFoundError) as missing:
        rules.describe_rule(events, "nope", "orders")
    assert missing.value.message == "rule 'nope' on bus 'orders' not found"


def test_rule_pattern(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    assert json.loads(rules.rule_pattern(events, "r")) == {"source": ["app"]}
    with pytest.raises(UsageError, match="has no event pattern"):
        rules.rule_pattern(events, "nightly")
    with pytest.raises(NotFoundError):
        rules.rule_pattern(events, "missing")


# ---- test events against one pattern ---------------------------------------------------------------------
def test_check_events_explains_misses() -> None:
    outcomes = rules.check_events(
        '{"source": ["app.users"], "detail": {"plan": ["pro"]}}',
        [SIGNUP, {**SIGNUP, "detail": {"plan": "free"}}, {"Source": "app.users", "DetailType": "X", "Detail": "{}"}],
    )
    assert [o.matched for o in outcomes] == [True, False, False]
    assert outcomes[0].why == []
    assert outcomes[1].why == ['detail.plan: wanted "pro", got "free"']
    assert outcomes[2].why == ['detail.plan: wanted "pro", but the event has no such field']
    assert outcomes[2].envelope["detail-type"] == "X"  # a PutEvents entry became an envelope
    assert "id" in outcomes[0].filled and "detail" not in outcomes[0].filled
    assert outcomes[1].as_dict()["why"] == outcomes[1].why


def test_check_events_rejects_a_bad_entry_before_matching_anything() -> None:
    with pytest.raises(EventError) as info:
        rules.check_events('{"source": ["a"]}', [SIGNUP, {"Source": "a", "DetailType": "b", "Detail": "[1]"}])
    assert info.value.message == "invalid event: event 2: Detail must be a JSON object, not an array"


def stubbed_events() -> tuple[Any, Stubber]:
    client = boto3.client("events", region_name="us-east-1")
    return client, Stubber(client)


def test_ask_aws_records_the_remote_answer() -> None:
    client, stub = stubbed_events()
    pattern = '{"source": ["app.users"]}'
    outcomes = rules.check_events(pattern, [SIGNUP, {**SIGNUP, "source": "other"}])
    for outcome, answer in zip(outcomes, [True, False], strict=True):
        stub.add_response(
            "test_event_pattern",
            {"Result": answer},
            {"EventPattern": pattern, "Event": json.dumps(outcome.envelope)},
        )
    with stub:
        rules.ask_aws(client, pattern, outcomes)
    stub.assert_no_pending_responses()
    assert [(o.matched, o.remote) for o in outcomes] == [(True, True), (False, False)]
    assert outcomes[0].as_dict()["remote"] is True


def test_ask_aws_without_a_result_says_so() -> None:
    client, stub = stubbed_events()
    outcomes = rules.check_events('{"source": ["app.users"]}', [SIGNUP])
    stub.add_response("test_event_pattern", {})  # moto's answer: no Result key
    with stub:
        rules.ask_aws(client, '{"source": ["app.users"]}', outcomes)
    assert outcomes[0].remote is None
    assert outcomes[0].remote_note == "the endpoint answered without a Result (as moto does)"


def test_ask_aws_invalid_pattern_is_a_usage_error() -> None:
    client, stub = stubbed_events()
    outcomes = rules.check_events('{"source": ["app.users"]}', [SIGNUP])
    stub.add_client_error("test_event_pattern", "InvalidEventPatternException", "Event pattern is not valid.", 400)
    with stub, pytest.raises(UsageError) as info:
        rules.ask_aws(client, '{"source": ["app.users"]}', outcomes)
    assert info.value.message == "Event pattern is not valid."


# ---- match events against a bus's rules --------------------------------------------------------------------
def test_match_events_renders_each_target(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    arn = queue_arn(sqs, "welcome")
    events.put_rule(Name="signups", EventPattern=json.dumps({"source": ["app.users"]}))
    events.put_targets(
        Rule="signups",
        Targets=[
            {"Id": "whole", "Arn": arn},
            {"Id": "path", "Arn": arn, "InputPath": "$.detail.email"},
            {"Id": "const", "Arn": arn, "Input": '{"k": 1}'},
            {
                "Id": "xform",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"email": "$.detail.email", "team": "$.detail.team"},
                    "InputTemplate": '{"to": <email>, "rule": <aws.events.rule-name>, "team": <team>, '
                    '"at": <aws.events.event.ingestion-time>}',
                },
            },
        ],
    )
    events.put_rule(Name="pro-only", EventPattern=json.dumps({"detail": {"plan": ["pro"]}}), State="DISABLED")
    events.put_rule(Name="other", EventPattern=json.dumps({"source": ["billing"]}))
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")

    bus_rules, (result,) = rules.match_events(events, None, [SIGNUP], now=lambda: NOW)
    assert bus_rules.skipped == {}
    assert [(hit.name, hit.delivers) for hit in result.rules] == [("pro-only", False), ("signups", True)]
    assert result.delivered
    deliveries = {t.id: t.rendered for t in result.rules[1].targets}
    assert deliveries["whole"].value == result.envelope
    assert deliveries["path"].body == '"ann@example.com"'
    assert deliveries["const"].body == '{"k": 1}'
    assert deliveries["xform"].value == {
        "to": "ann@example.com",
        "rule": "signups",
        "team": "",
        "at": "2026-11-27T12:00:00Z",
    }
    assert deliveries["xform"].missing == ("team",)  # a path missing from the event: rendered empty, reported
    data = result.as_dict()
    assert data["rules"][1]["targets"][3]["missing"] == ["team"]
    assert "problem" in data["rules"][1]["targets"][3]


def test_match_events_fetches_rules_once_and_targets_per_matching_rule(aws: tuple[Any, Any]) -> None:
    events, sqs = aws
    arn = queue_arn(sqs, "q")
    for i in range(7):
        events.put_rule(Name=f"r{i}", EventPattern=json.dumps({"detail": {"n": [i]}}))
        events.put_targets(Rule=f"r{i}", Targets=[{"Id": "t", "Arn": arn}])
    documents = [{**SIGNUP, "detail": {"n": n}} for n in (1, 1, 3, 99)]
    counter = CallCounter(events)
    _, results = rules.match_events(events, "default", documents, page_size=3)
    assert [[hit.name for hit in r.rules] for r in results] == [["r1"], ["r1"], ["r3"], []]
    assert counter.calls.count("ListRules") == 3  # one pass over all pages (7 rules, 3 per page)
    assert counter.calls.count("ListTargetsByRule") == 2  # r1 and r3, each once
    assert not results[3].delivered


def test_a_stored_pattern_the_engine_rejects_is_skipped_not_fatal(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    events.put_rule(Name="odd", EventPattern=json.dumps({"source": [{"nope": 1}]}))  # moto accepts this
    events.put_rule(Name="fine", EventPattern=json.dumps({"source": ["app.users"]}))
    bus_rules, (result,) = rules.match_events(events, "default", [SIGNUP])
    assert list(bus_rules.skipped) == ["odd"]
    assert "invalid event pattern" in bus_rules.skipped["odd"]
    assert [hit.name for hit in result.rules] == ["fine"]


def test_match_events_on_a_missing_bus(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    with pytest.raises(NotFoundError, match="event bus 'nope' not found"):
        rules.match_events(events, "arn:aws:events:us-east-1:123456789012:event-bus/nope", [SIGNUP])


def test_rules_for_entries_per_bus(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    events.create_event_bus(Name="orders")
    events.put_rule(Name="a", EventPattern=json.dumps({"source": ["app.users"]}))
    events.put_rule(Name="b", EventPattern=json.dumps({"detail-type": ["UserSignup"]}))
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["app.users"]}), State="DISABLED")
    events.put_rule(Name="o", EventBusName="orders", EventPattern=json.dumps({"source": ["app.users"]}))
    entry = {"Source": "app.users", "DetailType": "UserSignup", "Detail": "{}"}
    entries = [
        {**entry, "EventBusName": "default"},
        {**entry, "EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/orders"},
        {**entry, "Source": "x", "DetailType": "y"},
        {**entry, "EventBusName": "orders", "Time": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
    ]
    counter = CallCounter(events)
    assert rules.rules_for_entries(events, entries) == [
        ("default", ["a", "b"]),
        ("orders", ["o"]),
        ("default", []),
        ("orders", ["o"]),
    ]
    assert counter.calls.count("ListRules") == 2  # once per bus


# ---- any input: a result or a clean usage error, never a crash -------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    event_text=st.one_of(st.text(max_size=40), json_values.map(json.dumps)),
    pattern_text=st.one_of(st.text(max_size=30), json_values.map(json.dumps)),
)
def test_any_input_gives_a_result_or_a_usage_error(event_text: str, pattern_text: str) -> None:
    try:
        outcomes = rules.check_events(pattern_text, rules.parse_events_text(event_text))
    except UsageError as exc:  # PatternError and EventError are UsageErrors: exit 2, one line
        assert exc.exit_code == 2 and "\n" not in str(exc)
        return
    assert all(isinstance(o.matched, bool) for o in outcomes)
    json.dumps([o.as_dict() for o in outcomes])
