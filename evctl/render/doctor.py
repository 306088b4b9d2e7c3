"""A doctor Report for people (grouped by pipeline and hop, passed checks collapsed) and for CI (the
`evctl.doctor/1` JSON document, documented in docs/doctor.md; -o text: one tab-separated row per outcome).

    document(report, graph, meta)        # the JSON a CI job gates on
    report_lines(report, graph, meta)    # the terminal report
    text_rows(report, graph)             # rows for -o text (TEXT_COLUMNS)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evctl.core.doctor import BY_ID, CATALOGUE, REGISTRY, SEVERITIES, Finding, Outcome, Report, Sample, failing
from evctl.core.doctor.model import HOPS
from evctl.core.doctor.run import finding_severity
from evctl.core.pipeline import Graph
from evctl.render.jsontext import dumps, to_jsonable
from evctl.render.tables import printable

__all__ = ["SCHEMA", "TEXT_COLUMNS", "DoctorMeta", "document", "pipeline_name", "report_lines", "text_rows"]

SCHEMA = "evctl.doctor/1"
HOP_LABELS = {
    "bus": "bus",
    "rule": "rule and pattern",
    "target": "rule target",
    "target_dlq": "target DLQ",
    "queue": "queue",
    "dlq": "queue DLQ",
    "mapping": "event source mapping",
    "function": "function",
    "role": "execution role",
    "logs": "logs",
    "flow": "across hops",
}
KIND_LABELS = {"log_group": "log group", "other_target": "target"}
TEXT_COLUMNS = [("status", "STATUS"), ("check", "CHECK"), ("severity", "SEVERITY"), ("hop", "HOP"),
                ("resource", "RESOURCE"), ("detail", "DETAIL")]  # fmt: skip
_SEVERITY_STYLE = {"critical": "1;31", "high": "31", "medium": "33", "info": "2"}
_ORDER = {info.id: i for i, info in enumerate(CATALOGUE)}


@dataclass
class DoctorMeta:
    """What the run was asked and had: shown in the report's head and the JSON document."""

    targets: list[str]
    fail_on: str = "high"
    region: str = ""
    account: str = ""
    checks: list[str] = field(default_factory=list)  # the selected catalogue ids
    samples: list[Sample] = field(default_factory=list)
    log_window_seconds: int | None = None  # None: log events not read (--no-logs)


def _severity(finding: Finding) -> str:
    return finding_severity(finding)


def _finding_key(finding: Finding) -> tuple[int, int, str]:
    return (-SEVERITIES.index(_severity(finding)), _ORDER.get(finding.check, 999), finding.resource)  # type: ignore[arg-type,unused-ignore]


def _outcome_key(outcome: Outcome) -> tuple[int, str]:
    return (_ORDER.get(outcome.check, 999), outcome.resource)


def pipeline_name(graph: Graph, members: Sequence[str]) -> str:
    """A pipeline's name: the queues it ends in (not its DLQs), else its first resource's name (a bus's last)."""
    dlqs = {e.target for e in graph.edges if e.kind in ("dead_letters_to", "target_dlq")}
    queues = [graph.nodes[m].name for m in members if graph.nodes[m].kind == "queue" and m not in dlqs]
    if queues:
        return ", ".join(queues)
    others = [m for m in members if graph.nodes[m].kind != "bus"] or list(members)
    return graph.nodes[others[0]].name if others else "-"


def _pipelines_of_resource(report: Report) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for index, members in enumerate(report.pipelines, 1):
        for member in members:
            where.setdefault(member, []).append(index)
    return where


def _summary(report: Report, fail_on: str) -> dict[str, Any]:
    by_severity: dict[str, int] = {severity: 0 for severity in reversed(SEVERITIES)}
    for finding in report.findings:
        by_severity[_severity(finding)] += 1
    statuses = [o.status for o in report.outcomes]
    return {
        "findings": len(report.findings),
        "fail": statuses.count("fail"),
        "pass": statuses.count("pass"),
        "not_checked": statuses.count("not_checked"),
        "by_severity": by_severity,
        "failing": len(failing(report, fail_on=fail_on)),
    }


def _plain(value: Any) -> Any:
    """Plain JSON data (datetimes as ISO-8601 text, tuples and sets as lists), as the document will hold it."""
    return json.loads(_dumps(value))


def _dumps(value: Any) -> str:
    """Compact strict JSON; a value JSON has no form for (a check's own object) as its text, never a crash."""
    try:
        return dumps(value)
    except TypeError:
        return dumps(json.loads(json.dumps(value, default=_or_text)))


def _or_text(value: Any) -> Any:
    try:
        return to_jsonable(value)
    except TypeError:
        return str(value)


def _fix(finding: Finding) -> dict[str, Any]:
    fix = finding.fix
    return {"summary": fix.summary, "value": _plain(fix.value), "before": list(fix.before), "command": fix.command}


