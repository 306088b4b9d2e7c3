"""EventBridge events: PutEvents entries (build, validate, size), input reading, templates and publishing.

    settings = PublishSettings.resolve(config, bus=None, concurrency=None, max_attempts=None,
                                       max_entry_size=None, default_max_attempts=5)
    inputs = read_jsonl(open("events.jsonl", "rb"), default_bus=settings.bus)   # [InputEvent]
    entry = entry_from_json({"source": "my.app", "detail-type": "T", "detail": {}}, default_bus="default")
    problems = validate_entry(entry)                    # [] when AWS would accept it
    report = publish(client, [entry], concurrency=4)    # PublishReport: results[i] for entries[i]
    render(get_template("signup", config), {"email": "ann@example.com"})   # a PutEvents entry

Modules: entries (the entry rules and limits), reading (JSON lines → InputEvent), gathering (what `evctl publish`
reads: a file, a template or flags), settings (PublishSettings), publishing (batches, retries, PublishReport),
outcome (summary, failed entries, exit error), templates (named events), placeholders ({uuid}, {seq}, {now}: the
one place fresh values are filled). Nothing here prints.
"""

from __future__ import annotations

from .entries import (
    DEFAULT_MAX_ENTRY_BYTES,
    LARGE_MAX_ENTRY_BYTES,
    MAX_ENTRIES_PER_CALL,
    InvalidEntry,
    compact_json,
    entry_from_json,
    entry_size,
    entry_to_json,
    loads_strict,
    parse_time,
    validate_entry,
)
from .gathering import EventFlags, gather, select_valid
from .outcome import outcome_error, summarize, unpublished_entries
from .placeholders import fill as fill_placeholders
from .placeholders import widest as widest_placeholders
from .publishing import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTEMPTS,
    NOT_SENT,
    RETRYABLE_CODES,
    EntryResult,
    PublishReport,
    PutEventsClient,
    plan_batches,
    publish,
    send_batch,
)
from .reading import InputEvent, parse_event, read_jsonl
from .settings import PublishSettings, parse_size
from .templates import Template, all_templates, describe_template, get_template, parse_sets, render

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_ENTRY_BYTES",
    "LARGE_MAX_ENTRY_BYTES",
    "MAX_ENTRIES_PER_CALL",
    "NOT_SENT",
    "RETRYABLE_CODES",
    "EntryResult",
    "EventFlags",
    "InputEvent",
    "InvalidEntry",
    "PublishReport",
    "PublishSettings",
    "PutEventsClient",
    "Template",
    "all_templates",
    "compact_json",
    "describe_template",
    "entry_from_json",
    "entry_size",
    "entry_to_json",
    "fill_placeholders",
    "gather",
    "get_template",
    "loads_strict",
    "outcome_error",
    "parse_event",
    "parse_sets",
    "parse_size",
    "parse_time",
    "plan_batches",
    "publish",
    "read_jsonl",
    "render",
    "select_valid",
    "send_batch",
    "summarize",
    "unpublished_entries",
    "validate_entry",
    "widest_placeholders",
]
