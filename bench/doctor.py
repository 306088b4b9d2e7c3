"""Benchmark: `evctl doctor` of a whole account on a moto server shaped like a real one (a benchmark, not a test).

The account: 5 buses × 60 rules (300 rules), 120 queues of which 40 are DLQs (each of the 80 source queues has a
RedrivePolicy to one of them), 40 functions each with an SQS event source mapping on a source queue, and their log
groups. Every rule targets a source queue; half of them also have a target DLQ.

Measured, for "doctor of everything" (no target: every queue's pipeline, then every implemented check), with the
library evctl's command runs (evctl.core.pipeline.discover_all + evctl.core.doctor.run_checks):
  - API calls made, per resource in the graph (target: ≤ 2; each read is made once per run by the describe cache);
  - wall time against the same calls made one after another by a plain boto3 loop (target: evctl ≥ 3× faster).
Both are run twice: as moto answers (CPU-bound: moto answers one request at a time on this 2-core machine), and
with 30 ms added to every call on the client side (as a round trip to an AWS Region would add), where evctl's
bounded concurrency can show.

`--discovery-only` measures discovery alone (no checks), the part evctl.core.pipeline owns.

    .venv/bin/python bench/doctor.py [--latency-ms 30] [--workers 8] [--discovery-only]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from typing import Any

from _lib import start_moto

REGION = "us-east-1"
BUSES = 5
RULES_PER_BUS = 60
SOURCE_QUEUES = 80
DLQS = 40
FUNCTIONS = 40


def _clients(endpoint: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=20, retries={"mode": "standard", "total_max_attempts": 3})
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    names = ("events", "sqs", "lambda", "logs", "iam", "kms", "cloudwatch")
    return {name: session.client(name, endpoint_url=endpoint, config=config) for name in names}  # type: ignore[call-overload]


def provision(c: dict[str, Any]) -> None:
    role = c["iam"].create_role(
        RoleName="bench-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    dlq_arns = []
    for i in range(DLQS):
        url = c["sqs"].create_queue(QueueName=f"bench-dlq-{i:03d}")["QueueUrl"]
        dlq_arns.append(
            c["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )
    queue_arns = []
    for i in range(SOURCE_QUEUES):
        redrive = json.dumps({"deadLetterTargetArn": dlq_arns[i % DLQS], "maxReceiveCount": "5"})
        url = c["sqs"].create_queue(
            QueueName=f"bench-queue-{i:03d}", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "180"}
        )["QueueUrl"]
        queue_arns.append(
            c["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )
    buses = ["default"] + [f"bench-bus-{b}" for b in range(1, BUSES)]
    for bus in buses[1:]:
        c["events"].create_event_bus(Name=bus)
    n = 0
    for bus in buses:
        for r in range(RULES_PER_BUS):
            name = f"bench-rule-{bus}-{r:02d}"
            c["events"].put_rule(
                Name=name, EventBusName=bus,
                EventPattern=json.dumps({"source": [f"bench.app{r % 7}"], "detail-type": [f"Type{r % 11}"]}),
            )  # fmt: skip
            target: dict[str, Any] = {"Id": "q", "Arn": queue_arns[n % SOURCE_QUEUES]}
            if n % 2:
                target["DeadLetterConfig"] = {"Arn": dlq_arns[n % DLQS]}
            c["events"].put_targets(Rule=name, EventBusName=bus, Targets=[target])
            n += 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return {}\n")
    code = buffer.getvalue()
    for f in range(FUNCTIONS):
        name = f"bench-fn-{f:03d}"
        c["lambda"].create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle", Code={"ZipFile": code},
            Timeout=30,
        )  # fmt: skip
        c["lambda"].create_event_source_mapping(
            EventSourceArn=queue_arns[f],
            FunctionName=name,
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        c["logs"].create_log_group(logGroupName=f"/aws/lambda/{name}")
        c["logs"].put_retention_policy(logGroupName=f"/aws/lambda/{name}", retentionInDays=14)


class Recorder:
    """Every real call the clients make, in order, with its parameters; optional added latency per call."""

    def __init__(self, clients: dict[str, Any], latency: float) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        for service, client in clients.items():

            def record(model: Any, params: Any, service: str = service, **_: Any) -> None:
                with self.lock:
                    self.calls.append((service, model.name, dict(params)))

            client.meta.events.register("before-parameter-build.*.*", record)
            if latency:
                client.meta.events.register("before-send.*.*", lambda **_: time.sleep(latency))


def doctor_everything(
    clients: dict[str, Any], workers: int, checks: bool = True, made: Callable[[], int] = lambda: 0
) -> tuple[int, int, int]:
    """Discovery of every queue's pipeline and every implemented check; returns (nodes, outcomes, the calls made()
    by the end of discovery: real requests, each page of a paginated listing counted)."""
    from evctl.core.doctor import DoctorClients, DoctorContext, run_checks
    from evctl.core.pipeline import DescribeCache, PipelineClients, discover_all

    cache = DescribeCache()
    graph = discover_all(
        PipelineClients(clients["events"], clients["sqs"], clients["lambda"], clients["logs"], clients["cloudwatch"]),
        workers=workers, cache=cache,
    )  # fmt: skip
    discovery_calls = made()
    if not checks:
        return len([n for n in graph.nodes.values() if n.exists]), 0, discovery_calls
    wrapped = {name: cache.wrap(client, name) for name, client in clients.items()}
    ctx = DoctorContext(
        graph,
        DoctorClients(
            wrapped["events"],
            wrapped["sqs"],
            wrapped["lambda"],
            wrapped["logs"],
            wrapped["iam"],
            wrapped["kms"],
            wrapped["cloudwatch"],
        ),
        cache,
        region=REGION,
    )
    report = run_checks(ctx, workers=workers)
    return len([n for n in graph.nodes.values() if n.exists]), len(report.outcomes), discovery_calls


def replay(clients: dict[str, Any], calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The same calls one after another (errors, e.g. a denied read, count as answers)."""
    for service, operation, params in calls:
        client = clients[service]
        method = client.meta.method_to_api_mapping
        name = next((py for py, api in method.items() if api == operation), None)
        if name is None:
            continue
        with contextlib.suppress(Exception):  # the answer arrived; a replay measures time, not success
            getattr(client, name)(**params)


