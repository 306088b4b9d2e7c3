"""Every sink failure after a side effect is counted as what it did (SinkInterrupted): the mover deletes what the
call durably took, leaves what it delivered-but-kept in the source as named duplicates, refuses what failed, and
releases the rest, so the report equals the queues' contents. The queue sink's own case: its destination vanishes
between two SendMessageBatch calls of one batch."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from evctl.core.moving import QueueSink, SinkFailure, SinkInterrupted, SinkResult, move
from evctl.core.queues import Received, resolve_queue
from evctl.errors import NotFoundError, PartialFailure


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def everything(sqs: Any, url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        found.update({m["MessageId"]: m["Body"] for m in got})
    return found


class HalfDone:
    """Takes the first message, keeps (delivered, not to delete) the second, refuses the third, then fails."""

    def __init__(self) -> None:
        self.calls = 0

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        self.calls += 1
        ids = [m.message_id for m in batch]
        done = SinkResult(
            taken=ids[:1], kept=ids[1:2], failed=[SinkFailure(i, "Bad", "refused", retryable=False) for i in ids[2:3]]
        )
        raise SinkInterrupted(PartialFailure("the sink broke"), done)


def test_a_sink_interrupted_after_side_effects_is_counted_exactly(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="src")["QueueUrl"]
    for n in range(10):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    sink = HalfDone()
    report = move(sqs, resolve_queue(sqs, "src"), sink, wait_seconds=0, pipeline=False)
    assert sink.calls == 1 and str(report.error) == "the sink broke" and report.stopped_by == "error"
    assert (report.received, report.accepted, report.deleted) == (10, 1, 1)
    assert (report.undeleted, report.failed, report.released) == (1, 1, 8)
    assert report.received == report.deleted + report.undeleted + report.released  # every message counted
    left = everything(sqs, url)
    assert len(left) == 9 and report.duplicate_ids[0] in left  # the kept one is named and still there
    assert report.summary()["duplicate_ids"] == report.duplicate_ids


class VanishingQueue:
    """An SQS client whose SendMessageBatch works `works` times, then answers QueueDoesNotExist."""

    def __init__(self, sqs: Any, works: int) -> None:
        self._sqs, self.works = sqs, works

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        if self.works <= 0:
            error = {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "gone"}}
            raise ClientError(error, "SendMessageBatch")  # type: ignore[arg-type]
        self.works -= 1
        return self._sqs.send_message_batch(**kwargs)


@pytest.mark.parametrize("works", [1, 2])
def test_a_destination_vanishing_mid_batch_counts_what_was_sent(sqs: Any, works: int) -> None:
    """FIFO destination, one group: one message per SendMessageBatch call (order), so a batch takes several calls.
    Those sent before the queue vanished are deleted from the source and counted; nothing else moves."""
    src = sqs.create_queue(QueueName="src.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dst = sqs.create_queue(QueueName="dst.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for n in range(4):
        sqs.send_message(QueueUrl=src, MessageBody=f"m{n}", MessageGroupId="g", MessageDeduplicationId=f"d{n}")
    sink = QueueSink(VanishingQueue(sqs, works), resolve_queue(sqs, "dst.fifo"))  # type: ignore[arg-type]
    report = move(sqs, resolve_queue(sqs, "src.fifo"), sink, wait_seconds=0, pipeline=False)
    assert isinstance(report.error, NotFoundError)
    sent = sorted(everything(sqs, dst).values())
    assert sent == [f"m{n}" for n in range(works)]
    assert report.deleted == report.accepted == works and report.undeleted == 0
    assert sorted(everything(sqs, src).values()) == [f"m{n}" for n in range(works, 4)]
