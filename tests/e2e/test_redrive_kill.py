"""`evctl redrive dlq --mode manual` (the installed executable) SIGKILLed at random moments against a moto server.

Each round adds messages to the DLQ, starts a redrive, waits until its journal shows it moving, and kills it at a
random moment of the receive → send → journal → delete cycle (sometimes during start-up). What a killed run held
reappears when its short visibility timeout ends. A final run finishes the job. Then: every message sent to the
DLQ is in the destination (none lost, none left), every one is in the journal, duplicates are counted (at most
what was in flight at a kill), and on FIFO the order within each message group is kept and SQS de-duplicates the
re-sends (the derived deduplication id is stable per DLQ message).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import evctl_executable, restore_default_signals

VISIBILITY = 1  # seconds: what a killed redrive held reappears this soon
GROUPS = 4
CONCURRENCY = 2


@pytest.fixture(autouse=True)
def aws_fifo_group_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's FIFO receive follow AWS when in-flight messages come back (as they do after every kill).

    moto drops a lapsed message from "in flight" only when its receive loop reaches it, so a later message of a
    group can be handed out while an earlier one, already passed over, is visible again: the group's order breaks
    inside moto. AWS releases a group as soon as its messages' visibility ends. This runs before each receive of
    the in-process moto server the moto_server fixture starts."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in list(queue.pending_messages):
            if message.visible:
                queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "receive_message", receive_message)


def _sqs(endpoint: str) -> Any:
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)


def _queues(sqs: Any, fifo: bool) -> tuple[str, str, str]:
    suffix, extra = (".fifo", {"FifoQueue": "true"}) if fifo else ("", {})
    dlq = sqs.create_queue(QueueName=f"kill-dlq{suffix}", Attributes=extra)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    src = sqs.create_queue(QueueName=f"kill{suffix}", Attributes={**extra, "RedrivePolicy": policy})["QueueUrl"]
    return src, dlq, f"kill-dlq{suffix}"


def _send(sqs: Any, url: str, count: int, start: int, fifo: bool) -> list[int]:
    for first in range(start, start + count, 10):
        entries = []
        for n in range(first, min(start + count, first + 10)):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": json.dumps({"n": n, "group": n % GROUPS})}
            if fifo:
                entry["MessageGroupId"] = f"g{n % GROUPS}"
                entry["MessageDeduplicationId"] = f"orig-{n}"
            entries.append(entry)
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
    return list(range(start, start + count))


def _redrive(endpoint: str, dlq: str, journal: Path, visibility: int = VISIBILITY) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    args = [evctl_executable(), "redrive", "dlq", dlq, "--mode", "manual", "--yes", "--journal", str(journal)]
    args += ["--wait", "0", "--visibility-timeout", str(visibility), "--concurrency", str(CONCURRENCY)]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=restore_default_signals
    )


def _receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return got
        got += messages
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def run_kills(endpoint: str, tmp_path: Path, *, kills: int, seed: int, fifo: bool, per_round: int = 40) -> None:
    rng = random.Random(seed)
    sqs = _sqs(endpoint)
    src, dlq, dlq_name = _queues(sqs, fifo)
    journal = tmp_path / "journal.jsonl"
    sent: list[int] = []
    for round_ in range(kills):
        sent += _send(sqs, dlq, per_round, len(sent), fifo)
        size = journal.stat().st_size if journal.exists() else 0
        proc = _redrive(endpoint, dlq_name, journal)
        if round_ % 4 == 3:
            time.sleep(rng.uniform(0.0, 0.8))  # sometimes during start-up, before anything moved
        else:  # mostly mid-move: once the journal grows, at a random moment of the cycle
            deadline = time.monotonic() + 15
            while (journal.stat().st_size if journal.exists() else 0) == size and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(VISIBILITY + 0.3)  # what the killed run held is visible again
    # The final run is not killed: a normal visibility timeout, so that a slow call on a loaded machine cannot
    # let a held message reappear mid-run (which would make a duplicate, not a loss, and exit 1).
    final = _redrive(endpoint, dlq_name, journal, visibility=30)
    _, stderr = final.communicate(timeout=900)
    assert final.returncode == 0, stderr.decode()

    left = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert int(left["ApproximateNumberOfMessages"]) + int(left["ApproximateNumberOfMessagesNotVisible"]) == 0
    arrived = [json.loads(m["Body"]) for m in _receive_all(sqs, src)]
    numbers = [body["n"] for body in arrived]
    assert set(numbers) == set(sent), f"lost: {sorted(set(sent) - set(numbers))}"
    journaled = {json.loads(json.loads(line)["body"])["n"] for line in journal.read_text().splitlines()}
    assert journaled == set(sent), "the journal misses a moved message"
    duplicates = sum(c - 1 for c in Counter(numbers).values())
    assert duplicates <= 10 * CONCURRENCY * kills, f"{duplicates} duplicates for {kills} kills"
    if fifo:
        assert duplicates == 0, "re-sends inside the 5-minute window carry the same derived dedup id"
        for group in range(GROUPS):
            order = [body["n"] for body in arrived if body["group"] == group]
            assert order == sorted(order), f"group g{group} out of order"
    print(f"\n{kills} kills ({'FIFO' if fifo else 'standard'}): {len(sent)} messages, {duplicates} duplicates")


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_redrive_killed_a_few_times_loses_nothing(moto_server: str, tmp_path: Path, fifo: bool) -> None:
    run_kills(moto_server, tmp_path, kills=1 if fifo else 2, seed=5, fifo=fifo)


@pytest.mark.slow
@pytest.mark.timeout(3000)
@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_redrive_killed_fifty_times_loses_nothing(moto_server: str, tmp_path: Path, fifo: bool) -> None:
    run_kills(moto_server, tmp_path, kills=50, seed=2026, fifo=fifo, per_round=20)
