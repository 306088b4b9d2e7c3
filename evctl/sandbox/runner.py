"""The local Lambda runner: what an SQS event source mapping does, with the handler in its own process.

Long-polls the queue, gathers a batch (batch size, batching window), hands the handler the event Lambda would
(Records with messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody, eventSource,
eventSourceARN, awsRegion) and a context object, enforces the timeout, and settles the batch as Lambda does:
success deletes it; with ReportBatchItemFailures only the reported messages stay; an error or timeout leaves the
whole batch to reappear after the visibility timeout, and SQS moves a message to the DLQ after maxReceiveCount.
Handler output goes to CloudWatch Logs between START / END / REPORT lines, in a stream named as Lambda names them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from evctl.core.common.time import iso_utc
from evctl.core.queues import Received
from evctl.core.queues import sqs_event as queue_sqs_event
from evctl.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Outcome = Literal["success", "partial", "error", "timeout"]


@dataclass(frozen=True)
class FunctionSpec:
    """What the runner needs to know about the function and its event source mapping."""

    name: str
    handler_file: Path
    handler_function: str
    arn: str
    region: str
    timeout: float = 3.0  # seconds
    memory_mb: int = 128
    log_group: str = ""
    batch_size: int = 10
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds
    report_batch_item_failures: bool = True

    @property
    def log_group_name(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


@dataclass
class Invocation:
    """One batch handed to the handler, and what became of it."""

    request_id: str
    message_ids: list[str]
    outcome: Outcome
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # left in the queue to be retried
    error: str | None = None
    duration_ms: float = 0.0
    log_stream: str = ""
    log_lines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "outcome": self.outcome,
            "messages": len(self.message_ids),
            "deleted": len(self.deleted),
            "kept": len(self.kept),
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

    def receive_batch(self) -> list[MessageTypeDef]:
        """Long-poll for the first messages, then fill the batch until it is full or the window closes."""
        batch = self._receive(self.function.batch_size, self.wait_seconds)
        if not batch:
            return []
        deadline = self.clock() + self.function.batching_window
        # Keyed by MessageId: a message whose visibility lapsed while the window was open comes back; Lambda never
        # hands one message twice in a batch, so the newer copy (with the live receipt handle) replaces the older.
        by_id = {m["MessageId"]: m for m in batch}
        while len(by_id) < self.function.batch_size and self.clock() < deadline:
            more = self._receive(self.function.batch_size - len(by_id), 0)
            if more:
                by_id.update((m["MessageId"], m) for m in more)
            else:
                self.sleep(min(0.05, max(0.0, deadline - self.clock())))
        return list(by_id.values())

    def poll_once(self) -> Invocation | None:
        batch = self.receive_batch()
        if not batch:
            return None
        return self.invoke(batch)

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

    # ---- one invocation ----------------------------------------------------------------------
    def invoke(self, messages: Sequence[Mapping[str, Any]]) -> Invocation:
        fn = self.function
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
        run = _run_child(self.python, fn.handler_file, fn.handler_function, payload, fn.timeout, env)
        lines.extend(run.lines)
        end_ms = max([int(time.time() * 1000), *(ts for ts, _ in run.lines)])
        outcome, error, runtime_line = _outcome(run, fn.timeout, request_id, end_ms)
        if runtime_line:
            lines.append((end_ms, runtime_line))
        result = run.result or {}
        delete, keep, problem = settle(outcome == "success", result.get("result"), ids, fn.report_batch_item_failures)
        if outcome == "success" and keep:
            outcome = "partial"
        if problem:
            error, outcome = problem, "partial"
        lines.append((end_ms, f"END RequestId: {request_id}"))
        lines.append((end_ms, _report_line(request_id, run, fn.memory_mb)))
        # Settle the batch first: a log write that fails must not leave processed messages to run again.
        receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        self._delete([receipts[i] for i in delete])
        stream = self.log_stream
        if run.timed_out or run.result is None:
            self.log_stream = ""  # Lambda replaces an execution environment after a timeout or crash
        self._put_logs(lines, stream)
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
        return invocation

    def _delete(self, receipt_handles: Sequence[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(chunk)],
            )

    def _put_logs(self, lines: Sequence[tuple[int, str]], stream: str) -> None:
        events: list[InputLogEventTypeDef] = [
            {"timestamp": ts, "message": text} for ts, text in sorted(lines, key=lambda item: item[0])
        ]
        for attempt in (1, 2):
            try:
                if not self._stream_ready:
                    self._ensure_stream(stream)
                self.logs.put_log_events(
                    logGroupName=self.function.log_group_name, logStreamName=stream, logEvents=events
                )
                return
            except Exception as exc:
                if attempt == 2 or error_code(exc) != "ResourceNotFoundException":
                    raise
                self._stream_ready = False  # the sandbox was reset: recreate the group and stream

    def _ensure_stream(self, stream: str) -> None:
        group = self.function.log_group_name
        _unless_it_exists(lambda: self.logs.create_log_group(logGroupName=group))
        _unless_it_exists(lambda: self.logs.create_log_stream(logGroupName=group, logStreamName=stream))
        self._stream_ready = True


def _unless_it_exists(create: Callable[[], object]) -> None:
    try:
        create()
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


def _outcome(run: ChildRun, timeout: float, request_id: str, end_ms: int) -> tuple[Outcome, str | None, str | None]:
    """(outcome, error, the line Lambda's runtime logs for it) of one child run."""
    if run.timed_out:
        error = f"Task timed out after {timeout:.2f} seconds"
        return "timeout", error, f"{iso_utc(end_ms, precision='milliseconds')} {request_id} {error}"
    if run.result is None:
        exit_error = f"Runtime exited with error: exit status {run.returncode}"
        return "error", f"Runtime.ExitError: {exit_error}", f"RequestId: {request_id} Error: {exit_error}"
    if not run.result.get("ok"):
        return "error", f"{run.result.get('errorType')}: {run.result.get('errorMessage')}", None
    return "success", None, None


def _report_line(request_id: str, run: ChildRun, memory_mb: int) -> str:
    peak = (run.result or {}).get("maxRssMb", 0)
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {run.duration_ms:.2f} ms"
        f"\tBilled Duration: {math.ceil(run.duration_ms)} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {peak} MB"
        f"\tInit Duration: {run.init_ms:.2f} ms"  # every invocation here is a cold start
    )
    return report + ("\tStatus: timeout" if run.timed_out else "")


