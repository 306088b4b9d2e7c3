"""Build, validate, size, batch and publish EventBridge PutEvents entries.

The one place for these rules; `evctl publish`, `redrive dlq --to-bus` and the sandbox demo all go through it.

- `entry_from_json(obj, default_bus=...)` turns a PutEvents entry *or* an EventBridge event envelope (the body
  of an SQS message from an EventBridge target, an archived event) into a PutEvents entry.
- `validate_entry(entry, max_entry_bytes=...)` lists what AWS would reject (empty list = valid).
- `entry_size(entry)` is AWS's documented formula (14 bytes for Time when set, plus the UTF-8 bytes of
  Source, DetailType, Detail and each Resource).
- `publish(client, entries, ...)` sends them in batches (at most 10 entries, sum of entry sizes within the
  cap) over `concurrency` parallel calls, re-sends exactly the entries that failed with a retryable code,
  and reports a result for every input position. Delivery is at least once: a call that failed after
  EventBridge accepted it (a 500 retried by botocore) can publish an entry twice.

Nothing here prints or exits; boto3 is never imported (the client is passed in).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import random
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from evctl.core.common.json_types import describe_json_type
from evctl.errors import UsageError, error_code

if TYPE_CHECKING:
    from evctl.config import Config

MAX_ENTRIES_PER_CALL = 10
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024
LARGE_MAX_ENTRY_BYTES = 1024 * 1024  # the 2026 payload increase; opt-in
TIME_BYTES = 14
MAX_DETAIL_TYPE_CHARS = 128
MAX_RESOURCES = 10
MAX_TRACE_HEADER_CHARS = 500
MAX_BUS_NAME_CHARS = 1600
DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_ATTEMPTS = 5
RETRYABLE_CODES = frozenset({"InternalFailure", "ThrottlingException"})
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 20.0  # botocore's standard-mode cap
NOT_SENT = "NotSent"

_ENTRY_KEYS = frozenset({"Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"})
_ENVELOPE_KEYS = frozenset({"source", "detail-type", "detail"})
_BUS_PATTERN = re.compile(r"^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus/)?[.\-_A-Za-z0-9]+$")
_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*(b|kb|kib|k|mb|mib|m)?\s*$", re.IGNORECASE)


class InvalidEntry(UsageError):
    """Input that cannot be read as an entry at all (not an object, unknown fields, unreadable Time)."""


# ---- building entries -----------------------------------------------------------------------------


def entry_from_json(obj: Any, *, default_bus: str) -> dict[str, Any]:
    """A PutEvents entry from a parsed JSON object in either accepted shape.

    PutEvents entry: Source, DetailType, Detail (a JSON string or an object), Resources, Time (RFC 3339
    string or epoch seconds), EventBusName, TraceHeader. EventBridge envelope: source, detail-type,
    detail, resources, time (id, account, region, version and other envelope fields are ignored). Also an
    SQS message whose body is such an event (an `evctl queue drain` line or Lambda record with `body`, or a
    boto3 message with `Body`); its AWSTraceHeader attribute becomes the TraceHeader.
    EventBusName defaults to `default_bus`. Detail objects are serialised compactly; Detail strings are
    kept byte for byte. Raises InvalidEntry when `obj` is neither shape, has unknown entry fields, or has
    an unreadable Time; everything else (missing fields, bad Detail, size) is left to `validate_entry`.
    """
    if not isinstance(obj, Mapping):
        raise InvalidEntry(f"expected a JSON object, got {describe_json_type(obj)}")
    if _ENTRY_KEYS & obj.keys():
        unknown = sorted(set(obj) - _ENTRY_KEYS)
        if unknown:
            raise InvalidEntry(
                f"unknown PutEvents entry field(s): {', '.join(unknown)}",
                f"known fields: {', '.join(sorted(_ENTRY_KEYS))}",
            )
        source, detail_type, detail = obj.get("Source"), obj.get("DetailType"), obj.get("Detail")
        resources, when = obj.get("Resources"), obj.get("Time")
        bus, trace = obj.get("EventBusName") or default_bus, obj.get("TraceHeader")
    elif _ENVELOPE_KEYS & obj.keys():
        source, detail_type, detail = obj.get("source"), obj.get("detail-type"), obj.get("detail")
        resources, when, bus, trace = obj.get("resources"), obj.get("time"), default_bus, None
    elif isinstance(obj.get("body", obj.get("Body")), str):
        return _entry_from_sqs_message(obj, default_bus=default_bus)
    else:
        raise InvalidEntry(
            "neither a PutEvents entry nor an EventBridge event",
            "give Source/DetailType/Detail, or source/detail-type/detail",
        )
    entry: dict[str, Any] = {"EventBusName": bus}
    if source is not None:
        entry["Source"] = source
    if detail_type is not None:
        entry["DetailType"] = detail_type
    if detail is not None:
        try:
            entry["Detail"] = detail if isinstance(detail, str) else compact_json(detail)
        except ValueError:
            raise InvalidEntry("Detail contains NaN or Infinity, which JSON does not allow") from None
        except RecursionError:
            raise InvalidEntry("Detail is nested too deeply", "EventBridge reads JSON to 1000 levels") from None
    if resources:
        entry["Resources"] = list(resources) if isinstance(resources, list | tuple) else resources
    if when is not None:
        entry["Time"] = parse_time(when)
    if trace is not None:
        entry["TraceHeader"] = trace
    return entry


def _entry_from_sqs_message(message: Mapping[str, Any], *, default_bus: str) -> dict[str, Any]:
    """An SQS message (a drain line / Lambda record `body`, or boto3's `Body`) holding an EventBridge event."""
    try:
        inner = json.loads(message.get("body", message.get("Body")) or "")
    except ValueError:
        raise InvalidEntry("an SQS message whose body is not JSON, so not an EventBridge event") from None
    if not isinstance(inner, Mapping) or not ((_ENTRY_KEYS | _ENVELOPE_KEYS) & inner.keys()):
        raise InvalidEntry("an SQS message whose body is not an EventBridge event")
    entry = entry_from_json(inner, default_bus=default_bus)
    attributes = message.get("attributes") or message.get("Attributes") or {}
    trace = attributes.get("AWSTraceHeader") if isinstance(attributes, Mapping) else None
    if trace and "TraceHeader" not in entry:
        entry["TraceHeader"] = trace
    return entry


def parse_time(value: Any) -> dt.datetime:
    """RFC 3339 / ISO-8601 text or epoch seconds → an aware datetime (naive times are taken as UTC)."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidEntry(f"Time {value!r} is out of range for epoch seconds") from None
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidEntry(
                f"Time {value!r} is not an RFC 3339 timestamp", "e.g. 2026-11-27T10:15:06Z, or epoch seconds"
            ) from None
    else:
        raise InvalidEntry(f"Time must be a timestamp string or epoch seconds, not {describe_json_type(value)}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def entry_to_json(entry: Mapping[str, Any], *, detail_as_object: bool = False) -> dict[str, Any]:
    """The JSON-lines form of an entry, accepted back by `entry_from_json` (and `evctl publish --file`)."""
    out: dict[str, Any] = {}
    for key in ("Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"):
        if key not in entry:
            continue
        value = entry[key]
        if key == "Time" and isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        elif key == "Detail" and detail_as_object:
            with contextlib.suppress(TypeError, ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def compact_json(value: Any) -> str:
    """JSON without insignificant whitespace: whitespace counts towards the entry size.

    Raises ValueError for NaN or Infinity (not JSON) and RecursionError for absurd nesting.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def loads_strict(text: str) -> Any:
    """json.loads that, like AWS, refuses NaN and Infinity (Python's json accepts them)."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass
class PublishSettings:
    """Publishing settings: the flag, then [publish] in the config file, then the default.

    Bad flags are usage errors (exit 2); bad config values are configuration errors (exit 4)."""

    bus: str
    concurrency: int
    max_attempts: int
    cap: int  # the entry-size cap, also the request-size cap for a batch
    bus_flag: str | None = None

    @classmethod
    def resolve(
        cls,
        config: Config,
        *,
        bus: str | None,
        concurrency: int | None,
        max_attempts: int | None,
        max_entry_size: str | None,
        default_max_attempts: int,
    ) -> PublishSettings:
        from evctl.errors import ConfigError

        try:
            from_config = cls(
                bus=str(config.setting("publish", "bus", "default")),
                concurrency=int(config.setting("publish", "concurrency", DEFAULT_CONCURRENCY)),
                max_attempts=int(config.setting("publish", "max_attempts", default_max_attempts)),
                cap=parse_size(config.setting("publish", "max_entry_size", DEFAULT_MAX_ENTRY_BYTES)),
            )
        except (TypeError, ValueError, UsageError) as exc:
            raise ConfigError(f"bad [publish] setting in {config.path}: {exc}", "see docs/configuration.md") from exc
        if (
            min(from_config.cap, from_config.concurrency, from_config.max_attempts) <= 0
            or from_config.concurrency > 64
            or from_config.max_attempts > 20
        ):
            raise ConfigError(
                f"[publish] settings in {config.path} out of range", "concurrency 1-64, max_attempts 1-20, sizes > 0"
            )
        cap = parse_size(max_entry_size) if max_entry_size is not None else from_config.cap
        if cap <= 0:
            raise UsageError("--max-entry-size must be positive")
        return cls(
            bus=bus or from_config.bus,
            concurrency=concurrency or from_config.concurrency,
            max_attempts=max_attempts or from_config.max_attempts,
            cap=cap,
            bus_flag=bus,
        )


def parse_size(text: str | int) -> int:
    """'256KiB', '1MiB', '262144' → bytes (KB/KiB and MB/MiB both mean powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _SIZE_PATTERN.match(str(text))
    if not match:
        raise UsageError(f"cannot read size {text!r}", "use bytes, or e.g. 256KiB or 1MiB")
    unit = (match.group(2) or "b").lower()
    return int(match.group(1)) * {"b": 1, "k": 1024, "kb": 1024, "kib": 1024}.get(unit, 1024 * 1024)


# ---- validating and sizing ------------------------------------------------------------------------


def entry_size(entry: Mapping[str, Any]) -> int:
    """AWS's documented PutEvents entry size.

    14 bytes for Time if set, plus the UTF-8 byte length of Source, DetailType, Detail and each element of
    Resources. EventBusName and TraceHeader do not count.
    """
    size = TIME_BYTES if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += _utf8_len(value)
    resources = entry.get("Resources")
    for resource in resources if isinstance(resources, list | tuple) else ():
        if isinstance(resource, str):
            size += _utf8_len(resource)
    return size


def _utf8_len(text: str) -> int:
    # surrogatepass: a lone surrogate (invalid, reported by validate_entry) must not crash the sizing
    return len(text.encode("utf-8", "surrogatepass"))


def validate_entry(
    entry: Mapping[str, Any], *, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES, detail_is_object: bool = False
) -> list[str]:
    """Everything AWS would reject in this entry, as sentences; an empty list means valid.

    Checked: Source, DetailType and Detail present and non-empty strings; Source not in the reserved `aws.`
    namespace; DetailType at most 128 characters; Detail a JSON object; at most 10 Resources, each a
    string; EventBusName a name or ARN; TraceHeader 1-500 characters; entry_size within `max_entry_bytes`.
    `detail_is_object=True` skips re-parsing a Detail the caller itself serialised from a JSON object.
    """
    problems: list[str] = []
    for key in ("Source", "DetailType"):
        value = entry.get(key)
        if value is None or value == "":
            problems.append(f"{key} is missing")
        elif not isinstance(value, str):
            problems.append(f"{key} must be a string, not {describe_json_type(value)}")
    source = entry.get("Source")
    if isinstance(source, str) and source.startswith("aws."):
        problems.append(f"Source {source!r} is reserved for AWS services (the 'aws.' prefix)")
    detail_type = entry.get("DetailType")
    if isinstance(detail_type, str) and len(detail_type) > MAX_DETAIL_TYPE_CHARS:
        problems.append(f"DetailType is {len(detail_type)} characters; the limit is {MAX_DETAIL_TYPE_CHARS}")
    if not (detail_is_object and isinstance(entry.get("Detail"), str)):
        problems.extend(_detail_problems(entry.get("Detail")))
    resources = entry.get("Resources") or []
    if not isinstance(resources, list):
        problems.append(f"Resources must be a list of ARNs, not {describe_json_type(resources)}")
    else:
        if len(resources) > MAX_RESOURCES:
            problems.append(f"{len(resources)} Resources; at most {MAX_RESOURCES} are accepted")
        if any(not isinstance(r, str) or not r for r in resources):
            problems.append("every Resource must be a non-empty string (an ARN)")
    bus = entry.get("EventBusName")
    if bus is not None and not (isinstance(bus, str) and _is_bus_name(bus)):
        problems.append(f"EventBusName {bus!r} is not an event bus name or ARN")
    trace = entry.get("TraceHeader")
    if trace is not None and (not isinstance(trace, str) or not 1 <= len(trace) <= MAX_TRACE_HEADER_CHARS):
        problems.append(f"TraceHeader must be a string of 1-{MAX_TRACE_HEADER_CHARS} characters")
    when = entry.get("Time")
    if when is not None and not isinstance(when, dt.datetime):
        try:
            parse_time(when)
        except InvalidEntry as exc:
            problems.append(exc.message)
    texts = [entry.get(k) for k in ("Source", "DetailType", "Detail")]
    if isinstance(resources, list):
        texts.extend(resources)
    if any(isinstance(t, str) and not _is_unicode(t) for t in texts):
        problems.append("contains a lone surrogate (invalid Unicode, e.g. undecodable bytes from the shell)")
    size = entry_size(entry)
    if size > max_entry_bytes:
        problems.append(f"entry is {size} bytes, over the {max_entry_bytes}-byte cap")
    return problems


@functools.lru_cache(maxsize=64)  # a file usually names one or two buses, thousands of times
def _is_bus_name(bus: str) -> bool:
    return len(bus) <= MAX_BUS_NAME_CHARS and _BUS_PATTERN.match(bus) is not None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _detail_problems(detail: Any) -> list[str]:
    if detail is None or detail == "":
        return ["Detail is missing"]
    if not isinstance(detail, str):
        return [f"Detail must be JSON text or an object, not {describe_json_type(detail)}"]
    try:
        parsed = loads_strict(detail)
    except ValueError as exc:
        return [f"Detail is not valid JSON ({exc})"]
    except RecursionError:
        return ["Detail is nested too deeply"]
    if not isinstance(parsed, dict):
        return [f"Detail must be a JSON object, not {describe_json_type(parsed)}"]
    return []


# ---- reading JSON lines ---------------------------------------------------------------------------


@dataclass
class InputEvent:
    """One event read from the input: its line number, the entry when readable, and its problems."""

    line: int | None
    entry: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.entry is not None and not self.problems


def read_jsonl(
    lines: Iterable[bytes | str], *, default_bus: str, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> list[InputEvent]:
    """Every non-blank line as an InputEvent (1-based line numbers), valid or with its problems."""
    events: list[InputEvent] = []
    for number, raw in enumerate(lines, start=1):
        text, problem = _decode(raw, first=number == 1)
        if problem:
            events.append(InputEvent(number, None, [problem]))
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            events.append(InputEvent(number, None, [f"not valid JSON ({exc})"]))
            continue
        except RecursionError:
            events.append(InputEvent(number, None, ["JSON nested too deeply"]))
            continue
        events.append(parse_event(obj, line=number, default_bus=default_bus, max_entry_bytes=max_entry_bytes))
    return events


def parse_event(
    obj: Any, *, line: int | None, default_bus: str, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> InputEvent:
    """entry_from_json + validate_entry, with the problems collected instead of raised."""
    try:
        entry = entry_from_json(obj, default_bus=default_bus)
    except InvalidEntry as exc:
        return InputEvent(line, None, [_printable(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)])
    detail = obj.get("Detail", obj.get("detail"))  # an object here was serialised by entry_from_json
    problems = validate_entry(entry, max_entry_bytes=max_entry_bytes, detail_is_object=isinstance(detail, Mapping))
    return InputEvent(line, entry, [_printable(p) for p in problems])


def _printable(text: str) -> str:
    """Problems quote the input; a lone surrogate in it must not break writing them out."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _decode(raw: bytes | str, *, first: bool) -> tuple[str, str | None]:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "", "not UTF-8 text (binary data?)"
    else:
        text = raw
    if first:
        text = text.removeprefix("\ufeff")
    if "\x00" in text:
        return "", "contains NUL bytes (binary data?)"
    return text, None


# ---- batching -------------------------------------------------------------------------------------


def plan_batches(
    entries: Sequence[Mapping[str, Any]], *, max_request_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> list[list[int]]:
    """Input positions grouped into PutEvents calls: at most 10 entries, sum of entry sizes within the cap.

    Order is kept. An entry bigger than the cap on its own still gets a batch of one (AWS judges it).
    """
    batches: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, entry in enumerate(entries):
        size = entry_size(entry)
        if current and (len(current) == MAX_ENTRIES_PER_CALL or current_bytes + size > max_request_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


# ---- publishing -----------------------------------------------------------------------------------

Status = Literal["ok", "failed", "not_sent"]


@dataclass
class EntryResult:
    """The outcome for one input position: an EventId, or the last ErrorCode and ErrorMessage."""

    index: int
    status: Status = "not_sent"
    event_id: str | None = None
    error_code: str | None = NOT_SENT
    error_message: str | None = "not sent (the run stopped before this entry's batch)"
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class PublishReport:
    """Results by input position (results[i] is entries[i]), and how the run went."""

    results: list[EntryResult]
    api_calls: int = 0
    retried_entries: int = 0  # entry re-sends after a retryable ErrorCode
    fatal: BaseException | None = None  # a whole-call error after botocore's retries; later batches not sent
    interrupted: bool = False

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.status == "ok")

    @property
    def failed(self) -> list[EntryResult]:
        """Every entry not published: failed (with its code) or never sent."""
        return [r for r in self.results if r.status != "ok"]


def publish(
    client: Any,
    entries: Sequence[Mapping[str, Any]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_request_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    sleep: Callable[[float], Any] | None = None,
    rand: Callable[[], float] = random.random,
    on_result: Callable[[EntryResult], None] | None = None,
) -> PublishReport:
    """Publish validated entries; return a result for every input position. Never drops an entry.

    Batches from `plan_batches` run on `concurrency` threads sharing `client` (build it with a connection
    pool of at least `concurrency`). Entries answered with InternalFailure or ThrottlingException are
    re-sent (only they) after exponential backoff with full jitter (`sleep`, `rand` injectable; by default the
    backoff wait ends early when the run is stopping), up to
    `max_attempts` sends per entry; other ErrorCodes are final. A whole-call error is first retried by
    botocore's standard retry mode; if it still fails, that batch is marked failed with the error's code,
    no further batches start, and the exception is returned in `report.fatal`. Ctrl-C stops new batches,
    lets in-flight ones finish and sets `report.interrupted`. `on_result` is called on the calling thread
    as each entry's outcome becomes final (in completion order, not input order).
    """
    results = [EntryResult(index) for index in range(len(entries))]
    report = PublishReport(results)
    batches = plan_batches(entries, max_request_bytes=max_request_bytes)
    stop = threading.Event()
    lock = threading.Lock()

    def count_call(retried: int) -> None:
        with lock:
            report.api_calls += 1
            report.retried_entries += retried

    def run_batch(batch: list[int]) -> list[int]:
        pending, first = batch, True
        while pending:
            if not first:
                attempt = results[pending[0]].attempts
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
                if not stop.is_set():
                    (sleep or stop.wait)(delay * rand())
                if stop.is_set():  # stopping: the entries keep their retryable code and are reported failed
                    break
            count_call(0 if first else len(pending))
            for index in pending:
                results[index].attempts += 1
            try:
                response = client.put_events(Entries=[dict(entries[i]) for i in pending])
            except Exception as exc:
                message = str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)
                for index in pending:
                    _fail(results[index], error_code(exc) or type(exc).__name__, message)
                with lock:
                    if report.fatal is None:
                        report.fatal = exc
                stop.set()
                return batch
            retry: list[int] = []
            for index, answer in zip(pending, response.get("Entries", []), strict=False):
                code = answer.get("ErrorCode")
                if not code and answer.get("EventId"):
                    results[index].status, results[index].event_id = "ok", answer["EventId"]
                    results[index].error_code = results[index].error_message = None
                    continue
                _fail(results[index], code or "MissingEventId", answer.get("ErrorMessage") or "")
                if code in RETRYABLE_CODES and results[index].attempts < max_attempts and not stop.is_set():
                    retry.append(index)
            answered = len(response.get("Entries", []))
            for index in pending[answered:]:  # a malformed answer: never treat silence as success
                _fail(results[index], "MissingResult", "PutEvents returned fewer results than entries")
            pending, first = retry, False
        return batch

    _run_all(batches, run_batch, concurrency, stop, report, results, on_result)
    return report


def _fail(result: EntryResult, code: str, message: str) -> None:
    result.status, result.error_code, result.error_message = "failed", code, message


def _run_all(
    batches: list[list[int]],
    run_batch: Callable[[list[int]], list[int]],
    concurrency: int,
    stop: threading.Event,
    report: PublishReport,
    results: list[EntryResult],
    on_result: Callable[[EntryResult], None] | None,
) -> None:
    """Keep at most `concurrency` batches in flight; report each entry exactly once, on this thread."""
    reported = [False] * len(results)

    def emit(indices: Iterable[int]) -> None:
        for index in indices:
            if not reported[index]:
                reported[index] = True
                if on_result:
                    on_result(results[index])

    queue: Iterator[list[int]] = iter(batches)
    in_flight: set[Future[list[int]]] = set()
    workers = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evctl-publish") as pool:
        try:
            while True:
                while not stop.is_set() and len(in_flight) < workers:
                    batch = next(queue, None)
                    if batch is None:
                        break
                    in_flight.add(pool.submit(run_batch, batch))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    emit(future.result())
        except KeyboardInterrupt:
            report.interrupted = True
            stop.set()
            wait(in_flight)  # in-flight calls finish: their outcome is known, not guessed
    emit(range(len(results)))  # the rest: finished while interrupted, or never started (not sent)
