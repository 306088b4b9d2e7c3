"""Sinks that manual redrive hands to the mover (evctl.core.moving.engine.Sink): send to a queue, publish to a bus,
and a journal that records what moved before the mover deletes it.

QueueSink: SendMessageBatch with the body, every message attribute (String, Number, Binary and custom
types), the AWSTraceHeader, and on a FIFO destination the message group and a derived deduplication id.
Every Failed[] entry is checked: only entries SQS acknowledged are reported taken (and so deleted);
SenderFault=false failures are offered again by the mover, SenderFault=true ones are reported and stay in
the DLQ. On a FIFO destination a call carries at most one message per group, so a failed entry never has a
later message of its group already sent: order within a group is kept.

The FIFO deduplication id is derived from the DLQ message's own MessageId ("evctl-redrive-<MessageId>"),
never the original MessageDeduplicationId: SQS remembers dedup ids for 5 minutes even after the message was
consumed, so re-using the original id on its original queue would be accepted and silently dropped (and the
DLQ copy then deleted: a loss). The derived id is new to the destination, and stable for one DLQ message, so a
re-send of the same message after a crash inside the 5 minutes is de-duplicated by SQS instead of delivered twice.

BusSink: the body of a message EventBridge dead-lettered from a rule target is the event; it is put back on a
bus with events.publish (batching, validation and entry-level retries live there).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from evctl.core.moving.engine import SinkFailure, SinkResult
from evctl.core.queues.messages import OutgoingMessage, Received, message_size, outgoing_from_received
from evctl.core.queues.queues import QueueRef
from evctl.errors import NotFoundError, ServiceError, from_aws

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576  # SendMessageBatch: the sum of all messages in one call
DEDUP_PREFIX = "evctl-redrive-"
EVENTBRIDGE_DLQ_ATTRIBUTES = ("ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN")


def dedup_id_for(message: Received) -> str:
    """The deduplication id a redriven copy carries on a FIFO destination (see the module doc)."""
    return f"{DEDUP_PREFIX}{message.message_id}"[:128]


class Pacer:
    """Keeps a sink at or under `rate` messages per second (None: as fast as the service allows)."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self, count: int) -> None:
        if not self.rate or count <= 0:
            return
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + count / self.rate
        if start > now:
            self.sleep(start - now)


