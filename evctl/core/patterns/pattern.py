"""A compiled pattern: match events and explain misses.

A pattern compiles to one or more branches (`$or` expands into alternatives, as event-ruler's JsonRuleCompiler
does); a branch is a list of fields, each with its alternatives. Fields are visited in the engine's order (names
sorted by UTF-16 code units) because that order decides array consistency and `exists: false` inside arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .conditions import Condition, describe_all
from .event import Flat, Leaf, flatten, steps_of
from .values import render

Membership = dict[int, int]


class Field:
    """One field of a branch (`detail.total`) and its alternatives; `absent` when `exists: false` is among them."""

    __slots__ = ("absent", "accepts", "conditions", "name", "values")

    def __init__(self, name: str, conditions: list[Condition]) -> None:
        self.name = name
        self.conditions = conditions
        self.values = tuple(c for c in conditions if not c.absent)
        self.absent = any(c.absent for c in conditions)
        # accepts(leaf): does any value condition hold for this leaf (one condition: its own test, no loop)
        self.accepts: Callable[[Leaf], bool] = self.values[0].test if len(self.values) == 1 else self._any

    def _any(self, leaf: Leaf) -> bool:
        return any(condition.test(leaf) for condition in self.values)


def engine_order(name: str) -> bytes:
    """Java's String.compareTo order (UTF-16 code units), which the engine sorts field names by."""
    return name.encode("utf-16-be", "surrogatepass")


class Branch:
    """One alternative of a pattern: every field must match, consistently within arrays."""

    __slots__ = ("fields", "in_pattern_order")

    def __init__(self, fields: Mapping[str, list[Condition]]) -> None:
        self.in_pattern_order = tuple(Field(name, conditions) for name, conditions in fields.items())
        self.fields = tuple(sorted(self.in_pattern_order, key=lambda field: engine_order(field.name)))

    def matches(self, flat: Flat) -> bool:
        return _step(self.fields, 0, flat, {})


def _merge(membership: Membership, leaf: Leaf) -> Membership | None:
    """The membership after also using `leaf`, or None when it sits in another element of an array already used."""
    extra = None
    for array_id, index in leaf.membership:
        seen = membership.get(array_id)
        if seen is None:
            if extra is None:
                extra = dict(membership)
            extra[array_id] = index
        elif seen != index:
            return None
    return membership if extra is None else extra


def _step(fields: tuple[Field, ...], position: int, flat: Flat, membership: Membership) -> bool:
    while position < len(fields):
        field = fields[position]
        leaves = flat.get(field.name)
        if not leaves:
            if not field.absent:
                return False
            position += 1
            continue
        if len(leaves) == 1 and not leaves[0].membership:
            # the common case: one plain value, nothing to backtrack over
            leaf = leaves[0]
            if field.absent and not field.values:
                return False
            if field.accepts(leaf):
                position += 1
                continue
            return False
        break
    else:
        return True
    if (
        field.absent
        and all(_merge(membership, leaf) is None for leaf in leaves)
        and _step(fields, position + 1, flat, membership)
    ):
        return True
    # Leaves that lead to the same array membership lead to the same answer: try each membership once (without
    # this, scalar arrays in several fields would be tried in every combination).
    tried: list[Membership] = []
    for leaf in leaves:
        merged = _merge(membership, leaf)
        if merged is None or merged in tried or not field.accepts(leaf):
            continue
        tried.append(merged)
        if _step(fields, position + 1, flat, merged):
            return True
    return False


@dataclass(frozen=True)
class Mismatch:
    """Why an event does not match: the field, what the pattern wanted there, and what the event had."""

    path: str
    wanted: str
    got: Any
    absent: bool

    def __str__(self) -> str:
        if self.absent:
            return f"{self.path}: wanted {self.wanted}, but the event has no such field"
        return f"{self.path}: wanted {self.wanted}, got {render(self.got)}"


class Pattern:
    """A compiled EventBridge event pattern (build one with `compile_pattern`)."""

    def __init__(self, source: dict[str, Any], branches: list[Branch]) -> None:
        self.source = source
        self.branches = branches
        self.steps = steps_of(field.name for branch in branches for field in branch.fields)

    def __repr__(self) -> str:
        return f"Pattern({render(self.source)})"

    def matches(self, event: Mapping[str, Any]) -> bool:
        return self.matches_flat(flatten(event, self.steps))

    def matches_flat(self, flat: Flat) -> bool:
        return any(branch.matches(flat) for branch in self.branches)

    def explain(self, event: Mapping[str, Any]) -> list[Mismatch]:
        """[] when the event matches; otherwise the failing conditions of the alternative that came closest."""
        flat = flatten(event, self.steps)
        best: list[Mismatch] | None = None
        for branch in self.branches:
            if branch.matches(flat):
                return []
            found = _explain_branch(branch, flat)
            if best is None or len(found) < len(best):
                best = found
        return best or []


def _got(leaves: list[Leaf]) -> Any:
    return leaves[0].value if len(leaves) == 1 else [leaf.value for leaf in leaves]


def _explain_branch(branch: Branch, flat: Flat) -> list[Mismatch]:
    found: list[Mismatch] = []
    for field in branch.in_pattern_order:
        leaves = flat.get(field.name) or []
        wanted = describe_all(list(field.conditions))
        if not leaves:
            if not field.absent:
                found.append(Mismatch(field.name, wanted, None, True))
        elif not any(field.accepts(leaf) for leaf in leaves):
            found.append(Mismatch(field.name, wanted, _got(leaves), False))
    if found:
        return found
    # Every field matches on its own: the values that match sit in different elements of an array.
    for cut in range(1, len(branch.fields) + 1):
        if not _step(branch.fields[:cut], 0, flat, {}):
            field = branch.fields[cut - 1]
            others = ", ".join(f.name for f in branch.fields[: cut - 1])
            wanted = describe_all(list(field.conditions))
            if field.absent and not field.values:
                wanted = f"not to exist in the array element that matched {others}"
            else:
                wanted = f"{wanted} in the same array element as {others}"
            return [Mismatch(field.name, wanted, _got(flat.get(field.name) or []), False)]
    return []
