"""What a check reads from: the discovered graph, cached clients (each read made once per run, shared with
discovery), the producer's sample events, the log window, and a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.core.iam import RolePolicies, read_role_policies
from evctl.core.pipeline import DescribeCache, Graph, Node
from evctl.core.queues import queue_attributes, ref_from_url
from evctl.core.rules import fetch_rules, fetch_targets

from .model import NotChecked

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_LOG_WINDOW_SECONDS = 3600  # how far back log checks look
DEFAULT_LOG_MAX_EVENTS = 2000  # and how many lines they read at most, per log group


@dataclass(frozen=True)
class Sample:
    """One event the producer sends: the EventBridge envelope (as a rule's pattern sees it), the bus it is put on,
    and where it came from (template name or file:line), for evidence."""

    event: dict[str, Any]
    bus: str = "default"
    origin: str = ""


@dataclass
class DoctorClients:
    """Clients as checks use them: each wrapped by the run's DescribeCache (typed as the real client)."""

    events: EventBridgeClient
    sqs: SQSClient
    lambda_: LambdaClient
    logs: CloudWatchLogsClient
    iam: IAMClient | None = None
    kms: KMSClient | None = None
    cloudwatch: CloudWatchClient | None = None


@dataclass
class DoctorContext:
    graph: Graph
    clients: DoctorClients
    cache: DescribeCache
    samples: list[Sample] = field(default_factory=list)  # the producer's events (none: sample checks not checked)
    log_window_seconds: int = DEFAULT_LOG_WINDOW_SECONDS
    log_max_events: int = DEFAULT_LOG_MAX_EVENTS
    now: Callable[[], float] = time.time
    region: str = ""
    account: str = ""

    # ---- graph navigation, so checks read as the pipeline does ----------------------------------------
    def upstream(self, node: Node, edge_kind: str) -> list[Node]:
        """Nodes with an edge of this kind into `node` (e.g. the rules that route to a queue)."""
        return [self.graph.nodes[e.source] for e in self.graph.in_edges(node.id) if e.kind == edge_kind]

    def downstream(self, node: Node, edge_kind: str) -> list[Node]:
        """Nodes `node` has an edge of this kind to (e.g. the queue a rule routes to)."""
        return [self.graph.nodes[e.target] for e in self.graph.out_edges(node.id) if e.kind == edge_kind]

    # ---- readers: the one way checks read a resource (same parameters as discovery, so the cache answers) -----
    def queue_attributes(self, queue: Node) -> dict[str, str]:
        """GetQueueAttributes(All) of a queue node, as discovery read it."""
        url = queue.attributes.get("url")
        if not url:
            raise NotChecked("the queue's attributes were not read" + _why(queue))
        return queue_attributes(self.clients.sqs, ref_from_url(str(url), self.region or _region_of(queue.id)))

    def rule(self, rule: Node) -> dict[str, Any]:
        """A rule node as ListRules gives it (Arn, EventPattern, State, EventBusName, ...): the bus's listing is read
        once per run for all its rules (discovery has usually read it already); DescribeRule only if it is missing."""
        bus = str(rule.attributes.get("event_bus") or "default")
        for listed in fetch_rules(self.clients.events, bus):
            if listed.get("Name") == rule.name:
                return {"EventBusName": bus, **listed}
        return dict(self.clients.events.describe_rule(Name=rule.name, EventBusName=bus))

    def targets(self, rule: Node) -> list[dict[str, Any]]:
        """ListTargetsByRule of a rule node (Arn, Input, InputPath, InputTransformer, RetryPolicy, DeadLetterConfig)."""
        return fetch_targets(self.clients.events, rule.name, str(rule.attributes.get("event_bus") or "default"))

    def function(self, function: Node) -> dict[str, Any]:
        """GetFunctionConfiguration of a function node (Timeout, Role, State, LoggingConfig, DeadLetterConfig, ...)."""
        return dict(self.clients.lambda_.get_function_configuration(FunctionName=function.name))

    def reserved_concurrency(self, function: Node) -> int | None:
        """The function's reserved concurrency (None: not reserved)."""
        answer = self.clients.lambda_.get_function_concurrency(FunctionName=function.name)
        value = answer.get("ReservedConcurrentExecutions")
        return None if value is None else int(value)

    def mapping(self, mapping: Node) -> dict[str, Any]:
        """GetEventSourceMapping of a mapping node (State, BatchSize, FilterCriteria, FunctionResponseTypes, ...)."""
        uuid = mapping.id.rsplit(":", 1)[-1]
        # Discovery of many targets listed every mapping (ListEventSourceMappings has the same fields): no call.
        listed = self.clients.lambda_.get_paginator("list_event_source_mappings").already_read()  # type: ignore[attr-defined]
        for page in listed or []:
            for entry in page.get("EventSourceMappings", []):
                if entry.get("UUID") == uuid:
                    return dict(entry)
        return dict(self.clients.lambda_.get_event_source_mapping(UUID=uuid))

    def alarm_names(self, namespace: str, metric: str, dimensions: dict[str, str]) -> list[str]:
        """The metric alarms watching this metric with exactly these dimensions (DescribeAlarmsForMetric's answer),
        from one DescribeAlarms listing of the account per run: one call per 100 alarms instead of one per question."""
        if self.clients.cloudwatch is None:
            raise NotChecked("CloudWatch is not read in this run")
        wanted = sorted(dimensions.items())
        return [
            str(alarm.get("AlarmName"))
            for page in self.clients.cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
            for alarm in page.get("MetricAlarms", [])
            if alarm.get("Namespace") == namespace
            and alarm.get("MetricName") == metric
            and sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions", [])) == wanted
        ]

    def role_policies(self, role_arn: str) -> RolePolicies:
        """Every policy deciding what an execution role may do (identity, boundary, trust)."""
        if self.clients.iam is None:
            raise NotChecked("IAM is not read in this run")
        return read_role_policies(self.clients.iam, role_arn)


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _why(node: Node) -> str:
    return f" ({'; '.join(node.not_read)})" if node.not_read else ""
