"""One `evctl doctor` run: discover the targets (or every queue of the region), build the DoctorContext, run the
selected checks, group the resources into pipelines.

    clients = SessionClients(events=…, sqs=…, lambda_=…, logs=…, iam=…, kms=…, cloudwatch=…)   # real clients
    session = DoctorSession(clients, region="us-east-1")
    graph = session.discover(["user-signup-queue"])            # [] → every queue in the region
    ctx = session.context(graph, samples, log_window_seconds=3600)
    report = session.run(ctx, checks=select_checks(["Q-*"]))  # Report, with .pipelines filled in

Every read goes through one DescribeCache shared by discovery and the checks (each resource read once per run).
Nothing here prints.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from evctl.core.pipeline import DEFAULT_WORKERS, DescribeCache, Graph, Node, PipelineClients, discover, discover_all
from evctl.errors import UsageError, error_code

from .catalogue import BY_ID, CATALOGUE
from .context import DEFAULT_LOG_MAX_EVENTS, DEFAULT_LOG_WINDOW_SECONDS, DoctorClients, DoctorContext, Sample
from .model import NotChecked, Outcome, Report
from .registry import REGISTRY
from .run import DEFAULT_CHECK_WORKERS, run_checks

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "CHECK_HINT",
    "NOT_IMPLEMENTED",
    "DoctorSession",
    "SessionClients",
    "pipelines_of",
    "select_checks",
]

CHECK_HINT = "check ids are listed in docs/doctor.md (a pattern such as 'Q-*' selects several)"
NOT_IMPLEMENTED = "not implemented yet in this evctl"
NO_LOGS = "log events not read (--no-logs)"
UNAVAILABLE = "not available from this endpoint"
_LOG_EVENT_READS = frozenset({"filter_log_events", "get_log_events", "start_query", "get_query_results",
                              "start_live_tail"})  # fmt: skip


@dataclass
class SessionClients:
    """Real boto3 clients, built by the caller before any thread starts; iam, kms and cloudwatch are optional."""

    events: EventBridgeClient
    sqs: SQSClient
    lambda_: LambdaClient
    logs: CloudWatchLogsClient
    iam: IAMClient | None = None
    kms: KMSClient | None = None
    cloudwatch: CloudWatchClient | None = None


def select_checks(patterns: Sequence[str]) -> list[str]:
    """The catalogue ids the --check values select (an id, or a pattern such as `Q-*`), in catalogue order; an
    empty list selects every check. UsageError (exit 2) for a value that selects none."""
    if not patterns:
        return [info.id for info in CATALOGUE]
    chosen: set[str] = set()
    for pattern in patterns:
        wanted = pattern.strip().upper()
        hits = {info.id for info in CATALOGUE if fnmatch.fnmatchcase(info.id, wanted)}
        if not hits:
            raise UsageError(f"--check {pattern!r}: no such check", CHECK_HINT)
        chosen |= hits
    return [info.id for info in CATALOGUE if info.id in chosen]


def pipelines_of(graph: Graph) -> list[list[str]]:
    """The graph's pipelines: its connected parts, joined through every node but a bus (a bus feeds many pipelines;
    it belongs to each one it has a rule in). Each is a list of node ids in graph order; pipelines sorted by the
    names of their queues."""
    parent: dict[str, str] = {node_id: node_id for node_id in graph.nodes}

    def find(node_id: str) -> str:
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    buses = {node.id for node in graph.nodes.values() if node.kind == "bus"}
    for edge in graph.sorted_edges():
        if edge.source in buses or edge.target in buses:
            continue
        if edge.source in parent and edge.target in parent:
            parent[find(edge.source)] = find(edge.target)
    groups: dict[str, list[str]] = {}
    for node in graph.sorted_nodes():
        if node.id not in buses:
            groups.setdefault(find(node.id), []).append(node.id)
    for edge in graph.sorted_edges():  # each bus joins the pipelines of its rules
        if edge.source in buses and edge.target in parent and edge.target not in buses:
            members = groups[find(edge.target)]
            if edge.source not in members:
                members.insert(0, edge.source)
    for bus in sorted(buses):  # a bus with no rule in the graph is a pipeline of its own
        if not any(bus in members for members in groups.values()):
            groups[bus] = [bus]
    order = {node.id: i for i, node in enumerate(graph.sorted_nodes())}
    pipelines = [sorted(members, key=order.__getitem__) for members in groups.values()]
    return sorted(pipelines, key=lambda members: _pipeline_key(graph, members))


def _pipeline_key(graph: Graph, members: list[str]) -> tuple[str, ...]:
    queues = [graph.nodes[m].name for m in members if graph.nodes[m].kind == "queue"]
    return (*queues, *(graph.nodes[m].name for m in members))


class _NoLogEvents:
    """The logs client with log-event reads refused (--no-logs): a check that needs them is not checked."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name in _LOG_EVENT_READS:
            raise NotChecked(NO_LOGS)
        if name == "get_paginator":
            return self._paginator
        return getattr(self._client, name)

    def _paginator(self, operation: str) -> Any:
        if operation in _LOG_EVENT_READS:
            raise NotChecked(NO_LOGS)
        return self._client.get_paginator(operation)