class QueueSink:
    """Sends received messages to `destination` (see the module doc for what is kept and how)."""

    def __init__(
        self,
        sqs: Any,
        destination: QueueRef,
        *,
        group_id: str | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.sqs = sqs
        self.destination = destination
        self.group_id = group_id
        self.pacer = pacer or Pacer(None)
        self.api_calls = 0
        self.sent_ids: dict[str, str] = {}  # DLQ MessageId → the destination's new MessageId
        # FIFO group → the earliest of its messages that failed to send; later ones wait until it is sent.
        self._blockers: dict[str, str] = {}
        self._lock = threading.Lock()

    def outgoing(self, message: Received) -> OutgoingMessage:
        out = outgoing_from_received(message)
        if self.destination.fifo:
            out.group_id = out.group_id or self.group_id
            out.dedup_id = dedup_id_for(message)
        else:
            out.group_id = None  # FIFO → standard: no groups, no deduplication (the plan warned)
            out.dedup_id = None
        return out

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        result = SinkResult()
        in_batch = {m.message_id for m in batch}
        failed_here: set[str] = set()
        pending = list(batch)
        while pending:
            call: list[tuple[Received, OutgoingMessage]] = []
            rest: list[Received] = []
            size = 0
            full = False
            groups_in_call: set[str] = set()
            for message in pending:
                out = self.outgoing(message)
                group = out.group_id if self.destination.fifo else None
                blocker = self._blockers.get(group) if group is not None else None
                if blocker is not None and blocker != message.message_id:
                    # An earlier message of its group is unsent: sending this one now would overtake it.
                    if blocker in in_batch and blocker not in failed_here:
                        rest.append(message)  # the blocker is being sent in this call: try after it
                    else:
                        result.failed.append(_group_waits(message, permanent=blocker not in in_batch))
                    continue
                entry_size = message_size(out)
                full = full or len(call) == MAX_BATCH_ENTRIES or (bool(call) and size + entry_size > MAX_BATCH_BYTES)
                if full or (group is not None and group in groups_in_call):
                    rest.append(message)  # the next call; order is kept
                    continue
                call.append((message, out))
                size += entry_size
                if group is not None:
                    groups_in_call.add(group)
            if not call:
                break
            failed = self._send(call)
            failed_ids = {message.message_id for message, _ in failed}
            failed_here |= failed_ids
            with self._lock:
                for message, out in call:
                    group = out.group_id if self.destination.fifo else None
                    if group is None:
                        continue
                    if message.message_id in failed_ids:
                        self._blockers.setdefault(group, message.message_id)
                    elif self._blockers.get(group) == message.message_id:
                        del self._blockers[group]
            result.failed.extend(failure for _, failure in failed)
            result.taken.extend(m.message_id for m, _ in call if m.message_id not in failed_ids)
            pending = rest
        return result

    def _send(self, call: list[tuple[Received, OutgoingMessage]]) -> list[tuple[Received, SinkFailure]]:
        """One SendMessageBatch (sinks.send_batch_once checks every entry); returns the entries that failed."""
        from evctl.core.moving.sinks import send_batch_once

        self.pacer.take(len(call))
        with self._lock:
            self.api_calls += 1
        outcomes = send_batch_once(self.sqs, self.destination, [out for _, out in call])
        if all(not o.ok for o in outcomes) and outcomes[0].code in _DESTINATION_GONE:
            raise NotFoundError(
                f"queue {self.destination.name} not found", "was it deleted while evctl was moving messages?"
            )
        failures: list[tuple[Received, SinkFailure]] = []
        for (message, _), outcome in zip(call, outcomes, strict=True):
            if outcome.ok:
                with self._lock:
                    self.sent_ids[message.message_id] = str(outcome.message_id)
            else:
                failures.append(
                    (message, SinkFailure(message.message_id, outcome.code, outcome.error, outcome.retryable))
                )
        return failures


_DESTINATION_GONE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue"})


def _group_waits(message: Received, *, permanent: bool) -> SinkFailure:
    if permanent:
        return SinkFailure(
            message.message_id,
            "GroupBlocked",
            "an earlier message of its FIFO group could not be sent; it stays in the DLQ to keep the order",
            retryable=False,
        )
    return SinkFailure(
        message.message_id, "WaitingForGroup", "waits for an earlier message of its FIFO group", retryable=True
    )


# ---- EventBridge ---------------------------------------------------------------------------------------


def is_eventbridge_dlq_message(message: Received) -> bool:
    """EventBridge adds these attributes when it dead-letters an event from a rule target."""
    return all(name in message.message_attributes for name in ("ERROR_CODE", "RULE_ARN"))


def check_bus(events: Any, bus: str) -> str:
    """The bus exists (DescribeEventBus accepts a name or an ARN); returns its ARN. Checked before anything moves."""
    try:
        response = events.describe_event_bus(Name=bus)
    except Exception as exc:
        mapped = from_aws(exc, f"event bus {bus}")
        if isinstance(mapped, NotFoundError):
            mapped.hint = "list buses with `aws events list-event-buses`"
        raise (mapped or exc) from exc
    return str(response.get("Arn") or bus)


class BusSink:
    """Publishes each message's body (an EventBridge event) back onto `bus` with events.publish."""

    def __init__(self, events: Any, bus: str, *, pacer: Pacer | None = None, max_attempts: int = 5) -> None:
        self.events = events
        self.bus = bus
        self.pacer = pacer or Pacer(None)
        self.max_attempts = max_attempts
        self.api_calls = 0
        self.sent_ids: dict[str, str] = {}  # DLQ MessageId → the new EventId

    def entry_for(self, message: Received) -> dict[str, Any] | SinkFailure:
        from evctl.core.events import InvalidEntry, entry_from_json, validate_entry

        try:
            envelope = json.loads(message.body)
            entry = entry_from_json(envelope, default_bus=self.bus)
        except (ValueError, InvalidEntry) as exc:
            return SinkFailure(
                message.message_id, "NotAnEvent", f"the body is not an EventBridge event ({exc})", retryable=False
            )
        entry["EventBusName"] = self.bus  # an entry-shaped body may name another bus; --to-bus decides
        trace = message.attributes.get("AWSTraceHeader")
        if trace and "TraceHeader" not in entry:
            entry["TraceHeader"] = trace
        problems = validate_entry(entry)
        if problems:
            return SinkFailure(message.message_id, "InvalidEntry", "; ".join(problems), retryable=False)
        return entry

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        from evctl.core.events import RETRYABLE_CODES, publish

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


class JournalSink:
    """Records what `inner` took in `journal` (a FileSink: appended, flushed and fsynced) before the mover deletes
    it. The lines are drain lines, so `evctl queue send QUEUE FILE` can replay a journal. A journal that cannot be
    written stops the move with nothing of that batch deleted (those messages were sent: duplicates, never a loss).
    """

    def __init__(self, inner: Any, journal: Any) -> None:
        self.inner = inner
        self.journal = journal

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        result: SinkResult = self.inner.accept(batch)
        taken = set(result.taken)
        moved = [m for m in batch if m.message_id in taken]
        if moved:
            self.journal.accept(moved)
        return result
