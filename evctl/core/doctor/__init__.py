"""doctor: the catalogue's checks over a discovered pipeline; findings with evidence and the exact fix.

    graph = discover(pipeline_clients, ["user-signup-queue"], cache=cache)      # evctl.core.pipeline
    ctx = DoctorContext(graph, DoctorClients(events=cache.wrap(events, "events"), ...), cache, samples=[...])
    report = run_checks(ctx)                  # Report: an Outcome (fail / pass / not_checked) per check × resource
    failing(report, fail_on="high")           # findings at or above a severity: doctor's exit 1

Modules: catalogue (all 74 checks with id, hop, effect, severity; implemented or not) · model (CheckInfo, Finding,
Fix, Outcome, Report, NotChecked) · registry (`@check(id, on=kind)`) · context (DoctorContext, DoctorClients: the
graph, cached clients, samples, log window, clock) · run (run_checks, failing) · checks/ (one module per hop group).
Nothing here prints: evctl.render.doctor shows a Report.
"""

from __future__ import annotations

from .catalogue import BY_ID, CATALOGUE
from .context import DoctorClients, DoctorContext, Sample
from .model import SEVERITIES, CheckInfo, Finding, Fix, NotChecked, Outcome, Report, severity_rank
from .registry import REGISTRY, check
from .run import failing, finding_severity, run_checks

__all__ = [
    "BY_ID",
    "CATALOGUE",
    "REGISTRY",
    "SEVERITIES",
    "CheckInfo",
    "DoctorClients",
    "DoctorContext",
    "Finding",
    "Fix",
    "NotChecked",
    "Outcome",
    "Report",
    "Sample",
    "check",
    "failing",
    "finding_severity",
    "run_checks",
    "severity_rank",
]
