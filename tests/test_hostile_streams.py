"""Every command, swept from the Typer app itself, with hostile standard streams: stdin closed (`<&-`), stdout closed
(`>&-`), stdout on /dev/full, stderr closed (`2>&-`). Each runs as the installed `evctl` against a moto server with
cheap, valid arguments. Whatever happens: no "internal error", no traceback, an exit code from the documented set
(docs/output.md), and:

- stderr closed: the same exit code as with every stream open (nothing depends on being able to complain);
- stdin closed: the same exit code (no command here reads stdin; the ones that do are swept with `-`: exit 2);
- stdout closed or full: a command that printed nothing exits as before; one that printed data and succeeded
  exits 1 with one line naming standard output (never 5, never "internal error");
- stdout a closed pipe: a read-only command that printed data ends quietly (exit 0, or the verdict it reached:
  doctor's finding, a stalled trace, exit 1); one that moves data reports the closed pipe (exit 1).

New commands and new options of a command are swept too: COMMANDS must name every command (a test checks it),
VARIANTS adds the options that change what a command prints or how it ends (publish --count/--rate, a doctor
verdict).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer

from evctl.cli.main import app
from evctl.cli.options import iter_commands
from tests.helpers import evctl_executable, restore_default_signals

DOCUMENTED = {0, 1, 2, 3, 4, 5, 129, 130, 143}
EVENT = json.dumps({"source": "s", "detail-type": "t", "detail": {"n": 1}})

# Cheap, valid arguments for every command (the test below fails when a command is missing here).
COMMANDS: dict[str, list[str]] = {
    "doctor": ["doctor", "queue:sq", "--check", "Q-VIS-1"],
    "pipeline show": ["pipeline", "show", "queue:sq"],
    "pipeline watch": ["pipeline", "watch", "--once", "--no-doctor", "queue:sq"],
    "publish": ["publish", "--source", "s", "--detail-type", "t", "--detail", "{}"],
    "queue drain": ["queue", "drain", "empty", "--to", "-", "--yes", "--wait", "0", "--empty-polls", "1"],
    "queue list": ["queue", "list"],
    "queue peek": ["queue", "peek", "sq", "--wait", "0", "--force"],
    "queue purge": ["queue", "purge", "p{n}", "--yes"],  # SQS allows one purge a minute per queue
    "queue send": ["queue", "send", "sink", "hello"],
    "queue stats": ["queue", "stats", "sq"],
    "redrive cancel": ["redrive", "cancel", "dead"],
    "redrive dlq": ["redrive", "dlq", "dead", "--to", "work", "--mode", "manual", "--yes", "--wait", "0"],
    "redrive status": ["redrive", "status", "dead"],
    "rules list": ["rules", "list"],
    "rules match": ["rules", "match", "--event", EVENT],
    "rules show": ["rules", "show", "r1"],
    "rules test": ["rules", "test", "--event", EVENT, "--pattern", '{"source": ["s"]}'],
    "sandbox down": ["sandbox", "down"],
    "sandbox reset": ["sandbox", "reset", "--yes"],
    "sandbox status": ["sandbox", "status"],
    "tail bus": ["tail", "bus", "--cleanup", "--yes"],
    "tail logs": ["tail", "logs", "lg", "--since", "5m"],
    "templates list": ["templates", "list"],
    "templates show": ["templates", "show", "signup"],
    "trace": ["trace", "--event", "@{tmp}/event.json", "--timeout", "1"],  # r1 has no target: stalls, exit 1
}
# New options of a command above, swept the same way (what they print and how they end differ).
VARIANTS: dict[str, list[str]] = {
    "publish --count": ["publish", "--source", "s", "--detail-type", "t", "--detail", '{"n":"{seq}"}', "--count", "3"],
    "publish --rate": ["publish", "--source", "s", "--detail-type", "t", "--detail", "{}", "--rate", "50/s",
                       "--count", "3"],
    "doctor (a finding)": ["doctor", "queue:sq", "--check", "Q-REDRIVE-1", "--fail-on", "info"],  # exit 1: a verdict
}  # fmt: skip
# The commands that move data: a closed pipe is reported, exit 1; every other command ends quietly, exit 0.
MOVES_DATA = {"publish", "publish --count", "publish --rate", "queue drain", "queue purge", "queue send", "redrive dlq"}
# What Click writes outside any command: help and the version (stdout failures there too are one line, exit 1).
OUTSIDE_COMMANDS: dict[str, list[str]] = {
    "--version": ["--version"],
    "--help": ["--help"],
    "queue --help": ["queue", "--help"],
    "tail logs --help": ["tail", "logs", "--help"],
}
# Each starts a whole sandbox (seconds): swept with stdout and stderr closed only, in their own test below.
SLOW = {"demo": ["demo"], "demo mistakes": ["demo", "mistakes", "-m", "2"], "sandbox up": ["sandbox", "up", "--detach"]}
# The commands that read stdin, given `-`.
STDIN_READERS = {
    "publish --file -": ["publish", "--file", "-"],
    "publish --detail -": ["publish", "--source", "s", "--detail-type", "t", "--detail", "-"],
    "queue send --from -": ["queue", "send", "sink", "--from", "-"],
    "publish --count --file -": ["publish", "--file", "-", "--count", "3"],
    "trace --event -": ["trace", "--event", "-"],
}


def _leaf_commands() -> set[str]:
    return {
        " ".join(path)
        for path, command in iter_commands(typer.main.get_command(app))
        if path and (not getattr(command, "commands", None) or getattr(command, "invoke_without_command", False))
    }  # `demo` runs by itself and has `demo mistakes` under it: both are swept


def test_the_sweep_covers_every_command() -> None:
    assert _leaf_commands() == set(COMMANDS) | set(SLOW)


class Env:
    def __init__(self, endpoint: str, tmp: Path) -> None:
        self.endpoint, self.tmp = endpoint, tmp

    @property
    def env(self) -> dict[str, str]:
        """The test's environment (tests/conftest.py isolated_aws), the server, and state of the sweep's own."""
        env = dict(os.environ, AWS_ENDPOINT_URL=self.endpoint)
        env["XDG_STATE_HOME"] = str(self.tmp / "state")
        env["XDG_CONFIG_HOME"] = str(self.tmp / "config")
        return env


@pytest.fixture(scope="module")
def streams_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One moto server for the whole sweep (the commands are cheap and leave it as they found it, near enough)."""
    from moto.server import ThreadedMotoServer

    from tests.helpers import reset_moto

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        reset_moto(endpoint)
        _seed(endpoint)
        tmp = tmp_path_factory.mktemp("hostile-streams")
        (tmp / "event.json").write_text(EVENT + "\n")
        yield Env(endpoint, tmp)
        reset_moto(endpoint)
    finally:
        server.stop()


