"""Cross-hop evidence from CloudWatch metrics (catalogue §2.12, X-*): where events disappear, backlog about to expire.

Metrics are supporting evidence: where a metric has no datapoints (a new queue, an emulator, metrics not read) the
check says `not checked` with that reason, never passes.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import DescribeCache, Node

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check

RULE_METRICS = (
    "MatchedEvents",
    "Invocations",
    "FailedInvocations",
    "InvocationsSentToDlq",
    "InvocationsFailedToBeSentToDlq",
)
QUEUE_METRICS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")
FUNCTION_METRICS = ("Invocations", "Errors", "Throttles")
AGE_WINDOW_SECONDS = 900  # the newest ApproximateAgeOfOldestMessage: last 15 minutes
SQS_MAX_RETENTION = 1_209_600


Query = tuple[str, str, dict[str, str], str]  # namespace, metric name, dimensions, statistic (Sum, Maximum)
Key = tuple[str, str, tuple[tuple[str, str], ...], str]
Series = dict[Key, list[tuple[float, float]]]  # (period start, epoch seconds; value)

MAX_QUERIES = 500  # per GetMetricData call
MAX_POINTS = 1440  # per query: the period grows with the window
_LOCK = threading.Lock()
_RUNS: weakref.WeakKeyDictionary[DescribeCache, DescribeCache] = weakref.WeakKeyDictionary()


def _key(query: Query) -> Key:
    namespace, name, dimensions, statistic = query
    return namespace, name, tuple(sorted(dimensions.items())), statistic


def _graph_queries(ctx: DoctorContext) -> list[Query]:
    """Every metric a check may ask about, for every resource of the graph (fetched together, once per run)."""
    queries: list[Query] = []
    for node in ctx.graph.sorted_nodes():
        if not node.exists:
            continue
        if node.kind == "rule":
            queries += [("AWS/Events", n, rule_dimensions(node), "Sum") for n in RULE_METRICS]
        elif node.kind == "queue":
            queries += [("AWS/SQS", n, {"QueueName": node.name}, "Sum") for n in QUEUE_METRICS]
            queries.append(("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": node.name}, "Maximum"))
        elif node.kind == "function":
            queries += [("AWS/Lambda", n, {"FunctionName": node.name}, "Sum") for n in FUNCTION_METRICS]
            queries.append(("AWS/Lambda", "Duration", {"FunctionName": node.name}, "Maximum"))
    return queries


def _fetch(ctx: DoctorContext, queries: list[Query], end_s: int, seconds: int) -> Series:
    """The datapoints of `queries` over [end - seconds, end], MAX_QUERIES a GetMetricData call."""
    cloudwatch = ctx.clients.cloudwatch
    if cloudwatch is None:
        raise NotChecked("CloudWatch metrics are not read in this run")
    period = max(60, -(-seconds // MAX_POINTS // 60) * 60)
    end = dt.datetime.fromtimestamp(end_s, dt.UTC)
    series: Series = {_key(q): [] for q in queries}
    for first in range(0, len(queries), MAX_QUERIES):
        chunk = queries[first : first + MAX_QUERIES]
        params: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"m{i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": name,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                        },
                        "Period": period,
                        "Stat": statistic,
                    },
                    "ReturnData": True,
                }
                for i, (namespace, name, dimensions, statistic) in enumerate(chunk)
            ],
            "StartTime": end - dt.timedelta(seconds=seconds),
            "EndTime": end,
        }
        while True:
            answer = cloudwatch.get_metric_data(**params)
            for result in answer.get("MetricDataResults") or []:
                query = chunk[int(str(result.get("Id"))[1:])]
                stamps = [t.timestamp() for t in result.get("Timestamps") or []]
                series[_key(query)].extend(zip(stamps, (float(v) for v in result.get("Values") or []), strict=False))
            token = answer.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    return series


def _run_series(ctx: DoctorContext) -> tuple[Series, int, int]:
    """The graph's metrics over the longest window a check uses, read once per run."""
    end_s = int(ctx.now()) // 60 * 60  # whole minutes: the same answer for every check of the run
    window = max(ctx.log_window_seconds, AGE_WINDOW_SECONDS)
    with _LOCK:
        memo = _RUNS.setdefault(ctx.cache, DescribeCache())
    series: Series = memo.read(
        ("doctor", "metrics", str(end_s)),
        "cloudwatch:GetMetricData",
        lambda: _fetch(ctx, _graph_queries(ctx), end_s, window),
    )
    return series, end_s, window


def metrics(ctx: DoctorContext, queries: list[Query], seconds: int) -> list[float | None]:
    """Each query's statistic over the last `seconds` (Sum added up, Maximum the largest; None: no datapoints).
    The graph's metrics are read together once per run (GetMetricData, 500 queries a call); a query outside that
    set is read on its own."""
    if ctx.clients.cloudwatch is None:
        raise NotChecked("CloudWatch metrics are not read in this run")
    series, end_s, window = _run_series(ctx)
    missing = [q for q in queries if _key(q) not in series or seconds > window]
    if missing:
        series = {**series, **_fetch(ctx, missing, end_s, seconds)}
    values: list[float | None] = []
    for query in queries:
        points = [value for stamp, value in series[_key(query)] if stamp >= end_s - seconds]
        values.append(None if not points else sum(points) if query[3] == "Sum" else max(points))
    return values


def metric(
    ctx: DoctorContext, namespace: str, name: str, dimensions: dict[str, str], statistic: str, seconds: int
) -> float | None:
    """One statistic of one metric over the last `seconds` (see metrics)."""
    return metrics(ctx, [(namespace, name, dimensions, statistic)], seconds)[0]


