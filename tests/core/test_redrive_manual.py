"""Manual redrive end to end on moto: the mover with the queue sink, FIFO order per group, filter/max, the
journal, and fault injection (failed send and delete entries, throttled calls): afterwards every message is in
the destination or still in the DLQ, zero lost, duplicates counted."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from evctl.core import redrive
from evctl.core.moving import FileSink
from evctl.core.queues import decode_body
from evctl.core.redrive import RedriveRequest, plan_redrive, preview


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_pair(sqs: Any, name: str, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    src = sqs.create_queue(QueueName=f"{name}{suffix}", Attributes={**extra, "RedrivePolicy": policy})["QueueUrl"]
    return src, dlq


def fill(sqs: Any, url: str, count: int, groups: int = 0) -> None:
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(count, start + 10)):
            entry: dict[str, Any] = {
                "Id": str(n),
                "MessageBody": json.dumps({"n": n, "group": f"g{n % groups}" if groups else None}),
                "MessageAttributes": {
                    "n": {"DataType": "Number", "StringValue": str(n)},
                    "raw": {"DataType": "Binary.bytes", "BinaryValue": bytes([n % 256, 255])},
                    "kind": {"DataType": "String.custom", "StringValue": "order"},
                },
            }
            if groups:
                entry["MessageGroupId"] = f"g{n % groups}"
                entry["MessageDeduplicationId"] = f"orig-{n}"
            entries.append(entry)
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def drain_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Everything in a queue, in receive order (deleting as it goes)."""
    got: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return got
        got.extend(messages)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def run(sqs: Any, request: RedriveRequest, **kwargs: Any) -> tuple[Any, Any]:
    plan = plan_redrive(sqs, request)
    sink = redrive.make_sink(plan, sqs, rate=request.rate, journal=kwargs.pop("journal", None))
    report = redrive.manual_redrive(
        sqs,
        plan,
        sink,
        max_messages=request.max_messages,
        filter=request.filter,
        wait_seconds=0,
        **kwargs,
    )
    return report, redrive.manual_summary(plan, report, sink)


def test_standard_redrive_moves_everything_with_its_attributes(sqs: Any) -> None:
    src, dlq = make_pair(sqs, "signup")
    fill(sqs, dlq, 25)
    report, summary = run(sqs, RedriveRequest("signup-dlq"))
    assert report.error is None
    assert (summary["moved"], summary["failed"], summary["duplicates_possible"]) == (25, 0, 0)
    moved = drain_all(sqs, src)
    assert sorted(json.loads(m["Body"])["n"] for m in moved) == list(range(25))
    sample = next(m for m in moved if json.loads(m["Body"])["n"] == 7)
    assert sample["MessageAttributes"]["n"] == {"StringValue": "7", "DataType": "Number"}
    assert sample["MessageAttributes"]["raw"] == {"BinaryValue": bytes([7, 255]), "DataType": "Binary.bytes"}
    assert sample["MessageAttributes"]["kind"] == {"StringValue": "order", "DataType": "String.custom"}
    assert drain_all(sqs, dlq) == []
    assert summary["api_calls"] / 25 < 0.5


def test_fifo_redrive_keeps_order_within_each_group(sqs: Any) -> None:
    src, dlq = make_pair(sqs, "orders", fifo=True)
    fill(sqs, dlq, 30, groups=3)
    report, summary = run(sqs, RedriveRequest("orders-dlq.fifo"))
    assert report.error is None and summary["moved"] == 30
    moved = drain_all(sqs, src)
    by_group: dict[str, list[int]] = {}
    for m in moved:
        body = json.loads(m["Body"])
        assert m["Attributes"]["MessageGroupId"] == body["group"]
        assert m["Attributes"]["MessageDeduplicationId"].startswith("evctl-redrive-")
        by_group.setdefault(body["group"], []).append(body["n"])
    assert by_group == {f"g{g}": list(range(g, 30, 3)) for g in range(3)}


def test_filter_and_max_leave_the_rest_in_the_dlq(sqs: Any) -> None:
    src, dlq = make_pair(sqs, "signup")
    fill(sqs, dlq, 20)
    _report, summary = run(sqs, RedriveRequest("signup-dlq", filter="body.n < `10`", max_messages=4))
    assert summary["moved"] == 4
    assert len(drain_all(sqs, src)) == 4
    left = drain_all(sqs, dlq)
    assert len(left) == 16
    assert sum(1 for m in left if json.loads(m["Body"])["n"] < 10) == 6


