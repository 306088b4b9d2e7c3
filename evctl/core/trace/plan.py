"""Before publishing: which rules the event matches (evctl's offline engine, with why-not for the near misses), and
the way each SQS target of a matched rule leads (queue → mappings → functions → log groups, the queue's DLQ and the
target's DLQ), read once with the pipeline discovery.

    plan = make_plan(events_client, pipeline_clients, entry)      # Plan: matched rules, near misses, routes
    plan.routes[0].queue_arn, plan.routes[0].functions[0].log_group
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.core.patterns import EventError, compile_pattern, normalize_event
from evctl.core.pipeline import DescribeCache, Graph, Node, PipelineClients, discover
from evctl.core.rules import BusRules, bus_name
from evctl.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

__all__ = ["MAX_NEAR_MISSES", "FunctionHop", "Plan", "Route", "RuleMatch", "make_plan", "near_misses"]

MAX_NEAR_MISSES = 3  # rules shown with their why-not
NEAR = 2  # a rule missing on at most this many fields is a near miss even when another rule matched


@dataclass(frozen=True)
class RuleMatch:
    name: str
    arn: str
    state: str  # ENABLED / DISABLED / ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS


@dataclass(frozen=True)
class FunctionHop:
    """A function that reads the route's queue through a mapping, and where it logs."""

    mapping_arn: str
    mapping_state: str
    function_arn: str
    function_name: str
    log_group: str
    log_group_arn: str = ""  # the graph's node id for the log group ("" when the graph has none)
    mapping_uuid: str = ""  # GetEventSourceMapping's key ("" : the last part of mapping_arn)
    timeout: float | None = None  # the function's Timeout, seconds (None: unknown)
    batching_window: float = 0.0  # the mapping's MaximumBatchingWindowInSeconds

    @property
    def uuid(self) -> str:
        return self.mapping_uuid or self.mapping_arn.rsplit(":", 1)[-1]


@dataclass
class Route:
    """One SQS target of one matched rule, and everything after it."""

    rule: str
    rule_arn: str
    target_id: str
    queue_arn: str
    queue_name: str
    queue_url: str | None
    exists: bool = True
    dlq_arn: str | None = None  # the queue's RedrivePolicy DLQ
    dlq_url: str | None = None
    max_receive_count: int | None = None
    visibility_timeout: int | None = None  # the queue's VisibilityTimeout, seconds (None: unknown)
    target_dlq_arn: str | None = None  # the target's DeadLetterConfig (EventBridge's own DLQ)
    target_dlq_url: str | None = None
    functions: list[FunctionHop] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The route's name in a trace: the rule and its target's id (unique per route)."""
        return f"{self.rule}/{self.target_id}"


@dataclass
class Plan:
    bus: str
    envelope: dict[str, Any]  # the event as the rules see it (id and time filled in; replaced after publishing)
    matched: list[RuleMatch]
    near: list[tuple[RuleMatch, list[str]]]  # (rule, why-not)
    routes: list[Route]
    other_targets: list[tuple[str, str]]  # (rule, target ARN) of kinds trace does not follow (SNS, Lambda, ...)
    graph: Graph
    cache: DescribeCache

    @property
    def enabled(self) -> list[RuleMatch]:
        return [m for m in self.matched if m.state != "DISABLED"]


def near_misses(bus_rules: BusRules, envelope: Mapping[str, Any], matched: bool) -> list[tuple[RuleMatch, list[str]]]:
    """The rules that came closest without matching, each with its why-not: the few with the fewest failing fields
    (when nothing matched), else only those missing by at most NEAR fields."""
    found: list[tuple[int, str, RuleMatch, list[str]]] = []
    for name, rule in bus_rules.rules.items():
        why = [str(m) for m in compile_pattern(rule["EventPattern"]).explain(envelope)]
        if not why or (matched and len(why) > NEAR):
            continue
        found.append((len(why), name, _match(rule), why))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(match, why) for _, _, match, why in found[:MAX_NEAR_MISSES]]


def _match(rule: Mapping[str, Any]) -> RuleMatch:
    return RuleMatch(str(rule.get("Name")), str(rule.get("Arn") or ""), str(rule.get("State") or "ENABLED"))


def envelope_of(entry: Mapping[str, Any], account: str | None, region: str | None) -> dict[str, Any]:
    try:
        envelope, _ = normalize_event(entry, account=account, region=region)
    except EventError as exc:
        raise UsageError(f"the event cannot be matched: {exc.reason}", exc.hint) from None
    return dict(envelope)


def _account(bus_rules: BusRules) -> str | None:
    for rule in bus_rules.rules.values():
        parts = str(rule.get("Arn") or "").split(":")
        if len(parts) > 4 and parts[4].isdigit():
            return parts[4]
    return None


def make_plan(
    events: EventBridgeClient,
    clients: PipelineClients,
    entry: Mapping[str, Any],
    *,
    region: str | None,
    workers: int = 8,
) -> Plan:
    """Match the entry against its bus's rules offline; discover the pipeline after each matched rule (or, when
    none matches, around the near misses: the doctor checks of the matching hop read it)."""
    bus = bus_name(entry.get("EventBusName"))
    bus_rules = BusRules.load(events, bus)
    envelope = envelope_of(entry, _account(bus_rules), region)
    names = bus_rules.matching(envelope)
    matched = [_match(bus_rules.rules[name]) for name in names]
    near = near_misses(bus_rules, envelope, matched=bool(matched))
    cache = DescribeCache()
    around = [m.arn for m in matched if m.arn] or [m.arn for m, _ in near if m.arn]
    targets = around or [f"bus:{bus_rules.bus}"]
    graph = discover(clients, targets, workers=workers, cache=cache, metrics=False)
    routes, others = routes_of(graph, [m for m in matched if m.state != "DISABLED"])
    return Plan(bus_rules.bus, envelope, matched, near, routes, others, graph, cache)


def routes_of(graph: Graph, rules: list[RuleMatch]) -> tuple[list[Route], list[tuple[str, str]]]:
    """Each matched rule's SQS targets as Routes (in the graph's order); other targets as (rule, ARN)."""
    routes: list[Route] = []
    others: list[tuple[str, str]] = []
    for rule in rules:
        if rule.arn not in graph.nodes:
            continue
        dlq_of_target = {
            dict(e.attributes).get("target_id"): graph.nodes[e.target]
            for e in graph.out_edges(rule.arn)
            if e.kind == "target_dlq" and e.target in graph.nodes
        }
        for edge in graph.out_edges(rule.arn):
            if edge.kind != "routes_to" or edge.target not in graph.nodes:
                continue
            node = graph.nodes[edge.target]
            if node.kind != "queue":
                others.append((rule.name, node.id))
                continue
            target_id = str(dict(edge.attributes).get("target_id") or "")
            routes.append(_route(graph, rule, target_id, node, dlq_of_target.get(target_id)))
    return routes, others


def _number(value: object) -> int | None:
    """A whole number of seconds from a graph attribute (an int or numeric text); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _url(node: Node | None) -> str | None:
    return str(node.attributes["url"]) if node is not None and node.attributes.get("url") else None


