"""Rules on a bus: list and describe them, test events against patterns offline, render what targets receive.

    rules = list_rules(events, "default", prefix="sign")                # [RuleInfo] with targets
    info = describe_rule(events, "signups")                             # RuleInfo; info.as_dict() for JSON
    outcomes = check_events(pattern_text, parse_events_text(text))      # [PatternOutcome]: match / why not
    bus_rules, results = match_events(events, "default", documents)     # [EventMatches]: rules and deliveries
    tail = BusTail(events, sqs, "default"); tail.create(); tail.poll(); tail.remove()

Modules: catalog (names, ListRules/ListTargetsByRule/DescribeRule as RuleInfo), inputs (patterns and events as
the user gives them), matching (test and match), transform (Input, InputPath, InputTransformer as EventBridge
renders them), bus_tail (`tail bus`: a temporary rule and queue). Presentation lives in evctl.render.rules.
"""

from __future__ import annotations

from .bus_tail import BusTail, Leftover, TailResources, find_leftovers, remove_leftovers
from .catalog import (
    DEFAULT_BUS,
    RuleInfo,
    bus_name,
    describe_rule,
    ensure_bus,
    fetch_rules,
    fetch_targets,
    list_rules,
    rule_pattern,
    rule_ref,
)
from .inputs import load_pattern, normalize_all, parse_events_text, read_source
from .matching import (
    BusRules,
    EventMatches,
    PatternOutcome,
    RuleHit,
    TargetDelivery,
    ask_aws,
    check_events,
    match_events,
    rules_for_entries,
)
from .transform import Rendered, RuleContext, TransformError, render_target

__all__ = [
    "DEFAULT_BUS",
    "BusRules",
    "BusTail",
    "EventMatches",
    "Leftover",
    "PatternOutcome",
    "Rendered",
    "RuleContext",
    "RuleHit",
    "RuleInfo",
    "TailResources",
    "TargetDelivery",
    "TransformError",
    "ask_aws",
    "bus_name",
    "check_events",
    "describe_rule",
    "ensure_bus",
    "fetch_rules",
    "fetch_targets",
    "find_leftovers",
    "list_rules",
    "load_pattern",
    "match_events",
    "normalize_all",
    "parse_events_text",
    "read_source",
    "remove_leftovers",
    "render_target",
    "rule_pattern",
    "rule_ref",
    "rules_for_entries",
]
