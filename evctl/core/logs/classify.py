"""What a Lambda log line is (START/END/REPORT, error, traceback, timeout, JSON) and how to show it.

Pure functions and small stateful classifiers: no printing, no AWS. `Classifier` annotates each event with a
`kind` and the `requestId` of the invocation it belongs to; `LogFormatter` turns an annotated event into one
string (short / detailed / json / raw), with ANSI styling when asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

Kind = Literal["start", "end", "report", "platform", "error", "timeout", "traceback", "log"]
Format = Literal["short", "detailed", "json", "raw"]
FORMATS: tuple[Format, ...] = ("short", "detailed", "json", "raw")
ERROR_KINDS: frozenset[str] = frozenset({"error", "timeout", "traceback"})


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
_REPORT_FIGURE_RE = re.compile(r"((?:Billed |Init |Restore )?Duration|Max Memory Used|Memory Size): ([\d.]+ (?:ms|MB))")

_ANSI = {"dim": "2", "red": "31", "bold": "1", "cyan": "36", "reset": "0"}
_SOURCE_COLOURS = ("36", "35", "32", "33", "34", "96", "95", "92", "93", "94")


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


def iso_ms(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def event_record(event: LogEvent) -> dict[str, Any]:
    """The JSON object for one event (the `json` format)."""
    record: dict[str, Any] = {
        "source": event["source"],
        "group": event["group"],
        "stream": event["stream"],
        "timestamp": iso_ms(event["timestamp"]),
        "ingestionTime": iso_ms(event["ingestionTime"]),
        "eventId": event["eventId"],
        "message": event["message"],
    }
    for optional in ("kind", "requestId", "parsed"):
        value = event.get(optional)
        if value is not None:
            record[optional] = value
    return record


class LogFormatter:
    """One line (or, with `pretty`, one block) of text per event.

    `color` adds ANSI styling; `pretty` (a terminal) shows JSON messages indented and multi-line messages on
    several lines. Without `pretty` every event is exactly one line: newlines inside a message become `\\n`.
    """

    def __init__(
        self, fmt: Format = "short", *, labels: Sequence[str] = (), color: bool = False, pretty: bool = False
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt = fmt
        self.color = color
        self.pretty = pretty
        self._labels = list(labels)
        self._show_label = len(self._labels) > 1
        self._label_width = max((len(label) for label in self._labels), default=0)

    def format(self, event: LogEvent) -> str:
        if self.fmt == "json":
            from evctl.output import dumps

            return dumps(event_record(event))
        body = self._body(event)
        if self.fmt == "raw":
            return body
        if self.fmt == "detailed":
            stamp = iso_ms(event["timestamp"]) or ""
            prefix = f"{self._paint(stamp, 'dim')} {event['group']} {self._paint(event['stream'], 'dim')}"
        else:
            prefix = self._paint((iso_ms(event["timestamp"]) or "")[11:23], "dim")
            if self._show_label:
                prefix += " " + self._label(event["source"])
        return f"{prefix} {body}"

    def _label(self, source: str) -> str:
        text = source.ljust(self._label_width)
        if not self.color:
            return text
        index = self._labels.index(source) if source in self._labels else 0
        return f"\x1b[{_SOURCE_COLOURS[index % len(_SOURCE_COLOURS)]}m{text}\x1b[0m"

    def _body(self, event: LogEvent) -> str:
        message = event["message"].rstrip()  # Lambda ends lines with "\n", REPORT with "\t\n"
        parsed = event.get("parsed")
        if self.pretty and parsed is not None and isinstance(parsed, Mapping | list):
            message = json.dumps(parsed, indent=2, ensure_ascii=False)
        elif self.pretty:
            message = message.replace("\r\n", "\n").replace("\r", "\n")
        else:
            message = message.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
        kind = event.get("kind")
        if not self.color:
            return message
        if kind in ERROR_KINDS:
            return self._paint(message, "red")
        if kind == "report":
            return self._report(message)
        if kind in ("start", "end", "platform"):
            return self._paint(message, "dim")
        return message

    def _report(self, message: str) -> str:
        """REPORT dimmed, its durations and memory figures highlighted."""
        out, last = [], 0
        for match in _REPORT_FIGURE_RE.finditer(message):
            out.append(self._paint(message[last : match.start(2)], "dim"))
            out.append(self._paint(match.group(2), "cyan"))
            last = match.end(2)
        out.append(self._paint(message[last:], "dim"))
        return "".join(out)

    def _paint(self, text: str, style: str) -> str:
        if not self.color or not text:
            return text
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"
