"""PutEvents entries: build them from JSON, validate and size them as AWS does, and write them back as JSON.

- `entry_from_json(obj, default_bus=...)` turns a PutEvents entry *or* an EventBridge event envelope (the body
  of an SQS message from an EventBridge target, an archived event) into a PutEvents entry.
- `validate_entry(entry, max_entry_bytes=...)` lists what AWS would reject (empty list = valid).
- `entry_size(entry)` is AWS's documented formula (14 bytes for Time when set, plus the UTF-8 bytes of
  Source, DetailType, Detail and each Resource).
- `entry_to_json(entry)` is the JSON-lines form `entry_from_json` (and `evctl publish --file`) reads back.

The one place for these rules and limits; nothing here prints or calls AWS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

from evctl.core.common.json_types import describe_json_type
from evctl.core.common.names import MAX_BUS_REF_CHARS, is_bus_ref
from evctl.core.common.time import TimeFormatError, iso_utc, parse_datetime
from evctl.errors import UsageError

MAX_ENTRIES_PER_CALL = 10
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024
LARGE_MAX_ENTRY_BYTES = 1024 * 1024  # the 2026 payload increase; opt-in
TIME_BYTES = 14
MAX_DETAIL_TYPE_CHARS = 128
MAX_RESOURCES = 10
MAX_TRACE_HEADER_CHARS = 500
MAX_BUS_NAME_CHARS = MAX_BUS_REF_CHARS

_ENTRY_KEYS = frozenset({"Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"})
_ENVELOPE_KEYS = frozenset({"source", "detail-type", "detail"})


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
    """RFC 3339 / ISO-8601 text or epoch seconds (a number, or text of digits) → an aware datetime (naive times
    are taken as UTC); the range is common.time's (1970-01-01 to 9999-12-31)."""
    try:
        return parse_datetime(value)
    except TimeFormatError as exc:
        if exc.kind == "range":
            seconds = isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit())
            raise InvalidEntry(
                f"Time {value!r} is out of range{' for epoch seconds' if seconds else ''}",
                "give a time between 1970-01-01 and 9999-12-31",
            ) from None
        if exc.kind == "format":
            raise InvalidEntry(
                f"Time {value!r} is not an RFC 3339 timestamp", "e.g. 2026-11-27T10:15:06Z, or epoch seconds"
            ) from None
        raise InvalidEntry(
            f"Time must be a timestamp string or epoch seconds, not {describe_json_type(value)}"
        ) from None


def entry_to_json(entry: Mapping[str, Any], *, detail_as_object: bool = False) -> dict[str, Any]:
    """The JSON-lines form of an entry, accepted back by `entry_from_json` (and `evctl publish --file`)."""
    out: dict[str, Any] = {}
    for key in ("Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"):
        if key not in entry:
            continue
        value = entry[key]
        if key == "Time" and isinstance(value, dt.datetime):
            value = iso_utc(value, precision="auto")
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
    return is_bus_ref(bus)


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