def rule_dimensions(rule: Node) -> dict[str, str]:
    """AWS/Events: RuleName alone is the default bus; a custom bus's rule carries EventBusName too."""
    bus = str(rule.attributes.get("event_bus") or "default")
    return {"RuleName": rule.name} if bus == "default" else {"EventBusName": bus, "RuleName": rule.name}


@check("X-AGE-1", on="queue")
def backlog_about_to_expire(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The oldest message past half the retention period: it is deleted unprocessed when it reaches it."""
    attributes = ctx.queue_attributes(node)
    retention = int(attributes.get("MessageRetentionPeriod") or 345_600)
    age = metric(
        ctx, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": node.name}, "Maximum", AGE_WINDOW_SECONDS
    )
    if age is None:
        raise NotChecked("no AWS/SQS ApproximateAgeOfOldestMessage datapoints in the last 15 minutes")
    if age <= retention / 2:
        return
    is_dlq = bool(ctx.upstream(node, "dead_letters_to"))
    url = str(node.attributes.get("url") or "")
    command = None
    if retention < SQS_MAX_RETENTION and url:
        command = (
            f"aws sqs set-queue-attributes --queue-url {url} --attributes MessageRetentionPeriod={SQS_MAX_RETENTION}"
        )
    yield Finding(
        check="X-AGE-1",
        resource=node.id,
        message=f"the oldest message in {node.name} is {age / 3600:.1f} h old, {age / retention:.0%} of its "
        f"{retention / 86400:g}-day retention: it expires unprocessed in {(retention - age) / 3600:.1f} h"
        + (" (on a DLQ the age counts from the move, so the message is older)" if is_dlq else ""),
        evidence={
            "ApproximateAgeOfOldestMessage_max": age,
            "MessageRetentionPeriod": retention,
            "window_seconds": AGE_WINDOW_SECONDS,
            "is_dlq": is_dlq,
        },
        fix=Fix(
            summary="buy time (retention to 14 days), then fix what stops the consumer (E-STATE-1, I-SQS-1, F-RC-1, "
            "F-SHAPE-1) or redrive the messages",
            value={"MessageRetentionPeriod": str(SQS_MAX_RETENTION)} if command else None,
            command=command,
        ),
    )


def _hop(label: str, resource: str, values: dict[str, float | None]) -> dict[str, Any]:
    return {"hop": label, "resource": resource, **values}


@check("X-FLOW-1", on="queue")
def flow_balance(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Counts at each hop over the log window; the first hop where they drop is where events disappear."""
    rules = [r for r in ctx.upstream(node, "routes_to") if r.kind == "rule" and r.exists]
    mappings = [m for m in ctx.downstream(node, "polls") if m.exists]
    functions = [f for m in mappings for f in ctx.downstream(m, "invokes") if f.exists]
    if not rules and not mappings:
        return
    window = ctx.log_window_seconds
    rule_names, queue_names, function_names = RULE_METRICS, QUEUE_METRICS, FUNCTION_METRICS
    queries: list[Query] = [("AWS/Events", n, rule_dimensions(r), "Sum") for r in rules for n in rule_names]
    queries += [("AWS/SQS", n, {"QueueName": node.name}, "Sum") for n in queue_names]
    queries += [("AWS/Lambda", n, {"FunctionName": f.name}, "Sum") for f in functions for n in function_names]
    answers = iter(metrics(ctx, queries, window))
    hops: list[dict[str, Any]] = []
    drops: list[str] = []
    matched_total = delivered_total = 0.0
    for rule in rules:
        values = {name: next(answers) for name in rule_names}
        hops.append(_hop(f"rule {rule.name}", rule.id, values))
        matched_total += values["MatchedEvents"] or 0
        delivered_total += (values["Invocations"] or 0) - (values["FailedInvocations"] or 0)
        if values["FailedInvocations"]:
            drops.append(
                f"rule {rule.name}: {values['FailedInvocations']:g} failed deliveries to its targets "
                f"({values['InvocationsSentToDlq'] or 0:g} to its DLQ)"
            )
    queue_values = {name: next(answers) for name in queue_names}
    hops.append(_hop(f"queue {node.name}", node.id, queue_values))
    sent = queue_values["NumberOfMessagesSent"]
    if matched_total and sent is not None and sent < delivered_total:
        drops.append(f"queue {node.name}: rules delivered {delivered_total:g} but the queue counts {sent:g} sent")
    if matched_total and not sent:
        drops.append(f"queue {node.name}: rules matched {matched_total:g} events but the queue received none")
    for function in functions:
        values = {name: next(answers) for name in function_names}
        hops.append(_hop(f"function {function.name}", function.id, values))
        if values["Throttles"]:
            drops.append(f"function {function.name}: {values['Throttles']:g} throttles")
        if values["Errors"]:
            drops.append(f"function {function.name}: {values['Errors']:g} errors")
    received, deleted = queue_values["NumberOfMessagesReceived"], queue_values["NumberOfMessagesDeleted"]
    if received and (deleted or 0) < received:
        drops.append(f"queue {node.name}: {received:g} received, {deleted or 0:g} deleted (the rest came back)")
    if all(v is None for hop in hops for k, v in hop.items() if k not in ("hop", "resource")):
        raise NotChecked(f"no metric datapoints for any hop in the last {window // 60} min")
    if not drops:
        return
    yield Finding(
        check="X-FLOW-1",
        resource=node.id,
        message=f"events drop first at {drops[0]}",
        evidence={"window_seconds": window, "hops": hops, "drops": drops},
        fix=Fix(
            summary="the drop's hop names the checks to read: rule → R-/T-/Q-POLICY-*, queue → Q-*/E-*, "
            "function → F-*/I-*"
        ),
        related=tuple(h["resource"] for h in hops if h["resource"] != node.id),
    )
