"""Run the implemented checks over a discovered graph: every check on every node of its kind, on a small thread
pool (reads go through the run's DescribeCache, so a resource is read once however many checks look at it).

    report = run_checks(ctx)                        # Report: outcomes (fail / pass / not_checked) per check × node
    failing(report, fail_on="high")                 # the findings at or above a severity (the exit-1 rule)
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from evctl.core.pipeline import Node, denied_action
from evctl.errors import EvctlError, error_code

from . import checks as _checks  # noqa: F401  importing the package registers every implemented check
from .catalogue import BY_ID, CATALOGUE
from .context import DoctorContext
from .model import Finding, NotChecked, Outcome, Report, severity_rank
from .registry import REGISTRY, Registered

DEFAULT_CHECK_WORKERS = 4
# Error codes that mean "this endpoint does not serve that call" (moto, LocalStack, a partition without the API).
# A bare "404" is what botocore makes of an HTML Not Found page: the endpoint has no such route (moto's
# GetAccountSettings), not a missing resource (those carry a named code such as ResourceNotFoundException).
_UNAVAILABLE_CODES = frozenset(
    {"NotImplemented", "UnknownOperationException", "InvalidAction", "UnsupportedOperation", "404"}
)


def _not_implemented(exc: ClientError) -> bool:
    """moto answers calls it lacks with 404/501 and "Not yet implemented" (LocalStack similarly)."""
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return "not yet implemented" in message or "not implemented" in message


def _one(ctx: DoctorContext, registered: Registered, node: Node) -> Outcome:
    try:
        findings = tuple(registered.run(ctx, node))
    except NotChecked as exc:
        return Outcome(registered.id, node.id, "not_checked", reason=exc.reason)
    except ClientError as exc:
        action = denied_action(exc)
        if action:
            return Outcome(registered.id, node.id, "not_checked", reason=f"{action} denied")
        if error_code(exc) in _UNAVAILABLE_CODES or _not_implemented(exc):
            return Outcome(registered.id, node.id, "not_checked", reason="not available from this endpoint")
        raise
    except NotImplementedError:  # moto raises it for calls it lacks
        return Outcome(registered.id, node.id, "not_checked", reason="not available from this endpoint")
    except EvctlError as exc:  # a core reader (fetch_rules, fetch_targets, read_role_policies) wrapped the denial
        action = denied_action(exc)
        if action:
            return Outcome(registered.id, node.id, "not_checked", reason=f"{action} denied")
        raise
    return Outcome(registered.id, node.id, "fail" if findings else "pass", findings=findings)


def run_checks(
    ctx: DoctorContext,
    *,
    only: frozenset[str] | None = None,
    workers: int = DEFAULT_CHECK_WORKERS,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    """Every implemented check (or `only` those ids) on every existing node of its kind; outcomes in catalogue order."""
    order = {info.id: i for i, info in enumerate(CATALOGUE)}
    jobs = [
        (registered, node)
        for registered in sorted(REGISTRY.values(), key=lambda r: order[r.id])
        if only is None or registered.id in only
        for node in ctx.graph.sorted_nodes()
        if node.kind in registered.on and node.exists
    ]
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(_one, ctx, registered, node) for registered, node in jobs]
        outcomes = []
        for future in futures:
            outcome = future.result()
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        # Ctrl-C / SIGTERM while checks run: drop the queued checks instead of running them all before stopping.
        pool.shutdown(wait=True, cancel_futures=True)
    return Report(outcomes=outcomes)


def finding_severity(finding: Finding) -> str:
    return finding.severity or BY_ID[finding.check].severity


def failing(report: Report, *, fail_on: str) -> list[Finding]:
    """Findings at or above `fail_on` (critical, high, medium, info): any of them makes `evctl doctor` exit 1."""
    floor = severity_rank(fail_on)
    return [f for f in report.findings if severity_rank(finding_severity(f)) >= floor]
