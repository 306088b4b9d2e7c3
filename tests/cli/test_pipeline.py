"""`evctl pipeline show`: the tree on a terminal, JSON when piped or asked, mermaid and dot pictures, a denied read
shown as "not read", and bad input as one line with exit 2 (malformed, ambiguous) or 3 (unknown)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.sandbox import provision as pv
from tests.helpers import run_cli

REGION = "us-east-1"


@pytest.fixture
def seed() -> Iterator[pv.Pipeline]:
    with mock_aws():
        clients = pv.SandboxClients(
            *(boto3.client(name, region_name=REGION) for name in ("events", "sqs", "lambda", "iam", "logs"))
        )
        yield pv.provision(clients)


def show(*args: str, tty: bool = False) -> Any:
    return run_cli(["pipeline", "show", *args], tty=tty)


def one_line_error(stderr: str) -> None:
    assert stderr.startswith("evctl: error: "), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_a_terminal_gets_the_tree(seed: pv.Pipeline) -> None:
    result = show("user-signup-queue", tty=True)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "bus default"
    assert lines[1].startswith("└─ rule user-signup-rule  ENABLED · source=")
    assert lines[2].startswith("   └─ queue user-signup-queue *  visible 0 · in flight 0 · delayed 0 · oldest - ·")
    assert "DLQ after 3 receives → queue user-signup-dlq" in result.stdout
    assert "ReportBatchItemFailures on" in result.stdout
    assert "function user-signup-handler  python3.12 · timeout 3s · reserved -" in result.stdout
    assert "log group /aws/lambda/user-signup-handler  retention never expires" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("args", [(), ("-o", "json")])
def test_piped_or_json_is_the_graph(seed: pv.Pipeline, args: tuple[str, ...]) -> None:
    result = run_cli([*args, "pipeline", "show", "user-signup-handler", "--no-metrics"])
    assert result.exit_code == 0, result.stderr
    graph = json.loads(result.stdout)
    assert graph["schema"] == "evctl.pipeline/1"
    assert graph["targets"] == ["user-signup-handler"]
    assert graph["roots"] == [seed.function_arn]
    assert sorted(n["kind"] for n in graph["nodes"]) == sorted(
        ["bus", "rule", "queue", "queue", "mapping", "function", "log_group"]
    )
    assert {e["kind"] for e in graph["edges"]} == {"routes_to", "dead_letters_to", "polls", "invokes", "logs_to"}


def test_mermaid_and_dot(seed: pv.Pipeline) -> None:
    mermaid = show("default", "--format", "mermaid", tty=True)
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart LR\n")
    assert '-.->|"dead-letters to"|' in mermaid.stdout
    dot = show("default", "-f", "dot")
    assert dot.exit_code == 0 and dot.stdout.startswith("digraph pipeline {") and dot.stdout.endswith("}\n")


def test_a_denied_read_is_shown_not_failed(seed: pv.Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.aws import ClientFactory

    build = ClientFactory._build

    class Http:
        status_code = 400

    def denied(**_: Any) -> tuple[Any, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def patched(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = build(self, service, *args, **kwargs)
        if service == "sqs":
            client.meta.events.register("before-call.sqs.GetQueueAttributes", denied)
        return client

    monkeypatch.setattr(ClientFactory, "_build", patched)
    result = show("user-signup-handler", tty=True)
    assert result.exit_code == 0, result.stderr
    assert "queue user-signup-queue  not read: sqs:GetQueueAttributes denied" in result.stdout
    assert "function user-signup-handler *  python3.12" in result.stdout


@pytest.mark.parametrize("target", ["no-such-queue", "queue:nope", "default/nope", "function:nope", "bus:nope"])
def test_an_unknown_target_is_exit_3_in_one_line(seed: pv.Pipeline, target: str) -> None:
    result = show(target)
    assert result.exit_code == 3
    assert result.stdout == ""
    one_line_error(result.stderr)


@pytest.mark.parametrize(
    "target", ["a b", "", "widget:x", "arn:aws:sns:us-east-1:123456789012:t", "queue:", "x/", "arn:aws:sqs"]
)
def test_a_malformed_target_is_exit_2_in_one_line(seed: pv.Pipeline, target: str) -> None:
    result = show(target)
    assert result.exit_code == 2
    assert result.stdout == ""
    one_line_error(result.stderr)


def test_an_ambiguous_target_is_exit_2_and_says_how_to_choose(seed: pv.Pipeline) -> None:
    boto3.client("events", region_name=REGION).create_event_bus(Name="user-signup-handler")
    result = show("user-signup-handler")
    assert result.exit_code == 2
    one_line_error(result.stderr)
    assert "bus:user-signup-handler" in result.stderr and "function:user-signup-handler" in result.stderr


def test_bad_options_are_usage_errors(seed: pv.Pipeline) -> None:
    assert show().exit_code == 2
    assert show("default", "--format", "svg").exit_code == 2
    assert show("default", "--workers", "0").exit_code == 2
