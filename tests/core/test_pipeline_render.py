"""render/pipeline: the tree, mermaid and dot text of a known graph (snapshot-like, inline), and escaping."""

from __future__ import annotations

import re

import pytest

from evctl.core.pipeline import Graph, Node
from evctl.render.pipeline import dot, mermaid, tree_lines

A = "arn:aws:{}:us-east-1:123456789012:{}"
BUS, RULE = A.format("events", "event-bus/default"), A.format("events", "rule/signups")
Q, DLQ = A.format("sqs", "signups"), A.format("sqs", "signups-dlq")
ESM, FN = A.format("lambda", "event-source-mapping:u-1"), A.format("lambda", "function:handler")
LOGS, TOPIC = A.format("logs", "log-group:/aws/lambda/handler"), A.format("sns", "audit")


def sample() -> Graph:
    graph = Graph(targets=["signups"], roots=[Q])
    graph.add(Node(BUS, "bus", "default", {"has_policy": False}))
    graph.add(Node(RULE, "rule", "signups", {"state": "ENABLED", "pattern": {"source": ["app"]}}))
    graph.add(Node(Q, "queue", "signups", {
        "visible": 3, "in_flight": 1, "delayed": 0, "visibility_timeout": 180, "max_receive_count": 3,
        "dlq_depth": 2, "oldest_age_seconds": 420,
    }))  # fmt: skip
    graph.add(Node(DLQ, "queue", "signups-dlq", {"visible": 2, "in_flight": 0, "delayed": 0, "visibility_timeout": 30}))
    graph.add(Node(ESM, "mapping", "u-1", {
        "state": "Enabled", "batch_size": 10, "batching_window": 0, "report_batch_item_failures": True,
        "maximum_concurrency": None,
    }))  # fmt: skip
    graph.add(Node(FN, "function", "handler", {"timeout": 30, "runtime": "python3.12", "reserved_concurrency": None}))
    graph.add(Node(LOGS, "log_group", "/aws/lambda/handler", {"retention_days": 14}))
    graph.add(Node(TOPIC, "other_target", "audit", {"service": "sns"}, not_read=[]))
    graph.nodes[FN].deny("lambda:GetFunctionConcurrency")
    graph.connect(BUS, RULE, "routes_to")
    graph.connect(RULE, Q, "routes_to", target_id="q", input="event")
    graph.connect(RULE, TOPIC, "routes_to", target_id="t", input="event")
    graph.connect(Q, DLQ, "dead_letters_to", max_receive_count=3)
    graph.connect(Q, ESM, "polls")
    graph.connect(ESM, FN, "invokes")
    graph.connect(FN, LOGS, "logs_to")
    return graph


TREE = """\
bus default
└─ rule signups  ENABLED · source=["app"]
   ├─ queue signups *  visible 3 · in flight 1 · delayed 0 · oldest 7m · DLQ depth 2 · visibility 180s
   │  ├─ DLQ after 3 receives → queue signups-dlq  visible 2 · in flight 0 · delayed 0 · oldest - · visibility 30s
   │  └─ mapping u-1  Enabled · batch 10 · window 0s · ReportBatchItemFailures on · max concurrency -
   │     └─ function handler  python3.12 · timeout 30s · reserved - · not read: lambda:GetFunctionConcurrency denied
   │        └─ log group /aws/lambda/handler  retention 14d
   └─ target audit  sns (not followed)

* the target(s) you named"""

