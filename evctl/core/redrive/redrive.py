"""Redrive a dead-letter queue: find where its messages belong, then move them natively or through the mover.

Native mode is SQS's own message move task (StartMessageMoveTask): fast, server-side, but only from a DLQ of other
SQS queues, to a queue of the same type, unfiltered. Manual mode (redrive_manual.py) moves messages through
core/mover.py: receive → send → check every entry → delete only what was sent. This module holds discovery, the
choice between the two, and the move-task calls (start, progress, status, cancel). It never prints.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from evctl.errors import EvctlError, Interrupted, NotFoundError, ServiceError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from evctl.core.queues.queues import QueueRef

Mode = Literal["auto", "native", "manual"]
NATIVE_MAX_RATE = 500  # StartMessageMoveTask's MaxNumberOfMessagesPerSecond cap
TERMINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")


# ---- discovery ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovery:
    """What the queue the user named turned out to be, and where its messages would go by default."""

    dlq: QueueRef
    sources: tuple[str, ...]  # URLs of the queues whose RedrivePolicy points at the DLQ
    named_source: QueueRef | None = None  # set when the user named a source queue rather than its DLQ

    @property
    def is_a_dlq(self) -> bool:
        return bool(self.sources)


def discover(sqs: Any, queue: str) -> Discovery:
    """Resolve the queue the user named: a DLQ (it has sources), or a source queue (its RedrivePolicy names the
    DLQ), or neither (nobody's DLQ: Discovery with no sources, the caller warns and needs --to).

    A queue that is both (a DLQ that has its own DLQ) is taken as a DLQ: that is the queue with messages to move.
    """
    from evctl.core.queues.queues import dead_letter_sources, parse_redrive_policy, queue_attributes, resolve_queue

    named = resolve_queue(sqs, queue)
    sources = list(dead_letter_sources(sqs, named))
    if sources:
        return Discovery(dlq=named, sources=tuple(sources))
    policy = parse_redrive_policy(queue_attributes(sqs, named).get("RedrivePolicy"))
    if policy is not None:
        dlq = resolve_queue(sqs, policy.dead_letter_arn)
        return Discovery(dlq=dlq, sources=tuple(dead_letter_sources(sqs, dlq)) or (named.url,), named_source=named)
    return Discovery(dlq=named, sources=())


# ---- the plan: where to, and which mode ----------------------------------------------------------------------


@dataclass(frozen=True)
class RedriveRequest:
    """What the user asked for on the command line."""

    queue: str
    to: str | None = None
    to_sources: bool = False
    to_bus: str | None = None
    mode: Mode = "auto"
    rate: float | None = None
    max_messages: int | None = None
    filter: str | None = None
    group_id: str | None = None
    journal: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class RedrivePlan:
    dlq: QueueRef
    mode: Literal["native", "manual"]
    destination: QueueRef | None  # None: each message back to its own source (native), or a bus (to_bus)
    to_bus: str | None = None
    sources: tuple[str, ...] = ()
    group_id: str | None = None
    manual_reasons: tuple[str, ...] = ()  # why native mode cannot serve (shown when auto picks manual)
    notices: tuple[str, ...] = ()  # warnings the user should read before confirming

    @property
    def destination_label(self) -> str:
        if self.to_bus:
            return f"bus {self.to_bus}"
        if self.destination is not None:
            return self.destination.name
        return "their source queues (" + ", ".join(_name_of(u) for u in self.sources) + ")"

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.dlq.name,
            "source_arn": self.dlq.arn,
            "destination": self.destination_label,
            "destination_arn": self.destination.arn if self.destination else None,
            "mode": self.mode,
        }


NativeProbe = Callable[[str], str | None]  # DLQ ARN → None if move tasks work, else why they don't


def validate_rate(rate: float | None, *, native: bool) -> None:
    if rate is None:
        return
    if rate <= 0:
        raise UsageError(f"--rate must be a positive number of messages per second, not {rate:g}")
    if native and (rate > NATIVE_MAX_RATE or rate != int(rate)):
        raise UsageError(
            f"--rate {rate:g} is outside what SQS move tasks accept (a whole number from 1 to {NATIVE_MAX_RATE})",
            "use --mode manual for other rates",
        )


def plan_redrive(sqs: Any, request: RedriveRequest, *, probe: NativeProbe | None = None) -> RedrivePlan:
    """Discover source and destination, check they fit together, and choose native or manual mode.

    `probe` tells whether the endpoint serves move tasks (the CLI passes one that asks with a single attempt, so a
    server without them, like moto, costs one quick call instead of a round of retries).
    """
    from evctl.core.queues.queues import resolve_queue

    validate_rate(request.rate, native=False)
    if request.max_messages is not None and request.max_messages <= 0:
        raise UsageError(f"--max must be a positive number, not {request.max_messages}")
    if sum(bool(x) for x in (request.to, request.to_bus, request.to_sources)) > 1:
        raise UsageError("choose one destination: --to, --to-bus or --to-sources")

    found = discover(sqs, request.queue)
    dlq = found.dlq
    notices: list[str] = []
    manual: list[str] = []

    destination: QueueRef | None = None
    if request.to:
        destination = resolve_queue(sqs, request.to)
        if destination.arn == dlq.arn:
            raise UsageError(f"--to {request.to} is the dead-letter queue itself", "name the queue to move to")
    elif request.to_bus:
        manual.append("the destination is an event bus")
    elif not found.is_a_dlq:
        raise UsageError(
            f"queue {dlq.name} is not the dead-letter queue of any queue (no RedrivePolicy points at it)",
            "pass --to QUEUE, or --to-bus BUS if it is an EventBridge target's DLQ",
        )
    elif found.named_source is not None and not request.to_sources:
        destination = found.named_source
    elif len(found.sources) == 1 and not request.to_sources:
        destination = resolve_queue(sqs, found.sources[0])
    elif not request.to_sources:
        names = ", ".join(_name_of(u) for u in found.sources)
        raise UsageError(
            f"queue {dlq.name} is the dead-letter queue of {len(found.sources)} queues ({names})",
            "pass --to QUEUE, or --to-sources to return each message to the queue it came from (native mode)",
        )

    if not found.is_a_dlq and (request.to or request.to_bus):
        notices.append(f"queue {dlq.name} is not the dead-letter queue of any queue; moving its messages as asked")
        manual.append(f"{dlq.name} is not a dead-letter queue of SQS queues (e.g. an EventBridge target's DLQ)")

    if destination is not None:
        _check_types(dlq, destination, request.group_id, notices, manual)
    elif request.group_id:
        raise UsageError("--group-id applies only when moving to a FIFO queue with --to")

    if request.filter:
        manual.append("--filter selects messages, and move tasks cannot")
    if request.max_messages is not None:
        manual.append("--max limits the count, and move tasks cannot")
    if request.journal:
        manual.append("--journal records each message, and move tasks do not report them")
    if request.to_sources and request.mode == "manual":
        raise UsageError("--to-sources needs native mode: manual mode cannot tell which queue each message came from")

    mode: Literal["native", "manual"]
    if request.mode == "manual":
        mode = "manual"
    elif manual:
        if request.mode == "native":
            raise UsageError(f"native mode cannot serve this redrive: {manual[0]}", "use --mode auto or manual")
        if request.to_sources:
            raise UsageError(f"--to-sources needs native mode, which cannot serve this redrive: {manual[0]}")
        mode = "manual"
    else:
        lacking = (probe or native_probe(sqs))(dlq.arn)
        if lacking is None:
            mode = "native"
        elif request.mode == "native" or request.to_sources:
            raise UsageError(f"native mode is not available: {lacking}", "use --mode manual")
        else:
            manual.append(lacking)
            mode = "manual"
    if mode == "native":
        validate_rate(request.rate, native=True)
    return RedrivePlan(
        dlq=dlq,
        mode=mode,
        destination=destination,
        to_bus=request.to_bus,
        sources=found.sources,
        group_id=request.group_id,
        manual_reasons=tuple(manual),
        notices=tuple(notices),
    )


def _check_types(
    dlq: QueueRef, destination: QueueRef, group_id: str | None, notices: list[str], manual: list[str]
) -> None:
    if dlq.fifo and not destination.fifo:
        # Allowed in manual mode: the user chose a standard queue. Said plainly because order is given up.
        manual.append("SQS moves messages only between queues of the same type (FIFO → standard)")
        notices.append(
            f"{dlq.name} is FIFO and {destination.name} is standard: messages keep their bodies and attributes, "
            "but not their order, message group or deduplication"
        )
        if group_id:
            raise UsageError("--group-id applies only when the destination is a FIFO queue")
    elif destination.fifo and not dlq.fifo:
        if not group_id:
            raise UsageError(
                f"{destination.name} is a FIFO queue and {dlq.name} is standard: its messages have no message group",
                "pass --group-id GROUP to send them all in one group",
            )
        manual.append("SQS moves messages only between queues of the same type (standard → FIFO)")
    elif group_id:
        raise UsageError("--group-id applies only when moving from a standard queue to a FIFO queue")


_TRANSIENT_CODES = frozenset(
    {"RequestThrottled", "ThrottlingException", "Throttling", "InternalError", "ServiceUnavailable", "InternalFailure"}
)


def native_probe(sqs: Any) -> NativeProbe:
    """A probe that asks the endpoint for the DLQ's move tasks; None when it answers like SQS."""

    def probe(dlq_arn: str) -> str | None:
        try:
            sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)
        except NotImplementedError:  # moto in-process
            return "this endpoint does not implement SQS message move tasks"
        except Exception as exc:
            code = error_code(exc)
            if code in ("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation"):
                return "this endpoint does not support SQS message move tasks (UnsupportedOperation)"
            if code.isdigit():
                # A bare HTTP status instead of an SQS error body: not SQS answering (moto's server says 500).
                return f"this endpoint does not implement SQS message move tasks (HTTP {code} without an SQS error)"
            if code in _TRANSIENT_CODES:
                return None  # SQS answered, just not now: the real calls that follow have retries
            raise _aws_error(exc, f"queue {dlq_arn}") from exc
        return None

    return probe


