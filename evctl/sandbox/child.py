"""The handler's own process: run it with the event on stdin, enforce the init limit and the timeout, collect its
output lines (each one a log event), and say what became of it (success, error, timeout, a crashed runtime) with the
lines Lambda's runtime logs for it (the REPORT line, "Task timed out after ...", "Runtime exited with error")."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from evctl.core.common.time import iso_utc

Outcome = Literal["success", "partial", "error", "timeout", "filtered", "throttled"]


@dataclass(frozen=True)
class FunctionSpec:
    """What the runner needs to know about the function and its event source mapping."""

    name: str
    handler_file: Path
    handler_function: str
    arn: str
    region: str
    timeout: float = 3.0  # seconds
    memory_mb: int = 128
    log_group: str = ""
    batch_size: int = 10
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds
    report_batch_item_failures: bool = True

    @property
    def log_group_name(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


def handler_environment(fn: FunctionSpec, log_stream: str, endpoint: str | None) -> dict[str, str]:
    """The handler's environment: Lambda's variables, and AWS settings aimed at the sandbox.

    The user's own AWS variables (profile, keys, session token, endpoints) are dropped, so a handler that calls
    AWS reaches the sandbox with dummy credentials and can never touch a real account by accident.
    """
    from evctl.sandbox.state import CREDENTIALS

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=fn.name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_mb),
        AWS_LAMBDA_LOG_GROUP_NAME=fn.log_group_name,
        AWS_LAMBDA_LOG_STREAM_NAME=log_stream,
        AWS_EXECUTION_ENV="AWS_Lambda_python_evctl_sandbox",
        LAMBDA_TASK_ROOT=str(fn.handler_file.parent),
        AWS_REGION=fn.region,
        AWS_DEFAULT_REGION=fn.region,
        AWS_ACCESS_KEY_ID=CREDENTIALS[0],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS[1],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


@dataclass
class ChildRun:
    lines: list[tuple[int, str]]
    result: dict[str, Any] | None
    timed_out: bool
    returncode: int
    duration_ms: float
    init_ms: float = 0.0


def outcome_of(run: ChildRun, timeout: float, request_id: str, end_ms: int) -> tuple[Outcome, str | None, str | None]:
    """(outcome, error, the line Lambda's runtime logs for it) of one child run."""
    if run.timed_out:
        error = f"Task timed out after {timeout:.2f} seconds"
        return "timeout", error, f"{iso_utc(end_ms, precision='milliseconds')} {request_id} {error}"
    if run.result is None:
        exit_error = f"Runtime exited with error: exit status {run.returncode}"
        return "error", f"Runtime.ExitError: {exit_error}", f"RequestId: {request_id} Error: {exit_error}"
    if not run.result.get("ok"):
        return "error", f"{run.result.get('errorType')}: {run.result.get('errorMessage')}", None
    return "success", None, None


def report_line(request_id: str, run: ChildRun, memory_mb: int) -> str:
    peak = (run.result or {}).get("maxRssMb", 0)
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {run.duration_ms:.2f} ms"
        f"\tBilled Duration: {math.ceil(run.duration_ms)} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {peak} MB"
        f"\tInit Duration: {run.init_ms:.2f} ms"  # every invocation here is a cold start
    )
    return report + ("\tStatus: timeout" if run.timed_out else "")


def run_child(python: str, file: Path, function: str, payload: str, timeout: float, env: dict[str, str]) -> ChildRun:
    """Run the handler in its own process group; kill the group when the timeout passes."""
    with tempfile.TemporaryDirectory(prefix="evctl-invoke-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        started = time.monotonic()
        proc = subprocess.Popen(
            [python, "-m", "evctl.sandbox.invoke", str(file), function, result_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(file.parent) if file.parent.is_dir() else None,
            env=env,
            start_new_session=True,
        )
        try:
            lines: list[tuple[int, str]] = []
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            assert proc.stdin is not None
            try:
                proc.stdin.write(payload.encode("utf-8"))
                proc.stdin.close()
            except BrokenPipeError:
                pass
            timed_out, handler_started = _wait(proc, result_path + ".started", started, timeout)
            ended = time.monotonic()
            duration_ms = (ended - (handler_started or started)) * 1000
            init_ms = ((handler_started or ended) - started) * 1000
            reader.join(timeout=2)
            result = None
            if not timed_out:
                try:
                    with open(result_path, encoding="utf-8") as fh:
                        result = json.load(fh)
                except (OSError, ValueError):
                    result = None
        finally:
            _kill_group(proc)  # anything the handler left running in the background; the handler too if stopped
        return ChildRun(lines, result, timed_out, proc.returncode, duration_ms, init_ms)


INIT_LIMIT = 10.0  # seconds: Lambda's limit for the init phase (interpreter start, importing the handler)


def _wait(proc: subprocess.Popen[bytes], marker: str, started: float, timeout: float) -> tuple[bool, float | None]:
    """Wait for the child; the timeout counts from the handler's start (the child's marker file), as Lambda's
    excludes the init phase. Returns (timed out, when the handler started)."""
    handler_started: float | None = None
    deadline = started + INIT_LIMIT
    while True:
        try:
            proc.wait(timeout=0.01)
            return False, handler_started
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if handler_started is None and os.path.exists(marker):
            handler_started = now
            deadline = now + timeout
        if now >= deadline:
            _kill_group(proc)
            proc.wait()
            return True, handler_started


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_lines(stream: IO[bytes], lines: list[tuple[int, str]]) -> None:
    """Each output line becomes one log event, stamped when it arrived; bytes that are not UTF-8 are replaced."""
    for raw in iter(stream.readline, b""):
        text = raw.rstrip(b"\n").decode("utf-8", errors="replace")
        lines.append((int(time.time() * 1000), text))
    stream.close()
