"""Discovery: from the resources the user names to the whole connected pipeline, with read-only calls.

    clients = PipelineClients(events=…, sqs=…, lambda_=…, logs=…, cloudwatch=…)   # built before threads start
    graph = discover(clients, ["user-signup-queue"], workers=8)                  # Graph (graph.py)

Forwards: bus → rules (ListRules) → targets (ListTargetsByRule): SQS queues, other kinds as leaves, and each
target's DeadLetterConfig → queue (GetQueueAttributes) → its RedrivePolicy DLQ → event source mappings
(ListEventSourceMappings by EventSourceArn) → functions (GetFunctionConfiguration, GetFunctionConcurrency) →
log groups (LoggingConfig.LogGroup or /aws/lambda/<name>, via core.logs' resolution; DescribeLogGroups).
Backwards: rules on any bus that target a queue (ListRuleNamesByTarget, per bus of ListEventBuses), queues that
use it as their DLQ (ListDeadLetterSourceQueues), a function's mappings (ListEventSourceMappings by FunctionName).
A bus reached through one of its rules is shown but not expanded (name the bus to see all of its rules).

Many targets at once (`discover_all`, doctor's no-target mode: every queue of ListQueues; or WIDE_TARGETS or more
targets named) read the same graph with fewer calls, because the account is listed anyway:
  - "which rules target this queue": from the forward listing (ListRules of each bus, ListTargetsByRule of each of
    its rules) instead of ListRuleNamesByTarget per queue × bus, on each bus with no more rules than queues to
    search (a bus with more keeps ListRuleNamesByTarget; so does one whose listing fails);
  - event source mappings: one unfiltered ListEventSourceMappings (paginated) instead of one per queue and function;
  - rules are read from their bus's listing (no DescribeRule);
  - discover_all only: queue URLs come from ListQueues (no GetQueueUrl) and, every queue of the account being walked
    anyway, no ListDeadLetterSourceQueues for them (their RedrivePolicy, read anyway, gives the same edges).
The graph is the same as the union of the targets' own graphs (tests/core/test_pipeline.py checks it); only the
`not read` notes of reads that were not needed differ (a denied ListRuleNamesByTarget that was never called).

Every read goes through one DescribeCache (each resource read once per run, however many hops reach it) and runs
on a small thread pool. A read that is denied marks the node "not read: <action> denied"; a resource another
points at that does not exist is a node with exists=False. Only the user's own targets fail the run: unknown →
NotFoundError (exit 3), ambiguous or malformed → UsageError (exit 2).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from evctl.core.logs import resolve_sources
from evctl.core.pipeline.cache import DescribeCache, denied_action
from evctl.core.pipeline.graph import EdgeKind, Graph, Node
from evctl.core.pipeline.numbers import add_numbers
from evctl.core.pipeline.targets import TARGET_HINT, TargetSpec, parse_target
from evctl.core.queues import (
    QueueRef,
    dead_letter_sources,
    queue_attributes,
    ref_from_url,
    resolve_queue,
    stats_from_attributes,
)
from evctl.core.rules import RuleInfo, fetch_rules, fetch_targets
from evctl.errors import QUEUE_NOT_FOUND_CODES, EvctlError, NotFoundError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["DEFAULT_WORKERS", "WIDE_TARGETS", "PipelineClients", "Walker", "discover", "discover_all"]

DEFAULT_WORKERS = 8  # concurrent reads: well inside EventBridge's, SQS's and Lambda's control-plane rates
WIDE_TARGETS = 8  # this many targets or more: list the account's rules and mappings once instead of per resource
T = TypeVar("T")
_NOT_FOUND = {"ResourceNotFoundException", "NotFoundException", *QUEUE_NOT_FOUND_CODES}


@dataclass
class PipelineClients:
    """Real boto3 clients (built by the caller, before discovery starts its threads); cloudwatch is optional."""

    events: EventBridgeClient
    sqs: SQSClient
    lambda_: LambdaClient
    logs: CloudWatchLogsClient
    cloudwatch: CloudWatchClient | None = None  # GetMetricData for message ages; None: no metrics


@dataclass(frozen=True)
class Work:
    kind: str
    args: tuple[str, ...]
    prefetched: Any = field(default=None, compare=False, hash=False)
    root: str = field(default="", compare=False, hash=False)  # for a user's target: the node id it names

    @property
    def key(self) -> tuple[str, ...]:
        return (self.kind, *self.args)


@dataclass
class Found:
    """What one read step learned: nodes, edges, denials, and further work."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str, EdgeKind, dict[str, Any]]] = field(default_factory=list)
    denials: list[tuple[str, str]] = field(default_factory=list)  # (node id, action)
    work: list[Work] = field(default_factory=list)

    def node(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def edge(self, source: str, target: str, kind: EdgeKind, **attributes: Any) -> None:
        self.edges.append((source, target, kind, attributes))


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, NotFoundError) or error_code(exc) in _NOT_FOUND


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else ["arn", "aws", "", "", "", arn]


