"""What the follower has read so far about one route (rule → SQS queue → functions), and what the hop builders
need to know about the whole trace (the event id, which ledgers exist, whether the timeout has passed).

    state = RouteState(route)                  # filled by Follower.poll
    view = TraceView(event_id, has_invocation_ledger=True, timed_out=False)
    failures(state, event_id)                  # the invocation records that failed on the event
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evctl.core.logs import LogEvent

from .plan import Route
from .sources import DeliveryRecord, FoundMessage, InvocationRecord, MappingState

__all__ = ["FAILED_OUTCOMES", "RouteState", "TraceView", "failures", "successes"]

FAILED_OUTCOMES = frozenset({"error", "timeout"})


@dataclass
class RouteState:
    route: Route
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    invocations: list[InvocationRecord] = field(default_factory=list)
    lines: dict[str, list[LogEvent]] = field(default_factory=dict)  # function name → lines with the event id
    metrics: dict[str, float | None] = field(default_factory=dict)
    in_dlq: FoundMessage | None = None
    in_target_dlq: FoundMessage | None = None
    # the mappings as Lambda shows them now (mapping ARN → state), and since when (clock seconds) each has shown a
    # problem without a break: a problem seen on reads MAPPING_CONFIRM seconds apart stalls the `received` hop
    mappings: dict[str, MappingState] = field(default_factory=dict)
    problem_since: dict[str, float] = field(default_factory=dict)
    mappings_read_at: float = float("-inf")


@dataclass(frozen=True)
class TraceView:
    """What the hop builders need besides a route's own records."""

    event_id: str
    has_invocation_ledger: bool | None = None
    timed_out: bool = False
    now: float = 0.0  # the follower's clock, seconds


def failures(state: RouteState, event_id: str) -> list[InvocationRecord]:
    """The invocations that failed on the event: an error or timeout, or its message kept by a partial response."""
    return [r for r in state.invocations if r.outcome in FAILED_OUTCOMES or r.settled(event_id) == "kept"]


def successes(state: RouteState, event_id: str) -> list[InvocationRecord]:
    """The invocations that processed the event: its message deleted, or (when the record cannot tell) success."""
    return [
        r
        for r in state.invocations
        if r.settled(event_id) == "deleted" or (r.settled(event_id) is None and r.outcome == "success")
    ]
