"""One sandbox server per module (moto's server in this process on 127.0.0.1), reset and reprovisioned per test."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evctl.sandbox import provision as pv
from evctl.sandbox.lifecycle import function_spec
from evctl.sandbox.runner import LocalRunner
from evctl.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clients(sandbox_server: SandboxServer) -> pv.SandboxClients:
    from evctl.cli.context import sandbox_clients

    sandbox_server.reset()
    return sandbox_clients(sandbox_server.endpoint)


@pytest.fixture
def make_pipeline(clients: pv.SandboxClients) -> Callable[..., pv.Pipeline]:
    def make(handler: pv.HandlerSpec = pv.DEFAULT_HANDLER, **settings: Any) -> pv.Pipeline:
        base = {"timeout": 1, "visibility_timeout": 1}
        return pv.provision(clients, handler, pv.PipelineSettings(**{**base, **settings}))

    return make


@pytest.fixture
def make_runner(clients: pv.SandboxClients) -> Callable[..., LocalRunner]:
    def make(pipeline: pv.Pipeline, **overrides: Any) -> LocalRunner:
        from dataclasses import replace

        spec = replace(function_spec(pipeline), **overrides)
        endpoint = clients.sqs.meta.endpoint_url
        return LocalRunner(
            clients.sqs, clients.logs, spec, pipeline.queue_url, pipeline.queue_arn, wait_seconds=0, endpoint=endpoint
        )

    return make


@pytest.fixture
def handler_file(tmp_path: Path) -> Callable[[str], pv.HandlerSpec]:
    """Write a handler module from source text; returns its HandlerSpec (function `handler`)."""

    def write(source: str, name: str = "handler.py", function: str = "handler") -> pv.HandlerSpec:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return pv.HandlerSpec(path, function)

    return write


def send_signups(clients: pv.SandboxClients, details: list[dict[str, Any]]) -> None:
    for start in range(0, len(details), 10):
        chunk = details[start : start + 10]
        response = clients.events.put_events(
            Entries=[{"Source": pv.SOURCE, "DetailType": pv.DETAIL_TYPE, "Detail": json.dumps(d)} for d in chunk]
        )
        assert response["FailedEntryCount"] == 0


def log_messages(clients: pv.SandboxClients, group: str = pv.LOG_GROUP) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in clients.logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        events.extend(dict(event) for event in page["events"])
    return events


def drain_with(runner: LocalRunner, *, max_polls: int = 50) -> list[Any]:
    """Poll until the runner receives nothing twice in a row; the invocations made."""
    made = []
    empty = 0
    for _ in range(max_polls):
        invocation = runner.poll_once()
        if invocation is None:
            empty += 1
            if empty == 2:
                break
            continue
        empty = 0
        made.append(invocation)
    return made
