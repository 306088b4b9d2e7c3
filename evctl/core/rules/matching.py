"""Rules on a bus: list them, describe one with its targets, and test or match events against them.

Matching uses evctl's own pattern engine (evctl.core.patterns), offline; a bus's rules are fetched once (all
pages) and only the targets of matching rules are fetched. Clients come from the caller; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evctl.core.common.json_types import describe_json_type
from evctl.errors import EvctlError, UsageError, from_aws

DEFAULT_BUS = "default"
SUMMARY_WIDTH = 70
TARGET_FETCHERS = 8  # concurrent ListTargetsByRule calls in `rules list` (within the client pool of 10)


# ---- reading what the user gave -------------------------------------------------------------------------
def read_source(value: str, stdin: IO[str] | None = None, *, what: str = "value") -> str:
    """`-` reads stdin, `@path` reads a file, anything else is the text itself."""
    if value == "-":
        if stdin is None:
            raise UsageError(f"cannot read the {what} from stdin here")
        return stdin.read()
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"the {what} file {str(path)!r} is not UTF-8 text") from exc
    return value


def load_pattern(text: str) -> Any:
    """Compile a pattern given as JSON text (the engine's parser: exact numbers, repeated keys). PatternError: exit 2."""
    from evctl.core.patterns import compile_pattern

    if not text.strip():
        raise UsageError("no pattern given", "pass a JSON object or @file")
    return compile_pattern(text)


def parse_events_text(text: str) -> list[dict[str, Any]]:
    """One JSON object, a JSON array of objects, or JSON lines (one object per line). EventError: exit 2."""
    from evctl.core.patterns import EventError, load_event
    from evctl.core.patterns.values import loads

    stripped = text.strip()
    if not stripped:
        raise EventError("no event given", "pass a JSON object, @file or - for stdin")
    try:
        whole = loads(stripped)
    except (ValueError, RecursionError):
        lines = [(n, line) for n, line in enumerate(stripped.splitlines(), 1) if line.strip()]
        if len(lines) == 1:
            return [load_event(lines[0][1])]
        return [_event_line(load_event, EventError, line, n) for n, line in lines]
    if isinstance(whole, list):
        for index, item in enumerate(whole, 1):
            if not isinstance(item, dict):
                raise EventError(f"event {index} of the array must be a JSON object, not {describe_json_type(item)}")
        return whole
    if not isinstance(whole, dict):
        raise EventError(f"an event must be a JSON object, not {describe_json_type(whole)}")
    return [whole]


def _event_line(load_event: Any, error: Any, line: str, number: int) -> dict[str, Any]:
    try:
        event: dict[str, Any] = load_event(line)
    except error as exc:
        raise error(f"line {number}: {exc.reason}", "give one JSON object per line") from None
    return event


# ---- names -------------------------------------------------------------------------------------------
def bus_name(bus: str | None) -> str:
    """A bus name from a name or an ARN (arn:aws:events:region:account:event-bus/NAME)."""
    if not bus:
        return DEFAULT_BUS
    if bus.startswith("arn:"):
        _, sep, name = bus.partition(":event-bus/")
        if not sep or not name:
            raise UsageError(f"{bus!r} is not an event bus ARN", "give a bus name or arn:aws:events:…:event-bus/NAME")
        return name
    return bus


def rule_ref(rule: str, bus: str | None) -> tuple[str, str]:
    """(rule name, bus name) from a rule name or ARN (…:rule/NAME on the default bus, …:rule/BUS/NAME else)."""
    if rule.startswith("arn:"):
        _, sep, rest = rule.partition(":rule/")
        if not sep or not rest:
            raise UsageError(f"{rule!r} is not a rule ARN", "give a rule name or arn:aws:events:…:rule/NAME")
        if "/" in rest:
            arn_bus, _, name = rest.rpartition("/")
            return name, arn_bus
        return rest, bus_name(bus)
    return rule, bus_name(bus)


def _aws_error(exc: Exception, what: str) -> EvctlError | Exception:
    return from_aws(exc, what) or exc


def ensure_bus(events: Any, bus: str | None) -> str:
    """The bus name, after checking the bus exists (a clean not-found instead of an empty answer)."""
    name = bus_name(bus)
    try:
        events.describe_event_bus(Name=name)
    except Exception as exc:
        raise _aws_error(exc, f"event bus {name!r}") from exc
    return name


# ---- reading rules -----------------------------------------------------------------------------------
def fetch_rules(events: Any, bus: str, prefix: str | None = None, page_size: int | None = None) -> list[dict[str, Any]]:
    """Every rule on `bus` (all pages), as ListRules returns them (EventPattern included)."""
    kwargs: dict[str, Any] = {"EventBusName": bus}
    if prefix:
        kwargs["NamePrefix"] = prefix
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    try:
        pages = events.get_paginator("list_rules").paginate(**kwargs)
        return [rule for page in pages for rule in page.get("Rules", [])]
    except Exception as exc:
        raise _aws_error(exc, f"event bus {bus!r}") from exc


def fetch_targets(events: Any, rule: str, bus: str) -> list[dict[str, Any]]:
    try:
        pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
        return [target for page in pages for target in page.get("Targets", [])]
    except Exception as exc:
        raise _aws_error(exc, f"rule {rule!r} on bus {bus!r}") from exc


@dataclass
class RuleInfo:
    name: str
    arn: str
    bus: str
    state: str
    pattern: dict[str, Any] | str | None
    schedule: str | None
    description: str | None
    targets: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_aws(cls, rule: Mapping[str, Any], bus: str, targets: list[dict[str, Any]]) -> RuleInfo:
        return cls(
            name=rule["Name"],
            arn=rule.get("Arn", ""),
            bus=rule.get("EventBusName") or bus,
            state=rule.get("State", ""),
            pattern=_loads_or_text(rule.get("EventPattern")),
            schedule=rule.get("ScheduleExpression"),
            description=rule.get("Description"),
            targets=targets,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "event_bus": self.bus,
            "state": self.state,
            "pattern": self.pattern,
            "schedule": self.schedule,
            "description": self.description,
            "targets": self.targets,
        }

    def summary_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "pattern": pattern_summary(self.pattern),
            "schedule": self.schedule or "",
            "targets": ", ".join(_short_arn(t.get("Arn", "")) for t in self.targets) or "(none)",
        }


