"""Manual redrive: the DLQ's messages move through the moving engine (receive → send → check every entry → delete
only what the destination took) into a queue or a bus, paced by --rate, journaled when asked, filtered with the
one message filter. Used when native move tasks cannot serve the request (see plan.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evctl.core.common import Pacer
from evctl.core.moving import BusSink, FileSink, JournalSink, MoveReport, QueueSink, Sink, move
from evctl.core.queues import StopSignal
from evctl.core.redrive.plan import RedrivePlan
from evctl.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

MANUAL_WAIT_SECONDS = 2  # a DLQ is not being filled while we redrive it: a short final long poll ends the run
MANUAL_EMPTY_POLLS = 1


def make_sink(
    plan: RedrivePlan,
    sqs: SQSClient,
    events: EventBridgeClient | None = None,
    *,
    rate: float | None = None,
    journal: FileSink | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Sink:
    """The sink manual mode moves into: a queue or a bus, paced by `rate`, journaled when asked."""
    pacer = Pacer(rate, clock=clock, sleep=sleep)
    sink: Sink
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
    sqs: SQSClient,
    plan: RedrivePlan,
    sink: Sink,
    *,
    max_messages: int | None = None,
    filter: str | None = None,
    concurrency: int = 1,
    wait_seconds: int = MANUAL_WAIT_SECONDS,
    empty_polls_to_stop: int = MANUAL_EMPTY_POLLS,
    visibility_timeout: int = 60,
    should_stop: StopSignal = None,
    on_progress: Callable[[MoveReport], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> MoveReport:
    """Move the DLQ's messages into `sink` with the mover: deleted only once the sink confirmed them.

    A FIFO DLQ is moved by one loop, without the mover's background deletes: with two loops, a message whose
    visibility lapsed while it was being sent would let the other loop send the next message of its group first.
    """
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


def manual_summary(plan: RedrivePlan, report: MoveReport, sink: Sink) -> dict[str, Any]:
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
        "duplicate_ids": summary["duplicate_ids"],
        "stopped_by": summary["stopped_by"],
        "api_calls": summary["api_calls"] + sink_calls,
        "seconds": summary["seconds"],
        "failures": [{"message_id": f.message_id, "code": f.code, "message": f.message} for f in report.failures],
    }
