"""The local Lambda runner: what an SQS event source mapping does, with the handler in its own process.

Long-polls the queue, gathers a batch (batch size, batching window), hands the handler the event Lambda would
(Records with messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody, eventSource,
eventSourceARN, awsRegion) and a context object, enforces the timeout, and settles the batch as Lambda does:
success deletes it; with ReportBatchItemFailures only the reported messages stay; an error or timeout leaves the
whole batch to reappear after the visibility timeout, and SQS moves a message to the DLQ after maxReceiveCount.
Handler output goes to CloudWatch Logs between START / END / REPORT lines, in a stream named as Lambda names them.

With an `Enforcement` (the sandbox's default; `--permissive` runs without one) the runner also does what Lambda
does with the mapping's and the role's settings: no polling while the mapping is disabled or the role cannot
receive, delete or decrypt (the PROBLEM shows on the mapping); filter criteria delete what they reject; reserved
concurrency 0 throttles every batch; a role that cannot write logs leaves none. With a `Ledger` each invocation is
one JSON line in /evctl/sandbox/invocations. AWS/Lambda metrics go to the sandbox's emitter (metrics/emitter.py).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from evctl.core.queues import Received
from evctl.core.queues import sqs_event as queue_sqs_event
from evctl.errors import error_code
from evctl.sandbox.child import FunctionSpec as FunctionSpec
from evctl.sandbox.child import Outcome, handler_environment, outcome_of, report_line, run_child
from evctl.sandbox.enforcement import Enforcement, Gate
from evctl.sandbox.filters import split
from evctl.sandbox.ledger import Ledger, entry_for
from evctl.sandbox.metrics import current as metrics

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Clock = Callable[[], float]
Sleep = Callable[[float], None]
# Lambda's answer to an Invoke refused for reserved concurrency 0 (TooManyRequestsException; botocore ThrottleReason).
THROTTLED = "TooManyRequestsException: Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded)"


@dataclass
class Invocation:
    """One batch handed to the handler, and what became of it. A batch the runner did not invoke (every message
    filtered out, or throttled) is one too, with outcome "filtered" or "throttled" and no run."""

    request_id: str
    message_ids: list[str]
    outcome: Outcome
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # left in the queue to be retried
    error: str | None = None
    duration_ms: float = 0.0
    log_stream: str = ""
    log_lines: list[str] = field(default_factory=list)
    filtered: list[str] = field(default_factory=list)  # deleted from the same batch by the filter criteria

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "outcome": self.outcome,
            "messages": len(self.message_ids),
            "deleted": len(self.deleted),
            "kept": len(self.kept),
            "filtered": len(self.filtered),
            "error": self.error,
            "duration_ms": round(self.duration_ms, 2),
        }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes to the handler (the one record builder in core/queues)."""
    received = [Received.from_sqs(m) for m in messages]
    return queue_sqs_event(received, event_source_arn=queue_arn, aws_region=region)


