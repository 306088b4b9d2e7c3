"""`evctl tail bus`, the installed executable, against a moto server: every event published during the tail is
printed, and after a normal exit, Ctrl-C (SIGINT), SIGTERM or `--cleanup` no temporary rule or queue remains."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from evctl.core.rules.bus_tail import NAME_PREFIX
from tests.helpers import evctl_executable, restore_default_signals, run_evctl

READY = "tailing bus"


class Tail:
    """`evctl tail bus ...` as a subprocess, its stdout and stderr read line by line by two threads."""

    def __init__(self, endpoint: str, *args: str) -> None:
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
        self.proc = subprocess.Popen(
            [evctl_executable(), "tail", "bus", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=restore_default_signals,  # the Ctrl-C and SIGTERM the tests send reach it
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._ready = threading.Event()
        self._pumps = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.put(line)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            if READY in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        if not self._ready.wait(timeout):
            self.proc.kill()
            raise AssertionError(f"tail never became ready; stderr: {''.join(self.stderr_lines)}")

    def lines(self, n: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            got.append(json.loads(self.stdout.get(timeout=max(0.1, deadline - time.monotonic()))))
        return got

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        code = self.proc.wait(timeout)
        for pump in self._pumps:  # both pipes reach end-of-file once the process is gone: every line is read
            pump.join(timeout)
            assert not pump.is_alive(), "a pipe of the finished tail stayed open"
        rest = []
        while not self.stdout.empty():
            rest.append(self.stdout.get())
        return code, "".join(rest), "".join(self.stderr_lines)


@pytest.fixture
def aws(moto_server: str) -> Iterator[tuple[str, Any, Any]]:
    kwargs = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    yield moto_server, boto3.client("events", **kwargs), boto3.client("sqs", **kwargs)


@pytest.fixture
def start_tail(aws: tuple[str, Any, Any]) -> Iterator[Callable[..., Tail]]:
    """`start_tail(*args)`: a Tail against this test's moto server; none outlives the test, whatever it asserted."""
    started: list[Tail] = []

    def start(*args: str) -> Tail:
        started.append(Tail(aws[0], *args))
        return started[-1]

    yield start
    for tail in started:
        if tail.proc.poll() is None:
            tail.proc.kill()
        tail.proc.wait()


def publish(events: Any, numbers: range, bus: str = "default") -> None:
    for n in numbers:
        entry = {"Source": "e2e.test", "DetailType": "Ping", "Detail": json.dumps({"n": n}), "EventBusName": bus}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def temporary(events: Any, sqs: Any, bus: str = "default") -> tuple[list[str], list[str]]:
    rules = [r["Name"] for r in events.list_rules(EventBusName=bus, NamePrefix=NAME_PREFIX)["Rules"]]
    return rules, sqs.list_queues(QueueNamePrefix=NAME_PREFIX).get("QueueUrls", [])


def test_every_event_is_printed_and_a_normal_exit_removes_rule_and_queue(
    aws: tuple[str, Any, Any], start_tail: Callable[..., Tail]
) -> None:
    _, events, sqs = aws
    events.create_event_bus(Name="orders")
    tail = start_tail("orders", "--count", "25")
    tail.wait_ready()
    assert len(temporary(events, sqs, "orders")[0]) == 1
    publish(events, range(25), bus="orders")
    printed = tail.lines(25)
    code, rest, stderr = tail.finish()
    assert code == 0, stderr
    assert rest == ""
    assert sorted(e["detail"]["n"] for e in printed) == list(range(25))  # all, each once
    assert all(e["detail-type"] == "Ping" and e["source"] == "e2e.test" for e in printed)
    assert "a newly created rule may take a moment to become active" in stderr
    assert "25 event(s); temporary rule and queue removed" in stderr
    assert temporary(events, sqs, "orders") == ([], [])


@pytest.mark.parametrize(("sig", "word"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")])
def test_ctrl_c_and_sigterm_remove_rule_and_queue(
    aws: tuple[str, Any, Any], start_tail: Callable[..., Tail], sig: signal.Signals, word: str
) -> None:
    _, events, sqs = aws
    tail = start_tail()
    tail.wait_ready()
    rules, queues = temporary(events, sqs)
    assert len(rules) == 1 and len(queues) == 1
    publish(events, range(3))
    assert sorted(e["detail"]["n"] for e in tail.lines(3)) == [0, 1, 2]
    tail.proc.send_signal(sig)  # arrives while the tail waits in a long poll
    code, rest, stderr = tail.finish()
    assert code == 128 + sig, stderr  # 130 for Ctrl-C, 143 for SIGTERM (docs/output.md)
    assert rest == ""
    assert stderr.strip().splitlines()[-1] == (
        f"evctl: error: {word} after 3 event(s); temporary rule and queue removed"
    )
    assert "Traceback" not in stderr
    assert temporary(events, sqs) == ([], [])


def test_cleanup_removes_what_a_killed_run_left(aws: tuple[str, Any, Any], start_tail: Callable[..., Tail]) -> None:
    endpoint, events, sqs = aws
    tail = start_tail()
    tail.wait_ready()
    tail.proc.kill()  # SIGKILL: no chance to clean up
    tail.finish()
    rules, queues = temporary(events, sqs)
    assert len(rules) == 1 and len(queues) == 1

    refused = run_evctl(["tail", "bus", "--cleanup"], endpoint=endpoint)  # not a TTY, no --yes
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("— pass --yes")
    assert temporary(events, sqs) == (rules, queues)  # nothing removed

    done = run_evctl(["--output", "json", "tail", "bus", "--cleanup", "--yes"], endpoint=endpoint)
    assert done.returncode == 0, done.stderr
    assert sorted((item["kind"], item["name"]) for item in json.loads(done.stdout)) == [
        ("queue", rules[0]),
        ("rule", rules[0]),
    ]
    assert temporary(events, sqs) == ([], [])

    again = run_evctl(["--output", "json", "tail", "bus", "--cleanup", "--yes"], endpoint=endpoint)
    assert (again.returncode, json.loads(again.stdout)) == (0, [])
    assert "no temporary rules or queues" in again.stderr


def test_a_bus_that_does_not_exist(aws: tuple[str, Any, Any]) -> None:
    endpoint, events, sqs = aws
    result = run_evctl(["tail", "bus", "no-such-bus", "--count", "1"], endpoint=endpoint)
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("evctl: error: event bus 'no-such-bus' not found")
    assert len(result.stderr.strip().splitlines()) == 1
    assert temporary(events, sqs) == ([], [])