def run(endpoint: str, latency_ms: float, workers: int, checks: bool = True) -> dict[str, Any]:
    clients = _clients(endpoint)
    recorder = Recorder(clients, latency_ms / 1000)
    started = time.perf_counter()
    nodes, outcomes, discovery_calls = doctor_everything(clients, workers, checks, lambda: len(recorder.calls))
    evctl_s = time.perf_counter() - started
    calls = list(recorder.calls)
    fresh = _clients(endpoint)
    Recorder(fresh, latency_ms / 1000)
    started = time.perf_counter()
    replay(fresh, calls)
    sequential_s = time.perf_counter() - started
    per_op = Counter(f"{s}:{o}" for s, o, _ in calls)
    return {
        "latency_ms": latency_ms, "nodes": nodes, "outcomes": outcomes, "calls": len(calls),
        "discovery_calls": discovery_calls,
        "calls_per_resource": len(calls) / max(1, nodes), "evctl_s": evctl_s, "sequential_s": sequential_s,
        "speedup": sequential_s / evctl_s if evctl_s else 0.0, "top_calls": per_op.most_common(8),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--discovery-only", action="store_true", help="discovery alone (discover_all), no checks")
    args = parser.parse_args()
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    proc, endpoint = start_moto()
    try:
        started = time.perf_counter()
        provision(_clients(endpoint))
        print(f"provisioned in {time.perf_counter() - started:.1f} s: {BUSES} buses x {RULES_PER_BUS} rules, "
              f"{SOURCE_QUEUES + DLQS} queues ({DLQS} DLQs), {FUNCTIONS} functions with mappings and log groups; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
        print()
        print("added latency  resources  outcomes  API calls  calls/resource  evctl s  one-by-one s  evctl is")
        for latency in (0.0, args.latency_ms):
            r = run(endpoint, latency, args.workers, checks=not args.discovery_only)
            print(f"{r['latency_ms']:>10.0f} ms  {r['nodes']:>9}  {r['outcomes']:>8}  {r['calls']:>9}  "
                  f"{r['calls_per_resource']:>14.2f}  {r['evctl_s']:>7.2f}  {r['sequential_s']:>12.2f}  "
                  f"{r['speedup']:>6.1f}x")  # fmt: skip
            print(f"{'':>14}  discovery: {r['discovery_calls']} calls ({r['discovery_calls'] / max(1, r['nodes']):.2f} "
                  f"per resource), checks: {r['calls'] - r['discovery_calls']}")  # fmt: skip
            print(f"{'':>14}  most made: {', '.join(f'{op} {n}' for op, n in r['top_calls'])}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print()
    print("targets: calls/resource <= 2; evctl >= 3x faster than the same calls one after another")
    return 0


if __name__ == "__main__":
    sys.exit(main())