def _loads_or_text(text: str | None) -> dict[str, Any] | str | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


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


def list_rules(
    events: Any, bus: str | None = None, prefix: str | None = None, page_size: int | None = None
) -> list[RuleInfo]:
    """Rules on the bus (all pages) with their targets (fetched a few rules at a time: one call per rule)."""
    from concurrent.futures import ThreadPoolExecutor

    name = ensure_bus(events, bus)
    found = fetch_rules(events, name, prefix, page_size)
    with ThreadPoolExecutor(max_workers=TARGET_FETCHERS) as pool:
        targets = list(pool.map(lambda rule: fetch_targets(events, rule["Name"], name), found))
    return [RuleInfo.from_aws(rule, name, rule_targets) for rule, rule_targets in zip(found, targets, strict=True)]


def _describe(events: Any, rule: str, bus: str | None) -> tuple[str, str, dict[str, Any]]:
    """(rule name, its bus, DescribeRule's answer) for a rule given by name or ARN."""
    name, bus_of_rule = rule_ref(rule, bus)
    ensure_bus(events, bus_of_rule)
    try:
        found: dict[str, Any] = events.describe_rule(Name=name, EventBusName=bus_of_rule)
    except Exception as exc:
        raise _aws_error(exc, f"rule {name!r} on bus {bus_of_rule!r}") from exc
    return name, bus_of_rule, found


def describe_rule(events: Any, rule: str, bus: str | None = None) -> RuleInfo:
    name, bus_of_rule, found = _describe(events, rule, bus)
    return RuleInfo.from_aws(found, bus_of_rule, fetch_targets(events, name, bus_of_rule))


def rule_pattern(events: Any, rule: str, bus: str | None = None) -> str:
    """The event pattern (JSON text) of a rule on AWS (a scheduled rule has none)."""
    name, _, found = _describe(events, rule, bus)
    if not found.get("EventPattern"):
        raise UsageError(f"rule {name!r} has no event pattern (it runs on a schedule)")
    return str(found["EventPattern"])


# ---- testing events against one pattern --------------------------------------------------------------
@dataclass
class PatternOutcome:
    index: int
    matched: bool
    why: list[str]
    filled: list[str]
    envelope: dict[str, Any]
    remote: bool | None = None
    remote_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.index, "match": self.matched}
        if not self.matched:
            data["why"] = self.why
        if self.filled:
            data["filled"] = self.filled
        if self.remote is not None or self.remote_note:
            data["remote"] = self.remote
            if self.remote_note:
                data["remote_note"] = self.remote_note
        return data


