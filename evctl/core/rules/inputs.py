"""What the user gives `evctl rules` and `tail bus`: patterns and events as JSON text, `-` or `@file`.

    text = read_source("@event.json", stdin, what="event")     # the text (common.inputs.read_text)
    documents = parse_events_text(text)                        # one object, an array, or JSON lines
    normalized = normalize_all(documents)                      # [(full envelope, fields filled in)]
    pattern = load_pattern('{"source": ["my.app"]}')            # a compiled Pattern

Bad input raises PatternError / EventError / UsageError (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any

from evctl.core.common.inputs import read_text
from evctl.core.common.json_types import describe_json_type
from evctl.core.patterns import EventError, Pattern, compile_pattern, load_event, normalize_event
from evctl.core.patterns.values import loads
from evctl.errors import UsageError


def read_source(value: str, stdin: IO[Any] | None = None, *, what: str = "value") -> str:
    """`-` reads stdin, `@path` reads a file, anything else is the text itself."""
    return read_text(value, stdin, what=f"the {what}")


def load_pattern(text: str) -> Pattern:
    """Compile a pattern given as JSON text (the engine's parser: exact numbers, repeated keys). PatternError: exit 2."""
    if not text.strip():
        raise UsageError("no pattern given", "pass a JSON object or @file")
    return compile_pattern(text)


def parse_events_text(text: str) -> list[dict[str, Any]]:
    """One JSON object, a JSON array of objects, or JSON lines (one object per line). EventError (exit 2) for
    anything else, and for no events at all (empty text, blank lines, `[]`): a check never passes vacuously."""
    stripped = text.strip()
    if not stripped:
        raise EventError("no event given", "pass a JSON object, @file or - for stdin")
    try:
        whole = loads(stripped)
    except (ValueError, RecursionError):
        lines = [(n, line) for n, line in enumerate(stripped.splitlines(), 1) if line.strip()]
        if len(lines) == 1:
            return [load_event(lines[0][1])]
        return [_event_line(line, n) for n, line in lines]
    if isinstance(whole, list):
        if not whole:
            raise EventError("no events: the array is empty", "give at least one event object")
        for index, item in enumerate(whole, 1):
            if not isinstance(item, dict):
                raise EventError(f"event {index} of the array must be a JSON object, not {describe_json_type(item)}")
        return whole
    if not isinstance(whole, dict):
        raise EventError(f"an event must be a JSON object, not {describe_json_type(whole)}")
    return [whole]


def _event_line(line: str, number: int) -> dict[str, Any]:
    try:
        event: dict[str, Any] = load_event(line)
    except EventError as exc:
        raise EventError(f"line {number}: {exc.reason}", "give one JSON object per line") from None
    return event


def normalize_all(documents: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """Every event as a full envelope (and the fields filled in), all checked before anything is done."""
    normalized = []
    for index, document in enumerate(documents, 1):
        try:
            envelope, filled = normalize_event(document)
        except EventError as exc:
            prefix = f"event {index}: " if len(documents) > 1 else ""
            raise EventError(f"{prefix}{exc.reason}", exc.hint) from None
        normalized.append((dict(envelope), list(filled)))
    return normalized
