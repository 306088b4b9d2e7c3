"""Events: parse, normalise to the EventBridge envelope, and flatten into the engine's name/value leaves."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from evctl.core.common.json_types import describe_json_type
from evctl.core.common.time import TimeFormatError, parse_datetime
from evctl.errors import UsageError

from .values import address_digits, comparable, ip_address, java_text, loads, number_text

STRING, NUMBER, LITERAL = 0, 1, 2

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
ENVELOPE_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class EventError(UsageError):
    """An event that is not a JSON object (or not JSON at all)."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(f"invalid event: {reason}", hint)
        self.reason = reason


class Leaf:
    """One scalar of a flattened event, as the engine sees it.

    `text` is what the engine compares bytes against: a string quoted (`"abc"`), a number as written, `true`,
    `false` or `null`. `number` is the double a number compares by (None when not representable). `membership`
    says which element of which array of the event the leaf sits in (array consistency).
    """

    __slots__ = ("_ip", "kind", "membership", "number", "text", "value")

    def __init__(self, kind: int, text: str, value: Any, number: float | None, membership: tuple[tuple[int, int], ...]):
        self.kind = kind
        self.text = text
        self.value = value
        self.number = number
        self.membership = membership
        self._ip: str | None = None

    @property
    def ip_digits(self) -> str | None:
        """The address as hex digits when the string is an IP address literal the engine recognises."""
        if self._ip is None:
            address = ip_address(self.text[1:-1]) if self.kind == STRING else None
            self._ip = address_digits(address) if address is not None else ""
        return self._ip or None

    @property
    def index_key(self) -> tuple[Any, ...]:
        if self.kind == NUMBER and self.number is not None:
            return (NUMBER, self.number)
        return (self.kind, self.text)

    def __repr__(self) -> str:
        return f"Leaf({self.text!r}, membership={self.membership})"


Flat = dict[str, list[Leaf]]


def flatten(event: Mapping[str, Any], steps: frozenset[str] | None = None) -> Flat:
    """Name → leaves, names joined with '.' (so `{"a.b": 1}` and `{"a": {"b": 1}}` both give `a.b`).

    Every array instance gets an id; a leaf inside an object or array that is an element of an array records
    (array id, element index), as the engine's Event class does. Scalars directly in an array record nothing
    for that array. Empty objects and arrays produce no leaves. With `steps` (every dot-separated part of every
    field name a pattern uses), keys no pattern can reach are skipped, as the engine does.
    """
    if not isinstance(event, Mapping):
        raise EventError(f"an event must be a JSON object, not {describe_json_type(event)}")
    flat: Flat = {}
    counter = [0]

    def walk_object(obj: Mapping[Any, Any], prefix: str, membership: tuple[tuple[int, int], ...]) -> None:
        for key, value in obj.items():
            key = key if isinstance(key, str) else str(key)
            if steps is not None and key not in steps and not _reachable(key, steps):
                continue
            name = prefix + key
            kind = type(value)
            if kind is dict or (kind is not list and kind is not str and isinstance(value, Mapping)):
                walk_object(value, name + ".", membership)
            elif kind is list or kind is tuple:
                walk_array(value, name, membership)
            else:
                leaves = flat.get(name)
                if leaves is None:
                    flat[name] = [make_leaf(value, membership)]
                else:
                    leaves.append(make_leaf(value, membership))

    def walk_array(items: list[Any] | tuple[Any, ...], name: str, membership: tuple[tuple[int, int], ...]) -> None:
        array_id = counter[0]
        counter[0] += 1
        for index, value in enumerate(items):
            kind = type(value)
            if kind is dict or (kind is not list and kind is not str and isinstance(value, Mapping)):
                walk_object(value, name + ".", (*membership, (array_id, index)))
            elif kind is list or kind is tuple:
                walk_array(value, name, (*membership, (array_id, index)))
            else:
                leaves = flat.get(name)
                if leaves is None:
                    flat[name] = [make_leaf(value, membership)]
                else:
                    leaves.append(make_leaf(value, membership))

    try:
        walk_object(event, "", ())
    except RecursionError:
        raise EventError("the event is nested too deeply") from None
    return flat


def _reachable(key: str, steps: frozenset[str]) -> bool:
    """A key with dots can still be reached when each of its parts is a step of some field name."""
    return "." in key and all(part in steps for part in key.split("."))


