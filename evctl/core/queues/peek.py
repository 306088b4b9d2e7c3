"""Peek: show messages without consuming them (receive, hold for the peek, release; never delete).

Also the two small SQS helpers other loops share: `release_messages` (visibility 0, Failed[] checked) and
`stop_check` (a threading.Event, a callable or None as one `() -> bool`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evctl.core.queues.attributes import parse_redrive_policy, queue_attributes
from evctl.core.queues.messages import Received
from evctl.core.queues.peek_memory import PeekMemory, memory_key
from evctl.core.queues.ref import QueueRef, queue_error
from evctl.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

StopSignal = threading.Event | Callable[[], bool] | None


@dataclass
class PeekResult:
    """What a peek saw and why it stopped. Every message it received was released again (visibility 0)."""

    queue: QueueRef
    messages: list[Received]  # in the order first seen
    stopped_by: str  # "count", "no-new", "limit", "stop"
    max_receive_count: int | None
    at_limit: list[str] = field(default_factory=list)  # ids whose receive count reached maxReceiveCount
    duplicates: int = 0  # messages received again (deduplicated by MessageId)
    released: int = 0
    release_failed: int = 0
    receives: int = 0
    memory_error: str | None = None  # the peek memory could not be written: its protection is off


def peek_messages(
    sqs_client: SQSClient,
    queue: QueueRef,
    *,
    count: int = 10,
    force: bool = False,
    wait_seconds: int = 1,
    hold_seconds: int = 30,
    should_stop: StopSignal = None,
    memory: PeekMemory | None = None,
) -> PeekResult:
    """Show messages without consuming them: receive, hold for the peek, then release all (never delete).

    Each receive raises ApproximateReceiveCount, and SQS moves a message to the DLQ when a receive would take its
    count past maxReceiveCount. So: with maxReceiveCount 1 every receive is fatal and the peek refuses; otherwise
    it refuses when `memory` says an earlier peek saw a message one receive short of the limit, and stops at
    the first batch that contains a message whose count reached maxReceiveCount (another receive of it, by anyone,
    moves it to the DLQ), unless `force`. Messages are held invisible until the peek ends, so one
    peek receives each message once; repeats (a lapsed hold) are deduplicated by MessageId.
    """
    if count < 1:
        raise UsageError("-n must be at least 1")
    attributes = queue_attributes(sqs_client, queue)
    policy = parse_redrive_policy(attributes.get("RedrivePolicy"))
    key = memory_key(str(sqs_client.meta.endpoint_url), queue.url, attributes.get("CreatedTimestamp"))
    max_receives = policy.max_receive_count if policy else None
    if max_receives is not None and max_receives <= 1 and not force:
        raise UsageError(
            f"peeking {queue.name} would send what it shows to its dead-letter queue {policy.dead_letter_name if policy else ''}: "
            f"its maxReceiveCount is {max_receives}, and every receive counts",
            "pass --force to peek anyway",
        )
    remembered = memory.load(key) if memory is not None else {}
    if max_receives is not None and not force:
        at_risk = sorted(mid for mid, seen_count in remembered.items() if seen_count + 1 >= max_receives)
        if at_risk:
            raise UsageError(
                f"peeking {queue.name} again could push {len(at_risk)} message(s) to its dead-letter queue: an "
                f"earlier peek saw them at receive count {max_receives - 1} or more of maxReceiveCount {max_receives}",
                "let the consumer process them, drain them, or pass --force to peek anyway",
            )
    stop = stop_check(should_stop)
    result = PeekResult(queue=queue, messages=[], stopped_by="count", max_receive_count=max_receives)
    seen: dict[str, str] = {}  # message id -> latest receipt handle
    try:
        while len(result.messages) < count:
            if stop():
                result.stopped_by = "stop"
                break
            try:
                response = sqs_client.receive_message(
                    QueueUrl=queue.url,
                    MaxNumberOfMessages=min(10, count - len(result.messages)),
                    WaitTimeSeconds=wait_seconds,
                    VisibilityTimeout=hold_seconds,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:
                raise queue_error(exc, queue.name, queue.region) from exc
            result.receives += 1
            new = 0
            for raw in response.get("Messages", []):
                message = Received.from_sqs(raw, queue)
                if message.message_id in seen:
                    result.duplicates += 1
                else:
                    new += 1
                    if len(result.messages) < count:
                        result.messages.append(message)
                    if max_receives is not None and message.receive_count >= max_receives:
                        result.at_limit.append(message.message_id)
                seen[message.message_id] = message.receipt_handle
            if new == 0:
                result.stopped_by = "no-new"
                break
            if result.at_limit and not force:
                result.stopped_by = "limit"
                break
    finally:
        result.released, result.release_failed = release_messages(sqs_client, queue, list(seen.values()))
        if memory is not None:
            # A peek that saw everything visible (or was forced past the warning) replaces what was remembered:
            # messages it did not see were consumed meanwhile, and must not block later peeks for ever.
            result.memory_error = memory.remember(
                key,
                {m.message_id: m.receive_count for m in result.messages},
                replace=force or result.stopped_by == "no-new",
            )
    return result


def release_messages(sqs_client: SQSClient, queue: QueueRef, receipt_handles: Sequence[str]) -> tuple[int, int]:
    """Visibility 0 for each handle (ChangeMessageVisibilityBatch, Failed[] checked): (released, failed)."""
    released = failed = 0
    for start in range(0, len(receipt_handles), 10):
        chunk = receipt_handles[start : start + 10]
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)
        ]
        try:
            response = sqs_client.change_message_visibility_batch(QueueUrl=queue.url, Entries=entries)
        except Exception:
            failed += len(chunk)  # they become visible again when the hold ends: delayed, not lost
            continue
        released += len(response.get("Successful", []))
        failed += len(response.get("Failed", []))
    return released, failed


def stop_check(should_stop: StopSignal) -> Callable[[], bool]:
    """A threading.Event, a callable or None, as one `() -> bool` (Ctrl-C sets the event; loops poll it)."""
    if should_stop is None:
        return lambda: False
    if hasattr(should_stop, "is_set"):
        check: Callable[[], bool] = should_stop.is_set
        return check
    return should_stop
