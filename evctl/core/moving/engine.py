"""The ONE engine that moves messages out of an SQS queue: receive → sink.accept → delete what the sink confirmed.

At least once, never lost: a message is deleted only after its sink confirmed it durably (an fsynced file line,
an acknowledged SendMessageBatch entry, an accepted PutEvents entry). Everything else stays in the queue.

Stable interface (drain builds on it; redrive adds sinks that send to a queue or publish to a bus):

    from evctl.core.moving.engine import move, Sink, SinkResult, SinkFailure, MoveReport
    report = move(sqs, source_ref, sink, max_messages=None, filter=None, ...)

A sink is any object with

    def accept(self, batch: Sequence[Received]) -> SinkResult

`batch` holds 1-10 messages (evctl.core.queues.messages.Received: body, attributes, message attributes, ids, the
source QueueRef). The sink returns `SinkResult(taken=[message ids durably taken], failed=[SinkFailure(...)])`.
- A message in `taken` will be deleted from the source. Only list it once it is durable.
- A `SinkFailure(retryable=True)` (throttling, an internal error) is offered again, up to `sink_attempts` times
  with backoff; after that, and for `retryable=False` (too large, invalid contents), the message is left in the
  source queue: it is held invisible for the rest of the run (so it is not received again) and released at the end.
- A message the sink names in neither list counts as a retryable failure.
- A sink may raise an EvctlError (disk full, permission denied): nothing of that call counts as taken, the move
  stops, every held message is released, and the report carries the error.
- Sinks are called from one thread at a time unless `concurrency` > 1; a sink used with concurrency must be
  thread-safe (FileSink is). A sink may expose `close()`; the caller owns its lifetime, not move().

What move() does meanwhile:
- Receives with long polling (`wait_seconds`), every system attribute and message attribute, and a
  `visibility_timeout` of its own; on FIFO it sends a ReceiveRequestAttemptId so a retried receive gets the same
  messages back.
- A keeper thread extends the visibility (ChangeMessageVisibilityBatch) of every held message before it expires,
  so a slow sink never lets a message reappear for another consumer.
- Deletes with DeleteMessageBatch in the background while the next batch is received (`pipeline=True`, standard
  queues; at most one delete in flight per receive loop, all finished before move() returns); every Failed[] entry is retried when it is not the sender's fault, otherwise
  counted (`undeleted`: the sink has it AND it stays in the queue — a duplicate, never a loss).
- Messages that do not match `filter` (a JMESPath expression over `messages.decoded(msg)`) are held and released
  at the end, never deleted. Repeats of held messages (their visibility lapsed) are recognised by MessageId.
- `should_stop` (a threading.Event or a callable) stops receiving; the batch in hand is finished, everything
  still held is released (visibility 0), and the report says why it stopped.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from evctl.core.queues.messages import Received, decoded
from evctl.core.queues.queues import QueueRef, stop_check
from evctl.errors import EvctlError, UsageError, error_code, from_aws

MAX_BATCH = 10
MAX_VISIBILITY = 43_200


@dataclass(frozen=True)
class SinkFailure:
    message_id: str
    code: str
    message: str
    retryable: bool


@dataclass
class SinkResult:
    taken: list[str] = field(default_factory=list)
    failed: list[SinkFailure] = field(default_factory=list)


class Sink(Protocol):
    def accept(self, batch: Sequence[Received]) -> SinkResult:
        """Take the messages durably; return which ids were taken and which failed (see the module doc)."""
        ...


StopSignal = threading.Event | Callable[[], bool] | None


@dataclass
class MoveReport:
    """What a move did. Every received message is in exactly one of: deleted, undeleted, left (filtered/failed/
    released unprocessed)."""

    source: QueueRef
    received: int = 0  # distinct messages received
    accepted: int = 0  # confirmed by the sink
    deleted: int = 0  # confirmed and deleted from the source
    undeleted: int = 0  # confirmed but the delete failed: they stay in the source too (duplicates)
    filtered: int = 0  # did not match the filter: left in the source
    failed: int = 0  # the sink refused them (after retries): left in the source
    released: int = 0  # made visible again at the end (filtered, failed, or unprocessed at a stop)
    repeats: int = 0  # a held message came back (its visibility lapsed) and was recognised by MessageId
    extended: int = 0  # visibility extensions
    empty_polls: int = 0
    api_calls: Counter[str] = field(default_factory=Counter)
    failures: list[SinkFailure] = field(default_factory=list)  # the first few, for the summary
    stopped_by: str = ""  # "max", "empty", "stop", "error"
    error: EvctlError | None = None
    started: float = 0.0
    elapsed: float = 0.0

    @property
    def duplicates_possible(self) -> int:
        """Messages the sink has that are also still in the source queue."""
        return self.undeleted

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0 and self.undeleted == 0

    def summary(self) -> dict[str, Any]:
        return {
            "queue": self.source.name,
            "received": self.received,
            "written": self.accepted,
            "deleted": self.deleted,
            "filtered_out": self.filtered,
            "failed": self.failed,
            "not_deleted": self.undeleted,
            "released": self.released,
            "duplicates_possible": self.duplicates_possible,
            "stopped_by": self.stopped_by,
            "api_calls": sum(self.api_calls.values()),
            "seconds": round(self.elapsed, 3),
        }


@dataclass
class _Held:
    receipt_handle: str
    deadline: float  # clock time its visibility ends
    reason: str  # "inflight", "filtered", "failed", "taken"


class _State:
    """What a run holds invisible, and its counters; one lock for all workers."""

    def __init__(self, report: MoveReport, max_messages: int | None) -> None:
        self.report = report
        self.lock = threading.Lock()
        self.held: dict[str, _Held] = {}
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


@dataclass
class _Worker:
    """Per receive loop state."""

    empty_in_a_row: int = 0
    pending_delete: Future[None] | None = None


class _Engine:
    def __init__(
        self,
        sqs: Any,
        source: QueueRef,
        sink: Sink,
        state: _State,
        *,
        filter_expr: Any,
        wait_seconds: int,
        empty_polls_to_stop: int,
        visibility_timeout: int,
        sink_attempts: int,
        delete_attempts: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        should_stop: Callable[[], bool],
        on_progress: Callable[[MoveReport], None] | None,
    ) -> None:
        self.sqs = sqs
        self.source = source
        self.sink = sink
        self.state = state
        self.report = state.report
        self.filter_expr = filter_expr
        self.wait_seconds = wait_seconds
        self.empty_polls_to_stop = empty_polls_to_stop
        self.visibility_timeout = visibility_timeout
        self.sink_attempts = sink_attempts
        self.delete_attempts = delete_attempts
        self.clock = clock
        self.sleep = sleep
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.deleter: ThreadPoolExecutor | None = None  # set by move() when deletes run in the background

    # ---- the loop ----------------------------------------------------------------------------
    def run_worker(self) -> None:
        """One receive loop. The delete of batch N runs while batch N+1 is received and written (at most one
        delete in flight per loop), so a drain costs max(receive + write, delete) per batch, not their sum."""
        worker = _Worker()
        try:
            while not self._stopping():
                want = self.state.reserve(MAX_BATCH)
                if want == 0:
                    self._stop("max")
                    return
                try:
                    got = self._receive(want)
                except BaseException:
                    self.state.unreserve(want)
                    raise
                self._delete_in_background(worker, self._handle(got, want, worker))
                if got and self.on_progress is not None:
                    self.on_progress(self.report)
        except EvctlError as exc:
            with self.state.lock:
                if self.report.error is None:
                    self.report.error = exc
            self._stop("error")
        finally:
            self._wait_for_delete(worker)

    def _delete_in_background(self, worker: _Worker, messages: list[Received]) -> None:
        if not messages:
            return
        self._wait_for_delete(worker)
        if self.deleter is None:
            self._delete(messages)
        else:
            worker.pending_delete = self.deleter.submit(self._delete, messages)

    def _wait_for_delete(self, worker: _Worker) -> None:
        pending, worker.pending_delete = worker.pending_delete, None
        if pending is not None:
            pending.result()  # _delete handles AWS errors itself; anything else is a bug and surfaces here

    def _stopping(self) -> bool:
        if self.state.stop.is_set():
            return True
        if self.should_stop():
            self._stop("stop")
            return True
        return False

    def _stop(self, why: str) -> None:
        with self.state.lock:
            if not self.report.stopped_by:
                self.report.stopped_by = why
        self.state.stop.set()

    def _handle(self, got: list[Received], reserved: int, worker: _Worker) -> list[Received]:
        """Sort a receive into new, repeated, filtered; offer the new matches to the sink. Returns what to delete."""
        fresh: list[Received] = []
        to_delete: list[Received] = []
        with self.state.lock:
            for message in got:
                held = self.state.held.get(message.message_id)
                if held is None:
                    self.report.received += 1
                    self.state.held[message.message_id] = _Held(
                        message.receipt_handle, self.clock() + self.visibility_timeout, "inflight"
                    )
                    fresh.append(message)
                    continue
                # A message we already hold came back: its visibility lapsed. Keep holding it with the new handle.
                self.report.repeats += 1
                held.receipt_handle = message.receipt_handle
                held.deadline = self.clock() + self.visibility_timeout
                if held.reason == "taken":
                    to_delete.append(message)  # the sink already has it; just delete it
        if not got:
            self.state.unreserve(reserved)
            with self.state.lock:
                self.report.empty_polls += 1
            worker.empty_in_a_row += 1
            if worker.empty_in_a_row >= self.empty_polls_to_stop:
                self._stop("empty")
            return []
        worker.empty_in_a_row = 0
        matched, unmatched = self._filter(fresh)
        with self.state.lock:
            for message in unmatched:
                self.state.held[message.message_id].reason = "filtered"
                self.report.filtered += 1
        self.state.unreserve(reserved - len(matched))
        taken = self._offer(matched) if matched else []
        self.state.unreserve(len(matched))
        return taken + to_delete

    def _filter(self, messages: list[Received]) -> tuple[list[Received], list[Received]]:
        if self.filter_expr is None:
            return messages, []
        matched: list[Received] = []
        unmatched: list[Received] = []
        for message in messages:
            try:
                hit = self.filter_expr.search(decoded(message))
            except Exception:  # a type error inside JMESPath means "does not match", as in AWS CLI --query
                hit = None
            # JMESPath truthiness: null, false, and empty strings, lists and objects are false; 0 is true.
            falsy = hit is None or hit is False or (isinstance(hit, str | list | dict) and not hit)
            (unmatched if falsy else matched).append(message)
        return matched, unmatched

    # ---- sink ------------------------------------------------------------------------------
    def _offer(self, batch: list[Received]) -> list[Received]:
        """Offer a batch to the sink, retrying retryable failures; returns the messages the sink took."""
        by_id = {m.message_id: m for m in batch}
        pending = list(batch)
        taken: list[Received] = []
        last_failures: dict[str, SinkFailure] = {}
        for attempt in range(self.sink_attempts):
            if attempt:
                self.sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
            try:
                result = self.sink.accept(pending)
            except EvctlError:
                with self.state.lock:
                    self._mark_taken(taken)
                self._delete(taken)
                raise
            took = {i for i in result.taken if i in by_id}
            taken.extend(m for m in pending if m.message_id in took)
            retry: list[Received] = []
            failed_now = {f.message_id: f for f in result.failed}
            for message in pending:
                if message.message_id in took:
                    continue
                failure = failed_now.get(message.message_id) or SinkFailure(
                    message.message_id, "NoOutcome", "the sink reported neither success nor failure", True
                )
                last_failures[message.message_id] = failure
                if failure.retryable:
                    retry.append(message)
                else:
                    self._refuse(message, failure)
            pending = retry
            if not pending:
                break
        for message in pending:
            self._refuse(message, last_failures[message.message_id])
        with self.state.lock:
            self._mark_taken(taken)
        return taken

    def _mark_taken(self, taken: list[Received]) -> None:
        for message in taken:
            self.report.accepted += 1
            held = self.state.held.get(message.message_id)
            if held is not None:
                held.reason = "taken"

    def _refuse(self, message: Received, failure: SinkFailure) -> None:
        with self.state.lock:
            self.report.failed += 1
            if len(self.report.failures) < 20:
                self.report.failures.append(failure)
            held = self.state.held.get(message.message_id)
            if held is not None:
                held.reason = "failed"

    # ---- SQS calls ---------------------------------------------------------------------------
    def _receive(self, want: int) -> list[Received]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.source.url,
            "MaxNumberOfMessages": want,
            "WaitTimeSeconds": self.wait_seconds,
            "VisibilityTimeout": self.visibility_timeout,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self.source.fifo:
            kwargs["ReceiveRequestAttemptId"] = uuid.uuid4().hex
        response = self._call("receive_message", kwargs)
        return [Received.from_sqs(raw, self.source) for raw in response.get("Messages", [])]

    def _delete(self, messages: list[Received]) -> None:
        """Delete confirmed messages, checking every Failed[] entry; retry what is not the sender's fault."""
        if not messages:
            return
        pending = {str(i): m for i, m in enumerate(messages)}
        for attempt in range(self.delete_attempts):
            if attempt:
                self.sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
            entries = [{"Id": i, "ReceiptHandle": self._handle_of(m)} for i, m in pending.items()]
            try:
                response = self._call("delete_message_batch", {"QueueUrl": self.source.url, "Entries": entries})
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
                # Sender-fault failures (an invalid receipt handle) will not succeed on a retry.
                for entry_id, message in pending.items():
                    if entry_id not in done and entry_id not in retry:
                        self._give_up_delete(message)
            pending = retry
            if not pending:
                return
        with self.state.lock:
            for message in pending.values():
                self._give_up_delete(message)

    def _give_up_delete(self, message: Received) -> None:
        """Keep holding it as "taken": a repeat is deleted rather than re-sent, and finish() tries once more."""

    def _handle_of(self, message: Received) -> str:
        with self.state.lock:
            held = self.state.held.get(message.message_id)
            return held.receipt_handle if held else message.receipt_handle

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        with self.state.lock:
            self.report.api_calls[operation] += 1
        try:
            return getattr(self.sqs, operation)(**kwargs)
        except Exception as exc:
            mapped = from_aws(exc, f"queue {self.source.name}")
            if mapped is None:
                raise
            if error_code(exc) in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"):
                mapped.hint = "was it deleted while evctl was moving messages?"
            raise mapped from exc

    # ---- visibility --------------------------------------------------------------------------
    def extend_due(self) -> None:
        """Extend every held message whose visibility ends within a third of the timeout."""
        now = self.clock()
        margin = max(self.visibility_timeout / 3, 1.0)
        with self.state.lock:
            due = [(mid, h.receipt_handle) for mid, h in self.state.held.items() if h.deadline - now <= margin]
        for chunk in _chunks(due, MAX_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": self.visibility_timeout}
                for i, (_, handle) in enumerate(chunk)
            ]
            try:
                response = self._call(
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
            self._delete_once(taken)
        with self.state.lock:
            items = [(mid, h.receipt_handle, h.reason) for mid, h in self.state.held.items()]
        for chunk in _chunks(items, MAX_BATCH):
            entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, (_, h, _) in enumerate(chunk)]
            try:
                response = self._call(
                    "change_message_visibility_batch", {"QueueUrl": self.source.url, "Entries": entries}
                )
                ok = {e["Id"] for e in response.get("Successful", [])}
            except EvctlError:
                ok = set()
            with self.state.lock:
                for i, (mid, _, reason) in enumerate(chunk):
                    self.state.held.pop(mid, None)
                    if reason == "taken":
                        self.report.undeleted += 1  # the sink has it and it stays in the source
                    elif str(i) in ok:
                        self.report.released += 1

    def _delete_once(self, messages: list[Received]) -> None:
        saved = self.delete_attempts
        self.delete_attempts = 1
        try:
            self._delete(messages)
        finally:
            self.delete_attempts = saved


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def compile_filter(expression: str | None) -> Any:
    """A compiled JMESPath expression, or None; a syntax error is a UsageError."""
    if not expression:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise UsageError(f"--filter is not a valid JMESPath expression: {exc}".replace("\n", " ")) from exc


