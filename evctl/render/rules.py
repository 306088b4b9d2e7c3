"""`evctl rules` and `tail bus` on the terminal: the list's columns and rows, a rule's page, test and match answers.

    output.result([rule_row(info) for info in rules], columns=LIST_COLUMNS)
    rule_lines(info)              # `rules show` as lines of text
    outcome_text(outcome, total)  # `rules test`: match / no match and why
    matches_text(result, total)   # `rules match`: the rules hit and what each target receives

Core data in, text and rows out; nothing here prints. Every line is text, never markup, with the control characters
of the data escaped (render.tables.printable): a pattern, an Input or an event holding ESC cannot drive the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evctl.render.jsontext import dumps
from evctl.render.tables import Column, printable

if TYPE_CHECKING:
    from evctl.core.rules import EventMatches, PatternOutcome, RuleInfo

SUMMARY_WIDTH = 70
LIST_COLUMNS = [
    Column("name", "NAME", priority=0, no_wrap=True),
    Column("state", "STATE", priority=2, no_wrap=True),
    Column("pattern", "PATTERN", min_width=24),
    Column("schedule", "SCHEDULE", priority=3, no_wrap=True),
    Column("targets", "TARGETS", priority=2, min_width=24),
]
LEFTOVER_COLUMNS = [
    Column("kind", "KIND", no_wrap=True),
    Column("name", "NAME", priority=0, no_wrap=True),
    Column("bus", "BUS", priority=2, no_wrap=True),
]


def rule_row(info: RuleInfo) -> dict[str, Any]:
    """One row of `rules list`: the pattern summarised on one line, targets by short ARN."""
    return {
        "name": info.name,
        "state": info.state,
        "pattern": pattern_summary(info.pattern),
        "schedule": info.schedule or "",
        "targets": ", ".join(_short_arn(t.get("Arn", "")) for t in info.targets) or "(none)",
    }


def _short_arn(arn: str) -> str:
    """`sqs:user-signup-queue` rather than the whole ARN, for tables."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn":
        return f"{parts[2]}:{':'.join(parts[5:])}"
    return arn


def pattern_summary(pattern: Any, width: int = SUMMARY_WIDTH) -> str:
    """One line: `source=[app] detail-type=[Signup] detail.plan=[…]`, clipped to `width`."""
    if pattern is None:
        return ""
    if not isinstance(pattern, dict):
        text = str(pattern)
    else:
        text = " ".join(f"{path}={json.dumps(value, ensure_ascii=False)}" for path, value in _leaves(pattern))
    return text if len(text) <= width else text[: width - 1] + "…"


def _leaves(pattern: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in pattern.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, path + ".")
        else:
            yield path, value


def _label(index: int, total: int) -> str:
    return f"event {index}: " if total > 1 else ""


def outcome_text(outcome: PatternOutcome, total: int) -> str:
    lines = [f"{_label(outcome.index, total)}{'match' if outcome.matched else 'no match'}"]
    if outcome.remote is not None:
        lines[0] += f" (AWS: {'match' if outcome.remote else 'no match'})"
    elif outcome.remote_note:
        lines[0] += f" (AWS: no answer: {outcome.remote_note})"
    lines += [f"  {why}" for why in outcome.why]
    if outcome.filled:
        lines.append(f"  (filled in for matching: {', '.join(outcome.filled)})")
    return printable("\n".join(lines))


def disagreement_warnings(outcomes: Sequence[PatternOutcome]) -> list[str]:
    """`rules test --remote`: a warning for each event where evctl and AWS answer differently."""
    return [
        f"event {outcome.index}: evctl says {'match' if outcome.matched else 'no match'}, "
        f"AWS says {'match' if outcome.remote else 'no match'}; AWS decides delivery (please report this)"
        for outcome in outcomes
        if outcome.remote is not None and outcome.remote != outcome.matched
    ]


def delivery_warnings(results: Sequence[EventMatches]) -> list[str]:
    """`rules match`: a warning for each target that would not receive what its configuration intends."""
    return [
        printable(f"event {result.index}, rule {hit.name}, target {target.id}: {target.rendered.problem}", keep="")
        for result in results
        for hit in result.rules
        for target in hit.targets
        if target.rendered.problem
    ]


FIRST_LINES = 5  # line numbers named in an aggregated `publish --dry-run` message


