"""Sandbox benchmark: SQS call latency by queue depth (moto as shipped vs the sandbox's adjustment), time to
ready, and the demo's wall time.

Run: .venv/bin/python bench/sandbox.py [--quick]
Starts its own sandbox server on 127.0.0.1 (in this process) and runs `evctl` as subprocesses. Queues are filled
by appending messages to moto's backend directly (filling is not what is measured); every measured call goes
over HTTP through boto3, as a user's would.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEPTHS = (100, 1_000, 10_000)


def _fill(queue_name: str, depth: int) -> None:
    from moto.sqs import models

    queue = models.sqs_backends["123456789012"]["us-east-1"].queues[queue_name]
    missing = depth - len(queue._messages)
    for index in range(max(0, missing)):
        message = models.Message(f"fill-{depth}-{index}", '{"detail": {"email": "x@example.com"}}')
        message.mark_sent()
        queue._messages.append(message)


def _median_ms(call: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def sqs_latency(sqs: Any, adjusted: bool, depths: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for depth in depths:
        name = f"bench-{'adjusted' if adjusted else 'stock'}-{depth}"
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        _fill(name, depth)
        repeats = 3 if (not adjusted and depth >= 10_000) else 20
        send = _median_ms(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"), repeats)  # noqa: B023
        received: list[dict[str, Any]] = []

        def receive(url: str = url, received: list[dict[str, Any]] = received) -> None:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
            received.extend(answer.get("Messages", []))

        receive_ms = _median_ms(receive, repeats)
        batches = [received[i : i + 10] for i in range(0, len(received), 10)][:repeats]

        def delete_batch() -> None:
            chunk = batches.pop()  # noqa: B023
            sqs.delete_message_batch(
                QueueUrl=url,  # noqa: B023
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )

        delete_ms = _median_ms(delete_batch, len(batches))
        attributes = _median_ms(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]), repeats)  # noqa: B023
        rows.append(
            {
                "moto": "adjusted" if adjusted else "as shipped",
                "depth": depth,
                "send": send,
                "receive10": receive_ms,
                "delete_batch10": delete_ms,
                "attributes": attributes,
            }
        )
        sqs.delete_queue(QueueUrl=url)
    return rows


def time_to_ready() -> dict[str, float]:
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox.provision import provision
    from evctl.sandbox.server import SandboxServer

    started = time.perf_counter()
    server = SandboxServer(port=0).start()
    up = time.perf_counter()
    server.reset()
    provision(sandbox_clients(server.endpoint))
    provisioned = time.perf_counter()
    server.stop()
    return {"server_start_s": up - started, "provision_s": provisioned - up}


def _evctl(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("evctl")), *args], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"evctl {' '.join(args)} failed: {done.stderr}")
    return time.perf_counter() - started


def cli_timings() -> dict[str, float]:
    import os

    with tempfile.TemporaryDirectory() as state_home:
        env = dict(os.environ, XDG_STATE_HOME=state_home)
        up = _evctl("sandbox", "up", "--detach", "--port", "0", env=env)
        down = _evctl("sandbox", "down", env=env)
        demo = _evctl("demo", env=env)
    return {"sandbox_up_detach_s": up, "sandbox_down_s": down, "demo_s": demo}


def main() -> None:
    quick = "--quick" in sys.argv
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox import moto_speed
    from evctl.sandbox.server import SandboxServer

    ready = time_to_ready()
    with SandboxServer(port=0) as server:
        sqs = sandbox_clients(server.endpoint).sqs
        adjusted = sqs_latency(sqs, True, DEPTHS)
        moto_speed.restore()  # measure moto as shipped on the same server
        stock = sqs_latency(sqs, False, DEPTHS[:2] if quick else DEPTHS)
        moto_speed.apply()  # balance the server's own restore at stop
    cli = cli_timings()

    print("SQS call latency over HTTP, median ms (2-core machine)")
    print(f"{'moto':<11} {'depth':>6} {'send':>8} {'receive 10':>11} {'delete batch 10':>16} {'attributes':>11}")
    for row in stock + adjusted:
        print(
            f"{row['moto']:<11} {row['depth']:>6} {row['send']:>8.1f} {row['receive10']:>11.1f}"
            f" {row['delete_batch10']:>16.1f} {row['attributes']:>11.1f}"
        )
    print()
    print(f"in-process: server start {ready['server_start_s']:.2f} s, provision {ready['provision_s']:.2f} s")
    print(
        f"`evctl sandbox up --detach` (ready, exports printed) {cli['sandbox_up_detach_s']:.2f} s;"
        f" `sandbox down` {cli['sandbox_down_s']:.2f} s; `evctl demo` {cli['demo_s']:.2f} s wall"
    )


if __name__ == "__main__":
    main()
