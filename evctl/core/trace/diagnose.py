"""Where the event stalled, ask doctor: the catalogue checks of that hop, on that route's resources only, with the
traced event as the producer's sample; the most severe finding is the likely cause.

    checks = HOP_CHECKS["processed"]                    # catalogue id patterns ("duplicated": processed twice)
    report = diagnose(session, plan, "processed", routes, event=envelope)   # doctor Report, outcomes filtered
    cause = likely_cause(report)                         # Finding or None
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

from evctl.core.doctor import BY_ID, CATALOGUE, Finding, Report, Sample, finding_severity, severity_rank
from evctl.core.doctor.session import DoctorSession
from evctl.core.pipeline import Graph

from .plan import Plan, Route
from .result import HopName

__all__ = ["HOP_CHECKS", "checks_for", "diagnose", "likely_cause", "route_resources"]

# The catalogue checks that can explain a stall at each hop (docs/trace.md lists them).
HOP_CHECKS: dict[str, tuple[str, ...]] = {
    "matched": ("B-BUS-1", "B-AWSSRC-1", "R-STATE-1", "R-PATTERN-1", "R-TARGETS-1"),
    "delivered": ("R-STATE-1", "R-TARGETS-1", "T-*", "TD-*", "Q-POLICY-*", "Q-KMS-*", "Q-SIZE-1"),
    "received": (
        "E-STATE-1",
        "E-SOURCE-1",
        "E-ORPHAN-1",
        "E-FILTER-1",
        "E-COMPETE-1",
        "F-RC-1",
        "F-STATE-1",
        "F-ACCT-1",
        "I-TRUST-1",
        "I-SQS-1",
        "I-KMS-1",
        "Q-CONSUMER-1",
        "Q-DELAY-1",
    ),
    "processed": ("F-*", "E-PBR-*", "E-FILTER-1", "I-*", "L-*", "Q-VIS-*", "Q-REDRIVE-*", "Q-RET-1", "D-*"),
    "dead_lettered": ("Q-REDRIVE-*", "D-*"),
    # processed more than once: what lets a second invocation get the message (or a second copy reach the queue)
    "duplicated": ("R-DUP-1", "Q-VIS-*", "E-PBR-*", "F-TIMEOUT-1", "I-SQS-1"),
}


def checks_for(hop: HopName | str) -> list[str]:
    """The catalogue ids of a hop's checks, in catalogue order."""
    patterns = HOP_CHECKS.get(hop, ())
    return [info.id for info in CATALOGUE if any(fnmatch.fnmatchcase(info.id, p) for p in patterns)]


def route_resources(graph: Graph, plan: Plan, routes: Iterable[Route]) -> set[str]:
    """The node ids a hop's checks may look at: the routes' rules, queues, DLQs, mappings, functions, log groups
    (and, for a trace that matched nothing, the rules it nearly matched and the bus)."""
    ids: set[str] = set()
    for route in routes:
        ids |= {route.rule_arn, route.queue_arn}
        ids |= {arn for arn in (route.dlq_arn, route.target_dlq_arn) if arn}
        for function in route.functions:
            ids |= {function.mapping_arn, function.function_arn}
            if function.log_group_arn:
                ids.add(function.log_group_arn)
    if not ids:
        ids |= {m.arn for m in plan.matched} | {m.arn for m, _ in plan.near}
        ids |= {n.id for n in graph.nodes.values() if n.kind in ("bus", "rule")}
    return ids


def diagnose(
    session: DoctorSession,
    plan: Plan,
    hop: HopName | str,
    routes: Sequence[Route],
    *,
    envelope: dict[str, Any],
    log_window_seconds: int = 900,
) -> tuple[list[str], Report]:
    """Run the hop's checks over the plan's graph (the reads the plan made are cached), keep the outcomes about the
    routes' resources. Returns (the check ids run, the report)."""
    checks = checks_for(hop)
    ctx = session.context(
        plan.graph,
        [Sample(event=envelope, bus=plan.bus, origin="the traced event")],
        log_window_seconds=log_window_seconds,
    )
    report = session.run(ctx, checks=checks)
    keep = route_resources(plan.graph, plan, routes)
    # an outcome about the routes' resources, or a finding about another (the function's role: I-SQS-1) that
    # names one of them among its related resources
    report.outcomes = [
        o for o in report.outcomes if o.resource in keep or any(keep.intersection(f.related) for f in o.findings)
    ]
    return checks, report


def likely_cause(report: Report) -> Finding | None:
    """The most severe finding; ties go to the catalogue's order (the pipeline's flow order)."""
    order = {info.id: i for i, info in enumerate(CATALOGUE)}
    findings = [f for f in report.findings if f.check in BY_ID]
    if not findings:
        return None
    return min(findings, key=lambda f: (-severity_rank(finding_severity(f)), order[f.check], f.resource))