def log_stream_name(now: dt.datetime | None = None) -> str:
    """Lambda's stream name: YYYY/MM/DD/[$LATEST]<execution environment id>."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def settle(
    outcome_ok: bool, result: Any, message_ids: Sequence[str], report_batch_item_failures: bool
) -> tuple[list[str], list[str], str | None]:
    """(delete, keep, problem) for a batch, as Lambda decides it.

    With ReportBatchItemFailures, a response listing `batchItemFailures` keeps exactly those; an entry without
    a known `itemIdentifier` makes the whole batch a failure. Without the flag the response is ignored.
    """
    ids = list(message_ids)
    if not outcome_ok:
        return [], ids, None
    if not report_batch_item_failures or not isinstance(result, dict) or not result.get("batchItemFailures"):
        return ids, [], None
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return [], ids, "batchItemFailures is not a list: the whole batch is retried"
    reported: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return [], ids, f"invalid itemIdentifier {identifier!r}: the whole batch is retried"
        reported.add(identifier)
    return [i for i in ids if i not in reported], [i for i in ids if i in reported], None


class LocalRunner:
    """Polls one queue for one function. Sequential: one invocation at a time (Lambda concurrency 1)."""

    def __init__(
        self,
        sqs: SQSClient,
        logs: CloudWatchLogsClient,
        function: FunctionSpec,
        queue_url: str,
        queue_arn: str,
        *,
        wait_seconds: int = 2,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        python: str = sys.executable,
        endpoint: str | None = None,
        enforcement: Enforcement | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.sqs = sqs
        self.logs = logs
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.sleep = sleep
        self.python = python
        self.endpoint = endpoint  # where the handler's own AWS calls go (the sandbox), never the user's account
        self.enforcement = enforcement
        self.ledger = ledger
        self.paused: str | None = None  # why the last poll did not poll (a disabled mapping, a role's PROBLEM)
        self.log_stream = ""
        self._stream_ready = False
        self.invocations: list[Invocation] = []

    # ---- polling -----------------------------------------------------------------------------
    def _receive(self, count: int, wait: int) -> list[MessageTypeDef]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def receive_batch(self, fn: FunctionSpec | None = None) -> list[MessageTypeDef]:
        """Long-poll for the first messages, then fill the batch until it is full or the window closes."""
        fn = fn or self.function
        batch = self._receive(fn.batch_size, self.wait_seconds)
        if not batch:
            return []
        deadline = self.clock() + fn.batching_window
        # Keyed by MessageId: a message whose visibility lapsed while the window was open comes back; Lambda never
        # hands one message twice in a batch, so the newer copy (with the live receipt handle) replaces the older.
        by_id = {m["MessageId"]: m for m in batch}
        while len(by_id) < fn.batch_size and self.clock() < deadline:
            more = self._receive(fn.batch_size - len(by_id), 0)
            if more:
                by_id.update((m["MessageId"], m) for m in more)
            else:
                self.sleep(min(0.05, max(0.0, deadline - self.clock())))
        return list(by_id.values())

    def _terms(self, gate: Gate | None) -> FunctionSpec:
        """The function spec with the mapping's live settings (batch size, window, ReportBatchItemFailures)."""
        if gate is None or gate.mapping_uuid is None:
            return self.function
        return replace(
            self.function,
            batch_size=gate.batch_size or self.function.batch_size,
            batching_window=float(gate.batching_window or 0),
            report_batch_item_failures=bool(gate.report_batch_item_failures),
        )

    def poll_once(self) -> Invocation | None:
        """One poll: an invocation, a batch filtered out or throttled (an Invocation without a run), or None."""
        gate = self.enforcement.gate() if self.enforcement is not None else None
        if gate is not None and not gate.polls:
            self.paused = gate.reason
            return None
        self.paused = None
        fn = self._terms(gate)
        batch = self.receive_batch(fn)
        if not batch or gate is None:
            return self.invoke(batch) if batch else None
        started_ms = time.time() * 1000
        passing, dropped = split(gate.filters, batch, self.queue_arn, fn.region)
        filtered = self._filter_out(dropped, gate, started_ms) if dropped else None
        if not passing:
            return filtered
        invocation = self._throttle(passing, gate, started_ms) if gate.throttled else self.invoke(passing, fn, gate)
        invocation.filtered = filtered.deleted if filtered is not None else []
        return invocation

    def run(
        self,
        stop: threading.Event,
        on_invocation: Callable[[Invocation], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Poll until `stop` is set. AWS errors (a reset sandbox, a deleted queue) are reported and retried."""
        while not stop.is_set():
            try:
                invocation = self.poll_once()
            except Exception as exc:
                if on_error is not None:
                    on_error(exc)
                stop.wait(1.0)
                continue
            if invocation is not None and on_invocation is not None:
                on_invocation(invocation)
            if invocation is None and self.paused is not None:
                stop.wait(0.5)  # not polling: look again soon (the gate re-checks every few seconds)

    # ---- batches that are not invoked ----------------------------------------------------------
    def _filter_out(self, messages: Sequence[MessageTypeDef], gate: Gate, started_ms: float) -> Invocation:
        """Lambda deletes a message its filter criteria reject; the function never sees it."""
        ids = [m["MessageId"] for m in messages]
        self._delete([m["ReceiptHandle"] for m in messages])
        note = Invocation("", ids, "filtered", deleted=ids, error="no filter pattern matched", filtered=ids)
        self._record(messages, note, gate, started_ms, logs_written=False)
        return note

    def _throttle(self, messages: Sequence[MessageTypeDef], gate: Gate, started_ms: float) -> Invocation:
        """Reserved concurrency 0: the Invoke is refused; the batch returns after the visibility timeout."""
        ids = [m["MessageId"] for m in messages]
        metrics().lambda_throttle(self.function.name, at=started_ms / 1000)
        note = Invocation(str(uuid.uuid4()), ids, "throttled", kept=ids, error=THROTTLED)
        self._record(messages, note, gate, started_ms, logs_written=False)
        return note

    def _record(
        self, messages: Sequence[Any], invocation: Invocation, gate: Gate | None, started_ms: float, logs_written: bool
    ) -> None:
        if self.ledger is None:
            return
        end_ms = time.time() * 1000
        self.ledger.write(
            entry_for(
                self.function.name,
                messages,
                invocation.outcome,
                started_ms,
                end_ms,
                request_id=invocation.request_id or None,
                mapping_uuid=gate.mapping_uuid if gate is not None else None,
                queue_arn=self.queue_arn,
                deleted=list(invocation.deleted),
                kept=list(invocation.kept),
                error=invocation.error,
                duration_ms=invocation.duration_ms,
                log_group=self.function.log_group_name,
                log_stream=invocation.log_stream if logs_written else "",
                logs_written=logs_written,
            )
        )

    # ---- one invocation ----------------------------------------------------------------------
    def invoke(
        self, messages: Sequence[Mapping[str, Any]], fn: FunctionSpec | None = None, gate: Gate | None = None
    ) -> Invocation:
        fn = fn or self.function
        request_id = str(uuid.uuid4())
        ids = [m["MessageId"] for m in messages]
        if not self.log_stream:
            self.log_stream = log_stream_name()
            self._stream_ready = False
        started_ms = time.time() * 1000
        context = {
            "function_name": fn.name,
            "function_version": "$LATEST",
            "invoked_function_arn": fn.arn,
            "memory_limit_in_mb": fn.memory_mb,
            "aws_request_id": request_id,
            "log_group_name": fn.log_group_name,
            "log_stream_name": self.log_stream,
            "timeout_ms": int(fn.timeout * 1000),
        }
        payload = json.dumps({"event": sqs_event(messages, self.queue_arn, fn.region), "context": context})
        lines: list[tuple[int, str]] = [(int(started_ms), f"START RequestId: {request_id} Version: $LATEST")]
        env = handler_environment(fn, self.log_stream, self.endpoint)
        run = run_child(self.python, fn.handler_file, fn.handler_function, payload, fn.timeout, env)
        lines.extend(run.lines)
        end_ms = max([int(time.time() * 1000), *(ts for ts, _ in run.lines)])
        outcome, error, runtime_line = outcome_of(run, fn.timeout, request_id, end_ms)
        if runtime_line:
            lines.append((end_ms, runtime_line))
        result = run.result or {}
        delete, keep, problem = settle(outcome == "success", result.get("result"), ids, fn.report_batch_item_failures)
        if outcome == "success" and keep:
            outcome = "partial"
        if problem:
            error, outcome = problem, "partial"
        lines.append((end_ms, f"END RequestId: {request_id}"))
        lines.append((end_ms, report_line(request_id, run, fn.memory_mb)))
        # Settle the batch first: a log write that fails must not leave processed messages to run again.
        receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        self._delete([receipts[i] for i in delete])
        metrics().lambda_invocation(
            fn.name, run.duration_ms, error=outcome in ("error", "timeout"), at=started_ms / 1000
        )
        stream = self.log_stream
        if run.timed_out or run.result is None:
            self.log_stream = ""  # Lambda replaces an execution environment after a timeout or crash
        access = gate.access if gate is not None else None
        written = access is None or access.logs_allowed  # a role that cannot write logs leaves none
        if written:
            written = self._put_logs(lines, stream, may_create_group=access is None or access.may_create_group)
        invocation = Invocation(
            request_id=request_id,
            message_ids=ids,
            outcome=outcome,
            deleted=delete,
            kept=keep,
            error=error,
            duration_ms=run.duration_ms,
            log_stream=stream,
            log_lines=[text for _, text in lines],
        )
        self.invocations.append(invocation)
        self._record(messages, invocation, gate, started_ms, logs_written=written)
        return invocation

    def _delete(self, receipt_handles: Sequence[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(chunk)],
            )

    def _put_logs(self, lines: Sequence[tuple[int, str]], stream: str, *, may_create_group: bool = True) -> bool:
        """Write the invocation's lines; False when the group is missing and the role may not create it."""
        events: list[InputLogEventTypeDef] = [
            {"timestamp": ts, "message": text} for ts, text in sorted(lines, key=lambda item: item[0])
        ]
        for attempt in (1, 2):
            try:
                if not self._stream_ready:
                    self._ensure_stream(stream, may_create_group)
                self.logs.put_log_events(
                    logGroupName=self.function.log_group_name, logStreamName=stream, logEvents=events
                )
                return True
            except Exception as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                if attempt == 2 or not may_create_group:
                    if may_create_group:
                        raise
                    return False  # Lambda cannot create the missing group with this role: the lines are lost
                self._stream_ready = False  # the sandbox was reset: recreate the group and stream
        return False

    def _ensure_stream(self, stream: str, may_create_group: bool = True) -> None:
        group = self.function.log_group_name
        if may_create_group:
            _unless_it_exists(lambda: self.logs.create_log_group(logGroupName=group))
        _unless_it_exists(lambda: self.logs.create_log_stream(logGroupName=group, logStreamName=stream))
        self._stream_ready = True


def _unless_it_exists(create: Callable[[], object]) -> None:
    try:
        create()
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
