"""The installed evctl: `sandbox up --detach`, evctl and the aws CLI against it, signals to a foreground sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evctl.sandbox import process, state
from tests.helpers import evctl_executable, restore_default_signals, run_evctl


def aws_cli(exports: dict[str, str], *args: str) -> Any:
    """The aws CLI (v1: it ignores AWS_ENDPOINT_URL for some services, so the endpoint is passed) with the
    credentials and region `sandbox up` printed."""
    env = dict(os.environ, **exports)
    aws = str(Path(sys.executable).with_name("aws"))
    done = subprocess.run(
        [aws, *args, "--endpoint-url", exports["AWS_ENDPOINT_URL"], "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture
def cleanup_sandbox() -> Iterator[None]:
    """Whatever happens in the test, no sandbox process outlives it."""
    yield
    with contextlib.suppress(Exception):
        current = state.read()
        if current is not None and current.identity is not None:  # only the process the record names
            process.signal_if_same(current.pid, current.identity, signal.SIGKILL)
        state.remove()
    for pid in _sandbox_processes():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _sandbox_processes() -> list[int]:
    """Every live `evctl sandbox up` process of this test (they carry its XDG_STATE_HOME), orphans included."""
    ours = f"XDG_STATE_HOME={os.environ['XDG_STATE_HOME']}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().split(b"\0")
            mine = ours in (entry / "environ").read_bytes().split(b"\0")
            if mine and b"sandbox" in command and b"up" in command and process.identify(int(entry.name)) is not None:
                found.append(int(entry.name))  # (a zombie has no identity)
    return found


def _welcome_lines(exports: dict[str, str], email: str) -> list[str]:
    found = aws_cli(exports, "logs", "filter-log-events", "--log-group-name", "/aws/lambda/user-signup-handler")
    return [e["message"] for e in found["events"] if e["message"] == f"Sending welcome email to: {email}"]


def _welcome_lines_boto3(endpoint: str, email: str) -> list[str]:
    from evctl.cli.context import sandbox_clients

    logs = sandbox_clients(endpoint).logs
    found = logs.filter_log_events(logGroupName="/aws/lambda/user-signup-handler")["events"]
    return [e["message"] for e in found if e["message"] == f"Sending welcome email to: {email}"]


@pytest.mark.usefixtures("cleanup_sandbox")
def test_detached_sandbox_with_evctl_and_the_aws_cli() -> None:
    up = run_evctl(["sandbox", "up", "--detach", "--port", "0"])
    assert up.returncode == 0, up.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
    assert set(exports) == {
        "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    }  # fmt: skip
    running = state.running()
    assert exports["AWS_ENDPOINT_URL"] == running.endpoint and running.endpoint.startswith("http://127.0.0.1:")
    assert running.pid != os.getpid()
    assert "sandbox running in the background" in up.stderr

    # evctl through --sandbox publishes; the sandbox's runner runs the handler; the aws CLI reads the log
    published = run_evctl(["--sandbox", "publish", "signup", "--set", "email=e2e@example.com"])
    assert published.returncode == 0, published.stderr
    assert f"evctl: targeting the local sandbox at {running.endpoint}" in published.stderr
    assert wait_until(lambda: _welcome_lines_boto3(running.endpoint, "e2e@example.com"))  # cheap polling
    assert _welcome_lines(exports, "e2e@example.com") == ["Sending welcome email to: e2e@example.com"]
    url = f"{running.endpoint}/123456789012/user-signup-queue"
    attributes = aws_cli(exports, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"

    again = run_evctl(["sandbox", "up", "--port", "0"])
    assert again.returncode == 4
    assert again.stderr.startswith(f"evctl: error: a sandbox is already running (pid {running.pid}")

    status = run_evctl(["-o", "json", "sandbox", "status"])
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pid"] == running.pid

    down = run_evctl(["-o", "json", "sandbox", "down"])
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout) == {
        "stopped": True,
        "pid": running.pid,
        "endpoint": running.endpoint,
        "forced": False,
    }
    assert process.identify(running.pid) is None
    assert state.read() is None


@pytest.mark.slow
@pytest.mark.usefixtures("cleanup_sandbox")
def test_reset_of_a_detached_sandbox_keeps_its_runner_working() -> None:
    up = run_evctl(["sandbox", "up", "--detach", "--port", "0"])
    assert up.returncode == 0, up.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
    assert run_evctl(["--sandbox", "publish", "signup", "--set", "email=before@example.com"]).returncode == 0
    assert wait_until(lambda: _welcome_lines_boto3(exports["AWS_ENDPOINT_URL"], "before@example.com"))
    reset = run_evctl(["sandbox", "reset", "--yes"])
    assert reset.returncode == 0, reset.stderr
    assert _welcome_lines(exports, "before@example.com") == []  # the logs went with everything else
    assert run_evctl(["--sandbox", "publish", "signup", "--set", "email=after@example.com"]).returncode == 0
    # the runner recreated its log stream
    assert wait_until(lambda: _welcome_lines_boto3(exports["AWS_ENDPOINT_URL"], "after@example.com"))
    assert run_evctl(["sandbox", "down"]).returncode == 0


@pytest.mark.slow  # the busy port itself is checked in-process in tests/cli/test_sandbox.py
def test_detach_reports_the_childs_error_on_a_busy_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = run_evctl(["sandbox", "up", "--detach", "--port", str(port)])
    assert up.returncode == 4
    assert up.stdout == ""
    assert up.stderr.startswith(f"evctl: error: port {port} on 127.0.0.1 is already in use")
    assert state.read() is None


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [
        pytest.param(signal.SIGTERM, 143),
        pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
        pytest.param(signal.SIGHUP, 129),
    ],
)
@pytest.mark.usefixtures("cleanup_sandbox")
def test_a_signal_stops_a_foreground_sandbox_cleanly(signum: signal.Signals, exit_code: int) -> None:
    """SIGTERM and SIGHUP stop `sandbox up` exactly as Ctrl-C does: the same cleanup and summary, the signal's code."""
    proc = subprocess.Popen(
        [evctl_executable(), "sandbox", "up", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_default_signals,
    )
    try:
        ready = wait_until(lambda: state.read() is not None and state.read().pid == proc.pid, timeout=30)  # type: ignore[union-attr]
        assert ready, proc.communicate()[1] if proc.poll() is not None else "not ready"
        endpoint = state.running().endpoint
        if signum != signal.SIGINT:  # the foreground sandbox runs the handler and narrates each invocation
            from evctl.cli.context import sandbox_clients

            events = sandbox_clients(endpoint).events
            detail = json.dumps({"email": "fg@example.com"})
            events.put_events(Entries=[{"Source": "my.webapp", "DetailType": "UserSignup", "Detail": detail}])
            assert wait_until(lambda: _welcome_lines_boto3(endpoint, "fg@example.com"))
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == exit_code, stderr
    assert stdout.splitlines()[0] == f"export AWS_ENDPOINT_URL={endpoint}"
    invocations = 0 if signum == signal.SIGINT else 1
    assert stderr.endswith(f"sandbox stopped ({signum.name}); {invocations} invocations\n"), stderr
    if signum != signal.SIGINT:
        assert "1 message(s) → success" in stderr
    assert "Traceback" not in stderr
    assert state.read() is None
    with pytest.raises(OSError):  # the port is closed
        socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), timeout=1).close()
    with process.SandboxLock.acquire(state.lock_path()):  # and the lock is free
        pass


