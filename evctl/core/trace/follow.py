"""After publishing: follow the event hop by hop until every route has processed it, one stalls, the timeout
passes, or the user stops it. The clock, sleep and stop signal are injected; the reads are a `Sources`.

    follower = Follower(plan, sources, event_id, published_ms, clock=time.time, sleep=time.sleep)
    hops = follower.run(timeout=60, should_stop=stop_event)     # [Hop]: one timeline, in order

Per route (rule → SQS queue → functions):
  delivered   the sandbox's delivery ledger (exact), else the rule's Invocations / FailedInvocations and the queue's
              NumberOfMessagesSent (aggregates, 1–3 min late: "not yet visible" is never "failed"), else inferred
              from the function receiving it;
  received    the runner's invocation ledger, else the function's log lines carrying the event id; while nothing
              has received it, the mapping as Lambda shows it (a PROBLEM that persists stalls it at once);
  processed   the same records: success (deleted), or failures (error, timeout, kept by a partial batch response),
              filtered out by the mapping; Lambda's Errors metric as a hint when nothing names the event; a second
              invocation that processed it too is a duplicate (watched for after the first: duplicates.py);
  dead_lettered  the queue's (or the target's) DLQ holding the event, found by an honest peek that releases.
"""

from __future__ import annotations

from collections.abc import Callable

from evctl.core.logs import classify_message
from evctl.core.queues import StopSignal, stop_check

from .consume import ERROR_KINDS, function_hops
from .delivery import METRICS_DELAY, delivered_hop
from .duplicates import ledger_runs, log_runs, watch_until
from .plan import Plan, Route
from .result import Hop
from .sources import DeliveryRecord, InvocationRecord, MetricQuery, Sources
from .state import RouteState, TraceView, failures

__all__ = ["DEFAULT_INTERVAL", "METRICS_DELAY", "Follower"]

DEFAULT_INTERVAL = 1.0  # seconds between reads of the ledgers and logs
METRICS_INTERVAL = 15.0  # CloudWatch metrics change once a minute: read them at most this often
DLQ_INTERVAL = 3.0  # seconds between peeks of a DLQ while the event is failing


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
        """Nothing left to wait for: no hop waiting (a failing event with a DLQ waits until it gets there), and no
        route processed once by an invocation that outlasted the visibility timeout, until a duplicate could have
        shown up (duplicates.watch_until)."""
        if any(h.status == "waiting" for h in hops):
            return False
        now = self.clock()
        return not any(until is not None and now < until for until in map(self.watch_until, self.states))

    def watch_until(self, state: RouteState) -> float | None:
        """When the route's duplicate watch ends (epoch seconds), while the event was processed exactly once."""
        if state.invocations:
            runs = ledger_runs(state, self.event_id)
            return watch_until(state, runs, from_logs=False) if len(runs) == 1 else None
        lines = [line for found in state.lines.values() for line in found]
        runs = log_runs(lines)
        errors = any(classify_message(ln["message"])[0] in ERROR_KINDS for ln in lines)
        return watch_until(state, runs, from_logs=True) if len(runs) == 1 and not errors else None

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
            self._read_mappings(state, now)
            if read_metrics and self._needs_metrics(state):
                state.metrics = self.sources.metric_sums(self._queries(route), self.published_ms, int(now * 1000))
        if now - self._dlq_at >= DLQ_INTERVAL:
            self._dlq_at = now
            self.peek_dlqs(only_failing=True)

    def _read_mappings(self, state: RouteState, now: float) -> None:
        """While nothing has received the event: each mapping as Lambda shows it (a problem, and since when)."""
        if state.invocations or any(state.lines.values()) or now - state.mappings_read_at < self.interval:
            return
        state.mappings_read_at = now
        for function in state.route.functions:
            mapping = self.sources.mapping_state(function.uuid)
            if mapping is None:
                continue
            state.mappings[function.mapping_arn] = mapping
            if mapping.problem is None:
                state.problem_since.pop(function.mapping_arn, None)
            else:
                state.problem_since.setdefault(function.mapping_arn, now)

    def final_look(self) -> None:
        """At the timeout: one last peek of each DLQ (the event may be there without a record saying so)."""
        self.peek_dlqs(only_failing=False)

    def peek_dlqs(self, *, only_failing: bool) -> None:
        for state in self.states:
            route = state.route
            errors = any(v for k, v in state.metrics.items() if k.startswith("fn_errors"))
            logged = any(classify_message(ln["message"])[0] in ERROR_KINDS for v in state.lines.values() for ln in v)
            failing = bool(failures(state, self.event_id)) or errors or logged
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
            for hop in self.route_hops(state):
                hop.route = state.route.id
                timeline.append(hop)
        return timeline

    def view(self) -> TraceView:
        return TraceView(self.event_id, self.has_invocation_ledger, self.timed_out, self.clock())

    def route_hops(self, state: RouteState) -> list[Hop]:
        route = state.route
        delivered = delivered_hop(state, has_ledger=self.has_delivery_ledger)
        hops = [delivered]
        if delivered.status == "stalled":
            return [*hops, *self._dead_lettered(state, target=True)]
        received, processed = function_hops(state, self.view())
        if delivered.status == "waiting" and received.status == "ok":
            hops[0] = Hop(
                "delivered",
                "ok",
                route.queue_arn,
                received.time_ms,
                f"delivered to {route.queue_name} (inferred: the function received it)",
                "inferred",
            )
        elif delivered.status == "waiting" and not (received.status == "stalled" and delivered.evidence == "metrics"):
            # (a mapping that cannot poll stalls `received` even while the metrics do not show the delivery yet)
            received = Hop("received", "skipped", received.resource, detail="waiting for the delivery")
            processed = Hop("processed", "skipped", processed.resource, detail="waiting for the delivery")
        hops.extend([received, processed])
        return [*hops, *self._dead_lettered(state, target=False)]

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
