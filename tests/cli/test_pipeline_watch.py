"""`evctl pipeline watch`: --once as JSON (and the dashboard on a terminal), one compact JSON snapshot per line when
piped, a stop (Ctrl-C) after a few refreshes as exit 130 with a summary, bad options as one line and exit 2."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from evctl.sandbox import provision as pv
from tests.helpers import run_cli, strict_json_lines

REGION = "us-east-1"


@pytest.fixture
def seed() -> Iterator[pv.Pipeline]:
    with mock_aws():
        raw: list[Any] = [boto3.client(name, region_name=REGION) for name in ("events", "sqs", "lambda", "iam", "logs")]
        clients = pv.SandboxClients(*raw)
        pipeline = pv.provision(clients)
        clients.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody="waiting")
        yield pipeline


def watch(*args: str, tty: bool = False, env: dict[str, str] | None = None) -> Any:
    return run_cli(["pipeline", "watch", *args], tty=tty, env=env)


def one_line_error(stderr: str, *words: str) -> None:
    assert stderr.startswith("evctl: error: "), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert all(word in stderr for word in words), stderr


def test_once_json_is_one_document_with_every_hop_and_the_doctor(seed: pv.Pipeline) -> None:
    result = watch("--once", "-o", "json", "user-signup-queue")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "evctl.watch/1" and data["targets"] == ["user-signup-queue"]
    by_role = {hop["role"]: hop for hop in data["hops"]}
    assert by_role["queue"]["visible"] == 1 and by_role["dlq"]["depth"] == 0 and by_role["dlq"]["growing"] is False
    assert by_role["rule"]["name"] == "user-signup-rule" and by_role["function"]["invocations"] is None
    assert data["doctor"]["ran_at"] == data["at"] and data["doctor"]["findings"] == []  # --once waits for it
    assert data["calls"]["GetQueueAttributes"] == 2 and data["calls"]["GetMetricData"] == 1


def test_once_on_a_terminal_is_the_dashboard(seed: pv.Pipeline) -> None:
    result = watch("--once", "--no-doctor", "--color", "never", "user-signup-queue", tty=True, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("watching user-signup-queue · ")
    assert "queue user-signup-queue  (DLQ user-signup-dlq)" in lines
    assert any(line.startswith("  visible") and line.split()[1] == "1" for line in lines)
    assert lines[-1] == "doctor: not run (--no-doctor)"


def test_piped_it_writes_one_compact_snapshot_per_line_until_stopped(seed: pv.Pipeline) -> None:
    sleeps: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt  # Ctrl-C (SIGTERM and SIGHUP take the same path: tests/e2e)
        real_sleep(seconds)

    with mock.patch("time.sleep", sleep):
        result = watch("--no-doctor", "--no-metrics", "--interval", "1", "user-signup-queue")
    assert result.exit_code == 130
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith('{"schema":"evctl.watch/1"') for line in lines)
    snapshots = strict_json_lines(result.stdout)
    assert [s["calls"]["GetQueueAttributes"] for s in snapshots] == [2, 3, 4]  # the DLQ once, the queue each time
    assert all(s["metrics"]["read"] is False and s["doctor"] is None for s in snapshots)
    assert all(0 < wait <= 1 for wait in sleeps)
    assert "GetQueueAttributes 4" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "evctl: error: stopped watching (interrupted)"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--interval", "0"], ["--interval", "1<=x<=300"]),
        (["--interval", "nan"], ["--interval", "not a finite number"]),
        (["--interval", "2s"], ["--interval", "not a number"]),
        (["--interval", "301"], ["--interval"]),
        (["--doctor-every", "10s"], ["--doctor-every", "1m to 24h"]),
        (["--doctor-every", "soon"], ["--doctor-every"]),
    ],
)
def test_bad_options_are_one_line_and_exit_2(seed: pv.Pipeline, args: list[str], words: list[str]) -> None:
    result = watch(*args, "--once", "user-signup-queue")
    assert result.exit_code == 2
    one_line_error(result.stderr, *words)
    assert result.stdout == ""


def test_an_unknown_target_is_exit_3_in_one_line(seed: pv.Pipeline) -> None:
    result = watch("--once", "queue:nope")
    assert result.exit_code == 3
    one_line_error(result.stderr, "nope")
    assert result.stdout == ""
