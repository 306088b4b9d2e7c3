"""A function's recent logs, read once per doctor run and searched for failure signatures.

    scan = scan_logs(ctx, group_name)            # the last ctx.log_window_seconds, at most ctx.log_max_events lines
    scan.hits("timeout")                         # [LogHit(timestamp_ms, stream, line)], oldest first
    scan.count("envelope_key")                   # how many lines carried the signature
    scan.evidence(scan.hits("timeout"))          # JSON-able: count, window, the first lines with their times

Reads go through evctl.core.logs.fetch_events (FilterLogEvents paging, throttling waited out) on the run's cached
logs client; the scan itself is memoised per run (beside its DescribeCache), so every check reading one group
shares one read. Nothing here prints.
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.core.common.time import iso_utc
from evctl.core.logs import classify_message, fetch_events
from evctl.core.logs.classify import parse_json_message
from evctl.core.pipeline import DescribeCache, denied_action
from evctl.errors import EvctlError, error_code

from .model import NotChecked

if TYPE_CHECKING:
    from .context import DoctorContext

_LOCK = threading.Lock()
_SCANS: weakref.WeakKeyDictionary[DescribeCache, DescribeCache] = weakref.WeakKeyDictionary()
MAX_EXAMPLES = 5  # log lines kept as evidence, per signature
# Asked of FilterLogEvents so that the line budget (log_max_events) is spent on lines that can carry a signature:
# any of these terms (Lambda's "[ERROR]" lines, "Task timed out", JSON-format "level":"ERROR"/"timeout" records).
FILTER_PATTERN = "?ERROR ?timed ?timeout ?KeyError ?JSONDecodeError ?TypeError ?AccessDenied ?Exception ?error"

# Signatures: a name, and the regular expression a line must contain.
SIGNATURES: dict[str, re.Pattern[str]] = {
    # Lambda's own line when an invocation reaches its timeout.
    "timeout": re.compile(r"Task timed out after (?P<seconds>[\d.]+) seconds"),
    # A handler reading an envelope field the body does not have: SNS's 'Message' on an EventBridge → SQS body, ...
    "envelope_key": re.compile(
        r"KeyError: '(?P<key>Message|MessageId|Sns|TopicArn|Type|detail|detail-type|source|Records|body|eventSource)'"
    ),
    "json_decode": re.compile(r"JSONDecodeError|json\.decoder\.JSONDecodeError|Expecting value: line \d+"),
    "string_indices": re.compile(r"TypeError: string indices must be integers"),
    "runtime": re.compile(
        r"Runtime\.(?P<what>ImportModuleError|HandlerNotFound|UserCodeSyntaxError|ExitError|[A-Za-z]+)"
    ),
    "access_denied": re.compile(r"AccessDenied(?:Exception)?|is not authorized to perform"),
}


@dataclass(frozen=True)
class LogHit:
    timestamp_ms: int
    stream: str
    line: str

    def as_dict(self) -> dict[str, Any]:
        return {"time": iso_utc(self.timestamp_ms, precision="milliseconds"), "stream": self.stream, "line": self.line}


@dataclass
class LogScan:
    """What one read of a log group found: the window, how much was read, and the lines per signature."""

    group: str
    start_ms: int
    end_ms: int
    read: int = 0
    truncated: bool = False  # stopped at log_max_events: older or newer lines may exist unread
    errors: int = 0  # lines classified as error / timeout / traceback
    error_examples: list[LogHit] = field(default_factory=list)
    found: dict[str, list[LogHit]] = field(default_factory=dict)

    def hits(self, signature: str, since_ms: int | None = None) -> list[LogHit]:
        return [hit for hit in self.found.get(signature, []) if since_ms is None or hit.timestamp_ms >= since_ms]

    def count(self, signature: str) -> int:
        return len(self.found.get(signature, []))

    def window(self) -> dict[str, Any]:
        return {
            "log_group": self.group,
            "from": iso_utc(self.start_ms, precision="seconds"),
            "to": iso_utc(self.end_ms, precision="seconds"),
            "lines_read": self.read,
            "truncated": self.truncated,
            "filter_pattern": FILTER_PATTERN,
        }

    def evidence(self, hits: list[LogHit]) -> dict[str, Any]:
        return {**self.window(), "count": len(hits), "lines": [hit.as_dict() for hit in hits[:MAX_EXAMPLES]]}


def first_line(message: str, limit: int = 300) -> str:
    """The line of a (possibly multi-line) message worth showing: the one naming the error, shortened."""
    lines = [part.strip() for part in re.split(r"[\r\n]+", message) if part.strip()]
    line = next(
        (part for part in lines if any(sig.search(part) for sig in SIGNATURES.values())), lines[0] if lines else ""
    )
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _record(scan: LogScan, timestamp: int, stream: str, message: str) -> None:
    """Classify one line and file it under every signature it carries (Lambda's JSON log format too)."""
    parsed = parse_json_message(message)
    kind, _ = classify_message(message, parsed)
    text = message
    if isinstance(parsed, dict) and parsed.get("errorType"):  # JSON format: {"errorType": "KeyError", ...}
        text = f"{parsed.get('errorType')}: {parsed.get('errorMessage', '')}\n{message}"
    hit = LogHit(timestamp, stream, first_line(text))
    if kind in ("error", "timeout", "traceback"):
        scan.errors += 1
        if len(scan.error_examples) < MAX_EXAMPLES:
            scan.error_examples.append(hit)
    for name, signature in SIGNATURES.items():
        if signature.search(text):
            scan.found.setdefault(name, []).append(hit)
    json_timeout = isinstance(parsed, dict) and parsed.get("type") == "platform.report"
    if kind == "timeout" and json_timeout and not SIGNATURES["timeout"].search(text):
        scan.found.setdefault("timeout", []).append(hit)  # one per invocation: the report, not runtimeDone too


def scan_logs(ctx: DoctorContext, group: str) -> LogScan:
    """The group's last ctx.log_window_seconds (at most ctx.log_max_events lines), read once per run."""

    def read() -> LogScan:
        end_ms = int(ctx.now() * 1000)
        start_ms = end_ms - ctx.log_window_seconds * 1000
        scan = LogScan(group, start_ms, end_ms)
        try:
            page = min(ctx.log_max_events + 1, 10_000)  # FilterLogEvents returns at most 10,000 a page
            events = fetch_events(ctx.clients.logs, group, start_ms, end_ms, FILTER_PATTERN, page_size=page)
            for event in itertools.islice(events, ctx.log_max_events + 1):
                if scan.read == ctx.log_max_events:
                    scan.truncated = True
                    break
                scan.read += 1
                _record(scan, event["timestamp"], event["stream"], event["message"])
        except EvctlError as exc:
            action = denied_action(exc)
            if action:
                raise NotChecked(f"{action} denied") from exc
            if error_code(exc.__cause__ or exc) == "ResourceNotFoundException":
                raise NotChecked(f"log group {group} does not exist") from exc
            raise
        return scan

    with _LOCK:  # scans are memoised beside the run's cache, so its call counts stay AWS calls only
        scans = _SCANS.setdefault(ctx.cache, DescribeCache())
    result: LogScan = scans.read(("doctor", "logscan", group), "logs:FilterLogEvents", read)
    return result


def function_log_group(ctx: DoctorContext, function: Any) -> Any:
    """The log_group node a function node logs to (None: discovery found none)."""
    groups = ctx.downstream(function, "logs_to")
    return groups[0] if groups else None


def scan_function_logs(ctx: DoctorContext, function: Any) -> LogScan:
    """scan_logs of the function's log group; NotChecked when it has none (it has never logged)."""
    group = function_log_group(ctx, function)
    if group is None:
        raise NotChecked(f"no log group was found for {function.name}")
    if not group.exists:
        raise NotChecked(f"log group {group.name} does not exist (the function has not logged; see L-GROUP-1)")
    return scan_logs(ctx, group.name)
