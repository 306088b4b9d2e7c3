"""A pipeline Graph as a terminal tree, a mermaid flowchart (renders in GitHub markdown) or a graphviz dot graph.

    for line in tree_lines(graph): print(line)     # box-drawing tree, live numbers on each node
    mermaid(graph)                                 # "flowchart LR ..." (labels quoted, characters escaped)
    dot(graph)                                     # "digraph pipeline { ... }"

Numbers the service did not give (no metrics, a read that was denied) show as "-".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import EDGE_KINDS, NODE_KINDS, Edge, Graph, Node
from evctl.render.rules import pattern_summary

__all__ = ["EDGE_LABELS", "dot", "mermaid", "node_facts", "node_title", "tree_lines"]

KIND_LABELS = {
    "bus": "bus",
    "rule": "rule",
    "queue": "queue",
    "mapping": "mapping",
    "function": "function",
    "log_group": "log group",
    "other_target": "target",
}
# How an edge reads from its source; "" for the plain flow (bus → rule → queue → mapping → function → logs).
EDGE_LABELS = {
    "routes_to": "",
    "target_dlq": "target DLQ",
    "dead_letters_to": "DLQ",
    "polls": "",
    "invokes": "",
    "logs_to": "",
}
_EDGE_WORDS = {
    "routes_to": "routes to",
    "target_dlq": "target DLQ",
    "dead_letters_to": "dead-letters to",
    "polls": "polled by",
    "invokes": "invokes",
    "logs_to": "logs to",
}


def _n(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "-"
    return f"{value}{unit}"


def _age(seconds: Any) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def node_title(node: Node) -> str:
    return f"{KIND_LABELS.get(node.kind, node.kind)} {node.name}"


def node_facts(node: Node) -> list[str]:
    """The node's live numbers as short phrases ('visible 3', 'timeout 30s'); notes for missing / unread."""
    a = node.attributes
    facts: list[str] = []
    if not node.exists:
        facts.append("MISSING (does not exist)")
    elif node.kind == "bus":
        if "rules" in a:
            facts.append(f"{a['rules']} rule(s)")
    elif node.kind == "rule" and "state" in a:
        facts.append(str(a.get("state") or "-"))
        if a.get("pattern") is not None:
            facts.append(pattern_summary(a["pattern"]))
        if a.get("schedule"):
            facts.append(str(a["schedule"]))
    elif node.kind == "queue" and "visible" in a:
        facts += [f"visible {a['visible']}", f"in flight {a['in_flight']}", f"delayed {a['delayed']}"]
        facts.append(f"oldest {_age(a.get('oldest_age_seconds'))}")
        if "max_receive_count" in a:
            facts.append(f"DLQ depth {_n(a.get('dlq_depth'))}")
        facts.append(f"visibility {a['visibility_timeout']}s")
    elif node.kind == "mapping":
        facts.append(str(a.get("state") or "-"))
        facts.append(f"batch {_n(a.get('batch_size'))}")
        facts.append(f"window {_n(a.get('batching_window'), 's')}")
        facts.append("ReportBatchItemFailures " + ("on" if a.get("report_batch_item_failures") else "off"))
        facts.append(f"max concurrency {_n(a.get('maximum_concurrency'))}")
        if a.get("filters"):
            facts.append(f"{a['filters']} filter(s)")
    elif node.kind == "function" and "timeout" in a:
        facts += [_n(a.get("runtime")), f"timeout {_n(a.get('timeout'), 's')}"]
        facts.append(f"reserved {_n(a.get('reserved_concurrency'))}")
    elif node.kind == "log_group" and "retention_days" in a:
        days = a.get("retention_days")
        facts.append("retention never expires" if days is None else f"retention {days}d")
    elif node.kind == "other_target":
        facts.append(str(a.get("service", "")) + " (not followed)")
    facts += node.not_read
    return facts


# ---- tree ------------------------------------------------------------------------------------------------
def _tree_starts(graph: Graph) -> list[Node]:
    """Nodes nothing points at (in flow order), then anything left in a cycle."""
    targets = {e.target for e in graph.edges}
    return [n for n in graph.sorted_nodes() if n.id not in targets]


