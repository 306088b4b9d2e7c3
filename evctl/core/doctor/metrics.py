"""CloudWatch metrics for the checks: the graph's metrics read together once per run, every reader goes through here.

    values = metrics(ctx, [("AWS/SQS", "NumberOfMessagesSent", {"QueueName": "q"}, "Sum")], 3600)  # [float | None]
    metric(ctx, "AWS/Lambda", "Errors", {"FunctionName": "f"}, "Sum", 3600)      # one value (None: no datapoints)
    evidence_metric(ctx, "AWS/Events", "FailedInvocations", rule_dimensions(rule), 86400)  # float, or why not

The first question of a run reads every metric a check may ask about, for every resource of the graph, in
GetMetricData calls of 500 queries (the period grows with the window, at most 1440 points a query); later questions
are answered from that series; a longer question (a day of deletes) from one more read of one datapoint per query.
The window ends at the end of the current minute, so a datapoint put this minute (the sandbox's metrics are
immediate) counts.
"""

from __future__ import annotations

import threading
import weakref

from botocore.exceptions import ClientError

from evctl.core.common.metrics import Query, Series, fetch_series, series_key
from evctl.core.pipeline import DescribeCache, Node, denied_action
from evctl.errors import error_code

from .context import DoctorContext
from .model import NotChecked

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


_LOCK = threading.Lock()
_RUNS: weakref.WeakKeyDictionary[DescribeCache, DescribeCache] = weakref.WeakKeyDictionary()


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


def _fetch(ctx: DoctorContext, queries: list[Query], end_s: int, seconds: int, period: int | None = None) -> Series:
    if ctx.clients.cloudwatch is None:
        raise NotChecked("CloudWatch metrics are not read in this run")
    return fetch_series(ctx.clients.cloudwatch, queries, end_s=end_s, seconds=seconds, period=period)


def _run_series(ctx: DoctorContext, seconds: int) -> tuple[Series, int, int, int | None]:
    """The graph's metrics read once per run for a question over the last `seconds`: per minute over the log
    window (and the age check's), or, for a longer question (a day of deletes), as one datapoint per query over
    that span: a day per minute would cost CloudWatch, and an emulator, 1440 periods a query for one sum."""
    end_s = int(ctx.now()) // 60 * 60 + 60  # the end of this minute: the same answer for every check of the run
    window = max(ctx.log_window_seconds, AGE_WINDOW_SECONDS)
    period = None if seconds <= window else seconds
    span = window if seconds <= window else seconds
    with _LOCK:
        memo = _RUNS.setdefault(ctx.cache, DescribeCache())
    series: Series = memo.read(
        ("doctor", "metrics", f"{end_s}/{span}/{period}"),
        "cloudwatch:GetMetricData",
        lambda: _fetch(ctx, _graph_queries(ctx), end_s, span, period),
    )
    return series, end_s, span, period


def metrics(ctx: DoctorContext, queries: list[Query], seconds: int) -> list[float | None]:
    """Each query's statistic over the last `seconds` (Sum added up, Maximum the largest; None: no datapoints).
    The graph's metrics are read together once per run and span (GetMetricData, 500 queries a call); a query
    outside that set is read on its own."""
    if ctx.clients.cloudwatch is None:
        raise NotChecked("CloudWatch metrics are not read in this run")
    series, end_s, span, period = _run_series(ctx, seconds)
    missing = [q for q in queries if series_key(q) not in series]
    if missing:  # read as the run's series were, so the answer is the same kind
        series = {**series, **_fetch(ctx, missing, end_s, span, period)}
    values: list[float | None] = []
    for query in queries:
        points = [value for stamp, value in series[series_key(query)] if stamp >= end_s - seconds]
        values.append(None if not points else sum(points) if query[3] == "Sum" else max(points))
    return values


def metric(
    ctx: DoctorContext, namespace: str, name: str, dimensions: dict[str, str], statistic: str, seconds: int
) -> float | None:
    """One statistic of one metric over the last `seconds` (see metrics)."""
    return metrics(ctx, [(namespace, name, dimensions, statistic)], seconds)[0]


def rule_dimensions(rule: Node) -> dict[str, str]:
    """AWS/Events: RuleName alone is the default bus; a custom bus's rule carries EventBusName too [EB-MON] (a
    wrong dimension set reads as "no traffic")."""
    bus = str(rule.attributes.get("event_bus") or "default")
    bus = bus.rpartition("event-bus/")[2] if bus.startswith("arn:") else bus
    return {"RuleName": rule.name} if bus == "default" else {"EventBusName": bus, "RuleName": rule.name}


def evidence_metric(
    ctx: DoctorContext, namespace: str, name: str, dimensions: dict[str, str], seconds: int, statistic: str = "Sum"
) -> float | str:
    """A metric used as supporting evidence: its value, or a short reason there is none ("no datapoints",
    "metrics not read", "cloudwatch:GetMetricData denied"); it never decides a check on its own."""
    try:
        value = metric(ctx, namespace, name, dimensions, statistic, seconds)
    except NotChecked:
        return "metrics not read"
    except ClientError as exc:
        action = denied_action(exc)
        return f"{action} denied" if action else f"not available ({error_code(exc)})"
    return "no datapoints" if value is None else value
