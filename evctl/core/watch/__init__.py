"""watch: a discovered pipeline's live numbers, kept as history, returned as snapshots (`evctl pipeline watch`).

    hops = plan_hops(graph)                                   # rules, queues, DLQs, functions (core.pipeline graph)
    watcher = Watcher(hops, WatchClients(sqs=sqs, cloudwatch=cw), targets=["user-signup-queue"],
                      doctor=DoctorRuns(session, targets, graph=graph, samples=...), clock=clock)
    snapshot = watcher.tick()                                 # what is due now is read; a Snapshot comes back
    snapshot.as_dict()                                        # the documented JSON (schema evctl.watch/1)
    watcher.run(emit, sleep=sleep)                            # tick, emit, sleep until the next due time

Cheap by design: one GetQueueAttributes per queue every interval (DLQs once a minute), one GetMetricData a minute
for every metric of the pipeline (core.common.metrics), the doctor every few minutes on a thread.

Modules: plan (Hop, MetricSpec: what is read for each hop) · history (Ring, History: a ring buffer per series) ·
metrics (read_minutes: the one GetMetricData, through core.common.metrics) · doctor (DoctorRuns: findings at high or above) · snapshot
(Snapshot, HopView, SeriesView, Alert, DoctorView) · watcher (Watcher: the schedule and the reads). Nothing here
prints: evctl.render.watch draws the dashboard and its sparklines.
"""

from __future__ import annotations

from .doctor import FAIL_ON, DoctorRuns
from .history import History, Ring
from .plan import Hop, MetricSpec, plan_hops
from .snapshot import SCHEMA, Alert, DoctorView, HopView, SeriesView, Snapshot
from .watcher import DEFAULT_INTERVAL, DLQ_EVERY, DOCTOR_EVERY, HISTORY_SECONDS, METRICS_EVERY, WatchClients, Watcher

__all__ = [
    "DEFAULT_INTERVAL",
    "DLQ_EVERY",
    "DOCTOR_EVERY",
    "FAIL_ON",
    "HISTORY_SECONDS",
    "METRICS_EVERY",
    "SCHEMA",
    "Alert",
    "DoctorRuns",
    "DoctorView",
    "History",
    "Hop",
    "HopView",
    "MetricSpec",
    "Ring",
    "SeriesView",
    "Snapshot",
    "WatchClients",
    "Watcher",
    "plan_hops",
]
