"""Benchmark: draining an SQS queue on a moto server into a file (a benchmark, not a test).

Contenders, each its own process against the same moto server (ThreadedMotoServer on 127.0.0.1 with the
sandbox's SQS speed adjustment, so moto's per-call walk of the queue does not swamp the clients), each draining
the same freshly filled queue:
  evctl      `evctl queue drain Q --to FILE --yes --wait 0 --empty-polls 1` (receive 10 → write + fsync → delete)
  reference  a hand-written boto3 loop: receive 10 → write the bodies → delete_message_batch; stops on an empty
             receive; no fsync, no Failed[] checks, no visibility management
  aws-cli    `aws sqs receive-message --max-number-of-messages 10` + `aws sqs delete-message-batch` per batch
             (run on a sample and extrapolated: every call is a new process)

Printed: messages/s by process wall time (start-up included) and inside the drain loop, API calls per message,
the ratio evctl/reference, and evctl's peak RSS (os.wait4 ru_maxrss of the evctl process) when draining growing
counts through a queue kept ~500 deep by a feeder (moto's cost grows with queue depth; a deep queue of 100,000
would measure moto, not evctl).

    .venv/bin/python bench/queues.py [--messages 1000] [--repeat 3] [--cli-messages 100] [--memory 1000,4000,16000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
QUEUE = "bench-drain"

REFERENCE = r"""
import json, sys, time
import boto3
endpoint, queue, path = sys.argv[1], sys.argv[2], sys.argv[3]
sqs = boto3.client("sqs", endpoint_url=endpoint)
url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
calls, moved = 1, 0
started = time.perf_counter()
with open(path, "a") as out:
    while True:
        calls += 1
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for m in got:
            out.write(json.dumps({"messageId": m["MessageId"], "body": m["Body"]}) + "\n")
        out.flush()
        calls += 1
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                         for i, m in enumerate(got)])
        moved += len(got)
print(json.dumps({"calls": calls, "moved": moved, "seconds": time.perf_counter() - started}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# moto walks the whole queue on every SQS call (cost grows with depth); the sandbox's version-guarded speed
# adjustment (evctl/sandbox/moto_speed.py) removes that, so the figures measure the clients, not moto's walk.
SERVER = r"""
import sys, time
from evctl.sandbox import moto_speed
note = moto_speed.apply()
if note:
    sys.exit(f"moto speed adjustment not applied: {note}")
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
while True:
    time.sleep(3600)
"""


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "python"), "-c", SERVER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto server did not start")


def sqs_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "sqs", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench"
    )


def fresh_queue(endpoint: str, n: int) -> str:
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10)
    sqs = sqs_client(endpoint)
    url: str = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    send(sqs, url, 0, n)
    return url