def _function_name(ref: str) -> str:
    """A function's name from its name or (possibly qualified) ARN."""
    return ref.split(":")[6] if ref.startswith("arn:") and ref.count(":") >= 6 else ref


def _function_arn(arn: str) -> str:
    """The unqualified function ARN (an ESM's FunctionArn may carry a version or alias)."""
    return ":".join(arn.split(":")[:7])


class Walker:
    """The reads behind discovery: each step (a Work) reads through the cache and returns what it Found."""

    def __init__(self, clients: PipelineClients, cache: DescribeCache) -> None:
        self.cache = cache
        # Stand-ins for the clients: existing core code (rules, queues, logs) reads through the cache unchanged.
        self.events: Any = cache.wrap(clients.events, "events")
        self.sqs: Any = cache.wrap(clients.sqs, "sqs")
        self.lambda_: Any = cache.wrap(clients.lambda_, "lambda")
        self.logs: Any = cache.wrap(clients.logs, "logs")
        self.cloudwatch: Any = cache.wrap(clients.cloudwatch, "cloudwatch") if clients.cloudwatch else None
        self.region = str(clients.sqs.meta.region_name or "")
        self.partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        self.account = ""
        self._refs: dict[str, QueueRef] = {}
        self.expanded_buses: set[str] = set()  # buses named as targets: all their rules are listed
        # Wide mode (many targets): the buses whose ListRules serves their rules (no DescribeRule), the reverse
        # index "target ARN → rules" built from every rule's ListTargetsByRule, and the queues of ListQueues.
        self.wide = False
        self.listed_buses: set[str] = set()
        self.listed_queues: set[str] = set()  # discover_all: every queue of the account (no DLQ-source listing)
        self.expected_queues = 0  # how many queues the walk will search backwards (the index's break-even)
        self._lock = threading.Lock()
        self._walked: set[str] = set()  # queue ARNs whose backward rule search was asked for
        self._bus_mode: dict[str, str] = {}  # bus → "pending" | "indexed" | "search"
        self._by_target: dict[str, dict[str, set[str]]] = {}  # bus → target ARN → rule names

    # ---- helpers ---------------------------------------------------------------------------------------
    def _learn(self, arn: str) -> None:
        parts = _arn_parts(arn)
        if not self.account and parts[4]:
            self.account = parts[4]
            self.partition = parts[1] or self.partition

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def bus_arn(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("events", f"event-bus/{name}")

    def rule_arn(self, bus: str, name: str) -> str:
        """Only for a rule that could not be read: a read rule's ARN is DescribeRule's / ListRules' own."""
        return self._arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")

    @staticmethod
    def _try(found: Found, node_id: str, read: Callable[[], T]) -> T | None:
        """read(); None when it was denied (the node says so). Any other error goes up."""
        try:
            return read()
        except Exception as exc:
            action = denied_action(exc)
            if action is None:
                raise
            found.denials.append((node_id, action))
            return None

    def run(self, work: Work) -> Found:
        handler: Callable[..., Found] = getattr(self, f"_{work.kind}")
        return handler(work, *work.args)

    # ---- resolving the user's targets ------------------------------------------------------------------
    def resolve(self, text: str) -> Work:
        """The first step for one target; NotFoundError / UsageError for one that names nothing (or several)."""
        spec = parse_target(text)
        if spec.kind is None:
            return self._resolve_bare(spec)
        resolver = {"bus": self._find_bus, "rule": self._find_rule, "queue": self._find_queue,
                    "function": self._find_function}[spec.kind]  # fmt: skip
        try:
            found = resolver(spec)
        except Exception as exc:
            if denied_action(exc) is None or not spec.value.startswith("arn:"):
                raise
            return self._work_for(spec)  # denied: walk the ARN given; its node will say what was not read
        if found is None:
            if spec.kind == "rule":
                raise NotFoundError(f"rule {spec.value} not found on bus {spec.bus}", TARGET_HINT)
            raise NotFoundError(f"{spec.kind} {spec.value} not found in {self.region}", TARGET_HINT)
        return found

    def _resolve_bare(self, spec: TargetSpec) -> Work:
        hits: dict[str, Work] = {}
        denied: list[BaseException] = []
        for kind, finder in (("bus", self._find_bus), ("queue", self._find_queue), ("function", self._find_function)):
            try:
                work = finder(TargetSpec(spec.text, kind, spec.value))  # type: ignore[arg-type]
            except UsageError:
                continue  # not a valid name of this kind
            except Exception as exc:
                if denied_action(exc) is None:
                    raise
                denied.append(exc)
                continue
            if work is not None:
                hits[kind] = work
        if len(hits) == 1:
            return next(iter(hits.values()))
        if len(hits) > 1:
            kinds = " and a ".join(sorted(hits))
            raise UsageError(
                f"target {spec.text!r} is ambiguous: there is a {kinds} of that name",
                "say which with a prefix (" + ", ".join(f"{k}:{spec.value}" for k in sorted(hits)) + ") or an ARN",
            )
        if denied:
            raise from_aws(denied[0], spec.value) or denied[0]
        raise NotFoundError(f"no bus, queue or function named {spec.value!r} in {self.region}", TARGET_HINT)

    def _work_for(self, spec: TargetSpec) -> Work:
        """The first step for an ARN that could not be read (denied): walk it as given."""
        self._learn(spec.value)
        if spec.kind == "bus":
            return Work("bus", (spec.value.rpartition("event-bus/")[2], "expand"), root=spec.value)
        if spec.kind == "rule":
            return Work("rule", (str(spec.bus), spec.value), root=self.rule_arn(str(spec.bus), spec.value))
        if spec.kind == "queue":
            return Work("queue", (spec.value,), root=spec.value)
        arn = _function_arn(spec.value)
        return Work("function", (arn,), root=arn)

    def _buses(self) -> dict[str, dict[str, Any]]:
        """Every bus in the account and region by name, from ListEventBuses (one read per run, shared by the bus
        steps and every queue's backwards step). It has no paginator: NextToken by hand."""
        buses: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {}
        while True:
            page = self.events.list_event_buses(**kwargs)
            buses.update((str(bus["Name"]), dict(bus)) for bus in page.get("EventBuses", []))
            if not page.get("NextToken"):
                return buses
            kwargs = {"NextToken": page["NextToken"]}

    def _bus_entry(self, name_or_arn: str) -> dict[str, Any] | None:
        """A bus's Name, Arn and Policy: from the listing when it is there, else DescribeEventBus (a bus of
        another account given by ARN, or a listing that was denied); None when there is no such bus."""
        try:
            for bus in self._buses().values():
                if name_or_arn in (bus.get("Name"), bus.get("Arn")):
                    return bus
            if not name_or_arn.startswith("arn:"):
                return None  # the listing is the account's: a name not in it is no bus
        except Exception as exc:
            if denied_action(exc) is None:
                raise
        try:
            return dict(self.events.describe_event_bus(Name=name_or_arn))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise

    def _find_bus(self, spec: TargetSpec) -> Work | None:
        bus = self._bus_entry(spec.value)
        if bus is None:
            return None
        self._learn(bus["Arn"])
        return Work("bus", (str(bus["Name"]), "expand"), root=str(bus["Arn"]))

    def _find_rule(self, spec: TargetSpec) -> Work | None:
        try:
            rule = self.events.describe_rule(Name=spec.value, EventBusName=spec.bus)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        self._learn(rule["Arn"])
        return Work("rule", (str(spec.bus), spec.value), root=str(rule["Arn"]))

    def _find_queue(self, spec: TargetSpec) -> Work | None:
        try:
            ref = resolve_queue(self.sqs, spec.value)
        except NotFoundError:
            return None
        self._learn(ref.arn)
        self._refs[ref.arn] = ref  # its URL is known: the queue's own step need not ask again
        return Work("queue", (ref.arn,), root=ref.arn)

    def _find_function(self, spec: TargetSpec) -> Work | None:
        try:
            config = self.lambda_.get_function_configuration(FunctionName=_function_name(spec.value))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        arn = _function_arn(str(config["FunctionArn"]))
        self._learn(arn)
        return Work("function", (arn,), root=arn)

    # ---- one step per kind ----------------------------------------------------------------------------
    def _bus(self, work: Work, name: str, mode: str) -> Found:
        found = Found()
        node_id = self.bus_arn(name)
        node = found.node(Node(node_id, "bus", name.rpartition("event-bus/")[2] or name))
        bus = self._try(found, node_id, lambda: self._bus_entry(name))
        if bus is None and not found.denials:
            node.exists = False
            return found
        if bus is not None:
            node.id = str(bus["Arn"])
            node.name = str(bus["Name"])
            node.attributes["has_policy"] = bool(bus.get("Policy"))
        if mode == "expand":
            rules = self._try(found, node.id, lambda: fetch_rules(self.events, node.name))
            for rule in rules or []:
                found.work.append(Work("rule", (node.name, str(rule["Name"])), prefetched=rule))
            if rules is not None:
                node.attributes["rules"] = len(rules)
        return found

    def _rule(self, work: Work, bus: str, name: str) -> Found:
        found = Found()
        rule: dict[str, Any] | None = work.prefetched
        placeholder = self.rule_arn(bus, name)
        if rule is None and bus in self.expanded_buses:
            # Its bus is being listed anyway (the same cached ListRules): no DescribeRule, whichever step came first.
            listed = self._try(found, placeholder, lambda: fetch_rules(self.events, bus))
            rule = next((r for r in listed or [] if r.get("Name") == name), None)
        elif rule is None and bus in self.listed_buses:
            # Wide mode lists every bus (the same cached ListRules); a listing that failed: DescribeRule, as ever.
            try:
                rule = next((r for r in fetch_rules(self.events, bus) if r.get("Name") == name), None)
            except Exception:
                rule = None
        if rule is None:
            try:
                rule = self._try(found, placeholder, lambda: self.events.describe_rule(Name=name, EventBusName=bus))
            except Exception as exc:
                if not _is_not_found(exc):
                    raise
                found.node(Node(placeholder, "rule", name, {"event_bus": bus}, exists=False))
                return found
        node_id = str(rule["Arn"]) if rule and rule.get("Arn") else placeholder
        targets = self._try(found, node_id, lambda: fetch_targets(self.events, name, bus))
        info = RuleInfo.from_aws(rule or {"Name": name}, bus, targets or [])
        node = found.node(Node(node_id, "rule", name, {"event_bus": bus}))
        if rule is not None:
            node.attributes.update(state=info.state, pattern=info.pattern, schedule=info.schedule)
        if targets is not None:
            node.attributes["targets"] = len(targets)
        found.work.append(Work("bus", (bus, "no-expand")))
        found.edge(self.bus_arn(bus), node_id, "routes_to")
        for target in info.targets:
            self._target(found, node_id, target)
        return found

    def _target(self, found: Found, rule_id: str, target: dict[str, Any]) -> None:
        arn, target_id = str(target.get("Arn", "")), str(target.get("Id", ""))
        self._learn(arn)
        if "InputTransformer" in target:
            given = "transformer"
        elif "InputPath" in target:
            given = "path"
        elif "Input" in target:
            given = "constant"
        else:
            given = "event"
        if _arn_parts(arn)[2] == "sqs":
            found.work.append(Work("queue", (arn,)))
        else:
            service = _arn_parts(arn)[2] or "unknown"
            leaf = found.node(Node(arn, "other_target", arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1] or arn))
            leaf.attributes["service"] = service
        found.edge(rule_id, arn, "routes_to", target_id=target_id, input=given)
        dlq = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
        if dlq:
            found.work.append(Work("queue", (dlq,)))
            found.edge(rule_id, dlq, "target_dlq", target_id=target_id)

    def _queue(self, work: Work, arn: str) -> Found:
        found = Found()
        name = _arn_parts(arn)[5]
        node = found.node(Node(arn, "queue", name, {"fifo": name.endswith(".fifo")}))
        # Backwards and downstream reads need only the ARN: rules that target it, mappings that poll it.
        found.work.append(Work("queue_mappings", (arn,)))
        buses = self._try(found, arn, self._buses)
        for bus in sorted(buses) if buses is not None else ["default"]:  # denied: the bus every account has
            found.work.extend(self._rules_targeting(arn, bus))
        try:
            ref = self._queue_ref(arn) or self._try(found, arn, lambda: resolve_queue(self.sqs, arn))
        except EvctlError as exc:
            if isinstance(exc, NotFoundError):
                node.exists = False
                return found
            if isinstance(exc, UsageError):  # another region: not ours to read
                node.not_read.append(f"not read: {exc.message}")
                return found
            raise
        if ref is None:
            return found
        self._refs.setdefault(arn, ref)
        try:
            attributes = self._try(found, arn, lambda: queue_attributes(self.sqs, ref))
        except NotFoundError:
            node.exists = False
            return found
        if attributes is None:
            return found
        if arn not in self.listed_queues:  # every listed queue is walked: its RedrivePolicy gives the same edge
            found.work.append(Work("queue_sources", (arn, ref.url)))
        stats = stats_from_attributes(ref, attributes)
        node.attributes.update(
            url=ref.url,
            visible=stats.visible,
            in_flight=stats.in_flight,
            delayed=stats.delayed,
            visibility_timeout=stats.visibility_timeout,
            retention_seconds=stats.retention_seconds,
            encryption=_encryption(attributes),
            has_policy=bool(attributes.get("Policy")),
        )
        if stats.redrive is not None:
            node.attributes["max_receive_count"] = stats.redrive.max_receive_count
            found.work.append(Work("queue", (stats.redrive.dead_letter_arn,)))
            found.edge(arn, stats.redrive.dead_letter_arn, "dead_letters_to",
                       max_receive_count=stats.redrive.max_receive_count)  # fmt: skip
        return found

    def _queue_ref(self, arn: str) -> QueueRef | None:
        """A queue's ref without GetQueueUrl when a queue of the same account and region is known: SQS URLs differ
        only in their last two segments (account/name). A wrong guess is a missing queue, read as such."""
        known = self._refs.get(arn)
        if known is not None:
            return known
        parts = _arn_parts(arn)
        for ref in list(self._refs.values()):
            if ref.account == parts[4] and ref.region == parts[3] == self.region:
                base = ref.url[: -len(f"{ref.account}/{ref.name}")]
                if base.endswith("/"):
                    sibling = ref_from_url(f"{base}{parts[4]}/{parts[5]}", self.region)
                    self._refs[arn] = sibling
                    return sibling
        return None

    # ---- wide mode: "which rules target this queue" from the forward listing ----------------------------------
    def _rules_targeting(self, arn: str, bus: str) -> list[Work]:
        """The steps that find the rules on `bus` that target queue `arn`: a ListRuleNamesByTarget step, or (wide
        mode, bus indexed) the rules the index already knows, the rest arriving as their targets are listed."""
        if not self.wide:
            return [Work("queue_rules", (arn, bus))]
        with self._lock:
            self._walked.add(arn)
            mode = self._bus_mode.get(bus, "search")
            if mode == "search":
                return [Work("queue_rules", (arn, bus))]
            if mode == "pending":  # the bus's step will answer for every walked queue
                return []
            return [Work("rule", (bus, name)) for name in sorted(self._by_target.get(bus, {}).get(arn, ()))]

    def _search(self, bus: str) -> list[Work]:
        """Give up the index on `bus` (under the lock): ListRuleNamesByTarget for every queue walked so far."""
        if self._bus_mode.get(bus) == "search":
            return []
        self._bus_mode[bus] = "search"
        return [Work("queue_rules", (arn, bus)) for arn in sorted(self._walked)]

    def _bus_index(self, work: Work, bus: str) -> Found:
        """List the bus's rules; index it (one ListTargetsByRule per rule) if it has no more rules than queues to
        search, else search each queue with ListRuleNamesByTarget as a single target would."""
        found = Found()
        try:
            rules = fetch_rules(self.events, bus)
        except Exception:  # denied or failing: the per-queue search says so on the queues' nodes, as ever
            rules = None
        with self._lock:
            if rules is None or len(rules) > self.expected_queues:
                found.work.extend(self._search(bus))
                return found
            self._bus_mode[bus] = "indexed"
        found.work.extend(Work("rule_probe", (bus, str(rule["Name"]))) for rule in rules)
        return found

    def _rule_probe(self, work: Work, bus: str, name: str) -> Found:
        """One rule's targets (the same cached ListTargetsByRule its rule step reads) into the index; the rule is
        a step of the walk when it targets a queue already walked (a later queue finds it in the index)."""
        found = Found()
        try:
            targets = fetch_targets(self.events, name, bus)
        except Exception:  # this rule's targets are unknown: the bus falls back to ListRuleNamesByTarget
            with self._lock:
                found.work.extend(self._search(bus))
            return found
        with self._lock:
            if self._bus_mode.get(bus) == "search":
                return found
            index = self._by_target.setdefault(bus, {})
            for target in targets:
                arn = str(target.get("Arn", ""))
                index.setdefault(arn, set()).add(name)
                if arn in self._walked:
                    found.work.append(Work("rule", (bus, name)))
        return found

    def _queue_rules(self, work: Work, arn: str, bus: str) -> Found:
        found = Found()
        pages = self._try(
            found, arn,
            lambda: self.events.get_paginator("list_rule_names_by_target").paginate(TargetArn=arn, EventBusName=bus),
        )  # fmt: skip
        for page in pages or []:
            for rule in page.get("RuleNames", []):
                found.work.append(Work("rule", (bus, str(rule))))
        return found

    def _queue_sources(self, work: Work, arn: str, url: str) -> Found:
        found = Found()
        ref = ref_from_url(url, self.region)
        try:
            sources = self._try(found, arn, lambda: list(dead_letter_sources(self.sqs, ref)))
        except NotFoundError:  # deleted since its attributes were read
            return found
        for source in sources or []:
            found.work.append(Work("queue", (ref_from_url(source, self.region).arn,)))
        return found

    def _queue_mappings(self, work: Work, arn: str) -> Found:
        if self.wide:
            return self._listed_mappings(arn, lambda m: str(m.get("EventSourceArn", "")) == arn)
        return self._mappings(arn, EventSourceArn=arn)

    def _function_mappings(self, work: Work, arn: str) -> Found:
        if self.wide:
            return self._listed_mappings(arn, lambda m: _function_arn(str(m.get("FunctionArn", ""))) == arn)
        return self._mappings(arn, FunctionName=_function_name(arn))

    def _mappings(self, node_id: str, **by: str) -> Found:
        found = Found()
        pages = self._try(
            found, node_id, lambda: self.lambda_.get_paginator("list_event_source_mappings").paginate(**by)
        )
        for page in pages or []:
            for mapping in page.get("EventSourceMappings", []):
                self._mapping(found, mapping)
        return found

    def _listed_mappings(self, node_id: str, wanted: Callable[[dict[str, Any]], bool]) -> Found:
        """Wide mode: the node's mappings from one unfiltered ListEventSourceMappings (all pages, read once)."""
        found = Found()
        pages = self._try(found, node_id, lambda: self.lambda_.get_paginator("list_event_source_mappings").paginate())
        for page in pages or []:
            for mapping in page.get("EventSourceMappings", []):
                if wanted(mapping):
                    self._mapping(found, mapping)
        return found

    def _mapping(self, found: Found, mapping: dict[str, Any]) -> None:
        uuid = str(mapping.get("UUID", ""))
        function_arn = str(mapping.get("FunctionArn", ""))
        source = str(mapping.get("EventSourceArn", ""))
        self._learn(function_arn)
        mapping_id = str(mapping.get("EventSourceMappingArn") or self._arn("lambda", f"event-source-mapping:{uuid}"))
        scaling = mapping.get("ScalingConfig") or {}
        filters = (mapping.get("FilterCriteria") or {}).get("Filters") or []
        found.node(Node(mapping_id, "mapping", uuid, {
            "state": mapping.get("State"),
            "batch_size": mapping.get("BatchSize"),
            "batching_window": mapping.get("MaximumBatchingWindowInSeconds", 0),
            "report_batch_item_failures": "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
            "maximum_concurrency": scaling.get("MaximumConcurrency"),
            "filters": len(filters),
        }))  # fmt: skip
        if _arn_parts(source)[2] == "sqs":
            found.work.append(Work("queue", (source,)))
        elif source:
            leaf = found.node(Node(source, "other_target", source.rsplit(":", 1)[-1].rsplit("/", 1)[-1] or source))
            leaf.attributes["service"] = _arn_parts(source)[2] or "unknown"
        if source:
            found.edge(source, mapping_id, "polls")
        if function_arn:
            found.work.append(Work("function", (_function_arn(function_arn),)))
            found.edge(mapping_id, _function_arn(function_arn), "invokes")

    def _function(self, work: Work, arn: str) -> Found:
        found = Found()
        name = _function_name(arn)
        node = found.node(Node(arn, "function", name))
        found.work.append(Work("function_mappings", (arn,)))
        try:
            config = self._try(found, arn, lambda: self.lambda_.get_function_configuration(FunctionName=name))
        except Exception as exc:
            if not _is_not_found(exc):
                raise
            node.exists = False
            return found
        if config is not None:
            node.attributes.update(
                timeout=config.get("Timeout"),
                runtime=config.get("Runtime") or config.get("PackageType"),
                memory=config.get("MemorySize"),
                state=config.get("State"),
            )
            concurrency = self._try(found, arn, lambda: self.lambda_.get_function_concurrency(FunctionName=name))
            if concurrency is not None:
                node.attributes["reserved_concurrency"] = concurrency.get("ReservedConcurrentExecutions")
        self._log_group(found, arn, name)
        return found

    def _log_group(self, found: Found, function_arn: str, name: str) -> None:
        # core.logs decides which group a function logs to (LoggingConfig.LogGroup, else /aws/lambda/<name>);
        # its GetFunctionConfiguration and DescribeLogGroups calls are the ones made above and below (cached).
        source = resolve_sources([name], self.logs, self.lambda_)[0]
        group_arn = source.arn or self._arn("logs", f"log-group:{source.group}")
        node = found.node(Node(group_arn, "log_group", source.group, exists=source.exists))
        found.edge(function_arn, group_arn, "logs_to")
        described = self._try(
            found, group_arn, lambda: self.logs.describe_log_groups(logGroupNamePrefix=source.group, limit=50)
        )
        for group in (described or {}).get("logGroups", []):
            if group.get("logGroupName") == source.group:
                node.attributes["retention_days"] = group.get("retentionInDays")  # None: never expire
                node.attributes["stored_bytes"] = group.get("storedBytes")


