"""Events against rules, offline: one pattern (`rules test`), or every rule on a bus (`rules match`, `publish --dry-run`).

    outcomes = check_events('{"source": ["my.app"]}', documents)   # [PatternOutcome]: match, and why not
    bus_rules, results = match_events(events, "default", documents) # [EventMatches]: rules hit, what targets get
    rules_for_entries(events, entries)                              # [(bus, enabled rules matched)] per entry

Matching uses evctl's own pattern engine (evctl.core.patterns); a bus's rules are fetched once (all pages) and only
the targets of matching rules are fetched. Clients come from the caller; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evctl.core.patterns import PatternError, RuleSet, compile_pattern
from evctl.core.rules.catalog import bus_name, ensure_bus, fetch_rules, fetch_targets
from evctl.core.rules.inputs import load_pattern, normalize_all
from evctl.core.rules.transform import Rendered, RuleContext, render_target
from evctl.errors import from_aws

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


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


def check_events(pattern_text: str, documents: Sequence[Mapping[str, Any]]) -> list[PatternOutcome]:
    """Match each event against one pattern, explaining each miss. Raises PatternError / EventError (exit 2)."""
    compiled = load_pattern(pattern_text)
    outcomes = []
    for index, (envelope, filled) in enumerate(normalize_all(documents), 1):
        matched = compiled.matches(envelope)
        why = [] if matched else [str(m) for m in compiled.explain(envelope)]
        outcomes.append(PatternOutcome(index, matched, why, filled, envelope))
    return outcomes


def ask_aws(events: EventBridgeClient, pattern_text: str, outcomes: Sequence[PatternOutcome]) -> None:
    """Fill in AWS's own answer (TestEventPattern) for each outcome; one call per event."""
    for outcome in outcomes:
        try:
            response = events.test_event_pattern(EventPattern=pattern_text, Event=json.dumps(outcome.envelope))
        except Exception as exc:
            raise (from_aws(exc, "TestEventPattern") or exc) from exc
        if "Result" in response:
            outcome.remote = bool(response["Result"])
        else:
            outcome.remote_note = "the endpoint answered without a Result (as moto does)"


@dataclass
class TargetDelivery:
    id: str
    arn: str
    rendered: Rendered

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
    ruleset: RuleSet
    skipped: dict[str, str]  # rule name -> why it could not be compiled

    @classmethod
    def load(cls, events: EventBridgeClient, bus: str | None, page_size: int | None = None) -> BusRules:
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
    events: EventBridgeClient,
    bus: str | None,
    documents: Sequence[Mapping[str, Any]],
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    render: bool = True,
    page_size: int | None = None,
) -> tuple[BusRules, list[EventMatches]]:
    """Which rules on the bus match each event and, with `render`, what each of their targets would receive."""
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


def rules_for_entries(events: EventBridgeClient, entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
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
