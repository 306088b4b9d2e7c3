"""A trace on a terminal: the timeline (a line per hop, its time and the time since publishing; with several SQS
routes, each route's hops under a line naming its rule, target and queue), the why-not of the near misses, and
where it stalled (or was processed twice) with the likely cause and its fix; rows for `-o text`.

    for line in timeline_lines(result, color=True): print(line)
    text_rows(result)                       # TEXT_COLUMNS rows: one per hop
"""

from __future__ import annotations

from typing import Any

from evctl.core.trace import TraceResult
from evctl.render.tables import printable

__all__ = ["TEXT_COLUMNS", "summary_line", "text_rows", "timeline_lines"]

TEXT_COLUMNS = [
    ("route", "ROUTE"),
    ("hop", "HOP"),
    ("status", "STATUS"),
    ("time", "TIME"),
    ("elapsed", "ELAPSED"),
    ("evidence", "EVIDENCE"),
    ("resource", "RESOURCE"),
    ("detail", "DETAIL"),
]
_MARK = {
    "ok": ("✓", "32"),
    "stalled": ("✗", "1;31"),
    "waiting": ("…", "33"),
    "skipped": ("·", "2"),
    "duplicated": ("‼", "1;33"),
}
_EVIDENCE = {
    "put_events": "PutEvents",
    "offline": "offline match",
    "ledger": "sandbox ledger",
    "metrics": "CloudWatch metrics",
    "logs": "function logs",
    "peek": "DLQ peek",
    "inferred": "inferred",
    "mapping": "event source mapping",
    "none": "",
}


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if color and style else text


def _clock(hop: dict[str, Any]) -> str:
    time = hop.get("time")
    return str(time)[11:23] if time else "-"


def _elapsed(hop: dict[str, Any]) -> str:
    value = hop.get("elapsed_seconds")
    return f"+{value:.3f}s" if isinstance(value, int | float) else "-"


def _name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if arn else "-"


def summary_line(result: TraceResult) -> str:
    """One line: processed in N s / stalled at HOP / stopped."""
    if result.status == "processed":
        last = max((h.time_ms for h in result.hops if h.time_ms is not None), default=None)
        took = f" in {(last - result.published_ms) / 1000:.1f} s" if last and result.published_ms else ""
        return f"processed{took}"
    if result.status == "duplicated":
        routes = {h.route for h in result.hops if h.status == "duplicated"}
        where = f" on {len(routes)} of {len(result.routes)} routes" if len(result.routes) > 1 else ""
        return f"processed more than once{where} (a duplicate)"
    if result.status == "stopped":
        return f"stopped after {result.waited_seconds:.1f} s: what is known so far"
    waited = f" (waited {result.waited_seconds:.0f} s of {result.timeout_seconds:g} s)" if result.timed_out else ""
    return f"stalled at {result.stalled_at or '-'}{waited}"


def timeline_lines(result: TraceResult, *, color: bool = False) -> list[str]:
    data = result.as_dict()
    lines = [_paint(f"event {result.event_id or '(not published)'} on bus {result.bus}", "1", color)]
    grouped = len({h["route"] for h in data["hops"] if h["route"]}) > 1
    routes = {r["id"]: r for r in data["routes"]}
    current: str | None = None
    for hop in data["hops"]:
        indent = "  "
        if grouped and hop["route"]:
            if hop["route"] != current:
                current = hop["route"]
                lines.append(_route_line(routes.get(current), current, color))
            indent = "      "
        mark, style = _MARK.get(hop["status"], ("?", ""))
        source = _EVIDENCE.get(hop["evidence"], hop["evidence"])
        source = f"  [{source}{'' if hop['exact'] else ', not exact'}]" if source else ""
        text = printable(f"{hop['hop']:<14} {_clock(hop):<12} {_elapsed(hop):>10}  {hop['detail']}", keep="")
        lines.append(f"{indent}{_paint(mark, style, color)} {text}{_paint(source, '2', color)}")
    for miss in result.near_misses:
        lines.append(printable(f"  why not {miss.rule}: {'; '.join(miss.why_not)}", keep=""))
    status = summary_line(result)
    lines.append(_paint(status, {"processed": "32", "duplicated": "1;33"}.get(result.status, "1;31"), color))
    if result.cause is not None:
        cause = result.cause
        lines.append(
            _paint(printable(f"likely cause: {cause.check} ({cause.severity}) {cause.message}", keep=""), "1", color)
        )
        lines.append(printable(f"  fix: {cause.fix}", keep=""))
        for command in (*cause.before, cause.command) if cause.command else cause.before:
            lines.append(printable(f"  $ {command}", keep=""))
    elif result.problem_hop is not None and result.checks:
        lines.append(f"doctor's {len(result.checks)} check(s) for this hop found nothing on this route")
    others = [f for f in result.findings if result.cause is None or f["check"] != result.cause.check]
    if others:
        lines.append(
            "also found: " + ", ".join(f"{f['check']} ({f['severity']}) on {_name(f['resource'])}" for f in others[:6])
        )
    for note in result.notes:
        lines.append(_paint(printable(f"note: {note}", keep=""), "2", color))
    return lines


def _route_line(route: dict[str, Any] | None, route_id: str, color: bool) -> str:
    """`  route user-signup-rule → user-signup-queue (target t1): processed`"""
    if route is None:
        return printable(f"  route {route_id}", keep="")
    text = f"  route {route['rule']} → {route['queue']} (target {route['target_id']}): {route['status']}"
    return _paint(printable(text, keep=""), "1", color)


def text_rows(result: TraceResult) -> list[dict[str, Any]]:
    return [
        {
            "route": hop["route"] or "-",
            "hop": hop["hop"],
            "status": hop["status"],
            "time": hop["time"] or "-",
            "elapsed": _elapsed(hop),
            "evidence": hop["evidence"],
            "resource": hop["resource"] or "-",
            "detail": hop["detail"],
        }
        for hop in result.as_dict()["hops"]
    ]
