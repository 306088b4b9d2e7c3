"""What a trace found: one Hop per step of the event's way, the rules it matched and nearly matched, the doctor
findings for the hop where it stalled, and the JSON document (schema evctl.trace/1, docs/trace.md).

    result.status            # "processed" | "duplicated" | "stalled" | "stopped" (Ctrl-C / SIGTERM: what is known)
    result.stalled_at        # the first hop that stalled ("matched", "delivered", "processed", ...) or None
    result.problem_hop       # the hop whose doctor checks ran: stalled_at, or "processed" for a duplicate
    result.as_dict()         # strict JSON (no NaN), keys stable
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.core.common.time import iso_utc

__all__ = [
    "HOP_NAMES",
    "SCHEMA",
    "Cause",
    "Evidence",
    "Hop",
    "HopName",
    "HopStatus",
    "NearMiss",
    "RouteInfo",
    "TraceResult",
]

SCHEMA = "evctl.trace/1"
HopName = Literal["published", "matched", "delivered", "received", "processed", "dead_lettered"]
HOP_NAMES: tuple[HopName, ...] = ("published", "matched", "delivered", "received", "processed", "dead_lettered")
# ok: it happened (at `time`) · stalled: it cannot happen (or failed: refused, errors, dead-lettered) · waiting: not
# seen yet when the trace ended (the metrics may not show it yet) · skipped: an earlier hop stalled · duplicated:
# `processed` by more than one invocation (the event was processed, and again)
HopStatus = Literal["ok", "stalled", "waiting", "skipped", "duplicated"]
# where a hop's answer came from: the offline pattern engine, the PutEvents answer, the sandbox's ledgers, CloudWatch
# metrics (aggregates: not specific to this event), the function's log lines, a peek of a queue, a later hop, or the
# event source mapping as Lambda shows it (GetEventSourceMapping)
Evidence = Literal["put_events", "offline", "ledger", "metrics", "logs", "peek", "inferred", "mapping", "none"]


@dataclass
class Hop:
    """One step of the event's way, for one route (rule → queue → function)."""

    hop: HopName
    status: HopStatus
    resource: str = ""  # the ARN it is about (bus, rule, queue, function, DLQ)
    time_ms: int | None = None  # when it happened (epoch ms), when known
    detail: str = ""  # one line for a person
    evidence: Evidence = "none"
    exact: bool = True  # False: decided from aggregates (metrics), not from this event's own record
    data: dict[str, Any] = field(default_factory=dict)  # the records it was decided on (ledger lines, log lines)
    route: str | None = None  # the route it belongs to (RouteInfo.id); None for `published` and `matched`

    def as_dict(self, published_ms: int | None) -> dict[str, Any]:
        elapsed = None
        if self.time_ms is not None and published_ms is not None:
            elapsed = round((self.time_ms - published_ms) / 1000, 3)
        return {
            "hop": self.hop,
            "route": self.route,
            "status": self.status,
            "resource": self.resource,
            "time": iso_utc(self.time_ms, precision="milliseconds") if self.time_ms is not None else None,
            "elapsed_seconds": elapsed,
            "detail": self.detail,
            "evidence": self.evidence,
            "exact": self.exact,
            "data": self.data,
        }


@dataclass(frozen=True)
class RouteInfo:
    """One SQS target of one matched rule: the way the event takes after matching."""

    id: str  # "<rule>/<target id>"
    rule: str
    target_id: str
    queue: str
    queue_arn: str

    def as_dict(self, hops: list[Hop]) -> dict[str, Any]:
        own = [h for h in hops if h.route == self.id]
        return {
            "id": self.id,
            "rule": self.rule,
            "target_id": self.target_id,
            "queue": self.queue,
            "queue_arn": self.queue_arn,
            "status": route_status(own),
        }


def route_status(hops: list[Hop]) -> str:
    """A route's outcome from its hops: stalled, waiting, duplicated, processed (or skipped: nothing to say)."""
    for status in ("stalled", "waiting", "duplicated"):
        if any(h.status == status for h in hops):
            return status
    done = [h for h in hops if h.hop == "processed"]
    return "processed" if done and all(h.status == "ok" for h in done) else "skipped"


