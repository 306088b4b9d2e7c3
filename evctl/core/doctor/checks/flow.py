"""Cross-hop evidence from CloudWatch metrics (catalogue §2.12, X-*): where events disappear, backlog about to expire.

Metrics are supporting evidence: where a metric has no datapoints (a new queue, an emulator, metrics not read) the
check says `not checked` with that reason, never passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check

AGE_WINDOW_SECONDS = 900  # the newest ApproximateAgeOfOldestMessage: last 15 minutes
SQS_MAX_RETENTION = 1_209_600


Query = tuple[str, str, dict[str, str], str]  # namespace, metric name, dimensions, statistic (Sum, Maximum)


def metrics(ctx: DoctorContext, queries: list[Query], seconds: int) -> list[float | None]:
    """Each query's statistic over the last `seconds` (Sum added up, Maximum the largest; None: no datapoints),
    from one GetMetricData call. The window ends on a whole minute, so checks asking the same thing share the
    cached answer."""
    cloudwatch = ctx.clients.cloudwatch
    if cloudwatch is None:
        raise NotChecked("CloudWatch metrics are not read in this run")
    if not queries:
        return []
    end_s = int(ctx.now()) // 60 * 60
    period = max(60, -(-seconds // 60) * 60)
    end = dt.datetime.fromtimestamp(end_s, dt.UTC)
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
            for i, (namespace, name, dimensions, statistic) in enumerate(queries)
        ],
        "StartTime": end - dt.timedelta(seconds=period),
        "EndTime": end,
    }
    found: dict[str, list[float]] = {}
    while True:
        answer = cloudwatch.get_metric_data(**params)
        for result in answer.get("MetricDataResults") or []:
            found.setdefault(str(result.get("Id")), []).extend(float(v) for v in result.get("Values") or [])
        token = answer.get("NextToken")
        if not token:
            break
        params["NextToken"] = token
    values: list[float | None] = []
    for i, query in enumerate(queries):
        points = found.get(f"m{i}") or []
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
    rule_names = (
        "MatchedEvents",
        "Invocations",
        "FailedInvocations",
        "InvocationsSentToDlq",
        "InvocationsFailedToBeSentToDlq",
    )
    queue_names = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")
    function_names = ("Invocations", "Errors", "Throttles")
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
