"""The doctor inside the watch: every check over the watched targets, its findings at high or above as Alerts.

runs = DoctorRuns(session, targets, graph=graph, samples=lambda graph, account: [...])
runs()        # (Alert, ...): the first run checks the watch's own discovery (its reads cached: nothing read
              # twice); every later one discovers afresh, so a change to the pipeline is seen
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from evctl.core.doctor import Sample, failing, finding_severity
from evctl.core.doctor.session import DoctorSession, account_of
from evctl.core.pipeline import DescribeCache, Graph

from .snapshot import Alert

__all__ = ["FAIL_ON", "DoctorRuns"]

FAIL_ON = "high"  # the findings shown: high and critical
Samples = Callable[[Graph, str], list[Sample]]  # (graph, account) → the producer's events for the pattern checks


class DoctorRuns:
    def __init__(self, session: DoctorSession, targets: Sequence[str], *, graph: Graph, samples: Samples) -> None:
        self._session = session
        self._targets = list(targets)
        self._graph: Graph | None = graph  # the watch's discovery, for the first run
        self._samples = samples

    def __call__(self) -> tuple[Alert, ...]:
        graph, session = self._graph, self._session
        if graph is None:  # a later run: fresh reads (the watch runs for hours; the pipeline may have changed)
            session = replace(self._session, cache=DescribeCache())
            graph = session.discover(self._targets)
        self._graph = None
        ctx = session.context(graph, [])
        ctx.samples = self._samples(graph, account_of(graph))
        report = session.run(ctx)
        alerts = []
        for finding in failing(report, fail_on=FAIL_ON):
            node = graph.nodes.get(finding.resource)
            alerts.append(Alert(finding.check, finding_severity(finding), finding.resource,
                                node.name if node is not None else finding.resource, finding.message))  # fmt: skip
        order = {"critical": 0, "high": 1}
        return tuple(sorted(alerts, key=lambda a: (order.get(a.severity, 2), a.check, a.name)))
