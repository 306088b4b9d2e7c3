"""Numbers that need the whole graph: a queue's DLQ depth and DLQ role, and the age of its oldest message.

The age comes from CloudWatch (AWS/SQS ApproximateAgeOfOldestMessage, one GetMetricData for every queue). Where
metrics do not exist (moto, a new queue, no permission) the age is None (shown as "-"); metrics never fail a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from evctl.core.pipeline.cache import denied_action
from evctl.core.pipeline.graph import Graph, Node

__all__ = ["METRIC_WINDOW_SECONDS", "add_numbers"]

METRIC_WINDOW_SECONDS = 900  # the newest datapoint in the last 15 minutes
_QUERIES_PER_CALL = 500  # GetMetricData's limit


def add_numbers(graph: Graph, cloudwatch: Any | None, *, clock: Callable[[], float] = time.time) -> None:
    queues = [n for n in graph.sorted_nodes() if n.kind == "queue"]
    for node in queues:
        roles = sorted({e.kind for e in graph.in_edges(node.id) if e.kind in ("dead_letters_to", "target_dlq")})
        node.attributes["dlq_for"] = roles  # [] for a queue nobody dead-letters to
        node.attributes.setdefault("oldest_age_seconds", None)
    for edge in graph.sorted_edges():
        if edge.kind == "dead_letters_to" and edge.source in graph.nodes and edge.target in graph.nodes:
            graph.nodes[edge.source].attributes["dlq_depth"] = graph.nodes[edge.target].attributes.get("visible")
    readable = [n for n in queues if n.exists and "visible" in n.attributes]
    if cloudwatch is not None and readable:
        _oldest_ages(readable, cloudwatch, clock())


def _oldest_ages(queues: list[Node], cloudwatch: Any, now: float) -> None:
    end = datetime.fromtimestamp(now, UTC).replace(second=0, microsecond=0)
    start = datetime.fromtimestamp(now - METRIC_WINDOW_SECONDS, UTC).replace(second=0, microsecond=0)
    for offset in range(0, len(queues), _QUERIES_PER_CALL):
        chunk = queues[offset : offset + _QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"q{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": node.name}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
            for i, node in enumerate(chunk)
        ]
        try:
            answer = cloudwatch.get_metric_data(
                MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending"
            )
        except Exception as exc:  # metrics are supporting evidence: never fail the run for them
            action = denied_action(exc)
            for node in chunk:
                if action:
                    node.deny(action)
            continue
        for result in answer.get("MetricDataResults", []):
            index = str(result.get("Id", ""))[1:]
            values = result.get("Values") or []
            if index.isdigit() and int(index) < len(chunk) and values:
                chunk[int(index)].attributes["oldest_age_seconds"] = int(values[0])