def tree_lines(graph: Graph) -> list[str]:
    """The graph as a tree with box-drawing characters; a node reached twice is shown once, then '(see above)'."""
    shown: set[str] = set()
    lines: list[str] = []

    def label(node: Node, edge: Edge | None) -> str:
        prefix = ""
        if edge is not None and EDGE_LABELS[edge.kind]:
            extra = dict(edge.attributes)
            after = f" after {extra['max_receive_count']} receives" if "max_receive_count" in extra else ""
            prefix = f"{EDGE_LABELS[edge.kind]}{after} → "
        text = prefix + node_title(node)
        if node.id in graph.roots:
            text += " *"
        return text

    def walk(node: Node, edge: Edge | None, lead: str, tail: str) -> Iterator[str]:
        if node.id in shown:
            yield f"{lead}{label(node, edge)} (see above)"
            return
        shown.add(node.id)
        facts = node_facts(node)
        yield f"{lead}{label(node, edge)}" + (f"  {' · '.join(facts)}" if facts else "")
        children = sorted(
            ((e, graph.nodes[e.target]) for e in graph.out_edges(node.id) if e.target in graph.nodes),
            key=lambda pair: (EDGE_KINDS.index(pair[0].kind), NODE_KINDS.index(pair[1].kind), pair[1].id),
        )
        for i, (child_edge, child) in enumerate(children):
            last = i == len(children) - 1
            yield from walk(child, child_edge, tail + ("└─ " if last else "├─ "), tail + ("   " if last else "│  "))

    for start in _tree_starts(graph):
        lines.extend(walk(start, None, "", ""))
    for node in graph.sorted_nodes():  # in a cycle with no way in (a queue that is its own DLQ's DLQ)
        if node.id not in shown:
            lines.extend(walk(node, None, "", ""))
    if graph.roots:
        lines.append("")
        lines.append("* the target(s) you named")
    return lines


# ---- mermaid ----------------------------------------------------------------------------------------------
_MERMAID_ESCAPES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "|": "#124;"}
_MERMAID_SHAPES = {
    "bus": ('(["', '"])'),
    "rule": ('{{"', '"}}'),
    "queue": ('[("', '")]'),
    "mapping": ('(["', '"])'),
    "function": ('["', '"]'),
    "log_group": ('[/"', '"/]'),
    "other_target": ('>"', '"]'),
}


def _mermaid_text(text: str) -> str:
    out = "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in text)
    return "".join(ch if ch.isprintable() else " " for ch in out)


def _ids(graph: Graph) -> dict[str, str]:
    return {node.id: f"n{i}" for i, node in enumerate(graph.sorted_nodes())}


def mermaid(graph: Graph) -> str:
    """A mermaid flowchart: every label quoted and escaped (entity codes), so GitHub renders any name."""
    ids = _ids(graph)
    lines = ["flowchart LR"]
    for node in graph.sorted_nodes():
        parts = [node_title(node), *node_facts(node)]
        label = "<br/>".join(_mermaid_text(part) for part in parts)
        open_, close = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
        lines.append(f"    {ids[node.id]}{open_}{label}{close}")
    for edge in graph.sorted_edges():
        if edge.source in ids and edge.target in ids:
            words = _mermaid_text(_EDGE_WORDS[edge.kind])
            arrow = "-.->" if edge.kind in ("dead_letters_to", "target_dlq") else "-->"
            lines.append(f'    {ids[edge.source]} {arrow}|"{words}"| {ids[edge.target]}')
    for root in graph.roots:
        if root in ids:
            lines.append(f"    style {ids[root]} stroke-width:3px")
    return "\n".join(lines) + "\n"


# ---- dot --------------------------------------------------------------------------------------------------
_DOT_SHAPES = {
    "bus": "hexagon",
    "rule": "diamond",
    "queue": "cylinder",
    "mapping": "cds",
    "function": "box",
    "log_group": "note",
    "other_target": "plaintext",
}


def _dot_text(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if ch.isprintable() else " " for ch in out)


def dot(graph: Graph) -> str:
    """A graphviz digraph (left to right); nodes named by their ARN, labels escaped."""
    lines = ["digraph pipeline {", "    rankdir=LR;", '    node [fontname="Helvetica", fontsize=10];']
    for node in graph.sorted_nodes():
        label = "\\n".join(_dot_text(part) for part in [node_title(node), *node_facts(node)])
        style = ", penwidth=2" if node.id in graph.roots else ""
        style += ", style=dashed" if not node.exists else ""
        lines.append(f'    "{_dot_text(node.id)}" [shape={_DOT_SHAPES[node.kind]}, label="{label}"{style}];')
    for edge in graph.sorted_edges():
        dashed = ", style=dashed" if edge.kind in ("dead_letters_to", "target_dlq") else ""
        lines.append(
            f'    "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}" '
            f'[label="{_dot_text(_EDGE_WORDS[edge.kind])}"{dashed}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