# ---- native move tasks ---------------------------------------------------------------------------------------


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
    def from_api(cls, item: dict[str, Any]) -> MoveTask:
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

    def row(self) -> dict[str, Any]:
        import datetime as dt

        started = (
            dt.datetime.fromtimestamp(self.started_ms / 1000, dt.UTC).isoformat(timespec="seconds")
            if self.started_ms
            else None
        )
        return {
            "queue": _name_of(self.source_arn),
            "status": self.status,
            "moved": self.moved,
            "to_move": self.to_move,
            "destination": _name_of(self.destination_arn) if self.destination_arn else "(original sources)",
            "rate": self.rate,
            "started": started,
            "task_handle": self.handle,
            "failure": self.failure,
            "source_arn": self.source_arn,
            "destination_arn": self.destination_arn,
        }

    def summary(self) -> str:
        total = f" of ~{self.to_move}" if self.to_move is not None else ""
        started = self.row()["started"]
        text = f"{self.status}, moved ~{self.moved}{total}" + (f", started {started}" if started else "")
        return text + (f", handle {self.handle}" if self.handle else "")


def list_move_tasks(sqs: Any, source_arn: str, *, limit: int = 10) -> list[MoveTask]:
    """The most recent move tasks of a DLQ (SQS keeps up to 10), newest first."""
    try:
        response = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=limit)
    except Exception as exc:
        raise _aws_error(exc, f"queue {_name_of(source_arn)}") from exc
    return [MoveTask.from_api(item) for item in response.get("Results", [])]


