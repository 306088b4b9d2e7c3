"""The plan of a redrive: where the messages go, and which mode moves them.

Native mode is SQS's own message move task (StartMessageMoveTask): fast, server-side, but only from a DLQ of other
SQS queues, to a queue of the same type, unfiltered. Manual mode (manual.py) moves messages through the moving
engine. `plan_redrive` checks that source and destination fit together and chooses; `native_probe` tells whether
the endpoint serves move tasks at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from evctl.core.queues import QueueRef, resolve_queue
from evctl.core.redrive._support import aws_error, name_of
from evctl.core.redrive.discovery import discover
from evctl.errors import UsageError, error_code

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

Mode = Literal["auto", "native", "manual"]
NATIVE_MAX_RATE = 500  # StartMessageMoveTask's MaxNumberOfMessagesPerSecond cap

NativeProbe = Callable[[str], str | None]  # DLQ ARN → None if move tasks work, else why they don't


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
        return "their source queues (" + ", ".join(name_of(u) for u in self.sources) + ")"

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.dlq.name,
            "source_arn": self.dlq.arn,
            "destination": self.destination_label,
            "destination_arn": self.destination.arn if self.destination else None,
            "mode": self.mode,
        }


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


def plan_redrive(sqs: SQSClient, request: RedriveRequest, *, probe: NativeProbe | None = None) -> RedrivePlan:
    """Discover source and destination, check they fit together, and choose native or manual mode.

    `probe` tells whether the endpoint serves move tasks (the CLI passes one that asks with a single attempt, so a
    server without them, like moto, costs one quick call instead of a round of retries).
    """
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
        names = ", ".join(name_of(u) for u in found.sources)
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


def native_probe(sqs: SQSClient) -> NativeProbe:
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
            raise aws_error(exc, f"queue {dlq_arn}") from exc
        return None

    return probe
