"""Fault injection (botocore hooks on a client of a real moto server): random failures of receive, delete,
visibility and send-batch calls and entries, throttling. Afterwards every message is counted: none lost,
duplicates only where the report says so."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from evctl.core.moving import move, open_file_sink
from evctl.core.queues import OutgoingMessage, QueueRef, resolve_queue, send_messages
from tests.core.sqs_faults import FaultInjector


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry backoff (real sleeps of up to 20 s) is not what these tests measure."""
    import types

    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda s: None))


def client(endpoint: str, attempts: int = 10) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint, config=config)


def fill(sqs: Any, name: str, n: int) -> tuple[QueueRef, list[str]]:
    sqs.create_queue(QueueName=name)
    ref = resolve_queue(sqs, name)
    ids = []
    for start in range(0, n, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps({"i": i})} for i in range(start, min(n, start + 10))]
        ids += [e["MessageId"] for e in sqs.send_message_batch(QueueUrl=ref.url, Entries=entries)["Successful"]]
    return ref, ids


def remaining(sqs: Any, ref: QueueRef) -> list[str]:
    seen: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=ref.url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        new = [m for m in got if m["MessageId"] not in seen]
        if not new:
            return list(seen)
        seen.update((m["MessageId"], m["ReceiptHandle"]) for m in new)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drain_under_random_faults_loses_nothing(moto_server: str, tmp_path: Path, seed: int) -> None:
    setup = client(moto_server)
    ref, original = fill(setup, f"faulty-{seed}", 120)
    sqs = client(moto_server)
    faults = FaultInjector(
        sqs,
        rate=0.25,
        seed=seed,
        whole_call_ops=("ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"),
    )
    path = tmp_path / "out.jsonl"
    sink = open_file_sink(str(path))
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=3, sleep=lambda s: None)
    sink.close()
    assert report.error is None
    assert faults.calls_failed["ReceiveMessage"] > 0 and faults.entries_failed["DeleteMessageBatch"] > 0
    written = [json.loads(line)["messageId"] for line in path.read_text().splitlines()]
    left = remaining(setup, ref)
    assert set(written) | set(left) == set(original)  # zero lost
    duplicates = sum(n - 1 for n in Counter(written).values()) + len(set(written) & set(left))
    assert duplicates <= report.duplicates_possible  # every duplicate is counted
    assert report.deleted == len(set(written)) - len(set(written) & set(left))


def test_send_under_random_entry_failures_sends_each_message_once(moto_server: str) -> None:
    sqs = client(moto_server)
    sqs.create_queue(QueueName="send-faults")
    ref = resolve_queue(sqs, "send-faults")
    faults = FaultInjector(sqs, rate=0.3, seed=7, whole_call_ops=("SendMessageBatch",))
    messages = [OutgoingMessage(body=f"m{i}", origin=f"line {i}") for i in range(50)]
    outcomes = send_messages(sqs, ref, messages, attempts=8, sleep=lambda s: None)
    assert faults.entries_failed["SendMessageBatch"] > 0 and faults.calls_failed["SendMessageBatch"] > 0
    assert all(o.ok for o in outcomes)
    bodies = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=ref.url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        bodies += [m["Body"] for m in got]
    assert sorted(bodies) == sorted(m.body for m in messages)  # each once: no loss, no duplicate


def test_send_reports_entries_that_keep_failing(moto_server: str) -> None:
    sqs = client(moto_server)
    sqs.create_queue(QueueName="send-fail")
    ref = resolve_queue(sqs, "send-fail")
    FaultInjector(sqs, rate=0.5, seed=3, whole_call_ops=())
    messages = [OutgoingMessage(body=f"m{i}") for i in range(30)]
    outcomes = send_messages(sqs, ref, messages, attempts=1)
    failed = [o for o in outcomes if not o.ok]
    assert failed and all(o.code == "InternalError" and o.retryable for o in failed)
    assert len(remaining(sqs, ref)) == 30 - len(failed)