def send(sqs: Any, url: str, start: int, n: int) -> None:
    body = json.dumps({"detail-type": "UserSignup", "source": "bench", "detail": {"user": "u", "n": 0}})
    for first in range(start, start + n, 10):
        entries = [
            {"Id": str(i), "MessageBody": body.replace('"n": 0', f'"n": {i}')}
            for i in range(first, min(start + n, first + 10))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def env_for(endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def run_timed(args: list[str], env: dict[str, str]) -> tuple[float, str, int]:
    """Run a process; its wall time, stdout and peak RSS in KiB (ru_maxrss of that process alone)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = proc.stdout.read() if proc.stdout else b""
    proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {proc.returncode}")
    return wall, stdout.decode(), int(usage.ru_maxrss)


def bench_evctl(endpoint: str, n: int, out: Path) -> dict[str, float]:
    fresh_queue(endpoint, n)
    args = [str(BIN / "evctl"), "queue", "drain", QUEUE, "--to", str(out), "--yes", "--wait", "0", "--empty-polls", "1"]
    wall, stdout, rss = run_timed(args, env_for(endpoint))
    summary = json.loads(stdout)
    assert summary["deleted"] == n, summary
    # + GetQueueUrl (resolve) + GetQueueAttributes (the progress estimate), which the summary does not count.
    calls = summary["api_calls"] + 2
    return {"wall": wall, "loop": summary["seconds"], "calls": calls, "rss_mb": rss / 1024}


def bench_reference(endpoint: str, n: int, out: Path) -> dict[str, float]:
    fresh_queue(endpoint, n)
    wall, stdout, _ = run_timed([str(BIN / "python"), "-c", REFERENCE, endpoint, QUEUE, str(out)], env_for(endpoint))
    result = json.loads(stdout)
    assert result["moved"] == n, result
    return {"wall": wall, "loop": result["seconds"], "calls": result["calls"]}


def bench_cli(endpoint: str, n: int, tmp: Path) -> dict[str, float]:
    url = fresh_queue(endpoint, n)
    aws = [str(BIN / "aws"), "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json", "sqs"]
    env = env_for(endpoint)
    calls = moved = 0
    started = time.perf_counter()
    with open(tmp / "cli.jsonl", "a") as out:
        while True:
            calls += 1
            got = subprocess.run(
                [*aws, "receive-message", "--queue-url", url, "--max-number-of-messages", "10"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            messages = json.loads(got).get("Messages", []) if got.strip() else []
            if not messages:
                break
            for m in messages:
                out.write(json.dumps({"messageId": m["MessageId"], "body": m["Body"]}) + "\n")
            out.flush()
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            (tmp / "entries.json").write_text(json.dumps(entries))
            calls += 1
            subprocess.run(
                [*aws, "delete-message-batch", "--queue-url", url, "--entries", f"file://{tmp / 'entries.json'}"],
                env=env, capture_output=True, check=True,
            )  # fmt: skip
            moved += len(messages)
    wall = time.perf_counter() - started
    assert moved == n, moved
    return {"wall": wall, "loop": wall, "calls": calls}


def memory_run(endpoint: str, n: int, out: Path, depth: int = 500) -> tuple[float, float]:
    """Drain n messages through a queue a feeder keeps ~`depth` deep; evctl's peak RSS (MB) and its rate."""
    url = fresh_queue(endpoint, min(n, depth))
    sqs = sqs_client(endpoint)
    sent = [min(n, depth)]
    done = threading.Event()

    def feed() -> None:
        while sent[0] < n and not done.is_set():
            visible = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                          ["Attributes"]["ApproximateNumberOfMessages"])  # fmt: skip
            if visible < depth:
                batch = min(depth - visible, n - sent[0], 200)
                send(sqs, url, sent[0], batch)
                sent[0] += batch
            else:
                time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    args = [str(BIN / "evctl"), "queue", "drain", QUEUE, "--to", str(out), "--yes", "--wait", "1", "--empty-polls", "3"]
    try:
        _, stdout, rss = run_timed(args, env_for(endpoint))
    finally:
        done.set()
        feeder.join()
    summary = json.loads(stdout)
    assert summary["deleted"] == n, (summary, n)
    return rss / 1024, n / summary["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli-messages", type=int, default=100)
    parser.add_argument("--memory", default="1000,4000,16000", help="message counts for the RSS runs ('' to skip)")
    args = parser.parse_args()
    moto, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            n = args.messages
            runs: dict[str, list[dict[str, float]]] = {"evctl": [], "reference": []}
            for r in range(args.repeat):  # interleaved, so machine load hits both alike
                runs["evctl"].append(bench_evctl(endpoint, n, tmp / f"e{r}.jsonl"))
                runs["reference"].append(bench_reference(endpoint, n, tmp / f"r{r}.jsonl"))
            cli = bench_cli(endpoint, args.cli_messages, tmp) if args.cli_messages else None
            rows = []
            for name, results in runs.items():
                wall = statistics.median(x["wall"] for x in results)
                loop = statistics.median(x["loop"] for x in results)
                rows.append((name, n, n / wall, n / loop, results[0]["calls"] / n))
            if cli:
                rows.append((f"aws-cli ({args.cli_messages} msgs)", args.cli_messages, args.cli_messages / cli["wall"],
                             args.cli_messages / cli["loop"], cli["calls"] / args.cli_messages))  # fmt: skip
            print(f"\nDrain {n} messages from a moto server (median of {args.repeat}; {os.cpu_count()} CPUs)")
            print(f"{'contender':<22}{'messages':>9}{'msg/s wall':>12}{'msg/s loop':>12}{'calls/msg':>11}")
            for name, count, wall_rate, loop_rate, per in rows:
                print(f"{name:<22}{count:>9}{wall_rate:>12.0f}{loop_rate:>12.0f}{per:>11.3f}")
            e, ref = rows[0], rows[1]
            print(f"\nevctl / reference: {e[2] / ref[2]:.2f}x by wall time, {e[3] / ref[3]:.2f}x inside the loop")
            if cli:
                print(f"evctl / aws-cli loop: {e[2] / rows[2][2]:.1f}x by wall time")
            print(f"evctl API calls per message: {e[4]:.3f} (target <= 0.25)")
            counts = [int(c) for c in args.memory.split(",") if c.strip()]
            if counts:
                print("\nevctl peak RSS (os.wait4 ru_maxrss), queue kept ~500 deep by a feeder")
                print(f"{'messages':>9}{'peak RSS MB':>13}{'msg/s loop':>12}")
                for count in counts:
                    rss, rate = memory_run(endpoint, count, tmp / f"m{count}.jsonl")
                    print(f"{count:>9}{rss:>13.1f}{rate:>12.0f}")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