def move(
    sqs_client: Any,
    source: QueueRef,
    sink: Sink,
    *,
    max_messages: int | None = None,
    filter: str | None = None,
    wait_seconds: int = 5,
    empty_polls_to_stop: int = 2,
    visibility_timeout: int = 60,
    concurrency: int = 1,
    pipeline: bool = True,
    sink_attempts: int = 5,
    delete_attempts: int = 5,
    keeper_interval: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: StopSignal = None,
    on_progress: Callable[[MoveReport], None] | None = None,
) -> MoveReport:
    """Move messages from `source` into `sink`, at least once and never losing one (see the module doc).

    Stops at `max_messages` taken, after `empty_polls_to_stop` empty long polls in a row, on `should_stop`, or on
    an error (then `report.error` is set; the caller decides how to exit). Always releases what it still holds.
    """
    if max_messages is not None and max_messages < 1:
        raise UsageError("--max must be at least 1")
    if not 0 <= wait_seconds <= 20:
        raise UsageError("the long-poll wait must be between 0 and 20 seconds")
    if not 1 <= visibility_timeout <= MAX_VISIBILITY:
        raise UsageError(f"the visibility timeout must be between 1 and {MAX_VISIBILITY} seconds")
    if empty_polls_to_stop < 1 or concurrency < 1:
        raise UsageError("the empty-poll count and the concurrency must be at least 1")
    compiled = compile_filter(filter)
    stopping = stop_check(should_stop)
    report = MoveReport(source=source, started=clock())
    state = _State(report, max_messages)
    engine = _Engine(
        sqs_client,
        source,
        sink,
        state,
        filter_expr=compiled,
        wait_seconds=wait_seconds,
        empty_polls_to_stop=empty_polls_to_stop,
        visibility_timeout=visibility_timeout,
        sink_attempts=max(1, sink_attempts),
        delete_attempts=max(1, delete_attempts),
        clock=clock,
        sleep=sleep,
        should_stop=stopping,
        on_progress=on_progress,
    )
    keeper_stop = threading.Event()
    interval = keeper_interval if keeper_interval is not None else max(min(visibility_timeout / 6, 10.0), 0.2)

    def keep() -> None:
        while not keeper_stop.wait(interval):
            # A failed extension only risks a duplicate (never a loss); the next tick tries again.
            with contextlib.suppress(Exception):
                engine.extend_due()

    keeper = threading.Thread(target=keep, name="evctl-visibility", daemon=True)
    keeper.start()
    # Not on FIFO: a message group stays blocked until its in-flight messages are deleted, so the receive that
    # overlaps the delete would come back empty and count as an empty poll.
    if pipeline and not source.fifo:
        engine.deleter = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="evctl-delete")
    try:
        if concurrency == 1:
            engine.run_worker()
        else:
            workers = [
                threading.Thread(target=_worker_main, args=(engine,), name=f"evctl-move-{n}", daemon=True)
                for n in range(concurrency)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                while worker.is_alive():
                    worker.join(0.2)
                    if stopping():
                        state.stop.set()
                        engine._stop("stop")
    finally:
        if engine.deleter is not None:
            engine.deleter.shutdown(wait=True)
        keeper_stop.set()
        keeper.join()
        state.stop.set()
        engine.finish()
        report.elapsed = clock() - report.started
    return report


def _worker_main(engine: _Engine) -> None:
    try:
        engine.run_worker()
    except BaseException as exc:  # a bug in a worker: stop the others, surface it through the report
        with engine.state.lock:
            if engine.report.error is None:
                engine.report.error = EvctlError(f"internal error in a worker: {type(exc).__name__}: {exc}")
        engine._stop("error")