def steps_of(names: Any) -> frozenset[str]:
    """Every dot-separated part of the given field names."""
    return frozenset(part for name in names for part in name.split("."))


def make_leaf(value: Any, membership: tuple[tuple[int, int], ...] = ()) -> Leaf:
    kind = type(value)
    if kind is str:
        return Leaf(STRING, '"' + java_text(value) + '"', value, None, membership)
    if kind is int:
        return Leaf(NUMBER, str(value), value, comparable(value), membership)
    if kind is float:
        return Leaf(NUMBER, repr(value), value, comparable(value), membership)
    if isinstance(value, str):
        return Leaf(STRING, '"' + java_text(value) + '"', value, None, membership)
    if value is True:
        return Leaf(LITERAL, "true", value, None, membership)
    if value is False:
        return Leaf(LITERAL, "false", value, None, membership)
    if value is None:
        return Leaf(LITERAL, "null", value, None, membership)
    if isinstance(value, int | float):
        return Leaf(NUMBER, number_text(value), value, comparable(value), membership)
    text = str(value)  # not a JSON type (a datetime, say): the engine would have seen it serialised as a string
    return Leaf(STRING, '"' + java_text(text) + '"', text, None, membership)


def load_event(text: str | bytes) -> dict[str, Any]:
    """Parse one event given as JSON text; raise EventError for invalid JSON or a non-object."""
    try:
        value = loads(text)
    except (ValueError, RecursionError) as exc:
        raise EventError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise EventError(f"an event must be a JSON object, not {describe_json_type(value)}")
    return value


_ENTRY_KEYS = {"Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"}


def normalize_event(
    event: Mapping[str, Any],
    *,
    account: str | None = None,
    region: str | None = None,
    now: Callable[[], dt.datetime] | None = None,
    new_id: Callable[[], str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The full envelope EventBridge would match against, and the names of the fields filled in.

    Accepts a PutEvents entry (Source, DetailType, Detail as a JSON string or an object, Resources, Time) or an
    envelope (source, detail-type, detail, ...). Missing version, id, account, time, region, resources and detail
    are filled in plausibly; source and detail-type are never invented (a pattern on them should see them absent).
    """
    if not isinstance(event, Mapping):
        raise EventError(f"an event must be a JSON object, not {describe_json_type(event)}")
    if any(key in _ENTRY_KEYS for key in event) and not any(key in event for key in ("source", "detail-type")):
        envelope = _from_entry(event)
    else:
        envelope = dict(event)
    filled: list[str] = []
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    defaults: dict[str, Callable[[], Any]] = {
        "version": lambda: "0",
        "id": new_id or (lambda: str(uuid.uuid4())),
        "account": lambda: account or DEFAULT_ACCOUNT,
        "time": lambda: clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": lambda: region or DEFAULT_REGION,
        "resources": list,
        "detail": dict,
    }
    for field in ENVELOPE_FIELDS:
        if field not in envelope and field in defaults:
            envelope[field] = defaults[field]()
            filled.append(field)
    ordered = {field: envelope[field] for field in ENVELOPE_FIELDS if field in envelope}
    ordered.update((key, value) for key, value in envelope.items() if key not in ordered)
    return ordered, filled


def _from_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    envelope: dict[str, Any] = {}
    if "DetailType" in entry:
        envelope["detail-type"] = entry["DetailType"]
    if "Source" in entry:
        envelope["source"] = entry["Source"]
    if "Resources" in entry:
        envelope["resources"] = list(entry["Resources"] or [])
    if "Time" in entry and entry["Time"] is not None:
        envelope["time"] = _entry_time(entry["Time"])
    if "Detail" in entry:
        detail = entry["Detail"]
        if isinstance(detail, str | bytes):
            try:
                detail = loads(detail)
            except (ValueError, RecursionError) as exc:
                raise EventError(f"Detail is not valid JSON ({exc})") from None
        if not isinstance(detail, Mapping):
            raise EventError(f"Detail must be a JSON object, not {describe_json_type(detail)}")
        envelope["detail"] = detail
    return envelope


def _entry_time(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:  # epoch seconds, range-checked where every time is (common.time)
            moment = parse_datetime(value)
        except TimeFormatError:
            raise EventError(
                f"Time {value!r} is out of range", "give a time between 1970-01-01 and 9999-12-31"
            ) from None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value