def document(report: Report, graph: Graph, meta: DoctorMeta) -> dict[str, Any]:
    """The `evctl.doctor/1` document (docs/doctor.md "JSON"): stable keys, findings worst first."""
    where = _pipelines_of_resource(report)
    summary = _summary(report, meta.fail_on)
    findings = []
    for outcome in sorted(report.outcomes, key=_outcome_key):
        for finding in outcome.findings:
            info = BY_ID[finding.check]
            findings.append((finding, {
                "check": finding.check,
                "title": info.title,
                "hop": info.hop,
                "severity": _severity(finding),
                "effects": list(info.effects),
                "resource": finding.resource,
                "pipelines": where.get(finding.resource) or where.get(outcome.resource, []),
                "message": finding.message,
                "evidence": _plain(finding.evidence),
                "fix": _fix(finding),
                "related": list(finding.related),
            }))  # fmt: skip
    findings.sort(key=lambda pair: _finding_key(pair[0]))

    def brief(outcome: Outcome) -> dict[str, Any]:
        info = BY_ID.get(outcome.check)
        return {
            "check": outcome.check,
            "title": info.title if info else "",
            "hop": info.hop if info else "",
            "resource": outcome.resource or None,
            "pipelines": where.get(outcome.resource, []),
        }

    ordered = sorted(report.outcomes, key=_outcome_key)
    return {
        "schema": SCHEMA,
        "targets": list(meta.targets),
        "region": meta.region,
        "account": meta.account,
        "fail_on": meta.fail_on,
        "failed": summary["failing"] > 0,
        "summary": summary,
        "checks": {
            "run": [c for c in meta.checks if c in _implemented()],
            "not_implemented": [c for c in meta.checks if c not in _implemented()],
        },
        "samples": [_sample(s) for s in meta.samples],
        "log_window_seconds": meta.log_window_seconds,
        "pipelines": [
            {"pipeline": index, "name": pipeline_name(graph, members), "resources": list(members)}
            for index, members in enumerate(report.pipelines, 1)
        ],
        "findings": [data for _, data in findings],
        "not_checked": [{**brief(o), "reason": o.reason} for o in ordered if o.status == "not_checked"],
        "passed": [brief(o) for o in ordered if o.status == "pass"],
    }


def _implemented() -> frozenset[str]:
    return frozenset(REGISTRY)


def _sample(sample: Sample) -> dict[str, Any]:
    return {
        "origin": sample.origin,
        "bus": sample.bus,
        "source": sample.event.get("source"),
        "detail-type": sample.event.get("detail-type"),
    }


def text_rows(report: Report, graph: Graph) -> list[dict[str, Any]]:
    """-o text: one row per outcome (and per finding): status, check, severity, hop, resource, message / reason."""
    rows: list[dict[str, Any]] = []
    for outcome in sorted(report.outcomes, key=_outcome_key):
        info = BY_ID.get(outcome.check)
        base = {"check": outcome.check, "hop": info.hop if info else "", "resource": outcome.resource}
        if outcome.status == "fail":
            for finding in sorted(outcome.findings, key=_finding_key):
                rows.append({**base, "status": "fail", "severity": _severity(finding), "resource": finding.resource,
                             "detail": finding.message})  # fmt: skip
        else:
            detail = outcome.reason or ""
            rows.append({**base, "status": outcome.status, "severity": info.severity if info else "", "detail": detail})
    return rows


# ---- the terminal report ---------------------------------------------------------------------------------------


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if color and style else text


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _dumps(value)


def _name(graph: Graph, resource: str) -> str:
    node = graph.nodes.get(resource)
    if node is None:
        return resource or "-"
    return f"{KIND_LABELS.get(node.kind, node.kind)} {node.name}"


def _finding_lines(finding: Finding, graph: Graph, color: bool) -> list[str]:
    info = BY_ID[finding.check]
    severity = _severity(finding)
    label = _paint(f"{severity.upper():<8}", _SEVERITY_STYLE[severity], color)
    title = printable(f"{finding.check}  {info.title}  [{'/'.join(info.effects)}]", keep="")
    lines = [f"    ✗ {label} {_paint(title, '1', color)}"]
    lines.append(
        f"      on        {printable(_name(graph, finding.resource), keep='')}  ({printable(finding.resource, keep='')})"
    )
    lines.append(f"      what      {printable(finding.message, keep='')}")
    if finding.evidence:
        parts = [f"{key}={_compact(value)}" for key, value in finding.evidence.items()]
        lines.append("      evidence  " + printable(" · ".join(parts), keep=""))
    lines.append(f"      fix       {printable(finding.fix.summary, keep='')}")
    if finding.fix.value is not None:
        lines.append("                value: " + printable(_compact(finding.fix.value), keep=""))
    for command in (*finding.fix.before, finding.fix.command) if finding.fix.command else finding.fix.before:
        lines.append("                " + _paint("$ " + printable(command, keep=""), "36", color))
    return lines