def _route(graph: Graph, rule: RuleMatch, target_id: str, queue: Node, target_dlq: Node | None) -> Route:
    route = Route(
        rule=rule.name,
        rule_arn=rule.arn,
        target_id=target_id,
        queue_arn=queue.id,
        queue_name=queue.name,
        queue_url=_url(queue),
        exists=queue.exists,
        max_receive_count=queue.attributes.get("max_receive_count"),
        visibility_timeout=_number(queue.attributes.get("visibility_timeout")),
        target_dlq_arn=target_dlq.id if target_dlq is not None else None,
        target_dlq_url=_url(target_dlq),
    )
    for edge in graph.out_edges(queue.id):
        if edge.kind == "dead_letters_to" and edge.target in graph.nodes:
            dlq = graph.nodes[edge.target]
            route.dlq_arn, route.dlq_url = dlq.id, _url(dlq) if dlq.exists else None
        if edge.kind == "polls" and edge.target in graph.nodes:
            route.functions.extend(_functions(graph, graph.nodes[edge.target]))
    return route


def _functions(graph: Graph, mapping: Node) -> list[FunctionHop]:
    hops = []
    for edge in graph.out_edges(mapping.id):
        if edge.kind != "invokes" or edge.target not in graph.nodes:
            continue
        function = graph.nodes[edge.target]
        groups = [graph.nodes[e.target] for e in graph.out_edges(function.id) if e.kind == "logs_to"]
        hops.append(
            FunctionHop(
                mapping_arn=mapping.id,
                mapping_state=str(mapping.attributes.get("state") or ""),
                function_arn=function.id,
                function_name=function.name,
                log_group=groups[0].name if groups else f"/aws/lambda/{function.name}",
                log_group_arn=groups[0].id if groups else "",
                mapping_uuid=mapping.name,
                timeout=_number(function.attributes.get("timeout")),
                batching_window=float(_number(mapping.attributes.get("batching_window")) or 0),
            )
        )
    return hops
