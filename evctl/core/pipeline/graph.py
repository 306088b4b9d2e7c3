"""The pipeline as data: nodes (bus, rule, queue, mapping, function, log_group, other_target) and typed edges.

    graph.nodes["arn:aws:sqs:…:orders"].attributes["visible"]      # 3
    graph.out_edges(node_id)                                       # [Edge(source, target, kind)], sorted
    graph.as_dict()                                                # the documented JSON (docs/pipeline.md)

A node's id is its ARN. `not_read` lists what could not be read ("not read: sqs:GetQueueAttributes denied");
`exists` is False for a resource another one points at that is not there (a target queue that was deleted, a
log group a function has not created yet). Sorting is by kind (in flow order), then id: output is stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EDGE_KINDS", "NODE_KINDS", "SCHEMA", "Edge", "Graph", "Node"]

SCHEMA = "evctl.pipeline/1"
NodeKind = Literal["bus", "rule", "queue", "mapping", "function", "log_group", "other_target"]
EdgeKind = Literal["routes_to", "target_dlq", "dead_letters_to", "polls", "invokes", "logs_to"]
NODE_KINDS: tuple[NodeKind, ...] = ("bus", "rule", "queue", "mapping", "function", "log_group", "other_target")
EDGE_KINDS: tuple[EdgeKind, ...] = ("routes_to", "target_dlq", "dead_letters_to", "polls", "invokes", "logs_to")


@dataclass
class Node:
    id: str  # the ARN
    kind: NodeKind
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    exists: bool = True
    not_read: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return self.id

    def deny(self, action: str) -> None:
        note = f"not read: {action} denied"
        if note not in self.not_read:
            self.not_read.append(note)
            self.not_read.sort()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "arn": self.id,
            "exists": self.exists,
            "attributes": dict(sorted(self.attributes.items())),
            "not_read": list(self.not_read),
        }


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    attributes: tuple[tuple[str, Any], ...] = ()  # e.g. (("target_id", "user-signup-queue"),)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "kind": self.kind, "attributes": dict(self.attributes)}


def _node_order(node: Node) -> tuple[int, str]:
    return NODE_KINDS.index(node.kind), node.id


def _edge_order(edge: Edge) -> tuple[int, str, str, tuple[tuple[str, Any], ...]]:
    return EDGE_KINDS.index(edge.kind), edge.source, edge.target, edge.attributes


@dataclass
class Graph:
    targets: list[str] = field(default_factory=list)  # what the user asked for, as given
    roots: list[str] = field(default_factory=list)  # the node ids they resolved to
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)
    # The edges sorted and by node, built once per edge count (edges are only ever added): checks ask a node's in-
    # and out-edges thousands of times, and sorting every edge for each question made doctor of a big account slow.
    _index: Any = field(default=None, init=False, repr=False, compare=False)

    def add(self, node: Node) -> Node:
        """Add a node, or merge it into the one with its id (attributes and notes add up; a read node wins)."""
        have = self.nodes.get(node.id)
        if have is None:
            self.nodes[node.id] = node
            return node
        have.attributes.update(node.attributes)
        for note in node.not_read:
            if note not in have.not_read:
                have.not_read.append(note)
        have.not_read.sort()
        have.exists = have.exists and node.exists
        return have

    def connect(self, source: str, target: str, kind: EdgeKind, **attributes: Any) -> None:
        self.edges.add(Edge(source, target, kind, tuple(sorted(attributes.items()))))

    def sorted_nodes(self) -> list[Node]:
        return sorted(self.nodes.values(), key=_node_order)

    def _edge_index(self) -> tuple[list[Edge], dict[str, list[Edge]], dict[str, list[Edge]]]:
        key = (id(self.edges), len(self.edges))
        index = self._index  # one read: another thread may replace it meanwhile (with an equal one)
        if index is None or index[0] != key:
            ordered = sorted(self.edges, key=_edge_order)
            out: dict[str, list[Edge]] = {}
            into: dict[str, list[Edge]] = {}
            for edge in ordered:
                out.setdefault(edge.source, []).append(edge)
                into.setdefault(edge.target, []).append(edge)
            index = self._index = (key, ordered, out, into)
        return index[1], index[2], index[3]

    def sorted_edges(self) -> list[Edge]:
        return list(self._edge_index()[0])

    def out_edges(self, node_id: str) -> list[Edge]:
        return list(self._edge_index()[1].get(node_id, ()))

    def in_edges(self, node_id: str) -> list[Edge]:
        return list(self._edge_index()[2].get(node_id, ()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "targets": list(self.targets),
            "roots": sorted(self.roots),
            "nodes": [node.as_dict() for node in self.sorted_nodes()],
            "edges": [edge.as_dict() for edge in self.sorted_edges()],
        }
