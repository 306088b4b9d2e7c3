"""Manual redrive under the queue issue's fault matrix (tests/core/sqs_faults.FaultInjector: botocore hooks on a
client of a real moto server): whole receive / send / delete / visibility calls failing with 500s and throttling
(retried by botocore), and SendMessageBatch / DeleteMessageBatch / ChangeMessageVisibilityBatch entries failing in
Failed[]. Afterwards every message is in the destination or still in the DLQ, zero lost, duplicates counted;
on FIFO each group's order is kept."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.config import Config

from evctl.core import redrive
from evctl.core.redrive import RedriveRequest, plan_redrive
from tests.core.sqs_faults import FaultInjector

GROUPS = 3


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry backoff (real sleeps) is not what these tests measure."""
    import types

    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda s: None))


def client(endpoint: str) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 10})
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint, config=config)


def setup(sqs: Any, fifo: bool, count: int) -> tuple[str, str, str]:
    suffix, extra = (".fifo", {"FifoQueue": "true"}) if fifo else ("", {})
    dlq = sqs.create_queue(QueueName=f"f-dlq{suffix}", Attributes=extra)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    src = sqs.create_queue(QueueName=f"f{suffix}", Attributes={**extra, "RedrivePolicy": policy})["QueueUrl"]
    for first in range(0, count, 10):
        entries = []
        for n in range(first, min(count, first + 10)):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": json.dumps({"n": n, "group": n % GROUPS})}
            if fifo:
                entry |= {"MessageGroupId": f"g{n % GROUPS}", "MessageDeduplicationId": f"o{n}"}
            entries.append(entry)
        assert not sqs.send_message_batch(QueueUrl=dlq, Entries=entries).get("Failed")
    return src, dlq, f"f-dlq{suffix}"


def everything_in(sqs: Any, url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return got
        got += [json.loads(m["Body"]) for m in messages]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)


@pytest.mark.parametrize(("fifo", "seed"), [(False, 1), (True, 3)])
def test_redrive_under_random_faults_loses_nothing(moto_server: str, fifo: bool, seed: int) -> None:
    plain = client(moto_server)
    count = 60
    src, dlq, name = setup(plain, fifo, count)
    sqs = client(moto_server)
    faults = FaultInjector(
        sqs,
        rate=0.2,
        seed=seed,
        whole_call_ops=("ReceiveMessage", "SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"),
    )
    plan = plan_redrive(plain, RedriveRequest(name, mode="manual"))
    duplicates_possible = 0
    for _ in range(10):  # what a run leaves (refused after retries, not deleted) the next run moves
        sink = redrive.make_sink(plan, sqs)
        report = redrive.manual_redrive(sqs, plan, sink, wait_seconds=0, sleep=lambda s: None)
        assert report.error is None
        duplicates_possible += report.duplicates_possible
        if report.received == 0:
            break
    assert sum(faults.calls_failed.values()) > 0 and faults.entries_failed.get("SendMessageBatch", 0) > 0
    assert faults.entries_failed.get("DeleteMessageBatch", 0) > 0
    arrived = everything_in(plain, src)
    numbers = [body["n"] for body in arrived]
    assert set(numbers) == set(range(count)), "a message was lost"
    assert everything_in(plain, dlq) == []
    duplicates = sum(c - 1 for c in Counter(numbers).values())
    assert duplicates <= duplicates_possible  # every duplicate was counted as sent-but-not-deleted
    if fifo:
        assert duplicates == 0  # the derived dedup id makes SQS drop re-sends
        for group in range(GROUPS):
            order = [body["n"] for body in arrived if body["group"] == group]
            assert order == sorted(order), f"group g{group} out of order"