def _encryption(attributes: dict[str, str]) -> str:
    if attributes.get("KmsMasterKeyId"):
        return f"kms:{attributes['KmsMasterKeyId']}"
    if attributes.get("SqsManagedSseEnabled", "").lower() == "true":
        return "sqs-managed"
    return "none"


def _merge(graph: Graph, found: Found) -> None:
    for node in found.nodes:
        graph.add(node)
    for source, target, kind, attributes in found.edges:
        graph.connect(source, target, kind, **attributes)
    for node_id, action in found.denials:
        if node_id in graph.nodes:
            graph.nodes[node_id].deny(action)


def discover(
    clients: PipelineClients,
    targets: Iterable[str],
    *,
    workers: int = DEFAULT_WORKERS,
    cache: DescribeCache | None = None,
    metrics: bool = True,
) -> Graph:
    """The connected pipeline graph of every target; each resource read once (through `cache`), `workers` at a time.
    With WIDE_TARGETS targets or more, the account's rules and mappings are listed once (the same graph)."""
    cache = cache or DescribeCache()
    walker = Walker(clients, cache)
    given = list(targets)
    if not given:
        raise UsageError("no target given", TARGET_HINT)
    if len(given) < WIDE_TARGETS:
        first = [walker.resolve(text) for text in given]
    else:  # resolved a few at a time; the first bad target (in the order given) is the error
        resolving = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="evctl-resolve")
        try:
            first = list(resolving.map(walker.resolve, given))
        finally:
            resolving.shutdown(wait=True, cancel_futures=True)
    walker.expanded_buses = {work.args[0] for work in first if work.kind == "bus"}
    extra = _widen(walker, sum(1 for work in first if work.kind == "queue")) if len(given) >= WIDE_TARGETS else []
    return _walk(walker, first, extra, Graph(targets=given), workers=workers, metrics=metrics)


