"""The installed `evctl pipeline watch` end to end: against the sandbox, 50 events/s for 10 s into a handler that
sleeps, `pipeline watch --once -o json` shows the backlog rising, then draining; against a moto server, piped it
writes NDJSON until a stop signal (exit 128 + the signal, a summary on stderr) and a closed pipe ends it quietly."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from evctl.sandbox import process, state
from evctl.sandbox import provision as pv
from tests.helpers import STRICT, evctl_executable, restore_default_signals, run_evctl

HANDLER = """
import time


def handler(event, context):
    time.sleep(0.3)  # a slow consumer: a batch of up to 10 every ~0.3 s
    return {"batchItemFailures": []}
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[None]:
    handler = tmp_path / "slow.py"
    handler.write_text(HANDLER, encoding="utf-8")
    up = run_evctl(["sandbox", "up", "--detach", "--port", "0", "--handler", f"{handler}:handler"], timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            run_evctl(["sandbox", "down"], timeout=60)
        with contextlib.suppress(Exception):
            current = state.read()
            if current is not None and current.identity is not None:
                process.signal_if_same(current.pid, current.identity, signal.SIGKILL)
            state.remove()


def backlog() -> tuple[float, int, dict[str, Any]]:
    done = run_evctl(["--sandbox", "-o", "json", "pipeline", "watch", "--once", "--no-doctor", "user-signup-queue"])
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    [queue] = [hop for hop in data["hops"] if hop["role"] == "queue"]
    return time.monotonic(), int(queue["visible"]) + int(queue["in_flight"]), data


def publisher() -> subprocess.Popen[str]:
    """`evctl publish --rate 50/s --duration 10s`: 500 signups, open loop."""
    return subprocess.Popen(
        [evctl_executable(), "--sandbox", "-o", "json", "publish", "signup", "--rate", "50/s", "--duration", "10s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=restore_default_signals,
    )  # fmt: skip


@pytest.mark.usefixtures("sandbox")
def test_the_backlog_rises_under_load_then_drains() -> None:
    load = publisher()
    seen: list[tuple[float, int]] = []
    try:
        while load.poll() is None:
            at, depth, _ = backlog()
            seen.append((at, depth))
    finally:
        out, err = load.communicate(timeout=60)
    assert load.returncode == 0, err
    summary = json.loads(out)
    assert summary["published"] == 500 and summary["requested"] == 500, out
    deadline = time.monotonic() + 120
    while True:
        at, depth, data = backlog()
        seen.append((at, depth))
        if depth == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    depths = [d for _, d in seen]
    peak = max(depths)
    top = depths.index(peak)
    assert peak >= 50, depths  # 50/s offered, ~30/s consumed: it backs up
    assert depths[0] < peak and any(d > depths[0] for d in depths[1 : top + 1]), depths  # rising
    assert depths[-1] == 0, depths  # then drained
    [dlq] = [hop for hop in data["hops"] if hop["role"] == "dlq"]
    assert dlq["depth"] == 0 and dlq["growing"] is False  # the handler never failed


@pytest.fixture
def seeded(moto_server: str) -> str:
    names = ("events", "sqs", "lambda", "iam", "logs")
    raw: list[Any] = [boto3.client(n, region_name="us-east-1", endpoint_url=moto_server) for n in names]
    pv.provision(pv.SandboxClients(*raw))
    return moto_server


def start_watch(endpoint: str, *extra: str) -> subprocess.Popen[str]:
    import os

    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    args = [evctl_executable(), "pipeline", "watch", "--no-doctor", "--interval", "1", *extra, "user-signup-queue"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=restore_default_signals)  # fmt: skip


@pytest.mark.parametrize(("signum", "word"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated"),
                                               (signal.SIGHUP, "hung up")])  # fmt: skip
def test_piped_ndjson_until_a_stop_signal(seeded: str, signum: signal.Signals, word: str) -> None:
    watch = start_watch(seeded)
    assert watch.stdout is not None
    lines = [watch.stdout.readline() for _ in range(2)]
    watch.send_signal(signum)
    rest, err = watch.communicate(timeout=30)
    assert watch.returncode == 128 + signum, err
    for line in [*lines, *rest.splitlines()]:
        assert STRICT.decode(line)["schema"] == "evctl.watch/1"
    assert err.strip().splitlines()[-1] == f"evctl: error: stopped watching ({word})", err
    assert "watched for " in err and "GetQueueAttributes" in err


def test_a_closed_pipe_ends_it_quietly(seeded: str) -> None:
    watch = start_watch(seeded)
    assert watch.stdout is not None
    STRICT.decode(watch.stdout.readline())
    watch.stdout.close()  # `| head -1`
    assert watch.wait(timeout=30) == 0
    assert watch.stderr is not None and watch.stderr.read() == ""
