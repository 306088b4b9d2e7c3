"""Benchmark: manual redrive of a DLQ on a moto server back to its source queue (a benchmark, not a test).

Contenders, each its own process against the same moto server on 127.0.0.1 (started by bench/queues.py's
start_moto: moto with the sandbox's SQS speed adjustment, evctl/sandbox/moto_speed.py, so moto's walk of the whole
queue on every call does not swamp the clients), each moving the same freshly filled DLQ of N messages back to its
source queue:
  evctl       `evctl redrive dlq bench-dlq --mode manual --yes --wait 0` (receive 10 → SendMessageBatch with
              every Failed[] entry checked → DeleteMessageBatch of what was sent; 2 loops by default)
  reference   a hand-written boto3 loop: receive 10 → send_message_batch → delete_message_batch of the entries
              that were sent; stops on an empty receive; one loop, no visibility management
  sequential  one message at a time, as several peer tools do: receive 1 → send_message → delete_message

Printed: messages/s by process wall time (start-up included) and inside the move loop, API calls per message
(evctl: its own count plus the 4 set-up calls: GetQueueUrl ×2, ListDeadLetterSourceQueues, GetQueueAttributes),
and the ratios evctl/reference and evctl/sequential.

    .venv/bin/python bench/redrive.py [--messages 1000] [--repeat 3] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DLQ, SOURCE = "bench-dlq", "bench-source"
SETUP_CALLS = 4


def _bench_queue() -> Any:
    """bench/queues.py's moto-server and process helpers (start_moto, env_for, run_timed, sqs_client)."""
    spec = importlib.util.spec_from_file_location("bench_queue_helpers", HERE / "queues.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _bench_queue()

REFERENCE = r"""
import json, sys, time
import boto3
endpoint, dlq, source = sys.argv[1], sys.argv[2], sys.argv[3]
sqs = boto3.client("sqs", endpoint_url=endpoint)
dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
source_url = sqs.get_queue_url(QueueName=source)["QueueUrl"]
calls, moved = 2, 0
started = time.perf_counter()
while True:
    calls += 1
    got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                              MessageAttributeNames=["All"]).get("Messages", [])
    if not got:
        break
    entries = [{"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]}
               if m.get("MessageAttributes") else {})} for i, m in enumerate(got)]
    calls += 1
    sent = {s["Id"] for s in sqs.send_message_batch(QueueUrl=source_url, Entries=entries)["Successful"]}
    calls += 1
    sqs.delete_message_batch(QueueUrl=dlq_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                         for i, m in enumerate(got) if str(i) in sent])
    moved += len(sent)
print(json.dumps({"calls": calls, "moved": moved, "seconds": time.perf_counter() - started}))
"""

SEQUENTIAL = r"""
import json, sys, time
import boto3
endpoint, dlq, source = sys.argv[1], sys.argv[2], sys.argv[3]
sqs = boto3.client("sqs", endpoint_url=endpoint)
dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
source_url = sqs.get_queue_url(QueueName=source)["QueueUrl"]
calls, moved = 2, 0
started = time.perf_counter()
while True:
    calls += 1
    got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                              MessageAttributeNames=["All"]).get("Messages", [])
    if not got:
        break
    m = got[0]
    calls += 2
    sqs.send_message(QueueUrl=source_url, MessageBody=m["Body"], MessageAttributes=m.get("MessageAttributes", {}))
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
    moved += 1
print(json.dumps({"calls": calls, "moved": moved, "seconds": time.perf_counter() - started}))
"""


def fresh_dlq(endpoint: str, n: int) -> int:
    """A reset server with the source queue and its DLQ holding n messages; returns the DLQ's depth (a send
    retried by botocore on a loaded machine can add a batch twice)."""
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10)
    sqs = helpers.sqs_client(endpoint)
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    sqs.create_queue(QueueName=SOURCE, Attributes={"RedrivePolicy": policy})
    body = json.dumps({"detail-type": "UserSignup", "source": "bench", "detail": {"email": "ann@example.com"}})
    attributes = {"attempt": {"DataType": "Number", "StringValue": "3"}}
    for first in range(0, n, 10):
        entries = [
            {"Id": str(i), "MessageBody": body, "MessageAttributes": attributes}
            for i in range(first, min(n, first + 10))
        ]
        sqs.send_message_batch(QueueUrl=dlq, Entries=entries)
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def moved_to_source(endpoint: str) -> int:
    sqs = helpers.sqs_client(endpoint)
    url = sqs.get_queue_url(QueueName=SOURCE)["QueueUrl"]
    return int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
    )


def bench_evctl(endpoint: str, n: int, concurrency: int) -> dict[str, float]:
    n = fresh_dlq(endpoint, n)
    args = [str(BIN / "evctl"), "redrive", "dlq", DLQ, "--mode", "manual", "--yes", "--wait", "0"]
    args += ["--concurrency", str(concurrency)]
    wall, stdout, _ = helpers.run_timed(args, helpers.env_for(endpoint))
    summary = json.loads(stdout)
    assert summary["moved"] == n == moved_to_source(endpoint), summary
    return {"n": n, "wall": wall, "loop": summary["seconds"], "calls": summary["api_calls"] + SETUP_CALLS}


def bench_script(endpoint: str, n: int, script: str) -> dict[str, float]:
    fresh_dlq(endpoint, n)
    wall, stdout, _ = helpers.run_timed(
        [str(BIN / "python"), "-c", script, endpoint, DLQ, SOURCE], helpers.env_for(endpoint)
    )
    result = json.loads(stdout)
    assert result["moved"] == n == moved_to_source(endpoint), result
    return {"n": n, "wall": wall, "loop": result["seconds"], "calls": result["calls"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2, help="evctl --concurrency")
    args = parser.parse_args()
    moto, endpoint = helpers.start_moto()
    try:
        n = args.messages
        runs: dict[str, list[dict[str, float]]] = {"evctl": [], "reference": [], "sequential": []}
        for _ in range(args.repeat):  # interleaved, so machine load hits all alike
            runs["evctl"].append(bench_evctl(endpoint, n, args.concurrency))
            runs["reference"].append(bench_script(endpoint, n, REFERENCE))
            runs["sequential"].append(bench_script(endpoint, n, SEQUENTIAL))
        rows = {}
        for name, results in runs.items():
            rows[name] = (
                statistics.median(x["n"] / x["wall"] for x in results),
                statistics.median(x["n"] / x["loop"] for x in results),
                statistics.median(x["calls"] / x["n"] for x in results),
            )
        print(f"\nManual redrive of {n} messages on a moto server (median of {args.repeat}; {os.cpu_count()} CPUs)")
        print(f"{'contender':<14}{'msg/s wall':>12}{'msg/s loop':>12}{'calls/msg':>11}")
        for name, (wall_rate, loop_rate, per) in rows.items():
            print(f"{name:<14}{wall_rate:>12.0f}{loop_rate:>12.0f}{per:>11.3f}")
        e, ref, seq = rows["evctl"], rows["reference"], rows["sequential"]
        print(
            f"\nevctl / reference:  {e[0] / ref[0]:.2f}x by wall time, {e[1] / ref[1]:.2f}x inside the loop (target >= 0.9x)"
        )
        print(
            f"evctl / sequential: {e[0] / seq[0]:.2f}x by wall time, {e[1] / seq[1]:.2f}x inside the loop (target >= 3x)"
        )
        print(f"evctl API calls per message: {e[2]:.3f} (target <= 0.35)")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