def matching_rules_messages(
    lines: Sequence[int | None], found: Sequence[tuple[str, list[str]]]
) -> list[tuple[bool, str]]:
    """`publish --dry-run`: (is a warning, text) per group of events with the same answer (bus and enabled rules
    matched): one line each, with the count and the first few line numbers, however many events there are."""
    groups: dict[tuple[str, tuple[str, ...]], list[int | None]] = {}
    for line, (bus, names) in zip(lines, found, strict=True):
        groups.setdefault((bus, tuple(names)), []).append(line)
    messages = []
    for (bus, rules), members in groups.items():
        label, verb = _events_label(members)
        if rules:
            messages.append((False, f"{label} would match on bus {bus}: {', '.join(rules)}"))
        else:
            matches, it = ("matches", "it") if verb == "one" else ("match", "they")
            messages.append(
                (True, f"{label} {matches} no enabled rule on bus {bus}: {it} would be accepted and go nowhere")
            )
    return messages


def _events_label(lines: Sequence[int | None]) -> tuple[str, str]:
    """("line 7" / "the event" / "3 events (lines 1, 2, 4)" / "100000 events (lines 1, 2, 3, 4, 5, …)", one|many)."""
    if len(lines) == 1:
        return (f"line {lines[0]}" if lines[0] is not None else "the event"), "one"
    numbers = [str(n) for n in lines[:FIRST_LINES] if n is not None]
    more = ", …" if len(lines) > FIRST_LINES else ""
    where = f" (lines {', '.join(numbers)}{more})" if numbers else ""
    return f"{len(lines)} events{where}", "many"


def bus_event_line(event: Mapping[str, Any]) -> str:
    """`tail bus` on a terminal: time, source, detail-type and the compact detail of an event."""
    if "detail-type" not in event:
        return printable(dumps(event), keep="")
    line = f"{event.get('time', '')}  {event.get('source', '')}  {event.get('detail-type', '')}  {dumps(event.get('detail'))}"
    return printable(line, keep="")


def matches_text(result: EventMatches, total: int) -> str:
    label = _label(result.index, total)
    if not result.rules:
        return f"{label}no rule matches"
    lines = [f"{label}{len(result.rules)} rule(s) match"]
    for hit in result.rules:
        lines.append(f"  {hit.name} ({hit.state}{'' if hit.delivers else ': not delivered'})")
        for target in hit.targets:
            rendered = target.rendered
            lines.append(f"    → {target.id} {target.arn} receives ({rendered.kind}):")
            body = rendered.body if rendered.body is not None else "(nothing)"
            lines += [f"      {line}" for line in _pretty(body).splitlines()]
    return printable("\n".join(lines))


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def rule_lines(info: RuleInfo) -> list[str]:
    lines = [
        f"name         {info.name}",
        f"arn          {info.arn}",
        f"bus          {info.bus}",
        f"state        {info.state}",
    ]
    if info.description:
        lines.append(f"description  {info.description}")
    if info.schedule:
        lines.append(f"schedule     {info.schedule}")
    if info.pattern is not None:
        lines.append("pattern")
        text = (
            json.dumps(info.pattern, indent=2, ensure_ascii=False) if isinstance(info.pattern, dict) else info.pattern
        )
        lines += [f"  {line}" for line in text.splitlines()]
    lines.append(f"targets ({len(info.targets)})")
    for target in info.targets:
        lines.append(f"  {target.get('Id')}  {target.get('Arn')}")
        lines += [f"    {line}" for line in _target_detail(target)]
    return [printable(line, keep="") for line in lines]


def _target_detail(target: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "Input" in target:
        lines.append(f"Input: {target['Input']}")
    if "InputPath" in target:
        lines.append(f"InputPath: {target['InputPath']}")
    transformer = target.get("InputTransformer")
    if transformer:
        lines.append("InputTransformer:")
        lines.append(f"  InputPathsMap: {json.dumps(transformer.get('InputPathsMap') or {}, ensure_ascii=False)}")
        lines.append(f"  InputTemplate: {transformer.get('InputTemplate', '')}")
    if target.get("DeadLetterConfig"):
        lines.append(f"DeadLetterConfig: {target['DeadLetterConfig'].get('Arn')}")
    if target.get("RetryPolicy"):
        policy = target["RetryPolicy"]
        lines.append("RetryPolicy: " + ", ".join(f"{key}={value}" for key, value in policy.items()))
    return lines