class _EndpointGaps:
    """A client whose calls the endpoint does not route (moto's server answers an unknown API path with a bare
    HTTP 404, error code "404": GetAccountSettings, say) raise NotChecked("not available from this endpoint"), as
    the runner does for NotImplemented; every other answer and error passes through unchanged."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "get_paginator":
            return lambda operation: _EndpointGaps(attribute(operation))
        if not callable(attribute) or name.startswith("_") or name in ("meta", "exceptions"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except Exception as exc:
                if error_code(exc) == "404":
                    raise NotChecked(UNAVAILABLE) from exc
                raise

        return call


@dataclass
class DoctorSession:
    """The reads and the checks of one run, through one DescribeCache."""

    clients: SessionClients
    region: str = ""
    workers: int = DEFAULT_WORKERS
    metrics: bool = True
    cache: DescribeCache = field(default_factory=DescribeCache)

    def discover(self, targets: Sequence[str]) -> Graph:
        """The connected graph of the targets; none given: of every queue in the region (discover_all: ListQueues,
        an empty graph when the region has none). Unknown target: NotFoundError (exit 3); malformed or ambiguous:
        UsageError (exit 2); ListQueues denied: exit 4."""
        clients = PipelineClients(self.clients.events, self.clients.sqs, self.clients.lambda_, self.clients.logs,
                                  self.clients.cloudwatch if self.metrics else None)  # fmt: skip
        if not targets:
            return discover_all(clients, workers=self.workers, cache=self.cache, metrics=self.metrics)
        graph = discover(clients, list(targets), workers=self.workers, cache=self.cache, metrics=self.metrics)
        graph.targets = list(targets)
        return graph

    def context(
        self,
        graph: Graph,
        samples: Iterable[Sample],
        *,
        log_window_seconds: int = DEFAULT_LOG_WINDOW_SECONDS,
        log_max_events: int = DEFAULT_LOG_MAX_EVENTS,
        logs: bool = True,
        now: Callable[[], float] | None = None,
    ) -> DoctorContext:
        """The checks' view: the graph, the cached clients (log-event reads refused when `logs` is False)."""
        c, cache = self.clients, self.cache

        def wrap(client: Any, service: str) -> Any:
            return _EndpointGaps(cache.wrap(client, service))

        logs_client = wrap(c.logs, "logs")
        clients = DoctorClients(
            events=cast("EventBridgeClient", wrap(c.events, "events")),
            sqs=cast("SQSClient", wrap(c.sqs, "sqs")),
            lambda_=cast("LambdaClient", wrap(c.lambda_, "lambda")),
            logs=cast("CloudWatchLogsClient", logs_client if logs else _NoLogEvents(logs_client)),
            iam=cast("IAMClient", wrap(c.iam, "iam")) if c.iam is not None else None,
            kms=cast("KMSClient", wrap(c.kms, "kms")) if c.kms is not None else None,
            cloudwatch=(
                cast("CloudWatchClient", wrap(c.cloudwatch, "cloudwatch"))
                if c.cloudwatch is not None and self.metrics
                else None
            ),
        )
        extra: dict[str, Any] = {"now": now} if now is not None else {}
        return DoctorContext(
            graph,
            clients,
            cache,
            samples=list(samples),
            log_window_seconds=log_window_seconds,
            log_max_events=log_max_events,
            region=self.region,
            account=account_of(graph),
            **extra,
        )

    def run(
        self,
        ctx: DoctorContext,
        *,
        checks: Sequence[str] | None = None,
        explicit: bool = False,
        workers: int = DEFAULT_CHECK_WORKERS,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> Report:
        """The selected checks (default: all) over the graph. With `explicit` (the user named them), a selected
        check that is not implemented yet is reported as not checked, never as passed."""
        selected = list(checks) if checks is not None else [info.id for info in CATALOGUE]
        implemented = frozenset(i for i in selected if i in REGISTRY)
        report = run_checks(ctx, only=implemented, workers=workers, on_outcome=on_outcome) if implemented else Report()
        if explicit:
            report.outcomes.extend(
                Outcome(check_id, "", "not_checked", reason=NOT_IMPLEMENTED) for check_id in selected
                if check_id not in REGISTRY
            )  # fmt: skip
        report.pipelines = pipelines_of(ctx.graph)
        return report


def check_jobs(graph: Graph, checks: Sequence[str]) -> int:
    """How many outcomes run_checks will produce for these checks (a progress bar's total)."""
    nodes: list[Node] = [node for node in graph.sorted_nodes() if node.exists]
    return sum(1 for check_id in checks if check_id in REGISTRY for node in nodes if node.kind in REGISTRY[check_id].on)


def account_of(graph: Graph) -> str:
    """The account of the graph's resources (from their ARNs); '' when none says."""
    for node in graph.sorted_nodes():
        parts = node.id.split(":")
        if len(parts) > 4 and parts[0] == "arn" and parts[4].isdigit():
            return parts[4]
    return ""


def unimplemented(checks: Sequence[str]) -> list[str]:
    """The selected checks that are in the catalogue but not implemented yet."""
    return [check_id for check_id in checks if check_id not in REGISTRY and check_id in BY_ID]
