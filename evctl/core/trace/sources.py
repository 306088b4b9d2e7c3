"""The reads a trace makes after publishing, behind one small interface (tests give a fake of these AWS reads only):

    sources = AwsSources(logs=…, sqs=…, cloudwatch=…, region="us-east-1", ledgers=True)
    sources.deliveries(event_id, since_ms)      # the sandbox's delivery ledger lines for the event; None: no ledger
    sources.invocations(event_id, since_ms)     # the sandbox runner's invocation ledger lines; None: no ledger
    sources.log_lines(group, event_id, since_ms)            # the function's log lines carrying the event id
    sources.metric_sums([MetricQuery(...)], start_ms, end_ms)   # CloudWatch sums (None: no datapoint yet)
    sources.find_in_queue(queue_url, event_id)              # a DLQ holding the event: an honest peek that releases
    sources.mapping_state(uuid)                 # GetEventSourceMapping: State, LastProcessingResult (None: unread)

The ledgers are CloudWatch Logs groups the sandbox writes, one JSON object per log event: DELIVERY_LEDGER (event_id,
rule_arn, target_arn, outcome delivered|refused|retrying|sent_to_dlq|dropped, error_code, error_message, attempt,
time) and INVOCATION_LEDGER (request_id, function_name, mapping_uuid, message_ids, event_ids, outcome
success|partial|error|timeout|filtered|throttled, deleted, kept, error, start, end, duration_ms, log_stream).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from evctl.core.common.metrics import Query, fetch_series, series_key
from evctl.core.common.time import parse_datetime
from evctl.core.logs import LogEvent, RequestBudget, fetch_events
from evctl.core.pipeline import DENIED_CODES
from evctl.core.queues import decode_body, peek_messages, ref_from_url
from evctl.errors import EvctlError, error_code

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "DELIVERY_LEDGER",
    "INVOCATION_LEDGER",
    "AwsSources",
    "DeliveryRecord",
    "FoundMessage",
    "InvocationRecord",
    "MappingState",
    "MetricQuery",
    "Sources",
    "epoch_ms",
]

DELIVERY_LEDGER = "/evctl/sandbox/deliveries"
INVOCATION_LEDGER = "/evctl/sandbox/invocations"
DLQ_PEEK_COUNT = 100  # messages looked at per peek of a DLQ (every one is released again)
_MISSING = frozenset({"ResourceNotFoundException"})


def _code(exc: BaseException) -> str:
    """The AWS error code of an error or of the botocore error it was made from."""
    return error_code(exc) or (error_code(exc.__cause__) if exc.__cause__ is not None else "")


def epoch_ms(value: Any, fallback: int | None = None) -> int | None:
    """Epoch milliseconds of a ledger time: epoch ms or seconds (a number), or ISO-8601 text; `fallback` otherwise."""
    if isinstance(value, bool) or value is None:
        return fallback
    if isinstance(value, int | float):
        return int(value if value > 1e11 else value * 1000)
    try:
        return int(parse_datetime(str(value)).astimezone(dt.UTC).timestamp() * 1000)
    except ValueError:
        return fallback


def _strings(value: Any) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class DeliveryRecord:
    """One line of the delivery ledger: what became of one delivery attempt of one event to one target."""

    event_id: str
    rule_arn: str
    target_arn: str
    outcome: str  # delivered | refused | retrying | sent_to_dlq | dropped
    time_ms: int | None
    error_code: str | None = None
    error_message: str | None = None
    attempt: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], logged_ms: int | None) -> DeliveryRecord:
        attempt = data.get("attempt")
        return cls(
            event_id=str(data.get("event_id") or ""),
            rule_arn=str(data.get("rule_arn") or ""),
            target_arn=str(data.get("target_arn") or ""),
            outcome=str(data.get("outcome") or ""),
            time_ms=epoch_ms(data.get("time"), logged_ms),
            error_code=data.get("error_code") or None,
            error_message=data.get("error_message") or None,
            attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class InvocationRecord:
    """One line of the runner's invocation ledger: one batch handed to a function, and what became of it."""

    request_id: str
    function_name: str
    outcome: str  # success | partial | error | timeout | filtered | throttled
    message_ids: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    error: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    mapping_uuid: str = ""
    log_stream: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], logged_ms: int | None) -> InvocationRecord:
        return cls(
            request_id=str(data.get("request_id") or ""),
            function_name=str(data.get("function_name") or ""),
            outcome=str(data.get("outcome") or ""),
            message_ids=_strings(data.get("message_ids")),
            event_ids=_strings(data.get("event_ids")),
            deleted=_strings(data.get("deleted")),
            kept=_strings(data.get("kept")),
            error=data.get("error") or None,
            start_ms=epoch_ms(data.get("start"), logged_ms),
            end_ms=epoch_ms(data.get("end"), logged_ms),
            mapping_uuid=str(data.get("mapping_uuid") or ""),
            log_stream=str(data.get("log_stream") or ""),
            raw=dict(data),
        )

    def settled(self, event_id: str) -> str | None:
        """ "deleted" / "kept" for the event's own message when the record says which; None when it cannot tell."""
        if len(self.message_ids) != len(self.event_ids) or event_id not in self.event_ids:
            return None
        message = self.message_ids[self.event_ids.index(event_id)]
        if message in self.deleted:
            return "deleted"
        if message in self.kept:
            return "kept"
        return None


