"""The runner's invocation ledger: one JSON line per invocation (or per batch it filtered out or could not invoke)
in the sandbox's CloudWatch Logs group `/evctl/sandbox/invocations`, for `evctl trace` and for people.

A line's fields (docs/sandbox.md, "The invocation ledger"):
request_id, function_name, mapping_uuid, queue_arn, message_ids, event_ids (aligned with message_ids: the EventBridge
event id of each body that is an event, else null), outcome (success | partial | error | timeout | filtered |
throttled), deleted and kept (message ids), error, start and end (ISO 8601 UTC, milliseconds), duration_ms,
log_group, log_stream (the function's stream; "" when nothing was written), logs_written.
Each runner writes to its own stream, `<function>/<YYYY/MM/DD>/<id>`; the log event's timestamp is `end`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.core.common.time import iso_utc
from evctl.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef

LEDGER_GROUP = "/evctl/sandbox/invocations"


def event_id(body: str) -> str | None:
    """The EventBridge event id of a message body that is an event (an object with id, source and detail-type)."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None
    if (
        isinstance(parsed, dict)
        and isinstance(parsed.get("id"), str)
        and "detail-type" in parsed
        and "source" in parsed
    ):
        return str(parsed["id"])
    return None


@dataclass
class Entry:
    """One ledger line."""

    function_name: str
    outcome: str
    message_ids: list[str]
    event_ids: list[str | None]
    start_ms: float
    end_ms: float
    request_id: str | None = None
    mapping_uuid: str | None = None
    queue_arn: str = ""
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0
    log_group: str = ""
    log_stream: str = ""
    logs_written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "function_name": self.function_name,
            "mapping_uuid": self.mapping_uuid,
            "queue_arn": self.queue_arn,
            "message_ids": self.message_ids,
            "event_ids": self.event_ids,
            "outcome": self.outcome,
            "deleted": self.deleted,
            "kept": self.kept,
            "error": self.error,
            "start": iso_utc(int(self.start_ms), precision="milliseconds"),
            "end": iso_utc(int(self.end_ms), precision="milliseconds"),
            "duration_ms": round(self.duration_ms, 2),
            "log_group": self.log_group,
            "log_stream": self.log_stream,
            "logs_written": self.logs_written,
        }


def entry_for(
    function_name: str,
    messages: Sequence[Mapping[str, Any]],
    outcome: str,
    start_ms: float,
    end_ms: float,
    **fields: Any,
) -> Entry:
    ids = [str(m["MessageId"]) for m in messages]
    events = [event_id(str(m.get("Body", ""))) for m in messages]
    return Entry(function_name, outcome, ids, events, start_ms, end_ms, **fields)


class Ledger:
    """Writes entries to LEDGER_GROUP (the group and this runner's stream are created on first use)."""

    def __init__(self, logs: CloudWatchLogsClient, function_name: str, now: Callable[[], dt.datetime] | None = None):
        self.logs = logs
        moment = (now or (lambda: dt.datetime.now(dt.UTC)))()
        self.stream = f"{function_name}/{moment:%Y/%m/%d}/{uuid.uuid4().hex}"
        self._ready = False
        self._lock = threading.Lock()

    def write(self, entry: Entry) -> None:
        event: InputLogEventTypeDef = {
            "timestamp": int(entry.end_ms),
            "message": json.dumps(entry.as_dict(), separators=(",", ":")),
        }
        with self._lock:
            for attempt in (1, 2):
                try:
                    if not self._ready:
                        self._create()
                    self.logs.put_log_events(logGroupName=LEDGER_GROUP, logStreamName=self.stream, logEvents=[event])
                    return
                except Exception as exc:
                    if attempt == 2 or error_code(exc) != "ResourceNotFoundException":
                        raise
                    self._ready = False  # the sandbox was reset: create the group and stream again

    def _create(self) -> None:
        try:
            self.logs.create_log_group(logGroupName=LEDGER_GROUP)
        except Exception as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        try:
            self.logs.create_log_stream(logGroupName=LEDGER_GROUP, logStreamName=self.stream)
        except Exception as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        self._ready = True
