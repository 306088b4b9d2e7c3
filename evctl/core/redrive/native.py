"""Native redrive: SQS message move tasks (StartMessageMoveTask), started, listed, followed and cancelled.

SQS runs one task per DLQ and keeps the latest 10; a finished task loses its TaskHandle in the listing. Ctrl-C
stops the waiting, never the task. Nothing here prints.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from evctl.core.common import iso_utc
from evctl.core.queues import resolve_queue
from evctl.core.redrive._support import aws_error, name_of, quietly
from evctl.core.redrive.discovery import all_dlq_arns, discover
from evctl.core.redrive.plan import NativeProbe, validate_rate
from evctl.errors import Interrupted, NotFoundError, ServiceError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ListMessageMoveTasksResultEntryTypeDef

TERMINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")


@dataclass(frozen=True)
class MoveTask:
    source_arn: str
    status: str
    handle: str | None = None
    destination_arn: str | None = None
    rate: int | None = None
    moved: int = 0
    to_move: int | None = None
    started_ms: int | None = None
    failure: str | None = None

    @classmethod
    def from_api(cls, item: ListMessageMoveTasksResultEntryTypeDef) -> MoveTask:
        return cls(
            source_arn=str(item.get("SourceArn", "")),
            status=str(item.get("Status", "")),
            handle=item.get("TaskHandle"),
            destination_arn=item.get("DestinationArn"),
            rate=item.get("MaxNumberOfMessagesPerSecond"),
            moved=int(item.get("ApproximateNumberOfMessagesMoved") or 0),
            to_move=item.get("ApproximateNumberOfMessagesToMove"),
            started_ms=item.get("StartedTimestamp"),
            failure=item.get("FailureReason"),
        )

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def source_name(self) -> str:
        return name_of(self.source_arn)

    @property
    def destination_name(self) -> str | None:
        """The destination queue's name; None when each message goes back to its own source."""
        return name_of(self.destination_arn) if self.destination_arn else None

    @property
    def started(self) -> str | None:
        """The start time, ISO-8601 UTC to the second (e.g. 2026-11-27T12:00:00+00:00)."""
        return iso_utc(self.started_ms, suffix="+00:00") if self.started_ms else None

    def summary(self) -> str:
        """One phrase for messages and errors: status, moved of to-move, start and handle."""
        total = f" of ~{self.to_move}" if self.to_move is not None else ""
        started = self.started
        text = f"{self.status}, moved ~{self.moved}{total}" + (f", started {started}" if started else "")
        return text + (f", handle {self.handle}" if self.handle else "")


def list_move_tasks(sqs: SQSClient, source_arn: str, *, limit: int = 10) -> list[MoveTask]:
    """The most recent move tasks of a DLQ (SQS keeps up to 10), newest first."""
    try:
        response = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=limit)
    except Exception as exc:
        raise aws_error(exc, f"queue {name_of(source_arn)}") from exc
    return [MoveTask.from_api(item) for item in response.get("Results", [])]


def running_task(sqs: SQSClient, source_arn: str) -> MoveTask | None:
    return next((t for t in list_move_tasks(sqs, source_arn) if t.status in ("RUNNING", "CANCELLING")), None)


def start_move_task(sqs: SQSClient, source_arn: str, destination_arn: str | None, rate: float | None) -> MoveTask:
    """Start a native move. A task already running on the queue is explained (SQS allows one per queue)."""
    validate_rate(rate, native=True)
    active = running_task(sqs, source_arn)
    if active is not None:
        raise _one_task_error(source_arn, active)
    params: dict[str, Any] = {"SourceArn": source_arn}
    if destination_arn:
        params["DestinationArn"] = destination_arn
    if rate is not None:
        params["MaxNumberOfMessagesPerSecond"] = int(rate)
    try:
        handle = sqs.start_message_move_task(**params)["TaskHandle"]
    except Exception as exc:
        translated = aws_error(exc, f"queue {name_of(source_arn)}")
        if not isinstance(translated, NotFoundError | Interrupted):
            # Started elsewhere between our check and our call: show that task rather than a bare error.
            active = quietly(lambda: running_task(sqs, source_arn))
            if active is not None:
                raise _one_task_error(source_arn, active) from exc
        raise translated from exc
    listed = quietly(lambda: list_move_tasks(sqs, source_arn)) or []
    for task in listed:
        if task.handle == handle:
            return task
    return MoveTask(source_arn=source_arn, status="RUNNING", handle=handle, destination_arn=destination_arn)


def _one_task_error(source_arn: str, active: MoveTask) -> UsageError:
    name = name_of(source_arn)
    return UsageError(
        f"a move task is already running on {name} ({active.summary()}); SQS runs one task per queue",
        f"follow it with `evctl redrive status {name}` or stop it with `evctl redrive cancel {name}`",
    )


