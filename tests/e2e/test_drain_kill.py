"""`evctl queue drain` (the installed executable) SIGKILLed at random moments against a moto server.

After every kill the messages it held come back when their (short) visibility timeout ends. At the end every
message sent is in the file — none lost — and the only duplicates are messages that were in flight at a kill:
written but not yet deleted, at most two batches per kill (the one being deleted while the next is written).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import evctl_executable, restore_default_signals

VISIBILITY = 1  # seconds: held messages of a killed drain reappear this soon


@pytest.fixture(autouse=True)
def fast_moto() -> Iterator[None]:
    """moto walks the whole queue on every SQS call; the sandbox's adjustment keeps the server's cost flat as
    killed rounds leave messages behind (same answers, see evctl/sandbox/moto_speed.py)."""
    from evctl.sandbox import moto_speed

    note = moto_speed.apply()
    yield
    if note is None:
        moto_speed.restore()


def _sqs(endpoint: str) -> Any:
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)


def _send(sqs: Any, url: str, n: int, start: int) -> list[str]:
    ids = []
    for first in range(start, start + n, 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(first, min(start + n, first + 10))
        ]
        ids += [e["MessageId"] for e in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]]
    return ids


def _drain(endpoint: str, out: Path, queue: str, visibility: int = VISIBILITY) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    args = [evctl_executable(), "queue", "drain", queue, "--to", str(out), "--yes"]
    args += ["--wait", "0", "--empty-polls", "1", "--visibility-timeout", str(visibility)]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=restore_default_signals
    )


def run_kills(endpoint: str, tmp_path: Path, kills: int, seed: int, per_round: int = 60) -> None:
    rng = random.Random(seed)
    sqs = _sqs(endpoint)
    url = sqs.create_queue(QueueName="killme")["QueueUrl"]
    out = tmp_path / "drained.jsonl"
    sent: list[str] = []
    for round_ in range(kills):
        sent += _send(sqs, url, per_round, len(sent))
        size = out.stat().st_size if out.exists() else 0
        proc = _drain(endpoint, out, "killme")
        if round_ % 4 == 3:
            time.sleep(rng.uniform(0.0, 0.8))  # sometimes during start-up, before anything was received
        else:  # mostly mid-drain: once lines are landing, at a random moment of the receive/write/delete cycle
            deadline = time.monotonic() + 10
            while (out.stat().st_size if out.exists() else 0) == size and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(VISIBILITY + 0.3)  # what the killed drain held is visible again
    # The final run is not killed: a normal visibility timeout, so a slow call on a loaded machine cannot let a
    # held message reappear mid-run (a duplicate, not a loss, but exit 1).
    final = _drain(endpoint, out, "killme", visibility=30)
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr.decode()
    lines = out.read_text(encoding="utf-8").splitlines()
    written = [json.loads(line)["messageId"] for line in lines]  # every line whole (a partial one is cut)
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert set(written) == set(sent), "a message was lost"
    assert int(left["ApproximateNumberOfMessages"]) + int(left["ApproximateNumberOfMessagesNotVisible"]) == 0
    duplicates = sum(n - 1 for n in Counter(written).values())
    assert duplicates <= 20 * kills, f"{duplicates} duplicates for {kills} kills"
    print(f"\n{kills} kills: {len(sent)} messages, {duplicates} duplicates (messages in flight at a kill)")


def test_drain_killed_a_few_times_loses_nothing(moto_server: str, tmp_path: Path) -> None:
    run_kills(moto_server, tmp_path, kills=3, seed=11)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_drain_killed_fifty_times_loses_nothing(moto_server: str, tmp_path: Path) -> None:
    run_kills(moto_server, tmp_path, kills=50, seed=2026, per_round=30)


def test_ctrl_c_stops_cleanly_with_a_summary_and_no_duplicates(moto_server: str, tmp_path: Path) -> None:
    sqs = _sqs(moto_server)
    url = sqs.create_queue(QueueName="interrupt")["QueueUrl"]
    sent = _send(sqs, url, 600, 0)
    out = tmp_path / "int.jsonl"
    proc = _drain(moto_server, out, "interrupt")
    deadline = time.monotonic() + 30
    while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    text = stderr.decode()
    assert proc.returncode == 130, text
    assert "interrupted: finishing the batch in hand" in text and "evctl: error: drain stopped:" in text
    written = [json.loads(line)["messageId"] for line in out.read_text(encoding="utf-8").splitlines()]
    remaining: set[str] = set()  # what is left is visible at once: the stop released what it held
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not got:
            break
        remaining |= {m["MessageId"] for m in got}
    assert len(written) == len(set(written)) and not set(written) & remaining  # no duplicates at all
    assert set(written) | remaining == set(sent) and 0 < len(written) < len(sent)
