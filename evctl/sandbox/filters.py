"""An event source mapping's FilterCriteria, applied to SQS messages as Lambda applies them.

Lambda evaluates each filter pattern against the message's record (messageId, body, attributes, ...); the record
passes when any pattern matches ("If an event satisfies at least one of the filter patterns, Lambda sends it to
your function"). A body that is a JSON object is filtered as JSON (the pattern's keys go under `body`); any other
body is the plain string. A message no pattern matches is deleted from the queue and never reaches the function
("If an Amazon SQS message doesn't satisfy your filter criteria, Lambda automatically removes the message from the
queue"). Sources and the places this differs from AWS: docs/sandbox.md, "The local Lambda runner".

Patterns are compiled by evctl's offline engine (evctl.core.patterns), the one `evctl doctor` (E-FILTER-1) uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evctl.core.patterns import Pattern, PatternError, compile_pattern
from evctl.core.queues import Received, lambda_record


@dataclass(frozen=True)
class Filters:
    """A mapping's compiled filters. No filters: every message passes."""

    patterns: tuple[Pattern, ...] = ()
    texts: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # patterns the engine could not read (they match nothing)

    @property
    def active(self) -> bool:
        return bool(self.texts)

    def passes(self, record: Mapping[str, Any]) -> bool:
        return not self.active or any(pattern.matches(dict(record)) for pattern in self.patterns)


def compile_filters(criteria: Mapping[str, Any] | None) -> Filters:
    """Filters from a mapping's FilterCriteria ({"Filters": [{"Pattern": "..."}]}); unreadable patterns are kept
    as errors and match nothing (AWS refuses them when the mapping is created or updated)."""
    texts = [str(f.get("Pattern")) for f in (criteria or {}).get("Filters") or [] if isinstance(f, dict)]
    texts = [t for t in texts if t and t != "None"]
    patterns: list[Pattern] = []
    errors: list[str] = []
    for text in texts:
        try:
            patterns.append(compile_pattern(text))
        except PatternError as exc:
            errors.append(f"{text}: {exc}")
    return Filters(tuple(patterns), tuple(texts), tuple(errors))


def filter_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda filters: the SQS record its function would get, with a JSON-object body parsed."""
    record = dict(lambda_record(Received.from_sqs(message), event_source_arn=queue_arn, aws_region=region))
    body = record.get("body")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            record["body"] = parsed
    return record


def split(
    filters: Filters, messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str
) -> tuple[list[Any], list[Any]]:
    """(passing, filtered out) messages, each list in the batch's order."""
    if not filters.active:
        return list(messages), []
    passing: list[Any] = []
    dropped: list[Any] = []
    for message in messages:
        (passing if filters.passes(filter_record(message, queue_arn, region)) else dropped).append(message)
    return passing, dropped
