"""core/pipeline: discovery on moto (the seed pipeline as the sandbox provisions it) from every kind of target,
backwards discovery, other target kinds as leaves, missing resources, AccessDenied becoming "not read", each
resource read once (counted with a botocore before-call hook), metrics, targets, the cache, the JSON schema."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.pipeline import (
    EDGE_KINDS,
    NODE_KINDS,
    SCHEMA,
    WIDE_TARGETS,
    DescribeCache,
    Edge,
    Graph,
    Node,
    PipelineClients,
    denied_action,
    discover,
    discover_all,
    parse_target,
)
from evctl.errors import NotFoundError, ServiceError, UsageError
from evctl.sandbox import provision as pv

REGION = "us-east-1"
ACCOUNT = "123456789012"
Q = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-queue"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-dlq"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/user-signup-rule"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:user-signup-handler"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/user-signup-handler"


class Seed:
    def __init__(self) -> None:
        names = ("events", "sqs", "lambda", "iam", "logs")
        self.raw: dict[str, Any] = {name: boto3.client(name, region_name=REGION) for name in names}  # type: ignore[call-overload]
        self.raw["cloudwatch"] = boto3.client("cloudwatch", region_name=REGION)
        self.sandbox = pv.SandboxClients(*(self.raw[name] for name in names))
        self.pipeline = pv.provision(self.sandbox)
        self.mapping = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{self.pipeline.esm_uuid}"

    def clients(self, cloudwatch: bool = True) -> PipelineClients:
        raw = self.raw
        return PipelineClients(
            raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["cloudwatch"] if cloudwatch else None
        )

    def count_calls(self) -> Counter[tuple[str, str, str]]:
        """Every real AWS call the clients make: (service, operation, params)."""
        calls: Counter[tuple[str, str, str]] = Counter()
        for service, client in self.raw.items():

            def hook(model: Any, params: Any, service: str = service, **_: Any) -> None:
                request = {key: params.get(key) for key in ("url_path", "query_string", "body")}
                calls[(service, model.name, json.dumps(request, sort_keys=True, default=str))] += 1

            client.meta.events.register("before-call.*.*", hook)
        return calls

    def deny(self, service: str, operation: str, code: str | None = None, status: int = 400) -> None:
        """Make `operation` answer AccessDenied (as IAM would), or another error, before it reaches moto."""

        class Http:
            status_code = status

        def hook(**_: Any) -> tuple[Any, dict[str, Any]]:
            denied = "AccessDeniedException" if service == "lambda" else "AccessDenied"
            error = {"Code": code or denied, "Message": "no"}
            return Http(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}

        client = self.raw[service]
        client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", hook)


@pytest.fixture
def seed() -> Iterator[Seed]:
    with mock_aws():
        yield Seed()


SEED_NODES = {BUS: "bus", RULE: "rule", Q: "queue", DLQ: "queue", FN: "function", LOGS: "log_group"}


def seed_edges(seed: Seed) -> set[tuple[str, str, str]]:
    return {
        (BUS, RULE, "routes_to"),
        (RULE, Q, "routes_to"),
        (Q, DLQ, "dead_letters_to"),
        (Q, seed.mapping, "polls"),
        (seed.mapping, FN, "invokes"),
        (FN, LOGS, "logs_to"),
    }


def edges(graph: Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in graph.edges}


# ---- from each kind of target ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "root"),
    [
        ("user-signup-queue", Q),
        ("queue:user-signup-queue", Q),
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/user-signup-queue", Q),
        (Q, Q),
        ("user-signup-dlq", DLQ),  # backwards: whose DLQ is this (ListDeadLetterSourceQueues)
        ("default", BUS),
        ("bus:default", BUS),
        (BUS, BUS),
        ("default/user-signup-rule", RULE),
        ("rule:user-signup-rule", RULE),
        (RULE, RULE),
        ("user-signup-handler", FN),  # backwards: the function's mappings (ListEventSourceMappings)
        ("function:user-signup-handler", FN),
        (FN, FN),
    ],
)
def test_the_seed_pipeline_is_found_whole_from_any_hop(seed: Seed, target: str, root: str) -> None:
    graph = discover(seed.clients(), [target])
    assert {n.id: n.kind for n in graph.nodes.values()} == {**SEED_NODES, seed.mapping: "mapping"}
    assert edges(graph) == seed_edges(seed)
    assert graph.roots == [root]
    assert all(n.exists and not n.not_read for n in graph.nodes.values())


def test_live_numbers_on_each_node(seed: Seed) -> None:
    seed.raw["sqs"].send_message(QueueUrl=seed.pipeline.queue_url, MessageBody="{}")
    seed.raw["sqs"].send_message(QueueUrl=seed.pipeline.dlq_url, MessageBody="{}")
    seed.raw["sqs"].send_message(QueueUrl=seed.pipeline.dlq_url, MessageBody="{}", DelaySeconds=5)
    seed.raw["lambda"].put_function_concurrency(FunctionName=pv.FUNCTION, ReservedConcurrentExecutions=0)
    seed.raw["logs"].put_retention_policy(logGroupName=pv.LOG_GROUP, retentionInDays=14)
    graph = discover(seed.clients(), ["user-signup-queue"])
    rule, queue, dlq = graph.nodes[RULE].attributes, graph.nodes[Q].attributes, graph.nodes[DLQ].attributes
    assert rule["state"] == "ENABLED"
    assert rule["pattern"] == {"source": ["my.webapp"], "detail-type": ["UserSignup"]}
    assert (queue["visible"], queue["in_flight"], queue["delayed"], queue["dlq_depth"]) == (1, 0, 0, 1)
    assert (queue["visibility_timeout"], queue["max_receive_count"], queue["dlq_for"]) == (18, 3, [])
    assert queue["oldest_age_seconds"] is None  # moto emits no AWS/SQS metrics: "-", never a failure
    assert (dlq["visible"], dlq["delayed"], dlq["dlq_for"]) == (1, 1, ["dead_letters_to"])
    mapping = graph.nodes[seed.mapping].attributes
    assert mapping["state"] == "Enabled"
    assert (mapping["batch_size"], mapping["batching_window"], mapping["report_batch_item_failures"]) == (10, 0, True)
    assert mapping["maximum_concurrency"] is None
    function = graph.nodes[FN].attributes
    assert (function["timeout"], function["runtime"], function["reserved_concurrency"]) == (3, "python3.12", 0)
    assert graph.nodes[LOGS].attributes["retention_days"] == 14


def test_oldest_message_age_comes_from_cloudwatch_where_metrics_exist(seed: Seed) -> None:
    seed.raw["cloudwatch"].put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[{
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{"Name": "QueueName", "Value": "user-signup-queue"}],
            "Timestamp": datetime.fromtimestamp(time.time() - 120, UTC),
            "Value": 420.0,
        }],
    )  # fmt: skip
    graph = discover(seed.clients(), ["user-signup-queue"])
    assert graph.nodes[Q].attributes["oldest_age_seconds"] == 420
    assert graph.nodes[DLQ].attributes["oldest_age_seconds"] is None


def test_metrics_denied_or_off_never_fail_the_run(seed: Seed) -> None:
    seed.deny("cloudwatch", "GetMetricData")
    graph = discover(seed.clients(), ["user-signup-queue"])
    assert graph.nodes[Q].attributes["oldest_age_seconds"] is None
    assert graph.nodes[Q].not_read == ["not read: cloudwatch:GetMetricData denied"]
    assert discover(seed.clients(cloudwatch=False), [Q]).nodes[Q].attributes["oldest_age_seconds"] is None


# ---- backwards, other kinds, missing -------------------------------------------------------------------
def test_rules_on_any_bus_that_target_the_queue_are_found_backwards(seed: Seed) -> None:
    events = seed.raw["events"]
    events.create_event_bus(Name="orders")
    rule_arn = events.put_rule(Name="copy-signups", EventBusName="orders", EventPattern='{"source": ["orders"]}')[
        "RuleArn"
    ]
    events.put_targets(Rule="copy-signups", EventBusName="orders", Targets=[{"Id": "q", "Arn": Q}])
    events.put_rule(Name="unrelated", EventBusName="orders", EventPattern='{"source": ["x"]}')
    graph = discover(seed.clients(), ["user-signup-handler"])  # function → mapping → queue → rules on every bus
    orders = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"
    assert rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/copy-signups"
    assert {(orders, rule_arn, "routes_to"), (rule_arn, Q, "routes_to")} <= edges(graph)
    assert graph.nodes[orders].kind == "bus"
    assert not any(n.name == "unrelated" for n in graph.nodes.values())  # a bus reached via a rule is not expanded
    assert "unrelated" in {n.name for n in discover(seed.clients(), ["orders"]).nodes.values()}


def test_other_target_kinds_are_leaves_and_target_dlqs_are_followed(seed: Seed) -> None:
    events, sqs = seed.raw["events"], seed.raw["sqs"]
    target_dlq_url = sqs.create_queue(QueueName="rule-dlq")["QueueUrl"]
    target_dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:rule-dlq"
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:audit"
    events.put_targets(
        Rule=pv.RULE,
        Targets=[
            {"Id": "audit", "Arn": topic, "DeadLetterConfig": {"Arn": target_dlq}},
            {"Id": "direct", "Arn": FN, "InputPath": "$.detail"},
        ],
    )
    graph = discover(seed.clients(), ["default/user-signup-rule"])
    assert graph.nodes[topic].kind == "other_target"
    assert graph.nodes[topic].attributes["service"] == "sns"
    assert {(RULE, topic, "routes_to"), (RULE, target_dlq, "target_dlq"), (RULE, FN, "routes_to")} <= edges(graph)
    assert graph.nodes[target_dlq].attributes["dlq_for"] == ["target_dlq"]
    assert target_dlq_url.endswith("rule-dlq")
    assert not graph.out_edges(topic)  # a leaf: nothing read behind it
    routed = [e for e in graph.edges if e.source == RULE and e.target == FN]
    assert dict(routed[0].attributes) == {"input": "path", "target_id": "direct"}


def test_resources_pointed_at_but_missing_are_nodes_that_say_so(seed: Seed) -> None:
    gone = f"arn:aws:sqs:{REGION}:{ACCOUNT}:deleted-queue"
    seed.raw["events"].put_targets(Rule=pv.RULE, Targets=[{"Id": "gone", "Arn": gone}])
    seed.raw["lambda"].delete_function(FunctionName=pv.FUNCTION)  # its mapping stays, as in AWS
    graph = discover(seed.clients(), ["user-signup-queue"])
    assert graph.nodes[gone].exists is False
    assert graph.nodes[FN].exists is False
    assert (seed.mapping, FN, "invokes") in edges(graph)


# ---- AccessDenied → "not read" ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "operation", "node", "action"),
    [
        ("sqs", "GetQueueAttributes", Q, "sqs:GetQueueAttributes"),
        ("sqs", "ListDeadLetterSourceQueues", DLQ, "sqs:ListDeadLetterSourceQueues"),
        ("events", "ListTargetsByRule", RULE, "events:ListTargetsByRule"),
        ("events", "ListRuleNamesByTarget", Q, "events:ListRuleNamesByTarget"),
        ("lambda", "GetFunctionConfiguration", FN, "lambda:GetFunctionConfiguration"),
        ("lambda", "GetFunctionConcurrency", FN, "lambda:GetFunctionConcurrency"),
        ("lambda", "ListEventSourceMappings", Q, "lambda:ListEventSourceMappings"),
        ("logs", "DescribeLogGroups", LOGS, "logs:DescribeLogGroups"),
        ("events", "ListEventBuses", Q, "events:ListEventBuses"),
    ],
)
def test_a_denied_read_marks_its_node_not_read_and_the_run_goes_on(
    seed: Seed, service: str, operation: str, node: str, action: str
) -> None:
    start = "default" if operation in ("ListEventSourceMappings", "ListRuleNamesByTarget") else "user-signup-queue"
    seed.deny(service, operation)
    graph = discover(seed.clients(), [start])
    assert f"not read: {action} denied" in graph.nodes[node].not_read
    assert graph.nodes[node].exists
    assert {BUS, RULE} <= set(graph.nodes)


def test_any_other_read_error_fails_the_run_as_a_service_error(seed: Seed) -> None:
    seed.deny("events", "ListTargetsByRule", code="InternalFailure", status=500)
    with pytest.raises(ServiceError, match="InternalFailure"):
        discover(seed.clients(), ["user-signup-queue"])


def test_a_denied_queue_read_leaves_its_numbers_out_not_zero(seed: Seed) -> None:
    seed.deny("sqs", "GetQueueAttributes")
    graph = discover(seed.clients(), ["default"])
    assert "visible" not in graph.nodes[Q].attributes
    assert DLQ not in graph.nodes  # the RedrivePolicy was not readable: the DLQ cannot be known
    assert (Q, seed.mapping, "polls") in edges(graph)  # mappings are found by the queue's ARN all the same


def test_denied_action_follows_wrapped_errors() -> None:
    from botocore.exceptions import ClientError

    from evctl.errors import from_aws

    raw = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueAttributes")
    raw.evctl_action = "sqs:GetQueueAttributes"  # type: ignore[attr-defined]
    try:
        try:
            raise raw
        except ClientError as exc:
            raise (from_aws(exc) or exc) from exc
    except Exception as wrapped:
        assert denied_action(wrapped) == "sqs:GetQueueAttributes"
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "GetFunction")
    assert denied_action(missing) is None


# ---- each resource read once --------------------------------------------------------------------------
@pytest.mark.parametrize("targets", [["user-signup-queue"], ["default", "user-signup-handler", "user-signup-dlq"]])
def test_each_resource_is_read_once_per_run(seed: Seed, targets: list[str]) -> None:
    calls = seed.count_calls()
    cache = DescribeCache()
    graph = discover(seed.clients(), targets, cache=cache)
    repeated = {call: n for call, n in calls.items() if n > 1}
    assert repeated == {}
    assert sum(calls.values()) == cache.total_calls  # every real call went through the cache
    assert len(graph.nodes) == 7
    # The walk is linear in resources: at most 3 calls a resource, bare-name probes included (docs/pipeline.md has the count).
    assert sum(calls.values()) <= 3 * len(graph.nodes)
    if "user-signup-dlq" not in targets:  # reached by ARN: its URL is derived from the queue's, not asked for
        assert not [c for c in calls if c[1] == "GetQueueUrl" and "user-signup-dlq" in c[2]]
    assert [c[1] for c in calls if c[0] == "events" and c[1] in ("ListEventBuses", "DescribeEventBus")] == [
        "ListEventBuses"
    ]  # one listing serves the bus node, the bare-name probe and every queue's backwards step


def test_the_cache_makes_one_call_for_concurrent_readers() -> None:
    cache = DescribeCache()
    started = threading.Barrier(8)
    made: list[int] = []

    def slow() -> int:
        made.append(1)
        time.sleep(0.05)
        return 42

    def reader() -> int:
        started.wait()
        return int(cache.read(("sqs", "GetQueueAttributes", "{}"), "sqs:GetQueueAttributes", slow))

    threads_results: list[int] = []
    threads = [threading.Thread(target=lambda: threads_results.append(reader())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [1] and threads_results == [42] * 8
    assert cache.calls == {("sqs", "GetQueueAttributes", "{}"): 1}


def test_the_cache_keeps_errors_and_tags_them_with_the_action() -> None:
    cache = DescribeCache()
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError) as caught:
            cache.read(("lambda", "GetFunctionConfiguration", "{}"), "lambda:GetFunctionConfiguration", fail)
        assert caught.value.evctl_action == "lambda:GetFunctionConfiguration"  # type: ignore[attr-defined]
    assert calls == [1]


# ---- the user's targets ---------------------------------------------------------------------------------
def test_an_unknown_target_is_not_found(seed: Seed) -> None:
    for target in ("no-such-thing", "queue:no-such-queue", "default/no-such-rule", "function:nope",
                   f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope", "bus:nope"):  # fmt: skip
        with pytest.raises(NotFoundError):
            discover(seed.clients(), [target])


def test_a_name_that_is_several_things_is_ambiguous(seed: Seed) -> None:
    seed.raw["events"].create_event_bus(Name="user-signup-queue")
    with pytest.raises(UsageError, match=r"ambiguous.*bus and a queue") as caught:
        discover(seed.clients(), ["user-signup-queue"])
    assert "queue:user-signup-queue" in str(caught.value)
    assert discover(seed.clients(), ["queue:user-signup-queue"]).roots == [Q]


@pytest.mark.parametrize(
    "text",
    ["", "  ", "a b", "bad\x1bname", "arn:aws:sqs", "arn:aws:sns:us-east-1:123456789012:topic", "queue:",
     "function:has/slash", "rule:a/b/", "/rule", "widget:x", "arn:aws:events:us-east-1:1:connection/x",
     "queue:arn:aws:lambda:us-east-1:123456789012:function:f", "q" * 300],
)  # fmt: skip
def test_malformed_targets_are_usage_errors_before_any_call(text: str) -> None:
    with pytest.raises(UsageError):
        parse_target(text)


@pytest.mark.parametrize(
    ("text", "kind", "value", "bus"),
    [
        ("orders", None, "orders", None),
        ("orders/new-order", "rule", "new-order", "orders"),
        ("aws.partner/acme/events/rule-1", "rule", "rule-1", "aws.partner/acme/events"),
        ("rule:new-order", "rule", "new-order", "default"),
        (f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/new-order", "rule", "new-order", "orders"),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:live", "function", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:live", None),
        ("function:f", "function", "f", None),
    ],
)  # fmt: skip
def test_targets_parse(text: str, kind: str | None, value: str, bus: str | None) -> None:
    spec = parse_target(text)
    assert (spec.kind, spec.value, spec.bus) == (kind, value, bus)


# ---- the JSON ------------------------------------------------------------------------------------------
def test_the_json_graph_has_the_documented_schema_sorted_and_stable(seed: Seed) -> None:
    first = discover(seed.clients(), ["user-signup-queue"]).as_dict()
    second = discover(seed.clients(), ["user-signup-handler", "user-signup-dlq"]).as_dict()
    assert json.loads(json.dumps(first)) == first
    assert set(first) == {"schema", "targets", "roots", "nodes", "edges"}
    assert first["schema"] == SCHEMA
    assert first["nodes"] == second["nodes"] and first["edges"] == second["edges"]
    for node in first["nodes"]:
        assert set(node) == {"id", "kind", "name", "arn", "exists", "attributes", "not_read"}
        assert node["kind"] in NODE_KINDS and node["id"] == node["arn"]
        assert list(node["attributes"]) == sorted(node["attributes"])
    order: Callable[[dict[str, Any]], Any] = lambda n: (NODE_KINDS.index(n["kind"]), n["id"])  # noqa: E731
    assert first["nodes"] == sorted(first["nodes"], key=order)
    ids = {n["id"] for n in first["nodes"]}
    for edge in first["edges"]:
        assert set(edge) == {"from", "to", "kind", "attributes"}
        assert edge["kind"] in EDGE_KINDS and edge["from"] in ids and edge["to"] in ids


def test_the_graph_does_not_depend_on_concurrency(seed: Seed) -> None:
    events = seed.raw["events"]
    events.create_event_bus(Name="orders")
    events.put_rule(Name="copy", EventBusName="orders", EventPattern='{"source": ["orders"]}')
    events.put_targets(Rule="copy", EventBusName="orders", Targets=[{"Id": "q", "Arn": Q}, {"Id": "d", "Arn": DLQ}])
    one = discover(seed.clients(cloudwatch=False), ["user-signup-handler"], workers=1).as_dict()
    many = discover(seed.clients(cloudwatch=False), ["user-signup-handler"], workers=16).as_dict()
    assert one == many
    assert len(one["nodes"]) == 9


def test_a_qualified_function_arn_and_another_regions_queue(seed: Seed) -> None:
    assert discover(seed.clients(), [f"{FN}:$LATEST"]).roots == [FN]
    with pytest.raises(UsageError, match="--region us-west-2"):
        discover(seed.clients(), [f"arn:aws:sqs:us-west-2:{ACCOUNT}:user-signup-queue"])


def test_a_target_queue_in_another_region_is_drawn_not_read(seed: Seed) -> None:
    west = f"arn:aws:sqs:us-west-2:{ACCOUNT}:replica"
    seed.raw["events"].put_targets(Rule=pv.RULE, Targets=[{"Id": "west", "Arn": west}])
    graph = discover(seed.clients(), ["default"])
    assert graph.nodes[west].not_read == [
        "not read: queue replica is in region us-west-2, but evctl is using us-east-1"
    ]
    assert (RULE, west, "routes_to") in edges(graph)


def test_the_calls_made_do_not_depend_on_which_step_comes_first(seed: Seed) -> None:
    targets = ["default", "user-signup-handler", "user-signup-dlq"]  # a rule reachable from its bus and backwards
    counts = set()
    for workers in (1, 16, 1, 16):
        cache = DescribeCache()
        discover(seed.clients(cloudwatch=False), targets, cache=cache, workers=workers)
        counts.add(tuple(sorted(cache.calls)))
    assert len(counts) == 1
    assert not [key for key in next(iter(counts)) if key[1] == "DescribeRule"]  # its bus's listing had it


# ---- many targets at once (discover_all, doctor with no target) ---------------------------------------------
def widen(seed: Seed) -> list[str]:
    """Grow the seed into a small many-resource account; returns the ARNs of every queue in it (ListQueues')."""
    events, sqs, lam = seed.raw["events"], seed.raw["sqs"], seed.raw["lambda"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:"
    sqs.create_queue(QueueName="extra-dlq")
    for i in range(8):
        redrive = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": f"{arn}extra-dlq", "maxReceiveCount": "4"})}
        sqs.create_queue(QueueName=f"extra-{i}", Attributes=redrive if i % 2 else {})
    events.create_event_bus(Name="orders")  # few rules: indexed from its listing
    events.put_rule(Name="copy", EventBusName="orders", EventPattern='{"source": ["orders"]}')
    events.put_targets(Rule="copy", EventBusName="orders", Targets=[
        {"Id": "q", "Arn": Q},
        {"Id": "sns", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:audit", "DeadLetterConfig": {"Arn": f"{arn}extra-7"}},
    ])  # fmt: skip
    events.put_rule(Name="unrelated", EventBusName="orders", EventPattern='{"source": ["x"]}')
    events.put_targets(Rule="unrelated", EventBusName="orders", Targets=[{"Id": "f", "Arn": FN}])
    events.put_rule(Name="to-deleted", EventBusName="orders", EventPattern='{"source": ["y"]}')
    events.put_targets(Rule="to-deleted", EventBusName="orders", Targets=[
        {"Id": "a", "Arn": f"{arn}extra-1"}, {"Id": "gone", "Arn": f"{arn}deleted-queue"},
    ])  # fmt: skip
    events.create_event_bus(Name="busy")  # more rules than queues: searched with ListRuleNamesByTarget
    for r in range(16):
        events.put_rule(Name=f"busy-{r}", EventBusName="busy", EventPattern='{"source": ["busy"]}')
        if r < 4:
            events.put_targets(Rule=f"busy-{r}", EventBusName="busy", Targets=[{"Id": "q", "Arn": f"{arn}extra-{r}"}])
    role = lam.get_function_configuration(FunctionName=pv.FUNCTION)["Role"]
    lam.create_function(FunctionName="extra-fn", Runtime="python3.12", Role=role, Handler="h.h",
                        Code={"ZipFile": _zip()}, Timeout=20)  # fmt: skip
    lam.create_event_source_mapping(EventSourceArn=f"{arn}extra-0", FunctionName="extra-fn", BatchSize=5)
    lam.create_event_source_mapping(EventSourceArn=f"{arn}extra-2", FunctionName="extra-fn", BatchSize=5)
    urls = [url for page in sqs.get_paginator("list_queues").paginate() for url in page.get("QueueUrls", [])]
    return sorted(f"{arn}{url.rsplit('/', 1)[-1]}" for url in urls)


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def h(event, context):\n    return {}\n")
    return buffer.getvalue()


def union(graphs: list[Graph]) -> dict[str, Any]:
    merged = Graph()
    for graph in graphs:
        for node in graph.nodes.values():
            merged.add(Node(node.id, node.kind, node.name, dict(node.attributes), node.exists, list(node.not_read)))
        merged.edges |= graph.edges
    return {key: value for key, value in merged.as_dict().items() if key in ("nodes", "edges")}


def body(graph: Graph) -> dict[str, Any]:
    return {key: value for key, value in graph.as_dict().items() if key in ("nodes", "edges")}


@pytest.mark.parametrize(
    "denied",
    [None, ("events", "ListTargetsByRule"), ("events", "ListRules"), ("lambda", "ListEventSourceMappings"),
     ("sqs", "GetQueueAttributes"), ("events", "ListEventBuses")],
)  # fmt: skip
def test_the_graph_of_everything_is_the_union_of_each_queues_graph(seed: Seed, denied: tuple[str, str] | None) -> None:
    queues = widen(seed)
    if denied:
        seed.deny(*denied)
    clients = seed.clients(cloudwatch=False)
    each = union([discover(clients, [queue], metrics=False) for queue in queues])
    everything = discover_all(clients, metrics=False)
    assert body(everything) == each
    assert everything.targets == [] and everything.roots == queues
    wide = discover(clients, queues, metrics=False, workers=3)  # WIDE_TARGETS or more named: listed once too
    assert body(wide) == each
    if denied is None:
        names = {n["name"] for n in each["nodes"]}
        assert {"copy", "to-deleted", "busy-0", "busy-3", "extra-fn", "deleted-queue", "audit"} <= names
        assert not {"unrelated", "busy-4"} & names  # rules that target no queue are in no queue's pipeline


def test_discover_all_makes_few_calls_and_one_target_still_lists_nothing(seed: Seed) -> None:
    queues = widen(seed)
    calls = seed.count_calls()
    cache = DescribeCache()
    graph = discover_all(seed.clients(), cache=cache)
    made = Counter(op for (_, op, _) in calls.elements())
    assert {call: n for call, n in calls.items() if n > 1} == {}  # nothing read twice
    assert len(queues) >= WIDE_TARGETS
    for never in ("GetQueueUrl", "DescribeRule", "ListDeadLetterSourceQueues"):
        assert made[never] == 0, never
    assert made["ListEventSourceMappings"] == 1  # unfiltered, for every queue and function
    # only on the bus with more rules than queues ("busy"): each listed queue and the deleted one a rule targets
    assert made["ListRuleNamesByTarget"] == len(queues) + 1
    assert made["ListTargetsByRule"] == 3 + 1 + 4  # orders' 3 (indexed), default's 1, busy's 4 that are in the graph
    resources = len([n for n in graph.nodes.values() if n.exists])
    assert sum(calls.values()) <= 2 * resources  # the target (here 45 calls, 28 resources)
    # Per queue, one at a time (what discover_all replaces), the same account costs far more.
    calls.clear()
    for queue in queues:
        discover(seed.clients(), [queue], cache=DescribeCache())
    assert sum(calls.values()) > 4 * resources
    # One target stays as cheap as it was: no listing of the account's queues, rules or mappings.
    calls.clear()
    discover(seed.clients(), ["user-signup-queue"])
    listed = [c for c in calls if c[1] in ("ListQueues", "ListRules") or (
        c[1] == "ListEventSourceMappings" and "EventSourceArn" not in c[2] and "FunctionName" not in c[2])]  # fmt: skip
    assert listed == []  # its rules are found backwards and read with DescribeRule, mappings by queue and function


def test_discover_all_of_a_region_without_queues_is_empty() -> None:
    with mock_aws():
        clients = PipelineClients(
            boto3.client("events", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            boto3.client("lambda", region_name=REGION),
            boto3.client("logs", region_name=REGION),
        )
        graph = discover_all(clients)
    assert (graph.nodes, graph.edges, graph.targets) == ({}, set(), [])


def test_a_nodes_edges_are_answered_from_an_index_kept_in_step_with_the_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.core.pipeline import graph as graph_module

    sorts: list[int] = []

    def counting_sorted(*args: Any, **kwargs: Any) -> Any:
        sorts.append(1)
        return sorted(*args, **kwargs)

    monkeypatch.setattr(graph_module, "sorted", counting_sorted, raising=False)
    graph = Graph()
    graph.connect("q", "m", "polls")
    graph.connect("r", "q", "routes_to", target_id="b")
    graph.connect("r", "q", "routes_to", target_id="a")
    sorts.clear()  # (connect sorts an edge's attributes)
    for _ in range(100):  # checks ask thousands of times: one sort per change of the edges, not one per question
        assert [e.target for e in graph.out_edges("r")] == ["q", "q"]
    assert len(sorts) == 1
    assert [dict(e.attributes)["target_id"] for e in graph.in_edges("q")] == ["a", "b"]
    graph.connect("q", "d", "dead_letters_to")  # an edge added: the index follows
    sorts.clear()
    assert [e.kind for e in graph.out_edges("q")] == ["dead_letters_to", "polls"]
    graph.edges |= {Edge("m", "f", "invokes")}  # the set changed directly, as a merge does
    assert graph.out_edges("m") == [Edge("m", "f", "invokes")] and graph.in_edges("f") == graph.out_edges("m")
    graph.out_edges("m").clear()  # answers are copies
    assert graph.sorted_edges() == sorted(
        graph.edges, key=lambda e: (EDGE_KINDS.index(e.kind), e.source, e.target, e.attributes)
    )
    assert graph.out_edges("nobody") == [] and len(sorts) == 2  # once after connect, once after |=
