"""The ONE engine that moves messages out of an SQS queue: receive → sink.accept → delete what the sink confirmed.

At least once, never lost: a message is deleted only after its sink confirmed it durably (an fsynced file line,
an acknowledged SendMessageBatch entry, an accepted PutEvents entry). Everything else stays in the queue.

Stable interface (drain builds on it; redrive adds sinks that send to a queue or publish to a bus):

    from evctl.core.moving import move, Sink, SinkResult, SinkFailure, MoveReport
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
- A sink that fails after side effects (sent a batch, then could not journal it) raises SinkInterrupted with what
  the call did: its `taken` are deleted, its `kept` (delivered, but not to be deleted) stay in the source and are
  counted as `undeleted` (duplicates, named in `report.duplicate_ids`), then the move stops with its error. So a
  summary always equals what happened.
- Sinks are called from one thread at a time unless `concurrency` > 1; a sink used with concurrency must be
  thread-safe (FileSink is). A sink may expose `close()`; the caller owns its lifetime, not move().

What move() does meanwhile:
- Receives with long polling (`wait_seconds`), every system attribute and message attribute, and a
  `visibility_timeout` of its own; on FIFO it sends a ReceiveRequestAttemptId so a retried receive gets the same
  messages back.
- A keeper thread extends the visibility (ChangeMessageVisibilityBatch) of every held message before it expires,
  so a slow sink never lets a message reappear for another consumer.
- Deletes with DeleteMessageBatch in the background while the next batch is received (`pipeline=True`, standard
  queues; at most one delete in flight per receive loop, all finished before move() returns); every Failed[]
  entry is retried when it is not the sender's fault, otherwise counted (`undeleted`: the sink has it AND it stays in the queue — a duplicate, never a loss).
- Messages that do not match `filter` (a JMESPath expression over `messages.decoded(msg)`, selected with exactly
  evctl.core.common.filters.MessageFilter.matches, as every dry run does) are held and released at the end, never
  deleted. A filter that fails (a JMESPath type error) on every message received so far stops the run with a
  UsageError (common.filters.FilterGuard) instead of receiving more. Repeats of held messages (their visibility lapsed) are recognised by MessageId.
- `should_stop` (a threading.Event or a callable) stops receiving; the batch in hand is finished, everything
  still held is released (visibility 0), and the report says why it stopped.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evctl.core.common.backoff import backoff_delay
from evctl.core.common.filters import FilterGuard, MessageFilter, compile_filter
from evctl.core.moving.protocol import Sink, SinkFailure, SinkInterrupted
from evctl.core.moving.report import MoveReport
from evctl.core.moving.source import MAX_BATCH, Held, RunState, SourceQueue
from evctl.core.queues.messages import Received, decoded
from evctl.core.queues.peek import StopSignal, stop_check
from evctl.core.queues.ref import QueueRef
from evctl.errors import EvctlError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_VISIBILITY = 43_200


@dataclass
class _Worker:
    """Per receive loop state."""

    empty_in_a_row: int = 0
    pending_delete: Future[None] | None = None


class _Engine:
    def __init__(
        self,
        queue: SourceQueue,
        sink: Sink,
        state: RunState,
        *,
        message_filter: MessageFilter | None,
        wait_seconds: int,
        empty_polls_to_stop: int,
        sink_attempts: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        should_stop: Callable[[], bool],
        on_progress: Callable[[MoveReport], None] | None,
    ) -> None:
        self.queue = queue
        self.sink = sink
        self.state = state
        self.report = state.report
        self.message_filter = message_filter
        self.wait_seconds = wait_seconds
        self.empty_polls_to_stop = empty_polls_to_stop
        self.visibility_timeout = queue.visibility_timeout
        self.sink_attempts = sink_attempts
        self.clock = clock
        self.sleep = sleep
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.deleter: ThreadPoolExecutor | None = None  # set by move() when deletes run in the background
        self.filter_guard = FilterGuard(message_filter.expression) if message_filter is not None else None

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
                    got = self.queue.receive(want, self.wait_seconds)
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
            self.queue.delete(messages)
        else:
            worker.pending_delete = self.deleter.submit(self.queue.delete, messages)

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
                    self.state.held[message.message_id] = Held(
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
        if self.filter_guard is not None and not matched:
            self.filter_guard.check()  # a filter failing on every message so far: stop before receiving more
        taken = self._offer(matched) if matched else []
        self.state.unreserve(len(matched))
        return taken + to_delete

    def _filter(self, messages: list[Received]) -> tuple[list[Received], list[Received]]:
        """Split into (matched, unmatched) with MessageFilter.matches: the one selection every dry run uses too."""
        if self.message_filter is None:
            return messages, []
        matched: list[Received] = []
        unmatched: list[Received] = []
        for message in messages:
            hit, error = self.message_filter.evaluate(decoded(message))
            if self.filter_guard is not None:
                self.filter_guard.record(error)
            (matched if hit else unmatched).append(message)
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
                self.sleep(backoff_delay(attempt))
            try:
                result = self.sink.accept(pending)
            except SinkInterrupted as stopped:  # the sink did part of the call before it failed: count that part
                done = stopped.done
                pending_ids = {m.message_id for m in pending}
                took = {i for i in done.taken if i in pending_ids}
                taken.extend(m for m in pending if m.message_id in took)
                for failure in done.failed:
                    if failure.message_id in pending_ids and failure.message_id not in took:
                        self._refuse(by_id[failure.message_id], failure)
                self._keep([i for i in done.kept if i in pending_ids and i not in took])
                with self.state.lock:
                    self._mark_taken(taken)
                self.queue.delete(taken)
                raise stopped.error from stopped
            except EvctlError:
                with self.state.lock:
                    self._mark_taken(taken)
                self.queue.delete(taken)
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

    def _keep(self, message_ids: list[str]) -> None:
        """The sink delivered these but they must stay in the source: duplicates, counted at the end by id."""
        with self.state.lock:
            for message_id in message_ids:
                held = self.state.held.get(message_id)
                if held is not None:
                    held.reason = "kept"

    def _refuse(self, message: Received, failure: SinkFailure) -> None:
        with self.state.lock:
            self.report.failed += 1
            if len(self.report.failures) < 20:
                self.report.failures.append(failure)
            held = self.state.held.get(message.message_id)
            if held is not None:
                held.reason = "failed"


def move(
    sqs_client: SQSClient,
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
    message_filter = compile_filter(filter)
    stopping = stop_check(should_stop)
    report = MoveReport(source=source, started=clock())
    state = RunState(report, max_messages)
    queue = SourceQueue(
        sqs_client, source, state, visibility_timeout=visibility_timeout, delete_attempts=max(1, delete_attempts),
        clock=clock, sleep=sleep,
    )  # fmt: skip
    engine = _Engine(
        queue,
        sink,
        state,
        message_filter=message_filter,
        wait_seconds=wait_seconds,
        empty_polls_to_stop=empty_polls_to_stop,
        sink_attempts=max(1, sink_attempts),
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
                queue.extend_due()

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
        queue.finish()
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
