"""`evctl publish` with injected entry failures: retries, --failed-to, exit 1, and a clean re-run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from evctl.aws import ClientFactory
from tests.cli.test_publish import jsonl, ndjson, received
from tests.cli.test_publish import queue as queue
from tests.core.test_events_faults import EntryFaults, mixed_plan
from tests.helpers import run_cli


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch, queue: str) -> EntryFaults:
    """Installs EntryFaults (the mixed plan) on the events client evctl builds."""
    injector = EntryFaults(boto3.client("events"), mixed_plan)
    original = ClientFactory.client

    def build(self: ClientFactory, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        if service == "events":
            injector.install(client)
        return client

    monkeypatch.setattr(ClientFactory, "client", build)
    return injector


def test_failed_events_go_to_failed_to_and_exit_1(queue: str, faults: EntryFaults, tmp_path: Path) -> None:
    failed = tmp_path / "failed.jsonl"
    result = run_cli(["publish", "--file", "-", "--max-attempts", "3", "--failed-to", str(failed)], input=jsonl(40))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"evctl: error: 8 of 40 events were not published — they are in {failed}"
    records = {r["line"] - 1: r for r in ndjson(result.stdout)}
    assert len(records) == 40
    for n, record in records.items():
        if n % 10 == 2:
            assert (record["status"], record["error_code"], record["attempts"]) == (
                "failed",
                "AccessDeniedException",
                1,
            )
        elif n % 10 == 3:
            assert (record["status"], record["error_code"], record["attempts"]) == ("failed", "InternalFailure", 3)
        else:
            assert record["status"] == "ok" and record["event_id"]
    arrived = Counter(e["detail"]["n"] for e in received(queue))
    assert set(arrived.values()) == {1} and sorted(arrived) == sorted(n for n in range(40) if n % 10 not in (2, 3))
    kept = [json.loads(line) for line in failed.read_text().splitlines()]
    assert sorted(json.loads(k["Detail"])["n"] for k in kept) == [2, 3, 12, 13, 22, 23, 32, 33]
    assert all(k["Source"] == "evctl.test" and k["EventBusName"] == "default" for k in kept)


def test_the_failed_to_file_is_accepted_by_file(queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-publishing --failed-to once the fault is gone delivers the rest: every event exactly once overall."""
    injector = EntryFaults(boto3.client("events"), lambda n, attempt: "InternalFailure" if n % 2 else None)
    original = ClientFactory.client

    def build(self: ClientFactory, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        injector.install(client)
        return client

    failed = tmp_path / "failed.jsonl"
    with monkeypatch.context() as patch:
        patch.setattr(ClientFactory, "client", build)
        first = run_cli(["publish", "--file", "-", "--max-attempts", "2", "--failed-to", str(failed)], input=jsonl(10))
    assert first.exit_code == 1
    second = run_cli(["publish", "--file", str(failed), "--failed-to", str(tmp_path / "again.jsonl")])
    assert second.exit_code == 0, second.stderr
    assert (tmp_path / "again.jsonl").read_text() == ""
    assert sorted(e["detail"]["n"] for e in received(queue)) == list(range(10))


def test_tty_lists_the_events_not_published(queue: str, faults: EntryFaults) -> None:
    result = run_cli(["publish", "--file", "-", "--max-attempts", "2"], input=jsonl(10), tty=True)
    assert result.exit_code == 1
    assert "events not published" in result.stdout
    assert "AccessDeniedException" in result.stdout and "InternalFailure" in result.stdout
    assert "evctl: error: 3 of 10 events were not published" in result.stderr  # 0 needs 3 sends


def test_ctrl_c_reports_everything_and_keeps_the_rest(
    queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KeyboardInterrupt during the third call: exit 130, the unsent events in --failed-to, counts add up."""
    calls = {"n": 0}

    def interrupt_third_call(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    original = ClientFactory.client

    def build(self: ClientFactory, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        client.meta.events.register("before-call.eventbridge.PutEvents", interrupt_third_call)
        return client

    monkeypatch.setattr(ClientFactory, "client", build)
    failed = tmp_path / "failed.jsonl"
    result = run_cli(["publish", "--file", "-", "--concurrency", "1", "--failed-to", str(failed)], input=jsonl(50))

    assert result.exit_code == 130
    assert (
        result.stderr.splitlines()[-1] == f"evctl: error: interrupted: published 20 of 50 events — they are in {failed}"
    )
    statuses = Counter(r["status"] for r in ndjson(result.stdout))
    assert statuses == {"ok": 20, "not_sent": 30}
    assert sorted(e["detail"]["n"] for e in received(queue)) == list(range(20))
    assert sorted(json.loads(json.loads(line)["Detail"])["n"] for line in failed.read_text().splitlines()) == list(
        range(20, 50)
    )


def test_failed_to_may_be_the_file_being_published(queue: str, faults: EntryFaults, tmp_path: Path) -> None:
    """`--file x --failed-to x`: x is read first and replaced at the end with what is still unpublished."""
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl(10))
    result = run_cli(["publish", "--file", str(path), "--failed-to", str(path), "--max-attempts", "3"])
    assert result.exit_code == 1
    assert sorted(json.loads(json.loads(line)["Detail"])["n"] for line in path.read_text().splitlines()) == [2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]  # no temporary file left behind
