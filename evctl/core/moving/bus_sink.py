"""The bus sink: the body of a message EventBridge dead-lettered from a rule target is the event; BusSink puts it
back on a bus with evctl.core.events.publish (batching, validation and entry-level retries live there).

    check_bus(events, "orders")          # the bus exists (its ARN), checked before anything moves
    sink = BusSink(events, "orders", pacer=Pacer(50))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evctl.core.common.pacing import Pacer
from evctl.core.events import RETRYABLE_CODES, InvalidEntry, entry_from_json, publish, validate_entry
from evctl.core.moving.protocol import SinkFailure, SinkResult
from evctl.core.queues.messages import Received
from evctl.errors import NotFoundError, ServiceError, from_aws

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

EVENTBRIDGE_DLQ_ATTRIBUTES = ("ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN")


def is_eventbridge_dlq_message(message: Received) -> bool:
    """EventBridge adds these attributes when it dead-letters an event from a rule target."""
    return all(name in message.message_attributes for name in ("ERROR_CODE", "RULE_ARN"))


def check_bus(events: EventBridgeClient, bus: str) -> str:
    """The bus exists (DescribeEventBus accepts a name or an ARN); returns its ARN. Checked before anything moves."""
    try:
        response = events.describe_event_bus(Name=bus)
    except Exception as exc:
        mapped = from_aws(exc, f"event bus {bus}")
        if isinstance(mapped, NotFoundError):
            mapped.hint = "list buses with `aws events list-event-buses`"
        raise (mapped or exc) from exc
    return str(response.get("Arn") or bus)


def bus_entry(message: Received, bus: str) -> dict[str, Any] | SinkFailure:
    """The PutEvents entry a message's body makes on `bus`, or why it cannot be one (the one check the real run
    and the dry run share: a body that is not an EventBridge event is refused, and stays in the DLQ)."""
    try:
        envelope = json.loads(message.body)
        entry = entry_from_json(envelope, default_bus=bus)
    except (ValueError, InvalidEntry) as exc:
        return SinkFailure(
            message.message_id, "NotAnEvent", f"the body is not an EventBridge event ({exc})", retryable=False
        )
    entry["EventBusName"] = bus  # an entry-shaped body may name another bus; --to-bus decides
    trace = message.attributes.get("AWSTraceHeader")
    if trace and "TraceHeader" not in entry:
        entry["TraceHeader"] = trace
    problems = validate_entry(entry)
    if problems:
        return SinkFailure(message.message_id, "InvalidEntry", "; ".join(problems), retryable=False)
    return entry


class BusSink:
    """Publishes each message's body (an EventBridge event) back onto `bus` with events.publish."""

    def __init__(
        self, events: EventBridgeClient, bus: str, *, pacer: Pacer | None = None, max_attempts: int = 5
    ) -> None:
        self.events = events
        self.bus = bus
        self.pacer = pacer or Pacer(None)
        self.max_attempts = max_attempts
        self.api_calls = 0
        self.sent_ids: dict[str, str] = {}  # DLQ MessageId → the new EventId

    def entry_for(self, message: Received) -> dict[str, Any] | SinkFailure:
        return bus_entry(message, self.bus)

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        result = SinkResult()
        ready: list[tuple[Received, dict[str, Any]]] = []
        for message in batch:
            entry = self.entry_for(message)
            if isinstance(entry, SinkFailure):
                result.failed.append(entry)
            else:
                ready.append((message, entry))
        if not ready:
            return result
        self.pacer.take(len(ready))
        report = publish(self.events, [e for _, e in ready], concurrency=1, max_attempts=self.max_attempts)
        self.api_calls += report.api_calls
        for (message, _), outcome in zip(ready, report.results, strict=True):
            if outcome.ok:
                self.sent_ids[message.message_id] = str(outcome.event_id)
                result.taken.append(message.message_id)
            else:
                code = outcome.error_code or "Failed"
                retryable = code in RETRYABLE_CODES or code == "NotSent"
                result.failed.append(SinkFailure(message.message_id, code, outcome.error_message or "", retryable))
        if report.fatal is not None and not result.taken:
            raise (from_aws(report.fatal, f"event bus {self.bus}") or ServiceError(str(report.fatal))) from None
        return result
