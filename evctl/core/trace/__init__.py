"""trace: publish one event and follow it hop by hop (docs/trace.md).

    tracer = Tracer(SessionClients(events=…, sqs=…, lambda_=…, logs=…, iam=…, kms=…, cloudwatch=…),
                    region="us-east-1", ledgers=True)            # ledgers: the sandbox's delivery / invocation records
    result = tracer.trace(entry, timeout=60, should_stop=stop)   # TraceResult: a Hop per step, each with its time
    result.status, result.stalled_at, result.cause   # "processed" | "duplicated" | "stalled" | "stopped"; the cause
    result.as_dict()                                             # schema evctl.trace/1

Modules: plan (the rules the event matches offline, with why-not for the near misses; the routes after them, from
the pipeline discovery) · sources (the reads after publishing: the sandbox's ledgers, log lines with the event id,
CloudWatch metrics, an honest peek of a DLQ, the mapping as Lambda shows it; tests fake these only) · follow
(Follower: the polling loop and the timeline, injected clock and sleep) · state (what is read per route) · delivery
(the `delivered` hop) · consume (`received` and `processed`) · duplicates (a second invocation, and how long to watch
for one) · diagnose (doctor's checks of the stalled hop, on its route's resources) ·
result (Hop, TraceResult, the JSON) · run (Tracer: plan → publish → follow → diagnose). Nothing here prints.
"""

from __future__ import annotations

from .diagnose import HOP_CHECKS, checks_for
from .follow import METRICS_DELAY, Follower
from .plan import Plan, Route, make_plan
from .result import HOP_NAMES, SCHEMA, Cause, Hop, NearMiss, RouteInfo, TraceResult
from .run import DEFAULT_TIMEOUT, Tracer
from .sources import DELIVERY_LEDGER, INVOCATION_LEDGER, AwsSources, MappingState, Sources

__all__ = [
    "DEFAULT_TIMEOUT",
    "DELIVERY_LEDGER",
    "HOP_CHECKS",
    "HOP_NAMES",
    "INVOCATION_LEDGER",
    "METRICS_DELAY",
    "SCHEMA",
    "AwsSources",
    "Cause",
    "Follower",
    "Hop",
    "MappingState",
    "NearMiss",
    "Plan",
    "Route",
    "RouteInfo",
    "Sources",
    "TraceResult",
    "Tracer",
    "checks_for",
    "make_plan",
]
