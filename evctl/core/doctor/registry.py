"""The implemented checks: `@check("Q-VIS-1", on="queue")` registers a function `(ctx, node) -> Iterable[Finding]`.

A check runs once for every node of its kind in the discovered graph. It returns its findings (none: passed) or
raises NotChecked(reason). A read refused with AccessDenied becomes `not checked: <action> denied` in the runner, so
checks simply read through `ctx` and let such errors rise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .catalogue import BY_ID
from .model import Finding

if TYPE_CHECKING:
    from evctl.core.pipeline import Node

    from .context import DoctorContext

CheckFunction = Callable[["DoctorContext", "Node"], Iterable[Finding]]


@dataclass(frozen=True)
class Registered:
    id: str
    on: tuple[str, ...]  # node kinds it runs on: bus, rule, queue, mapping, function, log_group
    run: CheckFunction


REGISTRY: dict[str, Registered] = {}


def check(check_id: str, *, on: str | tuple[str, ...]) -> Callable[[CheckFunction], CheckFunction]:
    """Register an implementation of a catalogue check (the id must be in the catalogue, once)."""
    if check_id not in BY_ID:
        raise ValueError(f"{check_id} is not in the catalogue")
    kinds = (on,) if isinstance(on, str) else on

    def register(fn: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"{check_id} is registered twice")
        REGISTRY[check_id] = Registered(check_id, kinds, fn)
        return fn

    return register