@dataclass(frozen=True)
class MetricQuery:
    """One CloudWatch metric summed over the trace's window (id: a lower-case name unique in the call)."""

    id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FoundMessage:
    """The event found in a queue by an honest peek (received, then released: never deleted)."""

    queue_arn: str
    message_id: str
    sent_ms: int | None
    receive_count: int
    seen_ms: int
    attributes: Mapping[str, str] = field(default_factory=dict)  # message attributes (ERROR_CODE, RULE_ARN, ...)


@dataclass(frozen=True)
class MappingState:
    """What Lambda shows of an event source mapping now (GetEventSourceMapping), as AWS and the sandbox both show it:
    `LastProcessingResult` "PROBLEM: ..." when its last poll failed (a role that cannot receive, a key it cannot
    use), `State` Disabled when nothing polls."""

    uuid: str
    state: str
    last_processing_result: str | None = None
    state_transition_reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def problem(self) -> str | None:
        """Why the mapping cannot poll now, or None: not Enabled, or a PROBLEM in its last processing result."""
        if self.state and self.state not in ("Enabled", "Enabling", "Updating", "Creating"):
            return f"State {self.state}" + (
                f" ({self.state_transition_reason})" if self.state_transition_reason else ""
            )
        result = self.last_processing_result or ""
        return f"LastProcessingResult {result}" if result.upper().startswith("PROBLEM") else None


class Sources(Protocol):
    notes: list[str]

    def deliveries(self, event_id: str, since_ms: int) -> list[DeliveryRecord] | None: ...

    def invocations(self, event_id: str, since_ms: int) -> list[InvocationRecord] | None: ...

    def log_lines(self, group: str, event_id: str, since_ms: int) -> list[LogEvent]: ...

    def metric_sums(self, queries: Sequence[MetricQuery], start_ms: int, end_ms: int) -> dict[str, float | None]: ...

    def find_in_queue(self, queue_url: str, event_id: str) -> FoundMessage | None: ...

    def mapping_state(self, uuid: str) -> MappingState | None: ...


