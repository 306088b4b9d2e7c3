"""Reading input events: JSON lines (or one parsed object) into entries, each with its problems.

    events = read_jsonl(open("events.jsonl", "rb"), default_bus="default")
    valid = [e.entry for e in events if e.valid]
    parse_event({"Source": "my.app", ...}, line=None, default_bus="default")   # one object, same checks

Problems are collected, never raised: a bad line does not stop the others being read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evctl.core.events.entries import DEFAULT_MAX_ENTRY_BYTES, InvalidEntry, entry_from_json, validate_entry


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