def normalize_all(documents: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """Every event as a full envelope (and the fields filled in), all checked before anything is done."""
    from evctl.core.patterns import EventError, normalize_event

    normalized = []
    for index, document in enumerate(documents, 1):
        try:
            envelope, filled = normalize_event(document)
        except EventError as exc:
            prefix = f"event {index}: " if len(documents) > 1 else ""
            raise EventError(f"{prefix}{exc.reason}", exc.hint) from None
        normalized.append((dict(envelope), list(filled)))
    return normalized


def check_events(pattern_text: str, documents: Sequence[Mapping[str, Any]]) -> list[PatternOutcome]:
    """Match each event against one pattern, explaining each miss. Raises PatternError / EventError (exit 2)."""
    compiled = load_pattern(pattern_text)
    outcomes = []
    for index, (envelope, filled) in enumerate(normalize_all(documents), 1):
        matched = compiled.matches(envelope)
        why = [] if matched else [str(m) for m in compiled.explain(envelope)]
        outcomes.append(PatternOutcome(index, matched, why, filled, envelope))
    return outcomes


def ask_aws(events: Any, pattern_text: str, outcomes: Sequence[PatternOutcome]) -> None:
    """Fill in AWS's own answer (TestEventPattern) for each outcome; one call per event."""
    for outcome in outcomes:
        try:
            response = events.test_event_pattern(EventPattern=pattern_text, Event=json.dumps(outcome.envelope))
        except Exception as exc:
            raise _aws_error(exc, "TestEventPattern") from exc
        if "Result" in response:
            outcome.remote = bool(response["Result"])
        else:
            outcome.remote_note = "the endpoint answered without a Result (as moto does)"


# ---- matching events against a bus's rules -----------------------------------------------------------
@dataclass
class TargetDelivery:
    id: str
    arn: str
    rendered: Any  # evctl.core.rules.transform.Rendered

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "arn": self.arn, **self.rendered.as_dict()}


@dataclass
class RuleHit:
    name: str
    arn: str
    state: str
    targets: list[TargetDelivery]

    @property
    def delivers(self) -> bool:
        return self.state != "DISABLED"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.name,
            "arn": self.arn,
            "state": self.state,
            "delivers": self.delivers,
            "targets": [t.as_dict() for t in self.targets],
        }


@dataclass
class EventMatches:
    index: int
    envelope: dict[str, Any]
    filled: list[str]
    rules: list[RuleHit]

    @property
    def delivered(self) -> bool:
        return any(hit.delivers for hit in self.rules)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.index, "rules": [hit.as_dict() for hit in self.rules]}
        if self.filled:
            data["filled"] = self.filled
        return data


@dataclass
class BusRules:
    """A bus's rules, fetched once and compiled into one RuleSet; invalid stored patterns are set aside."""

    bus: str
    rules: dict[str, dict[str, Any]]
    ruleset: Any
    skipped: dict[str, str]  # rule name -> why it could not be compiled

    @classmethod
    def load(cls, events: Any, bus: str | None, page_size: int | None = None) -> BusRules:
        from evctl.core.patterns import PatternError, RuleSet, compile_pattern

        name = ensure_bus(events, bus)
        ruleset = RuleSet()
        rules: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for rule in fetch_rules(events, name, page_size=page_size):
            if not rule.get("EventPattern"):
                continue  # scheduled rules receive no events
            try:
                ruleset.add(rule["Name"], compile_pattern(rule["EventPattern"]))
            except PatternError as exc:
                skipped[rule["Name"]] = str(exc)
                continue
            rules[rule["Name"]] = rule
        return cls(name, rules, ruleset, skipped)

    def matching(self, envelope: Mapping[str, Any]) -> list[str]:
        return sorted(self.ruleset.matching(envelope))


def match_events(
    events: Any,
    bus: str | None,
    documents: Sequence[Mapping[str, Any]],
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    render: bool = True,
    page_size: int | None = None,
) -> tuple[BusRules, list[EventMatches]]:
    """Which rules on the bus match each event and, with `render`, what each of their targets would receive."""
    from evctl.core.rules.transform import RuleContext, render_target

    normalized = normalize_all(documents)  # every event checked before any call
    bus_rules = BusRules.load(events, bus, page_size)
    targets_of: dict[str, list[dict[str, Any]]] = {}
    results = []
    for index, (envelope, filled) in enumerate(normalized, 1):
        hits = []
        for name in bus_rules.matching(envelope):
            rule = bus_rules.rules[name]
            deliveries = []
            if render:
                if name not in targets_of:
                    targets_of[name] = fetch_targets(events, name, bus_rules.bus)
                context = RuleContext(name, rule.get("Arn", ""), now())
                deliveries = [
                    TargetDelivery(t["Id"], t.get("Arn", ""), render_target(t, envelope, context))
                    for t in targets_of[name]
                ]
            hits.append(RuleHit(name, rule.get("Arn", ""), rule.get("State", ""), deliveries))
        results.append(EventMatches(index, envelope, filled, hits))
    return bus_rules, results


def rules_for_entries(events: Any, entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """For each PutEvents entry: its bus and the enabled rules there it would match (`publish --dry-run`).

    Each bus's rules are fetched once, however many entries go to it.
    """
    loaded: dict[str, BusRules] = {}
    found = []
    for entry, (envelope, _) in zip(entries, normalize_all(entries), strict=True):
        bus = bus_name(entry.get("EventBusName"))
        if bus not in loaded:
            loaded[bus] = BusRules.load(events, bus)
        rules = loaded[bus]
        found.append((bus, [name for name in rules.matching(envelope) if rules.rules[name].get("State") != "DISABLED"]))
    return found
