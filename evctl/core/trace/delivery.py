"""The `delivered` hop of one route: the sandbox's delivery ledger (exact: delivered, retrying, refused, sent to the
target's DLQ, dropped), else the rule's AWS/Events Invocations / FailedInvocations and the queue's
NumberOfMessagesSent summed since publishing (aggregates, 1–3 minutes late: "not yet visible" is never "failed").

    hop = delivered_hop(state, has_ledger=True)
"""

from __future__ import annotations

from typing import Any

from .result import Hop
from .state import RouteState

__all__ = ["METRICS_DELAY", "delivered_hop"]

METRICS_DELAY = (
    "CloudWatch metrics arrive 1–3 minutes late: a hop they do not show yet is 'not yet visible', not failed"
)


def delivered_hop(state: RouteState, *, has_ledger: bool | None) -> Hop:
    """`delivered` for one route: the delivery ledger (exact), else the rule's and the queue's CloudWatch sums
    (aggregates, late), else waiting."""
    route = state.route
    data: dict[str, Any]
    where = route.queue_arn
    if not route.exists:
        return Hop(
            "delivered",
            "stalled",
            where,
            detail=f"the rule targets {route.queue_name}, which does not exist",
            evidence="offline",
        )
    if state.deliveries:
        last = state.deliveries[-1]
        data = {"ledger": [dict(d.raw) for d in state.deliveries]}
        code = f" ({last.error_code}: {last.error_message})" if last.error_code else ""
        if last.outcome == "delivered":
            return Hop(
                "delivered",
                "ok",
                where,
                last.time_ms,
                f"delivered to {route.queue_name}"
                + (f" on attempt {last.attempt}" if last.attempt and last.attempt > 1 else ""),
                "ledger",
                data=data,
            )
        if last.outcome == "retrying":
            return Hop(
                "delivered",
                "waiting",
                where,
                last.time_ms,
                f"EventBridge is retrying the delivery (attempt {last.attempt or '?'}){code}",
                "ledger",
                data=data,
            )
        verb = {
            "refused": "refused",
            "sent_to_dlq": "refused and sent to the target's DLQ",
            "dropped": "refused and dropped (the target has no DLQ)",
        }.get(last.outcome, last.outcome)
        return Hop(
            "delivered", "stalled", where, last.time_ms, f"{route.queue_name}: {verb}{code}", "ledger", data=data
        )
    metrics = state.metrics
    if metrics:
        failed, sent, invoked = metrics.get("failed"), metrics.get("sent"), metrics.get("rule_invocations")
        data = {"metrics": dict(metrics)}
        if failed:
            return Hop(
                "delivered",
                "stalled",
                where,
                None,
                f"rule {route.rule}: FailedInvocations {failed:g} since publishing (CloudWatch; not "
                "specific to this event)",
                "metrics",
                exact=False,
                data=data,
            )
        if sent or invoked:
            return Hop(
                "delivered",
                "ok",
                where,
                None,
                f"rule {route.rule}: Invocations {invoked or 0:g}, {route.queue_name}: NumberOfMessagesSent "
                f"{sent or 0:g} since publishing (CloudWatch; not specific to this event)",
                "metrics",
                exact=False,
                data=data,
            )
    if has_ledger:
        return Hop("delivered", "waiting", where, detail="no delivery record yet", evidence="ledger")
    return Hop(
        "delivered",
        "waiting",
        where,
        detail="not yet visible (no delivery ledger; " + METRICS_DELAY + ")",
        evidence="metrics",
        exact=False,
    )
