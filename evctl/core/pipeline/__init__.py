"""pipeline: the whole pipeline around any hop, discovered with read-only calls, as a graph.

    clients = PipelineClients(events=app.client("events", pool=9), sqs=…, lambda_=…, logs=…, cloudwatch=…)
    graph = discover(clients, ["user-signup-queue"])       # Graph: nodes by ARN, typed edges, live numbers
    graph.as_dict()                                          # the documented JSON (schema evctl.pipeline/1)
    graph = discover_all(clients)                            # every queue's pipeline (doctor with no target)
    cache = DescribeCache(); discover(clients, targets, cache=cache); cache.calls   # each read made once

Targets: a bus (name or ARN), a rule (BUS/RULE or ARN), a queue (name, URL or ARN) or a function (name or ARN);
`kind:` prefixes (bus:, rule:, queue:, function:) settle a name that is several things.

Modules: targets (parse what the user names) · cache (DescribeCache: one read per resource per run, thread-safe,
denials tagged with their IAM action) · discover (the walk, on a small thread pool) · graph (Node, Edge, Graph,
SCHEMA) · numbers (DLQ depth, DLQ role, oldest-message age from CloudWatch). Nothing here prints: the tree,
mermaid and dot pictures are evctl.render.pipeline's. `evctl doctor` reads the same Graph and the same cache.
"""

from __future__ import annotations

from .cache import DENIED_CODES, CachedClient, DescribeCache, denied_action
from .discover import DEFAULT_WORKERS, WIDE_TARGETS, PipelineClients, Walker, discover, discover_all
from .graph import EDGE_KINDS, NODE_KINDS, SCHEMA, Edge, Graph, Node
from .numbers import add_numbers
from .targets import TARGET_HINT, TargetSpec, parse_target

__all__ = [
    "DEFAULT_WORKERS",
    "DENIED_CODES",
    "EDGE_KINDS",
    "NODE_KINDS",
    "SCHEMA",
    "TARGET_HINT",
    "WIDE_TARGETS",
    "CachedClient",
    "DescribeCache",
    "Edge",
    "Graph",
    "Node",
    "PipelineClients",
    "TargetSpec",
    "Walker",
    "add_numbers",
    "denied_action",
    "discover",
    "discover_all",
    "parse_target",
]
