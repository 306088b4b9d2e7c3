"""What a Lambda log line is: START/END/REPORT, platform, error, traceback, timeout, JSON, or an ordinary line.

Pure functions and a small stateful classifier: no printing, no AWS, no presentation (that is evctl/render/logs.py).
`Classifier` annotates each event with a `kind` and the `requestId` of the invocation it belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evctl.core.logs.event import Kind, LogEvent

__all__ = ["ERROR_KINDS", "Classifier", "classify_message", "is_error", "parse_json_message"]

ERROR_KINDS: frozenset[str] = frozenset({"error", "timeout", "traceback"})

_PLATFORM_RE = re.compile(r"^(START|END|REPORT) RequestId: (\S+)")
_PLATFORM_OTHER_RE = re.compile(r"^(INIT_START|INIT_REPORT|RESTORE_START|RESTORE_REPORT|EXTENSION|TELEMETRY|LOGS)\b")
_TIMEOUT_RE = re.compile(r"Task timed out after [\d.]+ seconds")
_REPORT_STATUS_RE = re.compile(r"\bStatus: (error|timeout)\b")
# A level word standing on its own: "[ERROR]", "\tERROR\t" (Node), "ERROR:", "level=ERROR".
_LEVEL_RE = re.compile(r"(?:^|[\s\[=\"'|])(ERROR|CRITICAL|FATAL)(?:[\s\]:\"'|]|$)")
_TRACEBACK_START = "Traceback (most recent call last):"
_TRACEBACK_LINKS = ("During handling of the above exception", "The above exception was the direct cause")
_EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Fault)\b(:|$)")
# Python runtime text format: "[INFO]\t2026-11-27T10:15:06.123Z\t<request id>\tmessage".
_APP_LINE_RE = re.compile(r"^\[[A-Z]+\]\t\S+\t([0-9A-Za-z-]{8,})\t")


def parse_json_message(message: str) -> Any | None:
    """The message as JSON when it is a JSON object or array (Lambda's JSON log format), else None."""
    text = message.strip()
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def classify_message(message: str, parsed: Any | None = None) -> tuple[Kind, str | None]:
    """(kind, request id) of one message on its own, without looking at the lines around it."""
    if isinstance(parsed, Mapping):
        return _classify_json(parsed)
    platform = _PLATFORM_RE.match(message)
    if platform:
        word, request_id = platform.groups()
        if word == "REPORT" and _REPORT_STATUS_RE.search(message):
            return "error", request_id
        return ("start" if word == "START" else "end" if word == "END" else "report"), request_id
    app_line = _APP_LINE_RE.match(message)
    request_id = app_line.group(1) if app_line else None
    if _TIMEOUT_RE.search(message):
        return "timeout", request_id
    if _TRACEBACK_START in message:
        return "traceback", request_id
    if _LEVEL_RE.search(message):
        return "error", request_id
    if _PLATFORM_OTHER_RE.match(message):
        return "platform", request_id
    return "log", request_id


def _classify_json(doc: Mapping[str, Any]) -> tuple[Kind, str | None]:
    record = doc.get("record")
    record = record if isinstance(record, Mapping) else {}
    request_id = doc.get("requestId") or doc.get("AWSRequestId") or record.get("requestId")
    request_id = str(request_id) if request_id else None
    event_type = str(doc.get("type", ""))
    if event_type.startswith("platform."):
        status = str(record.get("status", "success"))
        if status == "timeout":
            return "timeout", request_id
        if status in ("error", "failure"):
            return "error", request_id
        if event_type == "platform.start":
            return "start", request_id
        if event_type == "platform.report":
            return "report", request_id
        if event_type == "platform.runtimeDone":
            return "end", request_id
        return "platform", request_id
    level = str(doc.get("level", doc.get("levelname", ""))).upper()
    if level in ("ERROR", "CRITICAL", "FATAL") or "errorType" in doc or "stackTrace" in doc:
        return "error", request_id
    message = doc.get("message")
    if isinstance(message, str) and _TIMEOUT_RE.search(message):
        return "timeout", request_id
    return "log", request_id


class Classifier:
    """Annotates events with `kind` and `requestId`, keeping per-stream state.

    Lambda writes one stream per execution environment and runs one invocation at a time in it, so a line
    between `START RequestId: X` and `END RequestId: X` of a stream belongs to X even when it carries no id
    (plain `print`). A traceback printed line by line (stderr) is followed through its continuation lines.
    """

    def __init__(self) -> None:
        self._invocation: dict[tuple[str, str], str] = {}
        self._in_traceback: set[tuple[str, str]] = set()

    def annotate(self, event: LogEvent) -> LogEvent:
        key = (event["group"], event["stream"])
        message = event["message"]
        parsed = parse_json_message(message)
        kind, request_id = classify_message(message, parsed)
        kind = self._follow_traceback(key, message, kind)
        if kind == "start" and request_id:
            self._invocation[key] = request_id
        current = self._invocation.get(key)
        if request_id and _ends_invocation(message, parsed):
            self._invocation.pop(key, None)
            self._in_traceback.discard(key)
        event["kind"] = kind
        event["requestId"] = request_id or current
        if parsed is not None:
            event["parsed"] = parsed
        return event

    def _follow_traceback(self, key: tuple[str, str], message: str, kind: Kind) -> Kind:
        if kind == "traceback":
            # The runtime's "[ERROR] ...\rTraceback ..." is one event; a bare header starts a multi-line one.
            if message.strip() == _TRACEBACK_START:
                self._in_traceback.add(key)
            return kind
        if key not in self._in_traceback or kind != "log":
            return kind
        line = message.rstrip("\r\n")
        if line[:1] in (" ", "\t") or not line.strip() or line.startswith(_TRACEBACK_LINKS):
            return "traceback"
        self._in_traceback.discard(key)
        return "error" if _EXCEPTION_LINE_RE.match(line) else kind


def _ends_invocation(message: str, parsed: Any | None) -> bool:
    if isinstance(parsed, Mapping):
        return parsed.get("type") in ("platform.report", "platform.runtimeDone")
    return message.startswith(("END RequestId:", "REPORT RequestId:"))


def is_error(event: LogEvent) -> bool:
    return event.get("kind") in ERROR_KINDS