class AwsSources:
    """The reads, from real clients. Denied or missing reads add a note and answer 'nothing known'."""

    def __init__(
        self,
        *,
        logs: CloudWatchLogsClient,
        sqs: SQSClient,
        cloudwatch: CloudWatchClient | None,
        region: str,
        ledgers: bool,
        lambda_: LambdaClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.logs, self.sqs, self.cloudwatch, self.region = logs, sqs, cloudwatch, region
        self.lambda_ = lambda_
        self.ledgers = ledgers
        self.clock = clock
        self.budget = RequestBudget(clock=clock, sleep=sleep)
        self.notes: list[str] = []

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _ledger(self, group: str, event_id: str, since_ms: int) -> list[tuple[dict[str, Any], int]] | None:
        """The ledger's JSON lines that name the event; None when the ledger group does not exist."""
        if not self.ledgers:
            return None
        found = []
        try:
            for event in fetch_events(self.logs, group, since_ms, None, f'"{event_id}"', budget=self.budget):
                try:
                    data = json.loads(event["message"])
                except ValueError:
                    continue
                if isinstance(data, dict) and (
                    data.get("event_id") == event_id or event_id in _strings(data.get("event_ids"))
                ):
                    found.append((data, event["timestamp"]))
        except EvctlError as exc:
            if _code(exc) in _MISSING:
                return None
            if _code(exc) not in DENIED_CODES:
                raise
            self._note(f"the ledger {group} could not be read: {exc.message}")
            return None
        return found

    def deliveries(self, event_id: str, since_ms: int) -> list[DeliveryRecord] | None:
        lines = self._ledger(DELIVERY_LEDGER, event_id, since_ms)
        if lines is None:
            return None
        return sorted(
            (DeliveryRecord.from_json(d, ts) for d, ts in lines), key=lambda r: (r.time_ms or 0, r.attempt or 0)
        )

    def invocations(self, event_id: str, since_ms: int) -> list[InvocationRecord] | None:
        lines = self._ledger(INVOCATION_LEDGER, event_id, since_ms)
        if lines is None:
            return None
        return sorted((InvocationRecord.from_json(d, ts) for d, ts in lines), key=lambda r: r.start_ms or 0)

    def log_lines(self, group: str, event_id: str, since_ms: int) -> list[LogEvent]:
        try:
            events = fetch_events(self.logs, group, since_ms, None, f'"{event_id}"', budget=self.budget)
            return [e for e in events if event_id in e["message"]]
        except EvctlError as exc:
            if _code(exc) in DENIED_CODES:
                self._note(f"the log group {group} could not be read: {exc.message}")
            elif _code(exc) not in _MISSING:
                raise
            return []

    def metric_sums(self, queries: Sequence[MetricQuery], start_ms: int, end_ms: int) -> dict[str, float | None]:
        sums: dict[str, float | None] = {q.id: None for q in queries}
        if self.cloudwatch is None or not queries:
            return sums
        # whole minutes, the metrics' period: from the minute of the publish to the end of this one
        end_s = (end_ms // 60_000 + 1) * 60
        wanted: dict[str, Query] = {q.id: (q.namespace, q.metric, dict(q.dimensions), "Sum") for q in queries}
        try:
            series = fetch_series(
                self.cloudwatch, list(wanted.values()), end_s=end_s, seconds=end_s - start_ms // 60_000 * 60
            )
            for query_id, query in wanted.items():
                points = series.get(series_key(query)) or []
                if points:
                    sums[query_id] = sum(value for _, value in points)
        except Exception as exc:
            self._note(f"CloudWatch metrics could not be read ({error_code(exc) or type(exc).__name__})")
        return sums

    def find_in_queue(self, queue_url: str, event_id: str) -> FoundMessage | None:
        queue = ref_from_url(queue_url, self.region)
        try:
            result = peek_messages(self.sqs, queue, count=DLQ_PEEK_COUNT, wait_seconds=0, hold_seconds=10)
        except EvctlError as exc:
            self._note(f"{queue.name} could not be peeked: {exc.message}")
            return None
        for message in result.messages:
            body = decode_body(message.body)
            if body.kind == "eventbridge" and body.value.get("id") == event_id:
                attributes = {
                    k: str(v.get("StringValue", ""))
                    for k, v in message.message_attributes.items()
                    if isinstance(v, Mapping)
                }
                sent = message.attributes.get("SentTimestamp")
                return FoundMessage(
                    queue_arn=queue.arn,
                    message_id=message.message_id,
                    sent_ms=int(sent) if sent and sent.isdigit() else None,
                    receive_count=message.receive_count,
                    seen_ms=int(self.clock() * 1000),
                    attributes=attributes,
                )
        return None

    def mapping_state(self, uuid: str) -> MappingState | None:
        """GetEventSourceMapping (the same call on AWS and the sandbox); None when it cannot be read (a note)."""
        if self.lambda_ is None or not uuid:
            return None
        try:
            answer: dict[str, Any] = dict(self.lambda_.get_event_source_mapping(UUID=uuid))
        except Exception as exc:
            code = error_code(exc) or type(exc).__name__
            self._note(f"event source mapping {uuid} could not be read ({code})")
            return None
        return MappingState(
            uuid=uuid,
            state=str(answer.get("State") or ""),
            last_processing_result=answer.get("LastProcessingResult") or None,
            state_transition_reason=answer.get("StateTransitionReason") or None,
            raw={k: answer[k] for k in ("State", "StateTransitionReason", "LastProcessingResult") if k in answer},
        )
