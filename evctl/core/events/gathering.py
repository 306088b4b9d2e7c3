"""What `evctl publish` reads: exactly one of a JSON-lines file (or stdin), a named template, or event flags.

    flags = EventFlags(source="my.app", detail_type="Signup", detail='{"a": 1}')
    inputs = gather(config, settings, template=None, file=None, flags=flags, stdin=sys.stdin)  # [InputEvent]
    valid = select_valid(inputs, strict=False, single=True, warn=print)   # positions of the valid events

Usage errors (exit 2) for combinations that make no sense, unreadable input, or nothing valid to send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from evctl.core.common.inputs import input_name, open_lines, read_text
from evctl.core.common.time import parse_event_time
from evctl.core.events.reading import InputEvent, parse_event, read_jsonl
from evctl.core.events.templates import get_template, parse_sets, render
from evctl.errors import UsageError

if TYPE_CHECKING:
    from evctl.config import Config
    from evctl.core.events.settings import PublishSettings


@dataclass
class EventFlags:
    """The event given on the command line (a template's `--set`s included); in the order the flags are named."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None  # JSON text, @file or - (stdin)
    resource: list[str] = field(default_factory=list)
    time: str | None = None
    trace_header: str | None = None
    sets: list[str] = field(default_factory=list)

    def given(self) -> list[str]:
        """The flags given, as they are named in messages (--detail-type, …)."""
        values = dataclasses.asdict(self)
        return [f"--{name.replace('_', '-')}" for name, value in values.items() if value]


def gather(
    config: Config,
    settings: PublishSettings,
    *,
    template: str | None,
    file: str | None,
    flags: EventFlags,
    stdin: IO[Any] | None,
    fill: bool = True,
    file_option: str = "--file",
) -> list[InputEvent]:
    """The input events, from exactly one of: `file` (a path or -), a template, or --source/--detail-type flags.
    `fill=False` keeps a template's placeholders for the caller to fill per event (`publish --count`);
    `file_option` is the option that gave `file`, named in errors (`trace --event @FILE`)."""
    given = flags.given()
    if file is not None:
        if template or given:
            raise UsageError(f"{file_option} cannot be combined with {template or ', '.join(given)}")
        return read_file(file, settings, stdin, file_option=file_option)
    if template is not None:
        clash = [g for g in given if g in ("--source", "--detail-type", "--detail")]
        if clash:
            raise UsageError(f"{', '.join(clash)} cannot be combined with template {template!r}", "use --set KEY=VALUE")
        entry = render(get_template(template, config), parse_sets(flags.sets), fill=fill)
        # --bus, then the template's bus, then [publish] bus / "default"
        entry["EventBusName"] = settings.bus_flag or entry.get("EventBusName") or settings.bus
    else:
        if flags.sets:
            raise UsageError("--set needs a template", "e.g. evctl publish signup --set email=ann@example.com")
        if not (flags.source or flags.detail_type or flags.detail):
            raise UsageError("nothing to publish", "give a template name, --source and --detail-type, or --file")
        entry = {"Source": flags.source, "DetailType": flags.detail_type, "EventBusName": settings.bus}
        entry["Detail"] = "{}" if flags.detail is None else read_text(flags.detail, stdin, what="--detail")
    when = (
        parse_event_time(flags.time, "--time") if flags.time is not None else None
    )  # exit 2 naming --time, before reading
    extra = {"Resources": flags.resource, "Time": when, "TraceHeader": flags.trace_header}
    entry |= {key: value for key, value in extra.items() if value}  # a template's Resources stay unless given
    entry = {k: v for k, v in entry.items() if v is not None}
    return [parse_event(entry, line=None, default_bus=settings.bus, max_entry_bytes=settings.cap)]


def read_file(
    file: str, settings: PublishSettings, stdin: IO[Any] | None, *, file_option: str = "--file"
) -> list[InputEvent]:
    """Every event of a JSON-lines file (or stdin for -); UsageError when it cannot be read or holds none."""
    with open_lines(file, stdin, hint=f"check the path given to {file_option}") as lines:
        inputs = read_jsonl(lines, default_bus=settings.bus, max_entry_bytes=settings.cap)
    if not inputs:
        raise UsageError(f"no events in {input_name(file)}", "expected one JSON object per line")
    return inputs


def select_valid(inputs: list[InputEvent], *, strict: bool, single: bool, warn: Callable[[str], None]) -> list[int]:
    """Positions of the valid events; each problem of the others goes to `warn` with its line number, once per
    distinct problem: lines with the same problem share one warning with their count and first line numbers.

    UsageError when the single event given by flags or template is invalid, when nothing is valid, or (`strict`)
    when anything is invalid."""
    if single and not inputs[0].valid:
        raise UsageError(f"invalid event: {'; '.join(inputs[0].problems)}", "nothing was sent")
    valid = [i for i, event in enumerate(inputs) if event.valid]
    for text in problem_warnings(inputs):
        warn(text)
    invalid = len(inputs) - len(valid)
    if invalid and strict:
        raise UsageError(f"{invalid} of {len(inputs)} events are invalid; nothing was sent (--strict)")
    if not valid:
        raise UsageError(f"none of the {len(inputs)} events is valid; nothing was sent", "see the lines above")
    return valid


FIRST_LINES = 5  # line numbers named in a warning shared by many lines


def problem_warnings(inputs: list[InputEvent]) -> list[str]:
    """`line 7: Source is missing` for a problem of one line; `3 lines (2, 5, 9): Source is missing` for one
    shared by several (the first FIRST_LINES numbers, then `…`): 100,000 bad lines are a few warnings, not 100,000."""
    lines_of: dict[str, list[int]] = {}
    for event in inputs:
        for problem in event.problems:
            lines_of.setdefault(problem, []).append(event.line or 0)
    warnings = []
    for problem, lines in lines_of.items():
        if len(lines) == 1:
            warnings.append(f"line {lines[0]}: {problem}")
        else:
            more = ", …" if len(lines) > FIRST_LINES else ""
            shown = ", ".join(str(n) for n in lines[:FIRST_LINES])
            warnings.append(f"{len(lines)} lines ({shown}{more}): {problem}")
    return warnings