def running_task(sqs: Any, source_arn: str) -> MoveTask | None:
    return next((t for t in list_move_tasks(sqs, source_arn) if t.status in ("RUNNING", "CANCELLING")), None)


def start_move_task(sqs: Any, source_arn: str, destination_arn: str | None, rate: float | None) -> MoveTask:
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
        translated = _aws_error(exc, f"queue {_name_of(source_arn)}")
        if not isinstance(translated, NotFoundError | Interrupted):
            # Started elsewhere between our check and our call: show that task rather than a bare error.
            active = _quietly(lambda: running_task(sqs, source_arn))
            if active is not None:
                raise _one_task_error(source_arn, active) from exc
        raise translated from exc
    listed: list[MoveTask] = _quietly(lambda: list_move_tasks(sqs, source_arn)) or []
    for task in listed:
        if task.handle == handle:
            return task
    return MoveTask(source_arn=source_arn, status="RUNNING", handle=handle, destination_arn=destination_arn)


def _one_task_error(source_arn: str, active: MoveTask) -> UsageError:
    name = _name_of(source_arn)
    return UsageError(
        f"a move task is already running on {name} ({active.summary()}); SQS runs one task per queue",
        f"follow it with `evctl redrive status {name}` or stop it with `evctl redrive cancel {name}`",
    )