def discover_all(
    clients: PipelineClients,
    *,
    workers: int = DEFAULT_WORKERS,
    cache: DescribeCache | None = None,
    metrics: bool = True,
) -> Graph:
    """Every pipeline in the region that ends in an SQS queue (doctor with no target): the graph of every queue of
    ListQueues, the same as discover() of all of them, read with fewer calls (no GetQueueUrl, no per-queue
    ListRuleNamesByTarget, ListEventSourceMappings or ListDeadLetterSourceQueues). No queue: an empty graph."""
    cache = cache or DescribeCache()
    walker = Walker(clients, cache)
    try:
        pages = walker.sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000})
        urls = sorted({str(url) for page in pages for url in page.get("QueueUrls") or []})
    except Exception as exc:
        error = from_aws(exc, "the region's queues")
        if error is None:
            raise
        raise error from exc
    graph = Graph(targets=[])
    if not urls:
        return graph
    first = []
    for url in urls:
        ref = ref_from_url(url, walker.region)
        walker._learn(ref.arn)
        walker._refs[ref.arn] = ref  # its URL is the service's own: no GetQueueUrl
        walker.listed_queues.add(ref.arn)
        first.append(Work("queue", (ref.arn,), root=ref.arn))
    extra = _widen(walker, len(first))
    return _walk(walker, first, extra, graph, workers=workers, metrics=metrics)