def follow_task(
    sqs: SQSClient,
    task: MoveTask,
    *,
    on_progress: Callable[[MoveTask], None],
    poll_seconds: float = 2.0,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    timeout: float | None = None,
) -> MoveTask:
    """Poll ListMessageMoveTasks until the task ends; returns its final state.

    A finished task has no TaskHandle in the listing, so it is matched by handle while running and by its start
    time afterwards. Ctrl-C stops the waiting, not the task: the Interrupted error says how to follow or cancel it.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = None if timeout is None else clock() + timeout
    current = task
    try:
        while True:
            current = _find_task(list_move_tasks(sqs, task.source_arn), current)
            on_progress(current)
            if current.finished:
                return current
            if deadline is not None and clock() >= deadline:
                return current
            sleep(poll_seconds)
    except KeyboardInterrupt:
        name = name_of(task.source_arn)
        raise Interrupted(
            f"stopped waiting; the move task keeps running on {name} ({current.summary()})",
            f"`evctl redrive status {name}` to follow it, `evctl redrive cancel {name}` to stop it",
        ) from None


def _find_task(tasks: list[MoveTask], known: MoveTask) -> MoveTask:
    """Our task in a listing; it keeps the handle we know (SQS drops the handle from finished tasks)."""
    for candidate in tasks:
        if known.handle and candidate.handle == known.handle:
            return candidate
    for candidate in tasks:
        if known.started_ms is not None and candidate.started_ms == known.started_ms:
            return replace(candidate, handle=candidate.handle or known.handle)
    if known.started_ms is None and tasks:
        return replace(tasks[0], handle=tasks[0].handle or known.handle)  # the newest: ours, just started
    raise ServiceError(
        f"the move task on {name_of(known.source_arn)} is no longer listed", "check `evctl redrive status`"
    )


def decode_handle(handle: str) -> dict[str, Any] | None:
    """A task handle is base64 JSON ({"taskId", "sourceArn"}); None when it is not one."""
    try:
        padded = handle + "=" * (-len(handle) % 4)
        data = json.loads(base64.b64decode(padded, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and "sourceArn" in data else None


def looks_like_queue(ref: str) -> bool:
    return ref.startswith(("arn:", "http://", "https://")) or bool(_QUEUE_NAME.match(ref))


def cancel(sqs: SQSClient, target: str, *, probe: NativeProbe | None = None) -> MoveTask:
    """Cancel a running move task, named by its handle or by its DLQ. Finished tasks are explained, not retried."""
    if looks_like_queue(target) and decode_handle(target) is None:
        queue = resolve_queue(sqs, target)
        require_move_tasks(probe, queue.arn)
        tasks = list_move_tasks(sqs, queue.arn)
        active = next((t for t in tasks if t.status == "RUNNING"), None)
        if active is None:
            last = f"; its latest task is {tasks[0].summary()}" if tasks else ""
            raise NotFoundError(f"no move task is running on {queue.name}{last}", "nothing to cancel")
        handle = str(active.handle)
        source_arn = queue.arn
    else:
        handle = target
        decoded = decode_handle(target)
        source_arn = str(decoded["sourceArn"]) if decoded else ""
        if source_arn:
            require_move_tasks(probe, source_arn)
            task = next((t for t in list_move_tasks(sqs, source_arn) if t.handle == handle), None)
            if task is None:
                raise _finished_error(sqs, source_arn)
    try:
        moved = sqs.cancel_message_move_task(TaskHandle=handle).get("ApproximateNumberOfMessagesMoved", 0)
    except Exception as exc:
        translated = aws_error(exc, "move task")
        if source_arn and not isinstance(translated, Interrupted):
            raise _finished_error(sqs, source_arn) from exc
        raise translated from exc
    return MoveTask(source_arn=source_arn, status="CANCELLING", handle=handle, moved=int(moved or 0))


def _finished_error(sqs: SQSClient, source_arn: str) -> UsageError:
    tasks = quietly(lambda: list_move_tasks(sqs, source_arn)) or []
    latest = f" (latest task on {name_of(source_arn)}: {tasks[0].summary()})" if tasks else ""
    return UsageError(
        f"the move task is not running{latest}; only a running task can be cancelled",
        "messages it already moved stay moved; start a new redrive if some remain",
    )


def all_dlq_tasks(sqs: SQSClient, queue: str | None, *, probe: NativeProbe | None = None) -> list[MoveTask]:
    """`redrive status`: the tasks of one DLQ (or of the DLQ of a named source queue), or of every DLQ.

    `probe` (see plan_redrive) turns an endpoint without move tasks into one clear error instead of retries."""
    arns = [discover(sqs, queue).dlq.arn] if queue is not None else sorted(all_dlq_arns(sqs))
    if arns:
        require_move_tasks(probe, arns[0])
    tasks: list[MoveTask] = []
    for arn in arns:
        tasks.extend(list_move_tasks(sqs, arn))
    return tasks


def require_move_tasks(probe: NativeProbe | None, arn: str) -> None:
    lacking = probe(arn) if probe is not None else None
    if lacking:
        raise ServiceError(
            lacking, "move tasks exist on AWS SQS; a manual redrive runs inside evctl and leaves no task to follow"
        )
