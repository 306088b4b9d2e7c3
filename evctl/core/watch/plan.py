"""What is watched: the hops of a discovered pipeline and the numbers read for each.

    hops = plan_hops(graph)        # [Hop]: rules, queues, DLQs, functions, in flow order
    hops[0].metrics                # (MetricSpec("matched", ("AWS/Events", "MatchedEvents", {...}, "Sum")), ...)

| hop | from GetQueueAttributes | from CloudWatch (one GetMetricData a minute for the whole pipeline) |
| --- | --- | --- |
| rule | | matched (MatchedEvents, Sum), failed (FailedInvocations, Sum) |
| queue | visible, in_flight, delayed (every interval) | oldest_age_seconds (ApproximateAgeOfOldestMessage, Maximum) |
| dlq | depth (= visible), in_flight, delayed (once a minute) | oldest_age_seconds |
| function | | invocations, errors, throttles (Sum), duration_p95_ms (Duration, p95) |

A queue something dead-letters to (a RedrivePolicy or a rule target's DeadLetterConfig) is a DLQ. Buses, mappings,
log groups and other targets carry no live numbers and are not hops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evctl.core.common.metrics import Query
from evctl.core.doctor.metrics import rule_dimensions
from evctl.core.pipeline import Graph, Node

__all__ = ["QUEUE_VALUES", "Hop", "MetricSpec", "Role", "plan_hops"]

Role = Literal["rule", "queue", "dlq", "function"]
ROLE_ORDER: tuple[Role, ...] = ("rule", "queue", "dlq", "function")
QUEUE_VALUES = ("visible", "in_flight", "delayed")  # what one GetQueueAttributes gives a queue hop


@dataclass(frozen=True)
class MetricSpec:
    name: str  # the watch's own name for it: matched, failed, oldest_age_seconds, invocations, ...
    query: Query  # (namespace, metric name, dimensions, statistic), as core.common.metrics takes it


@dataclass(frozen=True)
class Hop:
    id: str  # the ARN
    role: Role
    name: str
    url: str = ""  # a queue's URL (GetQueueAttributes); "" when discovery could not read it
    exists: bool = True
    not_read: tuple[str, ...] = ()  # discovery's notes ("not read: sqs:GetQueueAttributes denied")
    metrics: tuple[MetricSpec, ...] = ()
    related: tuple[str, ...] = ()  # a queue: its DLQs' names; a DLQ: the queues (or rules) that dead-letter to it

    @property
    def kind(self) -> str:
        return "queue" if self.role == "dlq" else self.role

    @property
    def polled(self) -> bool:
        """Read with GetQueueAttributes (a queue or DLQ whose URL discovery found)."""
        return self.role in ("queue", "dlq") and bool(self.url) and self.exists


def _metrics(node: Node) -> tuple[MetricSpec, ...]:
    if node.kind == "rule":
        dims = rule_dimensions(node)
        return (MetricSpec("matched", ("AWS/Events", "MatchedEvents", dims, "Sum")),
                MetricSpec("failed", ("AWS/Events", "FailedInvocations", dims, "Sum")))  # fmt: skip
    if node.kind == "queue":
        return (MetricSpec("oldest_age_seconds",
                           ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": node.name}, "Maximum")),)  # fmt: skip
    if node.kind == "function":
        dims = {"FunctionName": node.name}
        return (
            MetricSpec("invocations", ("AWS/Lambda", "Invocations", dims, "Sum")),
            MetricSpec("errors", ("AWS/Lambda", "Errors", dims, "Sum")),
            MetricSpec("throttles", ("AWS/Lambda", "Throttles", dims, "Sum")),
            MetricSpec("duration_p95_ms", ("AWS/Lambda", "Duration", dims, "p95")),
        )
    return ()


def _role(graph: Graph, node: Node) -> Role | None:
    if node.kind == "queue":
        dead_lettered = any(e.kind in ("dead_letters_to", "target_dlq") for e in graph.in_edges(node.id))
        return "dlq" if dead_lettered else "queue"
    if node.kind in ("rule", "function"):
        return node.kind
    return None


def _related(graph: Graph, node: Node, role: Role) -> tuple[str, ...]:
    def name(node_id: str) -> str:
        other = graph.nodes.get(node_id)
        return other.name if other is not None else node_id

    if role == "queue":
        return tuple(sorted(name(e.target) for e in graph.out_edges(node.id) if e.kind == "dead_letters_to"))
    if role == "dlq":
        kinds = ("dead_letters_to", "target_dlq")
        return tuple(sorted({name(e.source) for e in graph.in_edges(node.id) if e.kind in kinds}))
    return ()


def plan_hops(graph: Graph) -> list[Hop]:
    """The graph's rules, queues, DLQs and functions, in flow order (then by ARN)."""
    hops: list[Hop] = []
    for node in graph.sorted_nodes():
        role = _role(graph, node)
        if role is None:
            continue
        hops.append(
            Hop(
                id=node.id,
                role=role,
                name=node.name,
                url=str(node.attributes.get("url") or ""),
                exists=node.exists,
                not_read=tuple(node.not_read),
                metrics=_metrics(node) if node.exists else (),
                related=_related(graph, node, role),
            )
        )
    return sorted(hops, key=lambda hop: (ROLE_ORDER.index(hop.role), hop.id))
