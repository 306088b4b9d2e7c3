"""The installed `evctl doctor` against a moto server holding the seed pipeline (evctl.sandbox.provision): the clean
seed exits 0; a planted mistake (the function's timeout raised above the queue's visibility timeout after the mapping
was made, the catalogue's Q-VIS-1 drift) is the JSON finding with its evidence and fix, exit 1, and the printed aws
command, run by the aws CLI against the same server, makes it go. A stop signal (Ctrl-C, SIGTERM, SIGHUP) while it
waits on AWS is exit 128 + the signal, in one line."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from evctl.sandbox import provision as pv
from tests.helpers import evctl_executable, restore_default_signals, run_evctl

REGION = "us-east-1"


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)  # type: ignore[call-overload]


def provision_seed(endpoint: str) -> pv.Pipeline:
    names = ("events", "sqs", "lambda", "iam", "logs")
    return pv.provision(pv.SandboxClients(*(_client(name, endpoint) for name in names)))


def aws_cli(endpoint: str, command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    aws = str(Path(sys.executable).with_name("aws"))
    args = shlex.split(command)
    assert args[0] == "aws"
    return subprocess.run(
        [aws, *args[1:], "--endpoint-url", endpoint], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_clean_seed_exits_0(moto_server: str) -> None:
    provision_seed(moto_server)
    done = run_evctl(["-o", "json", "doctor", "user-signup-queue"], endpoint=moto_server, timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)
    data = json.loads(done.stdout)
    assert data["schema"] == "evctl.doctor/1" and data["failed"] is False
    assert data["summary"]["failing"] == 0 and data["summary"]["pass"] > 0
    assert [p["name"] for p in data["pipelines"]] == ["user-signup-queue"]


def test_a_planted_mistake_is_found_exit_1_and_its_printed_fix_removes_it(moto_server: str) -> None:
    seed = provision_seed(moto_server)
    _client("lambda", moto_server).update_function_configuration(FunctionName="user-signup-handler", Timeout=60)

    done = run_evctl(["doctor", "--sample", "signup"], endpoint=moto_server, timeout=120)  # no target, piped: JSON
    assert done.returncode == 1, (done.stdout, done.stderr)
    data = json.loads(done.stdout)
    assert data["failed"] is True and data["targets"] == []
    [finding] = [f for f in data["findings"] if f["check"] == "Q-VIS-1"]
    assert finding["resource"] == seed.queue_arn and finding["severity"] == "critical"
    assert finding["evidence"]["VisibilityTimeout"] == 18 and finding["evidence"]["Timeout"] == 60
    assert finding["fix"]["value"] == {"VisibilityTimeout": "360"}
    assert "Q-VIS-1" not in {f["check"] for f in data["findings"] if f["resource"] != seed.queue_arn}

    applied = aws_cli(moto_server, finding["fix"]["command"])
    assert applied.returncode == 0, applied.stderr
    again = run_evctl(["-o", "json", "doctor", "user-signup-queue", "--check", "Q-VIS-1"], endpoint=moto_server)
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["findings"] == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_while_waiting_on_aws_is_128_plus_the_signal(signum: signal.Signals) -> None:
    with socket.socket() as server:  # an endpoint that accepts and never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
        process = subprocess.Popen(
            [evctl_executable(), "--max-attempts", "1", "--read-timeout", "60", "doctor"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=restore_default_signals,
        )
        try:
            connection, _ = server.accept()  # evctl is waiting on its first read (ListQueues)
            time.sleep(0.2)
            process.send_signal(signum)
            out, err = process.communicate(timeout=30)
            connection.close()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 128 + signum, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("evctl: error: "), err