def _hop_lines(hop: str, outcomes: list[Outcome], graph: Graph, color: bool) -> list[str]:
    lines = [f"  {_paint(HOP_LABELS.get(hop, hop), '1', color)}"]
    findings = sorted((f for o in outcomes for f in o.findings), key=_finding_key)
    for finding in findings:
        lines.extend(_finding_lines(finding, graph, color))
    passed = [o for o in outcomes if o.status == "pass"]
    if passed:
        ids = sorted({o.check for o in passed}, key=lambda c: _ORDER.get(c, 999))
        lines.append(_paint(f"    ✓ {len(passed)} passed ({', '.join(ids)})", "32", color))
    for outcome in sorted((o for o in outcomes if o.status == "not_checked"), key=_outcome_key):
        where = f" on {_name(graph, outcome.resource)}" if outcome.resource else ""
        text = printable(f"    ? {outcome.check}{where}: not checked: {outcome.reason}", keep="")
        lines.append(_paint(text, "33", color))
    return lines


def _grouped(outcomes: Iterable[Outcome]) -> list[tuple[str, list[Outcome]]]:
    by_hop: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        info = BY_ID.get(outcome.check)
        by_hop.setdefault(info.hop if info else "flow", []).append(outcome)
    return [(hop, by_hop[hop]) for hop in HOPS if hop in by_hop]


def report_lines(report: Report, graph: Graph, meta: DoctorMeta, *, color: bool = False) -> list[str]:
    """The terminal report: a head (targets, samples), each pipeline's hops in flow order (findings in full,
    passed checks collapsed to a count, not-checked with the reason), then the summary and what exit it makes."""
    lines: list[str] = []
    targets = ", ".join(meta.targets) if meta.targets else f"every queue in {meta.region or 'the region'}"
    lines.append(printable(f"evctl doctor: {targets}", keep=""))
    if meta.samples:
        origins = ", ".join(f"{s.origin} (bus {s.bus})" for s in meta.samples[:5])
        more = f" and {len(meta.samples) - 5} more" if len(meta.samples) > 5 else ""
        lines.append(printable(f"samples: {origins}{more}", keep=""))
    else:
        lines.append("samples: none (checks that need the producer's events are not checked; give --sample)")
    where = _pipelines_of_resource(report)
    placed: set[int] = set()
    for index, members in enumerate(report.pipelines, 1):
        mine = [o for o in report.outcomes if index in where.get(o.resource, [])]
        placed.update(id(o) for o in mine)
        lines.append("")
        name = printable(pipeline_name(graph, members), keep="")
        dlqs = {e.target for e in graph.edges if e.kind in ("dead_letters_to", "target_dlq")}
        flow = " → ".join(printable(_name(graph, m), keep="") for m in members
                          if graph.nodes[m].kind in ("bus", "rule", "queue", "function") and m not in dlqs)  # fmt: skip
        lines.append(_paint(f"pipeline {index}: {name}", "1", color) + (f"  ({flow})" if flow else ""))
        if not mine:
            lines.append("  (no check ran on these resources)")
        elif all(o.status == "pass" for o in mine):  # a clean pipeline: one line, however many hops
            lines.append(_paint(f"  ✓ all {len(mine)} checks passed on its {len(members)} resources", "32", color))
            continue
        for hop, outcomes in _grouped(mine):
            lines.extend(_hop_lines(hop, outcomes, graph, color))
    rest = [o for o in report.outcomes if id(o) not in placed]
    if rest:
        lines.append("")
        lines.append(_paint("not in a pipeline", "1", color))
        for hop, outcomes in _grouped(rest):
            lines.extend(_hop_lines(hop, outcomes, graph, color))
    if not report.pipelines:
        lines.append("")
        lines.append("no pipeline found: nothing to check")
    summary = _summary(report, meta.fail_on)
    counts = " · ".join(f"{n} {severity}" for severity, n in summary["by_severity"].items())
    lines.append("")
    lines.append(f"{summary['findings']} findings ({counts}) · {summary['pass']} passed · "
                 f"{summary['not_checked']} not checked")  # fmt: skip
    missing = [c for c in meta.checks if c not in _implemented()]
    if missing:
        lines.append(f"{len(meta.checks) - len(missing)} of the {len(meta.checks)} selected checks are implemented "
                     f"in this evctl (docs/doctor.md lists them all)")  # fmt: skip
    if summary["failing"]:
        lines.append(_paint(f"{summary['failing']} at or above {meta.fail_on}: exit 1", "1;31", color))
    else:
        lines.append(_paint(f"nothing at or above {meta.fail_on}", "32", color))
    return lines