@dataclass(frozen=True)
class NearMiss:
    """A rule on the bus the event did not match, and the offline engine's why-not."""

    rule: str
    arn: str
    why_not: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "arn": self.arn, "why_not": list(self.why_not)}


@dataclass(frozen=True)
class Cause:
    """The likely cause: the most severe doctor finding of the stalled hop's checks."""

    check: str
    severity: str
    resource: str
    message: str
    fix: str
    command: str | None = None
    before: tuple[str, ...] = ()  # commands to run first (doctor's Fix.before)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "resource": self.resource,
            "message": self.message,
            "fix": self.fix,
            "before": list(self.before),
            "command": self.command,
        }


@dataclass
class TraceResult:
    event_id: str | None = None
    bus: str = "default"
    event: dict[str, Any] = field(default_factory=dict)  # the envelope the rules saw
    published_ms: int | None = None
    hops: list[Hop] = field(default_factory=list)
    routes: list[RouteInfo] = field(default_factory=list)  # the SQS routes followed, in the timeline's order
    matched: list[str] = field(default_factory=list)  # rule names
    near_misses: list[NearMiss] = field(default_factory=list)
    stopped: bool = False  # Ctrl-C / SIGTERM: what is known so far
    timed_out: bool = False
    waited_seconds: float = 0.0
    timeout_seconds: float = 0.0
    checks: list[str] = field(default_factory=list)  # the doctor checks run for the stalled hop
    findings: list[dict[str, Any]] = field(default_factory=list)  # their findings (doctor's JSON shape)
    not_checked: list[dict[str, Any]] = field(default_factory=list)  # {"check", "resource", "reason"}
    cause: Cause | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the metrics' delay, a ledger that does not exist

    @property
    def stalled_at(self) -> HopName | None:
        """The first hop that stalled; else the first still waiting when the trace ended (not yet processed)."""
        for status in ("stalled", "waiting"):
            found = next((h.hop for h in self.hops if h.status == status), None)
            if found is not None:
                return found
        return None

    @property
    def processed(self) -> bool:
        """Every route processed the event exactly once (nothing stalled, waiting or duplicated)."""
        done = [h for h in self.hops if h.hop == "processed"]
        return bool(done) and all(h.status == "ok" for h in done) and self.stalled_at is None

    @property
    def duplicated(self) -> bool:
        """Every route processed the event, and at least one more than once."""
        done = [h for h in self.hops if h.hop == "processed"]
        return (
            self.stalled_at is None
            and bool(done)
            and all(h.status in ("ok", "duplicated") for h in done)
            and any(h.status == "duplicated" for h in done)
        )

    @property
    def problem_hop(self) -> HopName | None:
        """The hop whose doctor checks explain what went wrong: where it stalled, or `processed` for a duplicate."""
        if self.stalled_at is not None:
            return self.stalled_at
        return "processed" if self.duplicated else None

    @property
    def status(self) -> str:
        if self.processed:
            return "processed"
        if self.duplicated:
            return "duplicated"
        if self.stopped:
            return "stopped"
        return "stalled"

    def hop(self, name: HopName) -> list[Hop]:
        return [h for h in self.hops if h.hop == name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "event_id": self.event_id,
            "bus": self.bus,
            "status": self.status,
            "stalled_at": self.stalled_at,
            "published": iso_utc(self.published_ms, precision="milliseconds") if self.published_ms else None,
            "waited_seconds": round(self.waited_seconds, 3),
            "timeout_seconds": self.timeout_seconds,
            "timed_out": self.timed_out,
            "routes": [r.as_dict(self.hops) for r in self.routes],
            "hops": [h.as_dict(self.published_ms) for h in self.hops],
            "rules": {"matched": list(self.matched), "near_misses": [m.as_dict() for m in self.near_misses]},
            "likely_cause": self.cause.as_dict() if self.cause else None,
            "checks": list(self.checks),
            "findings": list(self.findings),
            "not_checked": list(self.not_checked),
            "notes": list(self.notes),
            "event": self.event,
        }
