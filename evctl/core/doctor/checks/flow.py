"""Cross-hop evidence from CloudWatch metrics (catalogue §2.12, X-*): where events disappear, backlog about to expire.

Metrics are supporting evidence: where a metric has no datapoints (a new queue, an emulator, metrics not read) the
check says `not checked` with that reason, never passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evctl.core.common.metrics import Query
from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..metrics import (
    AGE_WINDOW_SECONDS,
    FUNCTION_METRICS,
    QUEUE_METRICS,
    RULE_METRICS,
    metric,
    metrics,
    rule_dimensions,
)
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .queue_common import SQS_MAX_RETENTION


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
