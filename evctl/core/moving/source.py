"""The source-queue side of a move: what a run holds invisible (RunState), and the SQS calls on the source
(receive, delete with every Failed[] checked, visibility extension and the final release), each counted in the
report. The engine (evctl.core.moving.engine) drives it; see its module doc for the guarantees.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from evctl.core.common.backoff import backoff_delay
from evctl.core.moving.report import MoveReport
from evctl.core.queues.messages import Received
from evctl.core.queues.ref import QueueRef
from evctl.errors import QUEUE_NOT_FOUND_CODES, EvctlError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_BATCH = 10
T = TypeVar("T")


@dataclass
class Held:
    receipt_handle: str
    deadline: float  # clock time its visibility ends
    reason: str  # "inflight", "filtered", "failed", "taken", "kept" (the sink delivered it; it stays in the source)


class RunState:
    """What a run holds invisible, and its counters; one lock for all workers."""

    def __init__(self, report: MoveReport, max_messages: int | None) -> None:
        self.report = report
        self.lock = threading.Lock()
        self.held: dict[str, Held] = {}
        self.max_messages = max_messages
        self.reserved = 0
        self.stop = threading.Event()

    def reserve(self, want: int) -> int:
        with self.lock:
            if self.max_messages is None:
                return want
            left = self.max_messages - self.report.accepted - self.reserved
            n = max(0, min(want, left))
            self.reserved += n
            return n

    def unreserve(self, n: int) -> None:
        with self.lock:
            if self.max_messages is not None:
                self.reserved -= n


class SourceQueue:
    """Receive, delete, extend and release on the source queue; every call counted in `state.report`."""

    def __init__(
        self,
        sqs: SQSClient,
        source: QueueRef,
        state: RunState,
        *,
        visibility_timeout: int,
        delete_attempts: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.sqs = sqs
        self.source = source
        self.state = state
        self.report = state.report
        self.visibility_timeout = visibility_timeout
        self.delete_attempts = delete_attempts
        self.clock = clock
        self.sleep = sleep

    def receive(self, want: int, wait_seconds: int) -> list[Received]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.source.url,
            "MaxNumberOfMessages": want,
            "WaitTimeSeconds": wait_seconds,
            "VisibilityTimeout": self.visibility_timeout,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self.source.fifo:
            kwargs["ReceiveRequestAttemptId"] = uuid.uuid4().hex
        response = self.call("receive_message", kwargs)
        return [Received.from_sqs(raw, self.source) for raw in response.get("Messages", [])]

    def delete(self, messages: list[Received], *, attempts: int | None = None) -> None:
        """Delete confirmed messages, checking every Failed[] entry; retry what is not the sender's fault."""
        if not messages:
            return
        pending = {str(i): m for i, m in enumerate(messages)}
        for attempt in range(attempts or self.delete_attempts):
            if attempt:
                self.sleep(backoff_delay(attempt))
            entries = [{"Id": i, "ReceiptHandle": self._handle_of(m)} for i, m in pending.items()]
            try:
                response = self.call("delete_message_batch", {"QueueUrl": self.source.url, "Entries": entries})
            except EvctlError:
                continue  # botocore already retried the call; try again, then count what is left
            done = {e["Id"] for e in response.get("Successful", [])}
            retry = {}
            for failure in response.get("Failed", []):
                if not failure.get("SenderFault", False) and failure["Id"] in pending:
                    retry[failure["Id"]] = pending[failure["Id"]]
            with self.state.lock:
                for entry_id in done:
                    message = pending.get(entry_id)
                    if message is not None and self.state.held.pop(message.message_id, None) is not None:
                        self.report.deleted += 1
                # Sender-fault failures (an invalid receipt handle) will not succeed on a retry. Those messages
                # stay held as "taken": a repeat is deleted rather than re-sent, and finish() tries once more.
            pending = retry
            if not pending:
                return

    def _handle_of(self, message: Received) -> str:
        with self.state.lock:
            held = self.state.held.get(message.message_id)
            return held.receipt_handle if held else message.receipt_handle

    def call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        """One SQS call by name, counted; AWS errors become EvctlErrors (a vanished queue gets a hint)."""
        with self.state.lock:
            self.report.api_calls[operation] += 1
        try:
            return getattr(self.sqs, operation)(**kwargs)
        except Exception as exc:
            mapped = from_aws(exc, f"queue {self.source.name}")
            if mapped is None:
                raise
            if error_code(exc) in QUEUE_NOT_FOUND_CODES:
                mapped.hint = "was it deleted while evctl was moving messages?"
            raise mapped from exc

    def extend_due(self) -> None:
        """Extend every held message whose visibility ends within a third of the timeout."""
        now = self.clock()
        margin = max(self.visibility_timeout / 3, 1.0)
        with self.state.lock:
            due = [(mid, h.receipt_handle) for mid, h in self.state.held.items() if h.deadline - now <= margin]
        for chunk in chunks(due, MAX_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": self.visibility_timeout}
                for i, (_, handle) in enumerate(chunk)
            ]
            try:
                response = self.call(
                    "change_message_visibility_batch", {"QueueUrl": self.source.url, "Entries": entries}
                )
            except EvctlError:
                continue  # the next tick tries again; at worst the message reappears: a duplicate, not a loss
            ok = {e["Id"] for e in response.get("Successful", [])}
            with self.state.lock:
                for i, (mid, handle) in enumerate(chunk):
                    held = self.state.held.get(mid)
                    if str(i) in ok and held is not None and held.receipt_handle == handle:
                        held.deadline = now + self.visibility_timeout
                        self.report.extended += 1

    def finish(self) -> None:
        """End of run: one last delete of taken-but-undeleted messages, then release the rest (visibility 0).

        A failed release only delays a message (it reappears when its visibility ends); it never loses one.
        """
        with self.state.lock:
            taken = [
                Received(mid, h.receipt_handle, "", {}, {}, None)
                for mid, h in self.state.held.items()
                if h.reason == "taken"
            ]
        if taken:
            self.delete(taken, attempts=1)
        with self.state.lock:
            items = [(mid, h.receipt_handle, h.reason) for mid, h in self.state.held.items()]
        for chunk in chunks(items, MAX_BATCH):
            entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, (_, h, _) in enumerate(chunk)]
            try:
                response = self.call(
                    "change_message_visibility_batch", {"QueueUrl": self.source.url, "Entries": entries}
                )
                ok = {e["Id"] for e in response.get("Successful", [])}
            except EvctlError:
                ok = set()
            with self.state.lock:
                for i, (mid, _, reason) in enumerate(chunk):
                    self.state.held.pop(mid, None)
                    if reason in ("taken", "kept"):
                        self.report.undeleted += 1  # the sink has it and it stays in the source
                        self.report.duplicate_ids.append(mid)
                    elif str(i) in ok:
                        self.report.released += 1


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
