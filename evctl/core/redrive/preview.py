"""The dry run of a redrive: which messages would move, seen with the honest peek (received, released at once,
never deleted), selected with the one message filter (evctl.core.common.filters), as the real run selects them.
To a bus, each is checked with the real run's own check (moving.bus_entry): a body that is not an event is listed
with movable false and the reason (the real run would refuse it and leave it in the DLQ)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evctl.core.common.filters import FilterGuard, compile_filter
from evctl.core.moving import SinkFailure, bus_entry
from evctl.core.queues import decoded, peek_messages, queue_stats
from evctl.core.queues.messages import iso_millis
from evctl.core.redrive.plan import RedrivePlan

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PREVIEW_PEEK_MAX = 500  # with a filter, at most this many messages are peeked to find `limit` matches


def preview(
    sqs: SQSClient, plan: RedrivePlan, *, limit: int, filter: str | None, wait_seconds: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """--dry-run: up to `limit` messages that would move, and the DLQ's approximate depth. With a filter, more are
    peeked to find `limit` matches; a message matches exactly when the real run's filter would take it."""
    selector = compile_filter(filter)
    depth = queue_stats(sqs, plan.dlq).visible
    count = limit if selector is None else max(limit, min(depth, PREVIEW_PEEK_MAX))
    peeked = peek_messages(sqs, plan.dlq, count=max(1, count), wait_seconds=wait_seconds)
    items: list[dict[str, Any]] = []
    guard = FilterGuard(selector.expression) if selector is not None else None
    for message in peeked.messages:
        view = decoded(message)
        if selector is not None and guard is not None:
            hit, error = selector.evaluate(view)
            guard.record(error)
            if not hit:
                continue
        refusal = bus_entry(message, plan.to_bus) if plan.to_bus else None
        problem = f"{refusal.code}: {refusal.message}" if isinstance(refusal, SinkFailure) else None
        items.append(
            {
                "movable": problem is None,  # False: the real run refuses it and leaves it in the DLQ
                "problem": problem,
                "message_id": message.message_id,
                "kind": view["kind"],
                "sent": iso_millis(message.attributes.get("SentTimestamp")),
                "receives": message.receive_count,
                "group": message.group_id,
                "error_code": view["messageAttributes"].get("ERROR_CODE"),
                "destination": plan.destination_label,
                "body": view["body"],
            }
        )
        if len(items) >= limit:
            break
    if guard is not None and not items:
        guard.check()  # the same selection as the real run: a filter failing on every message is refused
    return items, depth
