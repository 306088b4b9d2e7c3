"""The data every logs module passes around: LogEvent, the log group it came from (LogSource), its JSON record.

Also the callback types the readers take (notices, clock, sleep): nothing in core/logs prints or reads the clock
itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from evctl.core.common.time import iso_utc

__all__ = [
    "Clock",
    "Kind",
    "LogEvent",
    "LogSource",
    "Notify",
    "Sleep",
    "event_from_raw",
    "event_record",
    "ignore_notice",
    "time_order",
]

Notify = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]

Kind = Literal["start", "end", "report", "platform", "error", "timeout", "traceback", "log"]


class LogEvent(TypedDict):
    """One log event as evctl passes it around (FilterLogEvents' fields plus where it came from)."""

    source: str  # the target it was found through: a function name or a log group name
    group: str
    stream: str
    timestamp: int  # epoch milliseconds
    ingestionTime: int | None  # epoch milliseconds; live tail events have it too
    eventId: str | None  # None for StartLiveTail events, which carry no id
    message: str
    kind: NotRequired[Kind]  # set by Classifier.annotate
    requestId: NotRequired[str | None]
    parsed: NotRequired[Any]  # the message as JSON, when it is JSON


@dataclass(frozen=True)
class LogSource:
    """One log group to read, and the name the user knows it by."""

    label: str
    group: str
    arn: str | None = None  # logGroupArn, without ":*" (the form StartLiveTail wants)
    exists: bool = True
    function: str | None = None


def event_from_raw(raw: Mapping[str, Any], source: LogSource) -> LogEvent:
    """A LogEvent from a FilterLogEvents event or a StartLiveTail result."""
    return {
        "source": source.label,
        "group": source.group,
        "stream": str(raw.get("logStreamName", "")),
        "timestamp": int(raw["timestamp"]),
        "ingestionTime": int(raw["ingestionTime"]) if raw.get("ingestionTime") is not None else None,
        "eventId": str(raw["eventId"]) if raw.get("eventId") is not None else None,
        "message": str(raw.get("message", "")),
    }


def time_order(event: LogEvent) -> tuple[int, int]:
    """Sort key: timestamp, then ingestion time."""
    return event["timestamp"], event["ingestionTime"] or 0


def event_record(event: LogEvent) -> dict[str, Any]:
    """The JSON object for one event (the `json` format): times as ISO-8601 UTC with milliseconds."""
    ingested = event["ingestionTime"]
    record: dict[str, Any] = {
        "source": event["source"],
        "group": event["group"],
        "stream": event["stream"],
        "timestamp": iso_utc(event["timestamp"], precision="milliseconds"),
        "ingestionTime": None if ingested is None else iso_utc(ingested, precision="milliseconds"),
        "eventId": event["eventId"],
        "message": event["message"],
    }
    for optional in ("kind", "requestId", "parsed"):
        value = event.get(optional)
        if value is not None:
            record[optional] = value
    return record


def ignore_notice(_message: str) -> None:
    """The default `on_notice`: notices go nowhere."""
    return None
