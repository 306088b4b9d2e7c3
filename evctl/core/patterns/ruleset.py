"""Many rules matched at once: rules are indexed by the exact values they require, as event-ruler's machine is.

Each alternative (branch) of each rule is filed under every field whose conditions are all exact values (the
source, the detail-type, a status...). An event first looks up its own values in that index; only a branch that
found every one of its exact fields there (plus the few branches with no exact field at all) is then matched in
full. Per event the work grows with the number of distinct field names, not with the number of rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .event import flatten, steps_of
from .pattern import Branch, Pattern


class RuleSet:
    """Named patterns; `matching(event)` gives the names of the rules that match, in insertion order."""

    def __init__(self) -> None:
        self._patterns: dict[str, Pattern] = {}
        self._order: dict[str, int] = {}
        self._stale = True
        self._names: list[str] = []
        self._branches: list[tuple[int, Branch]] = []  # (rule position, branch) by branch id
        self._needed: list[int] = []  # how many exact fields each branch must find in the index
        self._index: dict[str, dict[Any, list[int]]] = {}  # field name → leaf key → branch ids
        self._always: list[int] = []  # branches with no exact field
        self._steps: frozenset[str] = frozenset()

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
        flat = flatten(event, self._steps)
        found: dict[int, int] = {}
        for name, by_value in self._index.items():
            leaves = flat.get(name)
            if not leaves:
                continue
            if len(leaves) == 1:
                for branch_id in by_value.get(leaves[0].index_key, ()):
                    found[branch_id] = found.get(branch_id, 0) + 1
            else:
                hit: set[int] = set()
                for leaf in leaves:
                    hit.update(by_value.get(leaf.index_key, ()))
                for branch_id in hit:
                    found[branch_id] = found.get(branch_id, 0) + 1
        needed = self._needed
        candidates = [branch_id for branch_id, count in found.items() if count == needed[branch_id]]
        candidates.extend(self._always)
        matched: set[int] = set()
        for branch_id in candidates:
            position, branch = self._branches[branch_id]
            if position not in matched and branch.matches(flat):
                matched.add(position)
        return [self._names[position] for position in sorted(matched)]

    def _build(self) -> None:
        self._names = sorted(self._patterns, key=self._order.__getitem__)
        self._branches, self._needed, self._index, self._always = [], [], {}, []
        for position, name in enumerate(self._names):
            for branch in self._patterns[name].branches:
                branch_id = len(self._branches)
                self._branches.append((position, branch))
                exact = [
                    field
                    for field in branch.fields
                    if not field.absent and all(c.index_key is not None for c in field.conditions)
                ]
                self._needed.append(len(exact))
                if not exact:
                    self._always.append(branch_id)
                for field in exact:
                    by_value = self._index.setdefault(field.name, {})
                    for key in {condition.index_key for condition in field.conditions}:
                        by_value.setdefault(key, []).append(branch_id)
        self._steps = steps_of(
            field.name for pattern in self._patterns.values() for branch in pattern.branches for field in branch.fields
        )
        self._stale = False
