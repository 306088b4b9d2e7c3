"""One trace: plan (match offline, discover the routes), publish, follow, and ask doctor about the stalled hop.

    tracer = Tracer(clients, region="us-east-1", ledgers=True, clock=time.time, sleep=time.sleep)
    result = tracer.trace(entry, timeout=60, should_stop=stop)    # TraceResult (result.py)

`result` is filled as the trace goes: a Ctrl-C / SIGTERM (KeyboardInterrupt, or `should_stop`) ends the wait and
returns what is known so far with `stopped` set; the command prints it and exits 128 + the signal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evctl.core.doctor import finding_severity, severity_rank
from evctl.core.doctor.session import DoctorSession, SessionClients
from evctl.core.events import publish
from evctl.core.pipeline import PipelineClients
from evctl.core.queues import StopSignal
from evctl.errors import ConfigError, EvctlError, ServiceError, from_aws

from .diagnose import diagnose, likely_cause
from .follow import METRICS_DELAY, Follower
from .plan import Plan, make_plan
from .result import Cause, Hop, NearMiss, RouteInfo, TraceResult
from .sources import AwsSources, Sources

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

__all__ = ["DEFAULT_TIMEOUT", "Tracer"]

DEFAULT_TIMEOUT = 60.0
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "NotAuthorizedForSourceException"})


@dataclass
class Tracer:
    clients: SessionClients
    region: str = ""
    ledgers: bool = False  # read the sandbox's ledgers (an endpoint other than AWS's)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    interval: float = 1.0
    max_attempts: int = 5
    sources: Sources | None = None  # tests: a fake of the AWS reads; None: AwsSources from the clients
    on_progress: Callable[[str], None] | None = None
    result: TraceResult | None = None  # the trace in progress: what is known so far when it is stopped

    def _say(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)

    def trace(
        self, entry: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT, should_stop: StopSignal = None
    ) -> TraceResult:
        c = self.clients
        result = self.result = TraceResult(bus=str(entry.get("EventBusName") or "default"), timeout_seconds=timeout)
        self._say("matching the event against the bus's rules")
        plan = make_plan(
            c.events, PipelineClients(c.events, c.sqs, c.lambda_, c.logs, None), entry, region=self.region or None
        )
        result.bus, result.event = plan.bus, dict(plan.envelope)
        result.matched = [m.name for m in plan.matched]
        result.near_misses = [NearMiss(m.name, m.arn, tuple(why)) for m, why in plan.near]
        result.routes = [RouteInfo(r.id, r.rule, r.target_id, r.queue_name, r.queue_arn) for r in plan.routes]
        sources = self.sources or AwsSources(
            logs=c.logs,
            sqs=c.sqs,
            cloudwatch=c.cloudwatch,
            region=self.region,
            ledgers=self.ledgers,
            lambda_=c.lambda_,
            clock=self.clock,
            sleep=self.sleep,
        )
        self._say(f"publishing to {plan.bus}")
        event_id, published_ms = self._publish(c.events, entry)
        result.event_id, result.published_ms = event_id, published_ms
        result.event = {**plan.envelope, "id": event_id}
        result.hops = [
            Hop(
                "published",
                "ok",
                _bus_arn(plan),
                published_ms,
                f"PutEvents accepted it on {plan.bus}",
                "put_events",
                data={"event_id": event_id},
            ),
            self._matched_hop(plan, published_ms),
        ]
        follower = Follower(
            plan, sources, event_id, published_ms, clock=self.clock, sleep=self.sleep, interval=self.interval
        )
        try:
            if plan.enabled and plan.routes:
                self._say(f"following {event_id}")
                follower.run(timeout, should_stop=should_stop)
        finally:  # a second Ctrl-C inside the follower's reads: what is known so far
            result.hops = result.hops[:2] + follower.hops()
            result.stopped, result.timed_out, result.waited_seconds = (
                follower.stopped,
                follower.timed_out,
                follower.waited,
            )
            result.notes = list(getattr(sources, "notes", []))
            if any(h.hop == "delivered" and h.evidence == "metrics" for h in result.hops):
                result.notes.append("no delivery ledger: delivery is read from CloudWatch metrics. " + METRICS_DELAY)
        if not result.stopped and result.problem_hop is not None:
            self._diagnose(plan, result)
        return result

    def _publish(self, events: EventBridgeClient, entry: Mapping[str, Any]) -> tuple[str, int]:
        sent_ms = int(self.clock() * 1000)  # the call's start: the event exists from then on (AWS stamps it inside)
        report = publish(events, [entry], concurrency=1, max_attempts=self.max_attempts)
        if report.interrupted:
            raise KeyboardInterrupt
        if report.fatal is not None:
            error = report.fatal if isinstance(report.fatal, EvctlError) else from_aws(report.fatal, "PutEvents")
            raise error or report.fatal
        outcome = report.results[0]
        if not outcome.ok or not outcome.event_id:
            text = f"PutEvents did not accept the event: {outcome.error_code}: {outcome.error_message}"
            if outcome.error_code in _DENIED:
                raise ConfigError(text, "the caller needs events:PutEvents on the bus")
            raise ServiceError(text, "nothing was published; run the trace again")
        return outcome.event_id, sent_ms

    @staticmethod
    def _matched_hop(plan: Plan, at: int) -> Hop:
        data = {
            "matched": [m.name for m in plan.matched],
            "near_misses": [{"rule": m.name, "why_not": why} for m, why in plan.near],
        }
        if plan.enabled:
            names = ", ".join(m.name for m in plan.enabled)
            extra = (
                f"; not followed (not SQS): {', '.join(a for _, a in plan.other_targets)}" if plan.other_targets else ""
            )
            if not plan.routes:
                return Hop(
                    "matched",
                    "stalled",
                    plan.enabled[0].arn,
                    at,
                    f"matched {names}, but no rule targets an SQS queue{extra}",
                    "offline",
                    data=data,
                )
            return Hop("matched", "ok", plan.enabled[0].arn, at, f"matched {names}{extra}", "offline", data=data)
        if plan.matched:
            names = ", ".join(m.name for m in plan.matched)
            return Hop(
                "matched",
                "stalled",
                plan.matched[0].arn,
                at,
                f"matched {names}, which is DISABLED",
                "offline",
                data=data,
            )
        closest = f"; closest: {plan.near[0][0].name} ({plan.near[0][1][0]})" if plan.near else ""
        return Hop(
            "matched", "stalled", _bus_arn(plan), at, f"no rule on {plan.bus} matches it{closest}", "offline", data=data
        )

    def _diagnose(self, plan: Plan, result: TraceResult) -> None:
        hop = result.problem_hop
        assert hop is not None
        wrong = ("stalled", "waiting") if result.stalled_at is not None else ("duplicated",)
        route_ids = {h.route for h in result.hops if h.hop == hop and h.status in wrong}
        stalled_routes = [r for r in plan.routes if r.id in route_ids]
        key = "duplicated" if result.stalled_at is None else "processed" if hop == "dead_lettered" else hop
        self._say(f"running doctor's checks for the '{hop}' hop" + (" (a duplicate)" if key == "duplicated" else ""))
        session = DoctorSession(self.clients, region=self.region, cache=plan.cache)
        checks, report = diagnose(session, plan, key, stalled_routes, envelope=result.event)
        result.checks = checks
        result.findings = [
            _finding_dict(f)
            for f in sorted(
                report.findings, key=lambda f: (-_rank(f), checks.index(f.check) if f.check in checks else 999)
            )
        ]
        result.not_checked = [
            {"check": o.check, "resource": o.resource, "reason": o.reason}
            for o in report.outcomes
            if o.status == "not_checked"
        ]
        cause = likely_cause(report)
        if cause is not None:
            result.cause = Cause(
                cause.check,
                finding_severity(cause),
                cause.resource,
                cause.message,
                cause.fix.summary,
                cause.fix.command,
                cause.fix.before,
            )


def _rank(finding: Any) -> int:
    return severity_rank(finding_severity(finding))


def _bus_arn(plan: Plan) -> str:
    for node in plan.graph.nodes.values():
        if node.kind == "bus" and node.name == plan.bus:
            return node.id
    return plan.bus


def _plain(value: Any) -> Any:
    """JSON-able and strict (no NaN): containers kept, other values as text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _finding_dict(finding: Any) -> dict[str, Any]:
    return {
        "check": finding.check,
        "severity": finding_severity(finding),
        "resource": finding.resource,
        "message": finding.message,
        "evidence": _plain(finding.evidence),
        "fix": {
            "summary": finding.fix.summary,
            "value": _plain(finding.fix.value),
            "before": list(finding.fix.before),
            "command": finding.fix.command,
        },
    }
