"""An offline EventBridge event-pattern engine, faithful to AWS's own (aws/event-ruler).

    pattern = compile_pattern('{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}')
    pattern.matches(event)          # bool
    pattern.explain(event)          # [] or the failing conditions (Mismatch)
    rules = RuleSet(); rules.add("big-orders", pattern); rules.matching(event)  # ["big-orders"]

Semantics and the places where AWS's documentation and the engine differ: docs/patterns.md.
"""

from __future__ import annotations

from .compile import PatternError, compile_pattern
from .event import EventError, load_event, normalize_event
from .pattern import Mismatch, Pattern
from .ruleset import RuleSet

__all__ = [
    "EventError",
    "Mismatch",
    "Pattern",
    "PatternError",
    "RuleSet",
    "compile_pattern",
    "load_event",
    "normalize_event",
]
