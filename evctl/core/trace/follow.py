"""After publishing: follow the event hop by hop until every route has processed it, one stalls, the timeout
passes, or the user stops it. The clock, sleep and stop signal are injected; the reads are a `Sources`.

    follower = Follower(plan, sources, event_id, published_ms, clock=time.time, sleep=time.sleep)
    hops = follower.run(timeout=60, should_stop=stop_event)     # [Hop]: one timeline, in order

Per route (rule → SQS queue → functions):
  delivered   the sandbox's delivery ledger (exact), else the rule's Invocations / FailedInvocations and the queue's
              NumberOfMessagesSent (aggregates, 1–3 min late: "not yet visible" is never "failed"), else inferred
              from the function receiving it;
  received    the runner's invocation ledger, else the function's log lines carrying the event id;
  processed   the same records: success (deleted), or failures (error, timeout, kept by a partial batch response),
              filtered out by the mapping; Lambda's Errors metric as a hint when nothing names the event;
  dead_lettered  the queue's (or the target's) DLQ holding the event, found by an honest peek that releases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evctl.core.logs import LogEvent, classify_message
from evctl.core.queues import StopSignal, stop_check

from .plan import Plan, Route
from .result import Hop
from .sources import DeliveryRecord, FoundMessage, InvocationRecord, MetricQuery, Sources

__all__ = ["DEFAULT_INTERVAL", "METRICS_DELAY", "Follower"]

DEFAULT_INTERVAL = 1.0  # seconds between reads of the ledgers and logs
METRICS_INTERVAL = 15.0  # CloudWatch metrics change once a minute: read them at most this often
DLQ_INTERVAL = 3.0  # seconds between peeks of a DLQ while the event is failing
METRICS_DELAY = (
    "CloudWatch metrics arrive 1–3 minutes late: a hop they do not show yet is 'not yet visible', not failed"
)
_FAILED = frozenset({"error", "timeout"})
_ERROR_KINDS = frozenset({"error", "timeout", "traceback"})


@dataclass
class RouteState:
    route: Route
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    invocations: list[InvocationRecord] = field(default_factory=list)
    lines: dict[str, list[LogEvent]] = field(default_factory=dict)  # function name → lines with the event id
    metrics: dict[str, float | None] = field(default_factory=dict)
    in_dlq: FoundMessage | None = None
    in_target_dlq: FoundMessage | None = None


class Follower:
    def __init__(
        self,
        plan: Plan,
        sources: Sources,
        event_id: str,
        published_ms: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.plan, self.sources, self.event_id, self.published_ms = plan, sources, event_id, published_ms
        self.clock, self.sleep, self.interval = clock, sleep, interval
        self.states = [RouteState(route) for route in plan.routes]
        self.has_delivery_ledger: bool | None = None
        self.has_invocation_ledger: bool | None = None
        self._metrics_at = float("-inf")
        self._dlq_at = float("-inf")
        self.timed_out = False
        self.stopped = False
        self.waited = 0.0

    # ---- the loop ---------------------------------------------------------------------------------------------
    def run(self, timeout: float, should_stop: StopSignal = None) -> list[Hop]:
        """Poll until every route is settled (processed or stalled for good), `timeout` seconds pass, or a stop."""
        stop = stop_check(should_stop)
        started = self.clock()
        try:
            while True:
                self.poll()
                hops = self.hops()
                if self.settled(hops):
                    break
                self.waited = self.clock() - started
                if self.waited >= timeout:
                    self.timed_out = True
                    self.final_look()
                    break
                if stop():
                    self.stopped = True
                    break
                self.sleep(min(self.interval, max(0.0, timeout - self.waited)))
                if stop():
                    self.stopped = True
                    break
        except KeyboardInterrupt:
            self.stopped = True
        self.waited = self.clock() - started
        return self.hops()

    def settled(self, hops: list[Hop]) -> bool:
        """Nothing left to wait for: no hop waiting (a failing event with a DLQ waits until it gets there)."""
        return not any(h.status == "waiting" for h in hops)

    def poll(self) -> None:
        """One round of reads."""
        since = self.published_ms - 1000
        deliveries = self.sources.deliveries(self.event_id, since)
        self.has_delivery_ledger = deliveries is not None
        invocations = self.sources.invocations(self.event_id, since)
        self.has_invocation_ledger = invocations is not None
        now = self.clock()
        read_metrics = now - self._metrics_at >= METRICS_INTERVAL
        if read_metrics:
            self._metrics_at = now
        for state in self.states:
            route = state.route
            state.deliveries = [d for d in deliveries or [] if self._same_target(d, route)]
            names = {f.function_name for f in route.functions}
            state.invocations = [i for i in invocations or [] if self._same_route(i, route, names)]
            if invocations is None:
                for function in route.functions:
                    state.lines[function.function_name] = self.sources.log_lines(
                        function.log_group, self.event_id, since
                    )
            if read_metrics and self._needs_metrics(state):
                state.metrics = self.sources.metric_sums(self._queries(route), self.published_ms, int(now * 1000))
        if now - self._dlq_at >= DLQ_INTERVAL:
            self._dlq_at = now
            self.peek_dlqs(only_failing=True)

    def final_look(self) -> None:
        """At the timeout: one last peek of each DLQ (the event may be there without a record saying so)."""
        self.peek_dlqs(only_failing=False)

    def peek_dlqs(self, *, only_failing: bool) -> None:
        for state in self.states:
            route = state.route
            errors = any(v for k, v in state.metrics.items() if k.startswith("fn_errors"))
            logged = any(classify_message(ln["message"])[0] in _ERROR_KINDS for v in state.lines.values() for ln in v)
            failing = bool(self._failures(state)) or errors or logged
            failing = failing or any(d.outcome in ("sent_to_dlq", "dropped") for d in state.deliveries)
            if only_failing and not failing:
                continue
            if route.dlq_url and state.in_dlq is None:
                state.in_dlq = self.sources.find_in_queue(route.dlq_url, self.event_id)
            if route.target_dlq_url and state.in_target_dlq is None:
                state.in_target_dlq = self.sources.find_in_queue(route.target_dlq_url, self.event_id)

    @staticmethod
    def _same_target(record: DeliveryRecord, route: Route) -> bool:
        return (not record.rule_arn or record.rule_arn == route.rule_arn) and record.target_arn == route.queue_arn

    @staticmethod
    def _same_route(record: InvocationRecord, route: Route, functions: set[str]) -> bool:
        queue = record.raw.get("queue_arn")
        if queue:
            return bool(queue == route.queue_arn)
        return record.function_name in functions or not record.function_name

    def _needs_metrics(self, state: RouteState) -> bool:
        return not self.has_delivery_ledger and not state.invocations and not any(state.lines.values())

    def _queries(self, route: Route) -> list[MetricQuery]:
        rule_dims: tuple[tuple[str, str], ...] = (("RuleName", route.rule),)
        if self.plan.bus != "default":
            rule_dims = (("EventBusName", self.plan.bus), *rule_dims)
        queries = [
            MetricQuery("rule_invocations", "AWS/Events", "Invocations", rule_dims),
            MetricQuery("failed", "AWS/Events", "FailedInvocations", rule_dims),
            MetricQuery("sent", "AWS/SQS", "NumberOfMessagesSent", (("QueueName", route.queue_name),)),
            MetricQuery("deleted", "AWS/SQS", "NumberOfMessagesDeleted", (("QueueName", route.queue_name),)),
        ]
        for n, function in enumerate(route.functions):
            dims = (("FunctionName", function.function_name),)
            queries.append(MetricQuery(f"fn_errors{n}", "AWS/Lambda", "Errors", dims))
            queries.append(MetricQuery(f"fn_invocations{n}", "AWS/Lambda", "Invocations", dims))
        return queries

    # ---- the timeline -----------------------------------------------------------------------------------------
    def hops(self) -> list[Hop]:
        timeline: list[Hop] = []
        for state in self.states:
            timeline.extend(self.route_hops(state))
        return timeline

    def route_hops(self, state: RouteState) -> list[Hop]:
        route = state.route
        delivered = self.delivered_hop(state)
        hops = [delivered]
        if delivered.status == "stalled":
            return [*hops, *self._dead_lettered(state, target=True)]
        received, processed = self.function_hops(state)
        if delivered.status == "waiting" and received.status == "ok":
            hops[0] = Hop(
                "delivered",
                "ok",
                route.queue_arn,
                received.time_ms,
                f"delivered to {route.queue_name} (inferred: the function received it)",
                "inferred",
            )
        elif delivered.status == "waiting":
            received = Hop("received", "skipped", received.resource, detail="waiting for the delivery")
            processed = Hop("processed", "skipped", processed.resource, detail="waiting for the delivery")
        hops.extend([received, processed])
        return [*hops, *self._dead_lettered(state, target=False)]

    def delivered_hop(self, state: RouteState) -> Hop:
        route = state.route
        data: dict[str, Any]
        where = route.queue_arn
        if not route.exists:
            return Hop(
                "delivered",
                "stalled",
                where,
                detail=f"the rule targets {route.queue_name}, which does not exist",
                evidence="offline",
            )
        if state.deliveries:
            last = state.deliveries[-1]
            data = {"ledger": [dict(d.raw) for d in state.deliveries]}
            code = f" ({last.error_code}: {last.error_message})" if last.error_code else ""
            if last.outcome == "delivered":
                return Hop(
                    "delivered",
                    "ok",
                    where,
                    last.time_ms,
                    f"delivered to {route.queue_name}"
                    + (f" on attempt {last.attempt}" if last.attempt and last.attempt > 1 else ""),
                    "ledger",
                    data=data,
                )
            if last.outcome == "retrying":
                return Hop(
                    "delivered",
                    "waiting",
                    where,
                    last.time_ms,
                    f"EventBridge is retrying the delivery (attempt {last.attempt or '?'}){code}",
                    "ledger",
                    data=data,
                )
            verb = {
                "refused": "refused",
                "sent_to_dlq": "refused and sent to the target's DLQ",
                "dropped": "refused and dropped (the target has no DLQ)",
            }.get(last.outcome, last.outcome)
            return Hop(
                "delivered", "stalled", where, last.time_ms, f"{route.queue_name}: {verb}{code}", "ledger", data=data
            )
        metrics = state.metrics
        if metrics:
            failed, sent, invoked = metrics.get("failed"), metrics.get("sent"), metrics.get("rule_invocations")
            data = {"metrics": dict(metrics)}
            if failed:
                return Hop(
                    "delivered",
                    "stalled",
                    where,
                    None,
                    f"rule {route.rule}: FailedInvocations {failed:g} since publishing (CloudWatch; not "
                    "specific to this event)",
                    "metrics",
                    exact=False,
                    data=data,
                )
            if sent or invoked:
                return Hop(
                    "delivered",
                    "ok",
                    where,
                    None,
                    f"rule {route.rule}: Invocations {invoked or 0:g}, {route.queue_name}: NumberOfMessagesSent "
                    f"{sent or 0:g} since publishing (CloudWatch; not specific to this event)",
                    "metrics",
                    exact=False,
                    data=data,
                )
        if self.has_delivery_ledger:
            return Hop("delivered", "waiting", where, detail="no delivery record yet", evidence="ledger")
        return Hop(
            "delivered",
            "waiting",
            where,
            detail="not yet visible (no delivery ledger; " + METRICS_DELAY + ")",
            evidence="metrics",
            exact=False,
        )

    def function_hops(self, state: RouteState) -> tuple[Hop, Hop]:
        route = state.route
        if not route.functions:
            stalled = Hop(
                "received",
                "stalled",
                route.queue_arn,
                detail=f"nothing reads {route.queue_name} (no event source mapping)",
                evidence="offline",
            )
            return stalled, Hop("processed", "skipped", route.queue_arn)
        function = route.functions[0]
        where = function.function_arn
        off = [f for f in route.functions if f.mapping_state.lower() in ("disabled", "disabling")]
        if len(off) == len(route.functions):
            return (
                Hop(
                    "received",
                    "stalled",
                    function.mapping_arn,
                    detail=f"the mapping from {route.queue_name} is {function.mapping_state}: nothing polls the queue",
                    evidence="offline",
                ),
                Hop("processed", "skipped", where),
            )
        if state.invocations:
            return self._from_ledger(state, where)
        lines = [line for found in state.lines.values() for line in found]
        if lines:
            return self._from_logs(state, lines, where)
        if state.metrics and not self.has_invocation_ledger:
            return self._from_metrics(state, where)
        source = "the runner's ledger" if self.has_invocation_ledger else "the function's log lines with the event id"
        return (
            Hop(
                "received",
                "waiting",
                where,
                detail=f"no record yet in {source}",
                evidence="ledger" if self.has_invocation_ledger else "logs",
            ),
            Hop("processed", "waiting", where, detail="not yet received"),
        )

    def _from_metrics(self, state: RouteState, where: str) -> tuple[Hop, Hop]:
        """Aggregates only (AWS without the event id in the logs): the function ran, the queue deleted messages, and
        Lambda counted no error since publishing. Not specific to this event; 1–3 minutes late."""
        metrics = state.metrics
        data: dict[str, Any] = {"metrics": dict(metrics)}
        invoked = sum(v or 0 for k, v in metrics.items() if k.startswith("fn_invocations"))
        errors = sum(v or 0 for k, v in metrics.items() if k.startswith("fn_errors"))
        deleted = metrics.get("deleted") or 0
        note = "since publishing (CloudWatch; not specific to this event)"
        if not invoked:
            detail = f"Lambda Invocations not yet visible ({METRICS_DELAY}; the function's logs carry no line with the "
            detail += "event id)"
            return (
                Hop("received", "waiting", where, detail=detail, evidence="metrics", exact=False, data=data),
                Hop("processed", "waiting", where, detail="not yet received"),
            )
        received = Hop("received", "ok", where, None, f"Lambda Invocations {invoked:g} {note}", "metrics", False, data)
        if deleted and not errors:
            return received, Hop(
                "processed",
                "ok",
                where,
                None,
                f"NumberOfMessagesDeleted {deleted:g}, Lambda Errors 0 {note}",
                "metrics",
                False,
                data,
            )
        return received, Hop(
            "processed",
            "waiting",
            where,
            None,
            f"Lambda Errors {errors:g}, NumberOfMessagesDeleted {deleted:g} {note}",
            "metrics",
            False,
            data,
        )

    def _from_ledger(self, state: RouteState, where: str) -> tuple[Hop, Hop]:
        records = state.invocations
        first = records[0]
        data = {"ledger": [dict(r.raw) for r in records]}
        received = Hop(
            "received",
            "ok",
            where,
            first.start_ms,
            f"{first.function_name} received it (request {first.request_id})",
            "ledger",
            data={"request_id": first.request_id},
        )
        for record in records:
            settled = record.settled(self.event_id)
            if record.outcome == "filtered":
                received = Hop(
                    "received",
                    "stalled",
                    where,
                    record.start_ms,
                    "the mapping's filter criteria did not "
                    "match: Lambda deleted the message without invoking the function",
                    "ledger",
                    data=data,
                )
                return received, Hop("processed", "skipped", where)
            if settled == "deleted" or (settled is None and record.outcome == "success"):
                took = f" after {len(self._failures(state))} failed attempt(s)" if self._failures(state) else ""
                return received, Hop(
                    "processed",
                    "ok",
                    where,
                    record.end_ms,
                    f"{record.function_name} processed it (request {record.request_id}){took}",
                    "ledger",
                    data=data,
                )
        failures = self._failures(state)
        if failures:
            return received, self._failing(state, where, failures[-1].end_ms, failures[-1].error, "ledger", data)
        last = records[-1]
        return received, Hop(
            "processed", "waiting", where, None, f"{last.outcome} (request {last.request_id})", "ledger", data=data
        )

    def _from_logs(self, state: RouteState, lines: list[LogEvent], where: str) -> tuple[Hop, Hop]:
        lines = sorted(lines, key=lambda line: line["timestamp"])
        data: dict[str, Any] = {
            "log_lines": [{"timestamp": ln["timestamp"], "message": ln["message"]} for ln in lines[:20]]
        }
        received = Hop(
            "received", "ok", where, lines[0]["timestamp"], "a log line carries the event id", "logs", data=data
        )
        errors = [ln for ln in lines if classify_message(ln["message"])[0] in _ERROR_KINDS]
        if errors:
            return received, self._failing(state, where, errors[-1]["timestamp"], errors[-1]["message"], "logs", data)
        return received, Hop(
            "processed", "ok", where, lines[-1]["timestamp"], "its log lines show no error", "logs", data=data
        )

    def _failures(self, state: RouteState) -> list[InvocationRecord]:
        return [r for r in state.invocations if r.outcome in _FAILED or r.settled(self.event_id) == "kept"]

    def _failing(
        self, state: RouteState, where: str, at: int | None, error: str | None, evidence: Any, data: dict[str, Any]
    ) -> Hop:
        route = state.route
        count = len(self._failures(state)) or 1
        what = f"the function failed {count} time(s)" + (f": {error}" if error else "")
        if state.in_dlq is not None or not route.dlq_arn:
            end = "moved to the DLQ" if state.in_dlq else "no DLQ: it is retried until the queue's retention expires"
            return Hop("processed", "stalled", where, at, f"{what}; {end}", evidence, data=data)
        if self.timed_out:
            return Hop(
                "processed",
                "stalled",
                where,
                at,
                f"{what}; not in the DLQ yet (SQS moves it after {route.max_receive_count or '?'} receives)",
                evidence,
                data=data,
            )
        return Hop(
            "processed",
            "waiting",
            where,
            at,
            f"{what}; waiting for it to reach the DLQ after {route.max_receive_count or '?'} receives",
            evidence,
            data=data,
        )

    def _dead_lettered(self, state: RouteState, *, target: bool) -> list[Hop]:
        found = state.in_target_dlq if target else state.in_dlq
        arn = state.route.target_dlq_arn if target else state.route.dlq_arn
        if found is None or arn is None:
            return []
        attributes = dict(found.attributes)
        detail = f"in {arn.rsplit(':', 1)[-1]} (seen by a peek that released it; receive count {found.receive_count})"
        if attributes.get("ERROR_CODE"):
            detail += f"; ERROR_CODE {attributes['ERROR_CODE']}"
        return [
            Hop(
                "dead_lettered",
                "ok",
                arn,
                found.seen_ms,
                detail,
                "peek",
                data={"message_id": found.message_id, "attributes": attributes},
            )
        ]