def follow_task(
    sqs: Any,
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
        name = _name_of(task.source_arn)
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
        f"the move task on {_name_of(known.source_arn)} is no longer listed", "check `evctl redrive status`"
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


def cancel(sqs: Any, target: str, *, probe: NativeProbe | None = None) -> MoveTask:
    """Cancel a running move task, named by its handle or by its DLQ. Finished tasks are explained, not retried."""
    from evctl.core.queues.queues import resolve_queue

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
        translated = _aws_error(exc, "move task")
        if source_arn and not isinstance(translated, Interrupted):
            raise _finished_error(sqs, source_arn) from exc
        raise translated from exc
    return MoveTask(source_arn=source_arn, status="CANCELLING", handle=handle, moved=int(moved or 0))


def _finished_error(sqs: Any, source_arn: str) -> UsageError:
    tasks = _quietly(lambda: list_move_tasks(sqs, source_arn)) or []
    latest = f" (latest task on {_name_of(source_arn)}: {tasks[0].summary()})" if tasks else ""
    return UsageError(
        f"the move task is not running{latest}; only a running task can be cancelled",
        "messages it already moved stay moved; start a new redrive if some remain",
    )


def all_dlq_tasks(sqs: Any, queue: str | None, *, probe: NativeProbe | None = None) -> list[MoveTask]:
    """`redrive status`: the tasks of one DLQ (or of the DLQ of a named source queue), or of every DLQ.

    `probe` (see plan_redrive) turns an endpoint without move tasks into one clear error instead of retries."""
    arns = [discover(sqs, queue).dlq.arn] if queue is not None else sorted(_all_dlq_arns(sqs))
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


def _all_dlq_arns(sqs: Any) -> set[str]:
    from evctl.core.queues.queues import list_queues

    return {stats.redrive.dead_letter_arn for stats in list_queues(sqs) if stats.redrive is not None}


# ---- small helpers ---------------------------------------------------------------------------------------------


def _quietly(fn: Callable[[], Any]) -> Any:
    """Best effort for explanations: a failing lookup must not hide the error being explained."""
    try:
        return fn()
    except Exception:
        return None


def _name_of(ref: str | None) -> str:
    if not ref:
        return ""
    return ref.rstrip("/").rsplit(":" if ref.startswith("arn:") else "/", 1)[-1]


def _aws_error(exc: BaseException, what: str | None) -> EvctlError:
    if isinstance(exc, EvctlError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    return from_aws(exc, what) or ServiceError(f"{type(exc).__name__}: {exc}")


# ---- manual mode --------------------------------------------------------------------------------------------

MANUAL_WAIT_SECONDS = 2  # a DLQ is not being filled while we redrive it: a short final long poll ends the run
MANUAL_EMPTY_POLLS = 1


def make_sink(
    plan: RedrivePlan,
    sqs: Any,
    events: Any | None = None,
    *,
    rate: float | None = None,
    journal: Any | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The sink manual mode moves into: a queue or a bus, paced by `rate`, journaled when asked."""
    from evctl.core.moving.redrive_sinks import BusSink, JournalSink, Pacer, QueueSink

    pacer = Pacer(rate, clock=clock, sleep=sleep)
    sink: Any
    if plan.to_bus:
        if events is None:
            raise UsageError("--to-bus needs an EventBridge client")
        sink = BusSink(events, plan.to_bus, pacer=pacer)
    elif plan.destination is not None:
        sink = QueueSink(sqs, plan.destination, group_id=plan.group_id, pacer=pacer)
    else:
        raise UsageError("manual mode needs one destination: pass --to QUEUE or --to-bus BUS")
    return JournalSink(sink, journal) if journal is not None else sink


def manual_redrive(
    sqs: Any,
    plan: RedrivePlan,
    sink: Any,
    *,
    max_messages: int | None = None,
    filter: str | None = None,
    concurrency: int = 1,
    wait_seconds: int = MANUAL_WAIT_SECONDS,
    empty_polls_to_stop: int = MANUAL_EMPTY_POLLS,
    visibility_timeout: int = 60,
    should_stop: Any = None,
    on_progress: Callable[[Any], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Move the DLQ's messages into `sink` with the mover: deleted only once the sink confirmed them.

    A FIFO DLQ is moved by one loop, without the mover's background deletes: with two loops, a message whose
    visibility lapsed while it was being sent would let the other loop send the next message of its group first.
    """
    from evctl.core.moving.engine import move

    fifo = plan.dlq.fifo
    if fifo:
        concurrency = 1

    return move(
        sqs,
        plan.dlq,
        sink,
        max_messages=max_messages,
        filter=filter,
        wait_seconds=wait_seconds,
        empty_polls_to_stop=empty_polls_to_stop,
        visibility_timeout=visibility_timeout,
        concurrency=concurrency,
        # FIFO: receive the next batch only after this one is deleted; while its groups are in flight SQS returns
        # nothing from them, and the empty poll would end the run early.
        pipeline=not fifo,
        should_stop=should_stop,
        on_progress=on_progress,
        clock=clock,
        sleep=sleep,
    )


def manual_summary(plan: RedrivePlan, report: Any, sink: Any) -> dict[str, Any]:
    """What a manual run did, for the result on stdout (API calls: the mover's and the sink's)."""
    summary = report.summary()
    sink_calls = int(getattr(getattr(sink, "inner", sink), "api_calls", 0))
    return {
        "mode": "manual",
        "source": plan.dlq.name,
        "destination": plan.destination_label,
        "received": summary["received"],
        "moved": summary["deleted"],
        "sent_not_deleted": summary["not_deleted"],
        "failed": summary["failed"],
        "filtered_out": summary["filtered_out"],
        "duplicates_possible": summary["duplicates_possible"],
        "stopped_by": summary["stopped_by"],
        "api_calls": summary["api_calls"] + sink_calls,
        "seconds": summary["seconds"],
        "failures": [{"message_id": f.message_id, "code": f.code, "message": f.message} for f in report.failures],
    }


def preview(
    sqs: Any, plan: RedrivePlan, *, limit: int, filter: str | None, wait_seconds: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """--dry-run: up to `limit` messages that would move, seen with the honest peek (received, released at once,
    never deleted), and the DLQ's approximate depth. With a filter, more are peeked to find `limit` matches."""
    from evctl.core.moving.engine import compile_filter
    from evctl.core.queues.messages import decoded, iso_millis
    from evctl.core.queues.queues import peek_messages, queue_stats

    expression = compile_filter(filter)
    depth = queue_stats(sqs, plan.dlq).visible
    count = limit if expression is None else max(limit, min(depth, 500))
    peeked = peek_messages(sqs, plan.dlq, count=max(1, count), wait_seconds=wait_seconds)
    rows: list[dict[str, Any]] = []
    for message in peeked.messages:
        view = decoded(message)
        if expression is not None and expression.search(view) in (None, False, [], {}, ""):
            continue
        rows.append(
            {
                "message_id": message.message_id,
                "kind": view["kind"],
                "sent": iso_millis(message.attributes.get("SentTimestamp")),
                "receives": message.receive_count,
                "group": message.group_id,
                "error_code": view["messageAttributes"].get("ERROR_CODE"),
                "destination": plan.destination_label,
                "body": view["body"],
            }
        )
        if len(rows) >= limit:
            break
    return rows, depth