def _seed(endpoint: str) -> None:
    def client(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )  # fmt: skip

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="sq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}))
    for name in ("empty", "sink", *(f"p{n}" for n in range(PURGEABLE))):
        sqs.create_queue(QueueName=name)
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
    sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": policy})
    client("logs").create_log_group(logGroupName="lg")
    client("events").put_rule(Name="r1", EventPattern=json.dumps({"source": ["s"]}))


PURGEABLE = 8
_calls = iter(range(10**6))


def _run(env: Env, args: list[str], *, stdin: str = "devnull", stdout: str = "pipe", stderr: str = "pipe") -> Any:
    closed: list[int] = []
    kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL}
    if stdin == "closed":
        kwargs["stdin"], closed = None, [*closed, 0]
    kwargs["stdout"] = subprocess.PIPE
    if stdout == "closed":
        kwargs["stdout"], closed = None, [*closed, 1]
    full = open("/dev/full", "w") if stdout == "full" else None  # noqa: SIM115 (closed below)
    if full is not None:
        kwargs["stdout"] = full
    pipe_end = None
    if stdout == "epipe":  # a pipe whose reader has gone (`| head -0`)
        read_end, pipe_end = os.pipe()
        os.close(read_end)
        kwargs["stdout"] = pipe_end
    kwargs["stderr"] = subprocess.PIPE
    if stderr == "closed":
        kwargs["stderr"], closed = None, [*closed, 2]

    def prepare() -> None:
        restore_default_signals()
        for fd in closed:
            os.close(fd)

    try:
        n = next(_calls) % PURGEABLE
        return subprocess.run(
            [evctl_executable(), *(arg.replace("{n}", str(n)).replace("{tmp}", str(env.tmp)) for arg in args)],
            env=env.env,
            timeout=120,
            preexec_fn=prepare,
            check=False,
            **kwargs,
        )
    finally:
        if full is not None:
            full.close()
        if pipe_end is not None:
            os.close(pipe_end)