@pytest.mark.usefixtures("cleanup_sandbox")
def test_two_detached_starts_at_once_give_one_sandbox_and_one_exit_4() -> None:
    starts = [
        subprocess.Popen(
            [evctl_executable(), "sandbox", "up", "--detach", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=restore_default_signals,
        )
        for _ in range(2)
    ]
    results = [(p.pid, p.wait(timeout=60), *p.communicate(timeout=60)) for p in starts]
    assert sorted(code for _, code, _, _ in results) == [0, 4], results
    (winner, _, winner_out, _), (_, _, loser_out, loser_err) = sorted(results, key=lambda r: r[1])
    running = state.running()
    assert f"export AWS_ENDPOINT_URL={running.endpoint}" in winner_out
    assert loser_out == ""
    assert loser_err.startswith("evctl: error: a sandbox is already running"), loser_err
    # it names the one that won: the sandbox, or the `up --detach` still starting it
    assert f"(pid {running.pid}" in loser_err or f"(pid {winner})" in loser_err, loser_err
    assert _sandbox_processes() == [running.pid]  # exactly one sandbox: nothing orphaned
    down = run_evctl(["-o", "json", "sandbox", "down"])
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["pid"] == running.pid
    assert wait_until(lambda: not _sandbox_processes(), timeout=20)
    assert state.read() is None


def _start_demo() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [evctl_executable(), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_default_signals,
    )


@pytest.mark.parametrize(
    ("signum", "exit_code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated"), (signal.SIGHUP, 129, "hung up")],
)
def test_a_signal_stops_the_demo_as_ctrl_c_does(signum: signal.Signals, exit_code: int, word: str) -> None:
    """SIGTERM and SIGHUP stop the demo as Ctrl-C does: the steps so far, the summary, its sandbox stopped."""
    proc = _start_demo()
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # step 1 is verified; the demo is on to step 2
        assert first["ok"] is True
        proc.send_signal(signum)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == exit_code, stderr
    steps = [first, *(json.loads(line) for line in rest.splitlines())]  # stdout stays whole JSON lines
    done = len(steps)
    assert all(step["ok"] for step in steps) and done < 12
    assert stderr.endswith(
        f"evctl: error: demo {word} during step {done + 1}; {done} of 12 step(s) verified; its sandbox is stopped\n"
    ), stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr


@pytest.mark.parametrize("stdout", ["/dev/full", pytest.param("closed", marks=pytest.mark.slow)])
@pytest.mark.parametrize("detach", [False, True], ids=["foreground", "detached"])
@pytest.mark.usefixtures("cleanup_sandbox")
def test_up_with_stdout_unwritable_leaves_no_sandbox(detach: bool, stdout: str) -> None:
    """The exports cannot be printed: exit 1, and no sandbox, state file or lock is left behind."""
    command = " ".join([evctl_executable(), "sandbox", "up", "--port", "0", *(["--detach"] if detach else [])])
    redirect = ">/dev/full" if stdout == "/dev/full" else ">&-"
    done = subprocess.run(
        ["sh", "-c", f"exec {command} {redirect}"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=restore_default_signals,
    )
    assert done.returncode == 1, done.stderr
    assert "evctl: error: cannot write to standard output" in done.stderr and "Traceback" not in done.stderr
    assert state.read() is None
    assert wait_until(lambda: not _sandbox_processes(), timeout=20)
    with process.SandboxLock.acquire(state.lock_path()):
        pass
