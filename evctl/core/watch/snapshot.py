"""What the watch shows at one moment, as data: each hop's current numbers, its series (for sparklines), its notes,
the DLQs that grew, and the doctor's findings at high or above. `Snapshot.as_dict()` is the documented JSON
(schema evctl.watch/1, docs/pipeline.md "watch"): current numbers only, no series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.core.common.time import iso_utc

from .history import Point
from .plan import Hop

__all__ = ["SCHEMA", "Alert", "DoctorView", "HopView", "SeriesView", "Snapshot"]

SCHEMA = "evctl.watch/1"
Unit = Literal["count", "seconds", "milliseconds"]


@dataclass(frozen=True)
class SeriesView:
    name: str  # visible, in_flight, depth, oldest_age_seconds, matched, ...
    unit: Unit
    step: float  # seconds between points: the interval, the DLQ cadence or 60 (CloudWatch minutes)
    points: tuple[Point, ...]  # oldest first; a None value is a reading that could not be made
    current: float | None  # the newest reading (CloudWatch: the newest minute with a datapoint)


@dataclass(frozen=True)
class HopView:
    hop: Hop
    series: tuple[SeriesView, ...]
    notes: tuple[str, ...] = ()  # what could not be read, now or at discovery
    grew_by: int | None = None  # a DLQ: how much its depth rose since the reading before (None: not risen)
    added: int | None = None  # a DLQ: depth now minus depth when the watch started (None: not read twice)
    gone: bool = False  # its newest read said it no longer exists (deleted since discovery)

    def value(self, name: str) -> float | None:
        return next((s.current for s in self.series if s.name == name), None)


@dataclass(frozen=True)
class Alert:
    """One doctor finding at high or above."""

    check: str
    severity: str
    resource: str  # ARN
    name: str  # the resource's name (its ARN when it is not in the graph)
    message: str


@dataclass(frozen=True)
class DoctorView:
    ran_at: float | None  # when the newest finished run started; None: none finished yet
    alerts: tuple[Alert, ...] = ()
    error: str | None = None  # the newest run failed: why (the previous findings are kept)
    running: bool = False
    next_at: float | None = None


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 3)


@dataclass(frozen=True)
class Snapshot:
    at: float
    targets: tuple[str, ...]
    interval: float
    hops: tuple[HopView, ...]
    metrics: bool = True  # CloudWatch is read (--no-metrics: False)
    metrics_at: float | None = None  # when the newest GetMetricData was made
    metrics_note: str | None = None  # why the newest one gave nothing ("not read: cloudwatch:GetMetricData denied")
    doctor: DoctorView | None = None  # None: the doctor is not run (--no-doctor)
    calls: dict[str, int] = field(default_factory=dict)  # API calls made by the watch (discovery and doctor apart)

    def as_dict(self) -> dict[str, Any]:
        hops = []
        for view in self.hops:
            hop = view.hop
            entry: dict[str, Any] = {"kind": hop.kind, "role": hop.role, "name": hop.name, "arn": hop.id,
                                     "exists": hop.exists and not view.gone}  # fmt: skip
            for series in view.series:
                entry[series.name] = _number(series.current)
            if hop.role == "queue":
                entry["dlqs"] = list(hop.related)
            if hop.role == "dlq":
                entry["dlq_of"] = list(hop.related)
                entry["growing"] = view.grew_by is not None
                entry["grew_by"] = view.grew_by or 0
                entry["added_since_start"] = view.added
            entry["notes"] = list(view.notes)
            hops.append(entry)
        doctor: dict[str, Any] | None = None
        if self.doctor is not None:
            doctor = {
                "ran_at": iso_utc(self.doctor.ran_at * 1000) if self.doctor.ran_at is not None else None,
                "next_at": iso_utc(self.doctor.next_at * 1000) if self.doctor.next_at is not None else None,
                "running": self.doctor.running,
                "error": self.doctor.error,
                "findings": [
                    {"check": a.check, "severity": a.severity, "resource": a.resource, "name": a.name,
                     "message": a.message}
                    for a in self.doctor.alerts
                ],
            }  # fmt: skip
        return {
            "schema": SCHEMA,
            "at": iso_utc(self.at * 1000),
            "targets": list(self.targets),
            "interval_seconds": _number(self.interval),
            "hops": hops,
            "metrics": {
                "read": self.metrics,
                "read_at": iso_utc(self.metrics_at * 1000) if self.metrics_at is not None else None,
                "note": self.metrics_note,
            },
            "doctor": doctor,
            "calls": dict(sorted(self.calls.items())),
        }
