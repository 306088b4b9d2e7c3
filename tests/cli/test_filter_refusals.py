"""A --filter that cannot match is refused before any receive (exit 2, receive counts unchanged), for drain, manual
redrive and the redrive dry run; a filter that fails on every message it meets stops after the first batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.common.filters import compile_filter
from evctl.errors import UsageError
from tests.helpers import run_cli

REFUSED = [
    ("lenght(body)", "unknown JMESPath function lenght()"),
    ("body.n == `1` && foo(body)", "unknown JMESPath function foo()"),
    ("length(body, body)", "length() takes 1 argument(s), 2 given"),
    ("merge()", "merge() takes at least 1 argument(s), 0 given"),
    ("abs('x') > `1`", "invalid type for value: x"),
    ("starts_with(body.id, `5`)", "invalid type for value: 5"),
    ("contains(`5`, 'x')", "invalid type for value: 5"),
    ("body.[", "not a valid JMESPath expression"),
    ("`false`", "can never match"),
    ("'a' == 'b'", "can never match"),
    ("body.n == `1` && `null`", "can never match"),
    ("`[]` || 'x' == 'y'", "can never match"),
]
ACCEPTED = [
    "body.n == `1`",
    "`true`",
    "body.n || `false`",
    "contains(body, 'x')",
    "length(body.items || `[]`) > `2`",
    "sort_by(body.xs, &n)[0].n",
]


@pytest.mark.parametrize(("expression", "fragment"), REFUSED)
def test_compile_refuses_what_can_never_match(expression: str, fragment: str) -> None:
    with pytest.raises(UsageError, match="--filter") as info:
        compile_filter(expression)
    assert fragment in str(info.value) and info.value.exit_code == 2


@pytest.mark.parametrize("expression", ACCEPTED)
def test_compile_accepts_what_depends_on_the_message(expression: str) -> None:
    assert compile_filter(expression) is not None


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def receive_counts(sqs: Any, url: str) -> list[int]:
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    return sorted(int(m["Attributes"]["ApproximateReceiveCount"]) - 1 for m in got)  # minus this receive


COMMANDS = {
    "drain": lambda tmp, f: ["queue", "drain", "q-dlq", "--to", str(tmp / "o.jsonl"), "--yes", "--wait", "0",
                             "--filter", f],
    "redrive": lambda tmp, f: ["redrive", "dlq", "q-dlq", "--to", "q", "--yes", "--wait", "0", "--filter", f],
    "redrive-dry-run": lambda tmp, f: ["redrive", "dlq", "q-dlq", "--to", "q", "--dry-run", "--filter", f],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(("expression", "fragment"), REFUSED)
def test_a_filter_that_cannot_match_costs_no_receive(
    sqs: Any, tmp_path: Path, command: str, expression: str, fragment: str
) -> None:
    url = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    sqs.create_queue(QueueName="q")
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    result = run_cli(COMMANDS[command](tmp_path, expression))
    assert result.exit_code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(errors) == 1 and fragment in errors[0] and "--filter" in errors[0]
    assert receive_counts(sqs, url) == [0, 0, 0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_filter_failing_on_every_message_stops_after_the_first_batch(sqs: Any, tmp_path: Path, command: str) -> None:
    """length() of a field no message has fails on each message: exit 2 after one receive, nothing moved."""
    url = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    sqs.create_queue(QueueName="q")
    for n in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    result = run_cli(COMMANDS[command](tmp_path, "length(body.items) > `2`"))
    assert result.exit_code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(errors) == 1 and "fails on every message received" in errors[0]
    counts: list[int] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        if not got.get("Messages"):
            break
        counts += [int(m["Attributes"]["ApproximateReceiveCount"]) - 1 for m in got["Messages"]]
    # drain: one loop, one batch; redrive: two loops, a batch each; the dry run peeks what it filters (a peek)
    assert len(counts) == 25 and max(counts) <= 1
    assert sum(counts) <= {"drain": 10, "redrive": 20, "redrive-dry-run": 25}[command]