MERMAID = """\
flowchart LR
    n0(["bus default"])
    n1{{"rule signups<br/>ENABLED<br/>source=[#quot;app#quot;]"}}
    n2[("queue signups<br/>visible 3<br/>in flight 1<br/>delayed 0<br/>oldest 7m<br/>DLQ depth 2<br/>visibility 180s")]
    n3[("queue signups-dlq<br/>visible 2<br/>in flight 0<br/>delayed 0<br/>oldest -<br/>visibility 30s")]
    n4(["mapping u-1<br/>Enabled<br/>batch 10<br/>window 0s<br/>ReportBatchItemFailures on<br/>max concurrency -"])
    n5["function handler<br/>python3.12<br/>timeout 30s<br/>reserved -<br/>not read: lambda:GetFunctionConcurrency denied"]
    n6[/"log group /aws/lambda/handler<br/>retention 14d"/]
    n7>"target audit<br/>sns (not followed)"]
    n0 -->|"routes to"| n1
    n1 -->|"routes to"| n7
    n1 -->|"routes to"| n2
    n2 -.->|"dead-letters to"| n3
    n2 -->|"polled by"| n4
    n4 -->|"invokes"| n5
    n5 -->|"logs to"| n6
    style n2 stroke-width:3px
"""


def test_tree_text() -> None:
    assert "\n".join(tree_lines(sample())) == TREE


def test_mermaid_text() -> None:
    assert mermaid(sample()) == MERMAID


def test_dot_text() -> None:
    text = dot(sample())
    assert text.startswith("digraph pipeline {\n    rankdir=LR;\n")
    assert text.endswith("}\n")
    assert f'    "{Q}" [shape=cylinder, label="queue signups\\nvisible 3\\nin flight 1\\ndelayed 0\\noldest 7m' in text
    assert f'    "{Q}" -> "{DLQ}" [label="dead-letters to", style=dashed];' in text
    assert f'    "{RULE}" [shape=diamond, label="rule signups\\nENABLED\\nsource=[\\"app\\"]"];' in text
    assert text.count(" -> ") == 7


def test_a_node_reached_twice_is_drawn_once() -> None:
    graph = sample()
    graph.connect(RULE, DLQ, "target_dlq", target_id="q")
    lines = tree_lines(graph)
    assert sum("queue signups-dlq" in line for line in lines) == 2
    assert any(line.endswith("target DLQ → queue signups-dlq (see above)") for line in lines)


def test_missing_and_cyclic_nodes_still_show() -> None:
    graph = Graph()
    graph.add(Node(Q, "queue", "a", {}))
    graph.add(Node(DLQ, "queue", "b", {}, exists=False))
    graph.connect(Q, DLQ, "dead_letters_to", max_receive_count=1)
    graph.connect(DLQ, Q, "dead_letters_to", max_receive_count=1)
    lines = tree_lines(graph)
    assert lines[0] == "queue a"
    assert lines[1] == "└─ DLQ after 1 receives → queue b  MISSING (does not exist)"
    assert lines[2].endswith("queue a (see above)")


HOSTILE = ['a"b', "x<script>y", "#1 | pipe", "back\\slash", "amp&er", "tab\there", "new\nline", "[brackets]"]


@pytest.mark.parametrize("name", HOSTILE)
def test_mermaid_labels_are_quoted_and_escaped(name: str) -> None:
    graph = Graph()
    graph.add(Node(Q, "queue", name, {}))
    graph.add(Node(FN, "function", name, {"timeout": 3, "runtime": name, "reserved_concurrency": 1}))
    graph.connect(Q, FN, "polls")
    text = mermaid(graph)
    for line in text.splitlines()[1:]:
        label = re.search(r'"(.*)"', line)
        assert label is not None, line
        inside = label.group(1).replace("<br/>", "")
        assert not set(inside) & set('"<>|\n\t'), line  # <br/> aside, nothing that could end or break a label
    assert len(text.splitlines()) == 4


@pytest.mark.parametrize("name", HOSTILE)
def test_dot_labels_are_escaped(name: str) -> None:
    graph = Graph()
    graph.add(Node(Q, "queue", name, {}))
    text = dot(graph)
    node_line = text.splitlines()[3]
    label = node_line.split('label="', 1)[1].rsplit('"];', 1)[0]
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', label), node_line  # every quote and backslash escaped
    assert len(text.splitlines()) == 5
