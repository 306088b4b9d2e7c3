"""The queue sink: manual redrive sends each received message to another queue before the mover deletes it.

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
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from evctl.core.common.batching import batch_admits
from evctl.core.common.pacing import Pacer
from evctl.core.moving.protocol import SinkFailure, SinkInterrupted, SinkResult
from evctl.core.queues.messages import OutgoingMessage, Received, message_size, outgoing_from_received
from evctl.core.queues.ref import QueueRef
from evctl.core.queues.send import MAX_BATCH_ENTRIES, MAX_REQUEST_BYTES, send_batch_once
from evctl.errors import QUEUE_NOT_FOUND_CODES, EvctlError, NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_BATCH_BYTES = MAX_REQUEST_BYTES  # SendMessageBatch: the sum of all messages in one call
DEDUP_PREFIX = "evctl-redrive-"


def dedup_id_for(message: Received) -> str:
    """The deduplication id a redriven copy carries on a FIFO destination (see the module doc)."""
    return f"{DEDUP_PREFIX}{message.message_id}"[:128]


class QueueSink:
    """Sends received messages to `destination` (see the module doc for what is kept and how)."""

    def __init__(
        self,
        sqs: SQSClient,
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
                full = full or not batch_admits(
                    len(call), size, entry_size, max_count=MAX_BATCH_ENTRIES, max_bytes=MAX_BATCH_BYTES
                )
                if full or (group is not None and group in groups_in_call):
                    rest.append(message)  # the next call; order is kept
                    continue
                call.append((message, out))
                size += entry_size
                if group is not None:
                    groups_in_call.add(group)
            if not call:
                break
            try:
                failed = self._send(call)
            except EvctlError as exc:
                if result.taken:  # earlier calls of this batch were sent: the mover must count (and delete) them
                    raise SinkInterrupted(exc, result) from exc
                raise
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
        """One SendMessageBatch (send_batch_once checks every entry); returns the entries that failed."""
        self.pacer.take(len(call))
        with self._lock:
            self.api_calls += 1
        outcomes = send_batch_once(self.sqs, self.destination, [out for _, out in call])
        if all(not o.ok for o in outcomes) and outcomes[0].code in QUEUE_NOT_FOUND_CODES:
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
