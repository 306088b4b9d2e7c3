"""What doctor says: the catalogue's entries, the findings a check makes, and each check's outcome per resource.

A finding always carries the catalogue id, the exact field values it was decided on (evidence) and the fix (what to
change, the exact statement or value, and the aws CLI command that applies it). A check that could not run is an
outcome `not_checked` with the reason ("sqs:GetQueueAttributes denied", "not available from this endpoint"): never
a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "medium", "high", "critical")  # ascending
Hop = Literal["bus", "rule", "target", "target_dlq", "queue", "dlq", "mapping", "function", "role", "logs", "flow"]
HOPS: tuple[Hop, ...] = ("bus", "rule", "target", "target_dlq", "queue", "dlq", "mapping", "function", "role", "logs",
                         "flow")  # fmt: skip
Status = Literal["fail", "pass", "not_checked"]


def severity_rank(severity: str) -> int:
    """info 0 < medium 1 < high 2 < critical 3 (for --fail-on)."""
    return SEVERITIES.index(severity)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True)
class CheckInfo:
    """One entry of the catalogue (implemented or not yet)."""

    id: str
    hop: Hop
    title: str
    effects: tuple[str, ...]
    severity: Severity
    evidence_kinds: tuple[str, ...]
    effect_text: str
    detects: str = ""
    why: str = ""
    fix: str = ""
    source: str = ""


@dataclass(frozen=True)
class Fix:
    """How to make the finding go away: what to change, the exact value or statement, the command that applies it."""

    summary: str
    value: Any = None  # the exact statement / attribute value (JSON-able), when there is one
    command: str | None = None  # an aws CLI command a user can paste
    before: tuple[str, ...] = ()  # aws CLI commands to run first, in order (create the DLQ the command points at)


@dataclass(frozen=True)
class Finding:
    check: str  # catalogue id, e.g. "Q-POLICY-1"
    resource: str  # the ARN of the resource the finding is about
    message: str  # one line: what is wrong, in this pipeline's names
    evidence: dict[str, Any]  # the exact field values read (policy statement, both timeouts, event + why-not, ...)
    fix: Fix
    severity: Severity | None = None  # None: the catalogue's severity
    related: tuple[str, ...] = ()  # other resources involved (the rule whose ARN the policy lacks, the DLQ, ...)


@dataclass(frozen=True)
class Outcome:
    """A check's result on one resource: failed (with findings), passed, or not checked (with the reason)."""

    check: str
    resource: str
    status: Status
    findings: tuple[Finding, ...] = ()
    reason: str | None = None  # for not_checked: why


class NotChecked(Exception):
    """Raised by a check that cannot decide: the reason is shown as `not checked: <reason>`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Report:
    """Every outcome of a doctor run, in catalogue order per resource."""

    outcomes: list[Outcome] = field(default_factory=list)
    pipelines: list[list[str]] = field(default_factory=list)  # node ids per connected pipeline (for grouping)

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]