def _clean(proc: Any, what: str) -> None:
    stderr = (proc.stderr or b"").decode("utf-8", "replace")
    assert proc.returncode in DOCUMENTED, f"{what}: exit {proc.returncode}: {stderr}"
    assert "internal error" not in stderr and "Traceback" not in stderr, f"{what}: {stderr}"


@pytest.mark.parametrize("name", sorted(COMMANDS) + sorted(VARIANTS) + sorted(OUTSIDE_COMMANDS))
def test_every_command_meets_hostile_streams(streams_env: Env, name: str) -> None:
    args = COMMANDS.get(name) or VARIANTS.get(name) or OUTSIDE_COMMANDS[name]
    base = _run(streams_env, args)
    _clean(base, f"{name} (all streams open)")
    printed = bool(base.stdout.strip())

    no_stderr = _run(streams_env, args, stderr="closed")
    _clean(no_stderr, f"{name} 2>&-")
    assert no_stderr.returncode == base.returncode, f"{name} 2>&-: exit {no_stderr.returncode}, not {base.returncode}"

    no_stdin = _run(streams_env, args, stdin="closed")
    _clean(no_stdin, f"{name} <&-")
    assert no_stdin.returncode == base.returncode, f"{name} <&-: {no_stdin.stderr.decode()}"

    for fault in ("closed", "full"):
        proc = _run(streams_env, args, stdout=fault)
        what = f"{name} >&-" if fault == "closed" else f"{name} >/dev/full"
        _clean(proc, what)
        stderr = proc.stderr.decode()
        if printed and base.returncode == 0:
            assert proc.returncode == 1 and "standard output" in stderr, f"{what}: exit {proc.returncode}: {stderr}"
            assert len(stderr.strip().splitlines()) >= 1
        else:
            assert proc.returncode == base.returncode, f"{what}: exit {proc.returncode}: {stderr}"

    closed_pipe = _run(streams_env, args, stdout="epipe")
    _clean(closed_pipe, f"{name} | head -0")
    stderr = closed_pipe.stderr.decode()
    if printed and base.returncode == 0 and name in MOVES_DATA:  # stops safely and reports (docs/output.md)
        assert closed_pipe.returncode == 1 and "the pipe was closed" in stderr, stderr
    elif printed and base.returncode == 0:  # read-only: ends quietly
        assert closed_pipe.returncode == 0 and "evctl: error" not in stderr, stderr
    else:  # nothing printed, or a verdict (doctor's finding, a stalled trace): the same exit code, quietly
        assert closed_pipe.returncode == base.returncode, stderr


@pytest.mark.parametrize("name", sorted(STDIN_READERS))
def test_reading_a_closed_stdin_is_bad_input(streams_env: Env, name: str) -> None:
    proc = _run(streams_env, STDIN_READERS[name], stdin="closed")
    _clean(proc, f"{name} <&-")
    assert proc.returncode == 2, proc.stderr.decode()


@pytest.mark.parametrize("name", sorted(SLOW))
def test_sandbox_commands_meet_closed_streams(streams_env: Env, name: str) -> None:
    """`demo` and `sandbox up --detach` start a sandbox each: stdout closed, then stderr closed."""
    try:
        for stdout, stderr in (("closed", "pipe"), ("pipe", "closed")):
            proc = _run(streams_env, SLOW[name], stdout=stdout, stderr=stderr)
            _clean(proc, f"{name} stdout={stdout} stderr={stderr}")
            if stderr == "closed":
                assert proc.returncode == 0
            else:
                assert proc.returncode in (0, 1)
            _run(streams_env, ["sandbox", "down"])
    finally:
        _run(streams_env, ["sandbox", "down"])
