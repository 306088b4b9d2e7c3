"""Sandbox metrics benchmark: what the emitter costs the sandbox's SQS calls at depth, what a sample and a flush
cost, and how long a doctor-sized GetMetricData read of an hour of sandbox metrics takes.

Run: .venv/bin/python bench/sandbox_metrics.py [--quick]
One sandbox server in this process (moto adjusted, as `evctl sandbox up` runs it); the SQS latency rows are
bench/sandbox.py's (every call over HTTP through boto3), measured without the emitter and with it running and
sampling every second (5x as often as the sandbox does), twice each, interleaved.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from typing import Any

from sandbox import DEPTHS, _fill, sqs_latency


def _rows_median(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    merged = []
    for rows in zip(*runs, strict=True):
        row = dict(rows[0])
        for key in ("send", "receive10", "delete_batch10", "attributes"):
            row[key] = statistics.median(r[key] for r in rows)
        merged.append(row)
    return merged


def latency(sqs: Any, depths: tuple[int, ...], rounds: int) -> dict[str, list[dict[str, Any]]]:
    from evctl.sandbox import metrics
    from evctl.sandbox.state import REGION

    runs: dict[str, list[list[dict[str, Any]]]] = {"without": [], "with": []}
    for _ in range(rounds):
        runs["without"].append(sqs_latency(sqs, True, depths))
        emitter = metrics.start_for_sandbox(REGION, flush_seconds=1.0, sample_seconds=1.0)
        try:
            runs["with"].append(sqs_latency(sqs, True, depths))
        finally:
            emitter.stop()
    return {mode: _rows_median(r) for mode, r in runs.items()}


def sample_and_flush(sqs: Any, depth: int) -> dict[str, float]:
    from evctl.sandbox import metrics
    from evctl.sandbox.metrics import sqs as sqs_metrics
    from evctl.sandbox.state import REGION

    sqs.create_queue(QueueName="bench-sample")
    _fill("bench-sample", depth)
    emitter = metrics.SandboxMetrics(metrics.MotoCloudWatch(), region=REGION)
    samples, flushes = [], []
    for _ in range(20):
        started = time.perf_counter()
        sqs_metrics.sample_queues(emitter)
        samples.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        emitter.flush()
        flushes.append((time.perf_counter() - started) * 1000)
    return {"sample_ms": statistics.median(samples), "flush_ms": statistics.median(flushes)}


def doctor_read(endpoint: str, series: int = 100, minutes: int = 60) -> dict[str, float]:
    """`series` series with a datapoint every minute for `minutes`, read as doctor does: one GetMetricData with a
    query per series, Period 60 over the hour."""
    from evctl.aws import AwsSettings, ClientFactory
    from evctl.sandbox import metrics
    from evctl.sandbox.state import CREDENTIALS, REGION

    emitter = metrics.SandboxMetrics(metrics.MotoCloudWatch(), region=REGION)
    end = time.time() // 60 * 60
    for n in range(series):
        for minute in range(minutes):
            emitter.count("AWS/Events", "Invocations", {"RuleName": f"rule-{n}"}, at=end - 60 * (minute + 1) + 5)
    emitter.flush()
    factory = ClientFactory(AwsSettings(region=REGION, endpoint_url=endpoint, sandbox_credentials=CREDENTIALS))
    cloudwatch: Any = factory.client("cloudwatch")
    queries = [
        {
            "Id": f"m{n}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Events",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "RuleName", "Value": f"rule-{n}"}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for n in range(series)
    ]
    started = time.perf_counter()
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=dt.datetime.fromtimestamp(end - minutes * 60, dt.UTC),
        EndTime=dt.datetime.fromtimestamp(end, dt.UTC),
    )
    elapsed = time.perf_counter() - started
    points = sum(len(r["Values"]) for r in answer["MetricDataResults"])
    assert points == series * minutes, points
    return {"series": series, "minutes": minutes, "datapoints": points, "read_s": elapsed}


def main() -> None:
    quick = "--quick" in sys.argv
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox.server import SandboxServer

    with SandboxServer(port=0) as server:
        sqs = sandbox_clients(server.endpoint).sqs
        rows = latency(sqs, DEPTHS[:2] if quick else DEPTHS, 1 if quick else 2)
        cost = sample_and_flush(sqs, DEPTHS[-1])
        server.reset()
        read = doctor_read(server.endpoint, series=50 if quick else 100)

    print("SQS call latency over HTTP, median ms (2-core machine), adjusted moto")
    print(f"{'emitter':<8} {'depth':>6} {'send':>8} {'receive 10':>11} {'delete batch 10':>16} {'attributes':>11}")
    for mode in ("without", "with"):
        for row in rows[mode]:
            print(
                f"{mode:<8} {row['depth']:>6} {row['send']:>8.1f} {row['receive10']:>11.1f}"
                f" {row['delete_batch10']:>16.1f} {row['attributes']:>11.1f}"
            )
    print()
    print(
        f"one sample of every queue (one at {DEPTHS[-1]:,} messages): {cost['sample_ms']:.1f} ms;"
        f" one flush of its 8 series: {cost['flush_ms']:.2f} ms"
    )
    print(
        f"GetMetricData, {read['series']} queries x {read['minutes']} minutes"
        f" ({read['datapoints']:,} datapoints stored): {read['read_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
