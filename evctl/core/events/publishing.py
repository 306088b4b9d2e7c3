"""Publishing entries: PutEvents in batches over parallel calls, re-sending exactly the entries that failed.

    report = publish(client, entries, concurrency=4, max_attempts=5)
    report.succeeded, report.failed, report.results[i].event_id

`publish` sends batches (at most 10 entries, sum of entry sizes within the cap: `plan_batches`) over
`concurrency` parallel calls, re-sends exactly the entries that failed with a retryable code, and reports a
result for every input position. Delivery is at least once: a call that failed after EventBridge accepted it
(a 500 retried by botocore) can publish an entry twice. Nothing here prints; the client is passed in.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from evctl.core.common.backoff import backoff_delay
from evctl.core.common.batching import batches
from evctl.core.events.entries import DEFAULT_MAX_ENTRY_BYTES, MAX_ENTRIES_PER_CALL, entry_size
from evctl.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef, PutEventsResponseTypeDef

DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_ATTEMPTS = 5
RETRYABLE_CODES = frozenset({"InternalFailure", "ThrottlingException"})
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 20.0  # botocore's standard-mode cap
NOT_SENT = "NotSent"


class PutEventsClient(Protocol):
    """What `send_batch` calls: an EventBridge client, or a wrapper around one (`publish --count` times each call)."""

    def put_events(self, *, Entries: Sequence[PutEventsRequestEntryTypeDef]) -> PutEventsResponseTypeDef: ...


def plan_batches(
    entries: Sequence[Mapping[str, Any]], *, max_request_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> list[list[int]]:
    """Input positions grouped into PutEvents calls: at most 10 entries, sum of entry sizes within the cap.

    Order is kept. An entry bigger than the cap on its own still gets a batch of one (AWS judges it).
    """
    return batches(
        range(len(entries)),
        size_of=lambda index: entry_size(entries[index]),
        max_count=MAX_ENTRIES_PER_CALL,
        max_bytes=max_request_bytes,
    )


Status = Literal["ok", "failed", "not_sent"]


@dataclass
class EntryResult:
    """The outcome for one input position: an EventId, or the last ErrorCode and ErrorMessage."""

    index: int
    status: Status = "not_sent"
    event_id: str | None = None
    error_code: str | None = NOT_SENT
    error_message: str | None = "not sent (the run stopped before this entry's batch)"
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class PublishReport:
    """Results by input position (results[i] is entries[i]), and how the run went."""

    results: list[EntryResult]
    api_calls: int = 0
    retried_entries: int = 0  # entry re-sends after a retryable ErrorCode
    fatal: BaseException | None = None  # a whole-call error after botocore's retries; later batches not sent
    interrupted: bool = False

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.status == "ok")

    @property
    def failed(self) -> list[EntryResult]:
        """Every entry not published: failed (with its code) or never sent."""
        return [r for r in self.results if r.status != "ok"]


def publish(
    client: EventBridgeClient,
    entries: Sequence[Mapping[str, Any]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_request_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    sleep: Callable[[float], Any] | None = None,
    rand: Callable[[], float] = random.random,
    on_result: Callable[[EntryResult], None] | None = None,
) -> PublishReport:
    """Publish validated entries; return a result for every input position. Never drops an entry.

    Batches from `plan_batches` run on `concurrency` threads sharing `client` (build it with a connection
    pool of at least `concurrency`). Entries answered with InternalFailure or ThrottlingException are
    re-sent (only they) after exponential backoff with full jitter (`sleep`, `rand` injectable; by default the
    backoff wait ends early when the run is stopping), up to
    `max_attempts` sends per entry; other ErrorCodes are final. A whole-call error is first retried by
    botocore's standard retry mode; if it still fails, that batch is marked failed with the error's code,
    no further batches start, and the exception is returned in `report.fatal`. Ctrl-C stops new batches,
    lets in-flight ones finish and sets `report.interrupted`. `on_result` is called on the calling thread
    as each entry's outcome becomes final (in completion order, not input order).
    """
    results = [EntryResult(index) for index in range(len(entries))]
    report = PublishReport(results)
    batches = plan_batches(entries, max_request_bytes=max_request_bytes)
    stop = threading.Event()
    lock = threading.Lock()

    def count_call(retried: int) -> None:
        with lock:
            report.api_calls += 1
            report.retried_entries += retried

    def run_batch(batch: list[int]) -> list[int]:
        error = send_batch(
            client,
            entries,
            results,
            batch,
            max_attempts=max_attempts,
            wait=sleep or stop.wait,
            stopping=stop.is_set,
            on_call=count_call,
            rand=rand,
        )
        if error is not None:
            with lock:
                if report.fatal is None:
                    report.fatal = error
            stop.set()
        return batch

    _run_all(batches, run_batch, concurrency, stop, report, results, on_result)
    return report


def send_batch(
    client: PutEventsClient,
    entries: Sequence[Mapping[str, Any]],
    results: list[EntryResult],
    batch: list[int],
    *,
    max_attempts: int,
    wait: Callable[[float], Any],
    stopping: Callable[[], bool],
    on_call: Callable[[int], None],
    rand: Callable[[], float] = random.random,
    is_fatal: Callable[[Exception], bool] = lambda exc: True,
) -> Exception | None:
    """One batch (positions into `entries` and `results`) through PutEvents with the entry-level retries: entries
    answered with a retryable ErrorCode are re-sent (only they) after `backoff_delay` with full jitter (`wait`),
    up to `max_attempts` sends per entry; other codes are final. `on_call(re-sent entries)` is told of each call.

    A whole-call error marks every entry still pending failed with its code and ends the batch; it is returned
    when `is_fatal(exc)` (the caller stops the run), else None (the caller goes on: `publish --count`). When
    `stopping()`, no re-send starts: those entries keep their retryable code and are reported failed."""
    pending, first = batch, True
    while pending:
        if not first:
            attempt = results[pending[0]].attempts
            if not stopping():
                wait(backoff_delay(attempt, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS, rand=rand))
            if stopping():  # stopping: the entries keep their retryable code and are reported failed
                break
        on_call(0 if first else len(pending))
        for index in pending:
            results[index].attempts += 1
        try:
            request = cast("list[PutEventsRequestEntryTypeDef]", [dict(entries[i]) for i in pending])
            response = client.put_events(Entries=request)
        except Exception as exc:
            message = str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)
            for index in pending:
                _fail(results[index], error_code(exc) or type(exc).__name__, message)
            return exc if is_fatal(exc) else None
        retry: list[int] = []
        for index, answer in zip(pending, response.get("Entries", []), strict=False):
            code = answer.get("ErrorCode")
            if not code and answer.get("EventId"):
                results[index].status, results[index].event_id = "ok", answer["EventId"]
                results[index].error_code = results[index].error_message = None
                continue
            _fail(results[index], code or "MissingEventId", answer.get("ErrorMessage") or "")
            if code in RETRYABLE_CODES and results[index].attempts < max_attempts and not stopping():
                retry.append(index)
        answered = len(response.get("Entries", []))
        for index in pending[answered:]:  # a malformed answer: never treat silence as success
            _fail(results[index], "MissingResult", "PutEvents returned fewer results than entries")
        pending, first = retry, False
    return None


def _fail(result: EntryResult, code: str, message: str) -> None:
    result.status, result.error_code, result.error_message = "failed", code, message


def _run_all(
    batches: list[list[int]],
    run_batch: Callable[[list[int]], list[int]],
    concurrency: int,
    stop: threading.Event,
    report: PublishReport,
    results: list[EntryResult],
    on_result: Callable[[EntryResult], None] | None,
) -> None:
    """Keep at most `concurrency` batches in flight; report each entry exactly once, on this thread."""
    reported = [False] * len(results)

    def emit(indices: Iterable[int]) -> None:
        for index in indices:
            if not reported[index]:
                reported[index] = True
                if on_result:
                    on_result(results[index])

    queue: Iterator[list[int]] = iter(batches)
    in_flight: set[Future[list[int]]] = set()
    workers = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evctl-publish") as pool:
        try:
            while True:
                while not stop.is_set() and len(in_flight) < workers:
                    batch = next(queue, None)
                    if batch is None:
                        break
                    in_flight.add(pool.submit(run_batch, batch))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    emit(future.result())
        except KeyboardInterrupt:
            report.interrupted = True
            stop.set()
            wait(in_flight)  # in-flight calls finish: their outcome is known, not guessed
    emit(range(len(results)))  # the rest: finished while interrupted, or never started (not sent)