def _widen(walker: Walker, expected_queues: int) -> list[Work]:
    """Wide mode: every bus is listed (one ListEventBuses, one ListRules each) and indexed where that is cheaper."""
    walker.wide = True
    walker.expected_queues = expected_queues
    try:
        buses = sorted(walker._buses())
    except Exception as exc:
        if denied_action(exc) is None:
            raise
        buses = ["default"]  # as a queue's own backward step does: the bus every account has
    walker.listed_buses = set(buses)
    walker._bus_mode = dict.fromkeys(buses, "pending")
    return [Work("bus_index", (bus,)) for bus in buses]


def _walk(walker: Walker, first: list[Work], extra: list[Work], graph: Graph, *, workers: int, metrics: bool) -> Graph:
    """Run the steps (and those they find) on a pool of `workers` threads; merge what they found into the graph."""
    seen: set[tuple[str, ...]] = set()
    pending: dict[Future[Found], Work] = {}
    denials: list[tuple[str, str]] = []
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="evctl-pipeline")

    def submit(items: Iterable[Work]) -> None:
        for item in items:
            if item.key not in seen:
                seen.add(item.key)
                pending[pool.submit(walker.run, item)] = item

    try:
        submit(first)
        submit(extra)
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                pending.pop(future)
                found = future.result()
                _merge(graph, found)
                denials.extend(found.denials)
                submit(found.work)
    finally:  # an error or Ctrl-C: steps not started are dropped, the few in flight finish their one call
        pool.shutdown(wait=True, cancel_futures=True)
    for node_id, action in denials:  # a denial noted before its node arrived (another step made it)
        if node_id in graph.nodes:
            graph.nodes[node_id].deny(action)
    graph.roots = sorted({work.root for work in first} & set(graph.nodes))
    add_numbers(graph, walker.cloudwatch if metrics else None)
    return graph
