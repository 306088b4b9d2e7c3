"""Many rules matched at once: rules are indexed by an exact value they require, as event-ruler's machine is.

Each alternative (branch) of each rule is filed under one field whose conditions are all exact values (the
source, the detail-type, ...): an event only reaches the branches filed under a value it actually has, plus the
few branches that have no such field. Those candidates are then matched in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .event import flatten
from .pattern import Branch, Field, Pattern


class RuleSet:
    """Named patterns; `matching(event)` gives the names of the rules that match, in insertion order."""

    def __init__(self) -> None:
        self._patterns: dict[str, Pattern] = {}
        self._order: dict[str, int] = {}
        self._stale = True
        self._index: dict[str, dict[Any, list[tuple[int, Branch]]]] = {}
        self._always: list[tuple[int, Branch]] = []
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, name: object) -> bool:
        return name in self._patterns

    def add(self, name: str, pattern: Pattern) -> None:
        """Add a rule (adding a name again replaces its pattern and keeps its place)."""
        self._order.setdefault(name, len(self._order))
        self._patterns[name] = pattern
        self._stale = True

    def patterns(self) -> dict[str, Pattern]:
        return dict(self._patterns)

    def matching(self, event: Mapping[str, Any]) -> list[str]:
        if self._stale:
            self._build()
        flat = flatten(event)
        candidates: dict[int, list[Branch]] = {}
        for position, branch in self._always:
            candidates.setdefault(position, []).append(branch)
        for name, by_value in self._index.items():
            for leaf in flat.get(name, ()):
                for position, branch in by_value.get(leaf.index_key, ()):
                    candidates.setdefault(position, []).append(branch)
        matched = [position for position, branches in candidates.items() if any(b.matches(flat) for b in branches)]
        return [self._names[position] for position in sorted(matched)]

    def _build(self) -> None:
        self._names = sorted(self._patterns, key=self._order.__getitem__)
        self._index = {}
        self._always = []
        for position, name in enumerate(self._names):
            for branch in self._patterns[name].branches:
                field = _index_field(branch)
                if field is None:
                    self._always.append((position, branch))
                    continue
                by_value = self._index.setdefault(field.name, {})
                for key in {condition.index_key for condition in field.conditions}:
                    by_value.setdefault(key, []).append((position, branch))
        self._stale = False


def _index_field(branch: Branch) -> Field | None:
    """The field with the fewest exact values, or None when every field has an operator or `exists: false`."""
    best: Field | None = None
    for field in branch.fields:
        if field.absent or any(condition.index_key is None for condition in field.conditions):
            continue
        if best is None or len(field.conditions) < len(best.conditions):
            best = field
    return best