def test_journal_holds_every_moved_message(sqs: Any, tmp_path: Path) -> None:
    _src, dlq = make_pair(sqs, "signup")
    fill(sqs, dlq, 12)
    path = tmp_path / "journal.jsonl"
    with open(path, "ab") as stream:
        _report, summary = run(sqs, RedriveRequest("signup-dlq", journal=str(path)), journal=FileSink(stream, name="j"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert summary["moved"] == 12
    assert sorted(json.loads(line["body"])["n"] for line in lines) == list(range(12))
    assert all(line["eventSourceARN"].endswith(":signup-dlq") for line in lines)


# ---- fault injection ------------------------------------------------------------------------------------------


class Faulty:
    """The real (moto) client, with injected trouble: SendMessageBatch and DeleteMessageBatch entries that fail
    (not sent / not deleted, reported in Failed[] as AWS does), and whole calls that fail with throttling."""

    def __init__(self, real: Any, seed: int, entry_failures: float = 0.25, throttles: float = 0.05) -> None:
        self.real = real
        self.rng = random.Random(seed)
        self.entry_failures = entry_failures
        self.throttles = throttles
        self.injected: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _throttle(self, operation: str) -> None:
        if self.rng.random() < self.throttles:
            self.injected[f"{operation}:throttled"] += 1
            raise ClientError(
                {
                    "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                operation,
            )

    def _partial(self, operation: str, call: Any, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._throttle(operation)
        keep, failed = [], []
        for entry in Entries:
            if self.rng.random() < self.entry_failures:
                self.injected[f"{operation}:entry"] += 1
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"})
            else:
                keep.append(entry)
        response = call(QueueUrl=QueueUrl, Entries=keep) if keep else {"Successful": [], "Failed": []}
        response["Failed"] = list(response.get("Failed", [])) + failed
        return response

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        return self._partial("SendMessageBatch", self.real.send_message_batch, QueueUrl, Entries)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        return self._partial("DeleteMessageBatch", self.real.delete_message_batch, QueueUrl, Entries)


@pytest.mark.parametrize("fifo", [False, True])
def test_faults_lose_nothing(sqs: Any, fifo: bool) -> None:
    src, dlq = make_pair(sqs, "faulty", fifo=fifo)
    total = 40
    fill(sqs, dlq, total, groups=4 if fifo else 0)
    faulty = Faulty(sqs, seed=7)
    runs = 0
    while runs < 30:
        runs += 1
        plan = plan_redrive(sqs, RedriveRequest(f"faulty-dlq{'.fifo' if fifo else ''}"))
        sink = redrive.make_sink(plan, faulty)
        report = redrive.manual_redrive(faulty, plan, sink, wait_seconds=0, sleep=lambda s: None)
        attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
        if report.error is None and attributes["ApproximateNumberOfMessages"] == "0" and report.received == 0:
            break
    assert faulty.injected["SendMessageBatch:entry"] > 0 and faulty.injected["DeleteMessageBatch:entry"] > 0
    assert faulty.injected["SendMessageBatch:throttled"] + faulty.injected["DeleteMessageBatch:throttled"] > 0
    arrived = [json.loads(m["Body"])["n"] for m in drain_all(sqs, src)]
    still_in_dlq = [json.loads(m["Body"])["n"] for m in drain_all(sqs, dlq)]
    assert set(arrived) | set(still_in_dlq) == set(range(total)), "a message was lost"
    assert still_in_dlq == []
    duplicates = len(arrived) - len(set(arrived))
    if fifo:
        # Re-sends of a message whose delete failed carry the same derived dedup id: SQS drops them.
        assert duplicates == 0
        for group in range(4):
            in_group = [n for n in arrived if n % 4 == group]
            assert in_group == sorted(in_group), f"group g{group} out of order: {in_group}"
    else:
        assert (
            duplicates
            <= faulty.injected["DeleteMessageBatch:entry"] + faulty.injected["DeleteMessageBatch:throttled"] * 10
        )


# ---- the dry run selects exactly what the run moves (issue 10) ------------------------------------------------

TRICKY_BODIES = ["0", "false", "[]", "{}", '""', "null", "1", '"x1"', '"y1"', '{"a": 0}', "plain text"]


@pytest.mark.parametrize("expression", ["body", "body.a", "starts_with(body, 'x')", "length(body) > `0`"])
def test_preview_selects_what_the_run_moves(sqs: Any, expression: str) -> None:
    """JMESPath truthiness (0 is a match; false, null, "", [] and {} are not) and type errors (no match) alike
    in the preview and in the real run, on the same messages."""
    src, dlq = make_pair(sqs, "tricky")
    for body in TRICKY_BODIES:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    plan = plan_redrive(sqs, RedriveRequest("tricky-dlq", filter=expression))
    rows, depth = preview(sqs, plan, limit=50, filter=expression, wait_seconds=0)
    assert depth == len(TRICKY_BODIES)
    previewed = sorted(json.dumps(row["body"]) for row in rows)
    report, summary = run(sqs, RedriveRequest("tricky-dlq", filter=expression))
    assert report.error is None
    moved = sorted(json.dumps(decode_body(m["Body"]).value) for m in drain_all(sqs, src))
    assert previewed == moved
    assert summary["moved"] + summary["filtered_out"] == len(TRICKY_BODIES)
    if expression == "body":
        assert "0" in moved and "false" not in moved and '""' not in moved


def test_preview_treats_a_type_error_as_no_match(sqs: Any) -> None:
    _src, dlq = make_pair(sqs, "typed")
    for body in ("0", '"x1"', "{}"):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    plan = plan_redrive(sqs, RedriveRequest("typed-dlq", filter="starts_with(body, 'x')"))
    rows, _depth = preview(sqs, plan, limit=10, filter="starts_with(body, 'x')", wait_seconds=0)
    assert [row["body"] for row in rows] == ["x1"]