@dataclass
class ChildRun:
    lines: list[tuple[int, str]]
    result: dict[str, Any] | None
    timed_out: bool
    returncode: int
    duration_ms: float
    init_ms: float = 0.0


def handler_environment(fn: FunctionSpec, log_stream: str, endpoint: str | None) -> dict[str, str]:
    """The handler's environment: Lambda's variables, and AWS settings aimed at the sandbox.

    The user's own AWS variables (profile, keys, session token, endpoints) are dropped, so a handler that calls
    AWS reaches the sandbox with dummy credentials and can never touch a real account by accident.
    """
    from evctl.sandbox.state import CREDENTIALS

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=fn.name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_mb),
        AWS_LAMBDA_LOG_GROUP_NAME=fn.log_group_name,
        AWS_LAMBDA_LOG_STREAM_NAME=log_stream,
        AWS_EXECUTION_ENV="AWS_Lambda_python_evctl_sandbox",
        LAMBDA_TASK_ROOT=str(fn.handler_file.parent),
        AWS_REGION=fn.region,
        AWS_DEFAULT_REGION=fn.region,
        AWS_ACCESS_KEY_ID=CREDENTIALS[0],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS[1],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def _run_child(python: str, file: Path, function: str, payload: str, timeout: float, env: dict[str, str]) -> ChildRun:
    """Run the handler in its own process group; kill the group when the timeout passes."""
    with tempfile.TemporaryDirectory(prefix="evctl-invoke-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        started = time.monotonic()
        proc = subprocess.Popen(
            [python, "-m", "evctl.sandbox.invoke", str(file), function, result_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(file.parent) if file.parent.is_dir() else None,
            env=env,
            start_new_session=True,
        )
        try:
            lines: list[tuple[int, str]] = []
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            assert proc.stdin is not None
            try:
                proc.stdin.write(payload.encode("utf-8"))
                proc.stdin.close()
            except BrokenPipeError:
                pass
            timed_out, handler_started = _wait(proc, result_path + ".started", started, timeout)
            ended = time.monotonic()
            duration_ms = (ended - (handler_started or started)) * 1000
            init_ms = ((handler_started or ended) - started) * 1000
            reader.join(timeout=2)
            result = None
            if not timed_out:
                try:
                    with open(result_path, encoding="utf-8") as fh:
                        result = json.load(fh)
                except (OSError, ValueError):
                    result = None
        finally:
            _kill_group(proc)  # anything the handler left running in the background; the handler too if stopped
        return ChildRun(lines, result, timed_out, proc.returncode, duration_ms, init_ms)


INIT_LIMIT = 10.0  # seconds: Lambda's limit for the init phase (interpreter start, importing the handler)


def _wait(proc: subprocess.Popen[bytes], marker: str, started: float, timeout: float) -> tuple[bool, float | None]:
    """Wait for the child; the timeout counts from the handler's start (the child's marker file), as Lambda's
    excludes the init phase. Returns (timed out, when the handler started)."""
    handler_started: float | None = None
    deadline = started + INIT_LIMIT
    while True:
        try:
            proc.wait(timeout=0.01)
            return False, handler_started
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if handler_started is None and os.path.exists(marker):
            handler_started = now
            deadline = now + timeout
        if now >= deadline:
            _kill_group(proc)
            proc.wait()
            return True, handler_started


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_lines(stream: IO[bytes], lines: list[tuple[int, str]]) -> None:
    """Each output line becomes one log event, stamped when it arrived; bytes that are not UTF-8 are replaced."""
    for raw in iter(stream.readline, b""):
        text = raw.rstrip(b"\n").decode("utf-8", errors="replace")
        lines.append((int(time.time() * 1000), text))
    stream.close()
