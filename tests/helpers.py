"""Test helpers: run the CLI in-process with chosen TTY flags, capture stdout and stderr apart; start children with
default signal handling; reset a moto server."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from evctl.output import Streams


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    args: Sequence[str],
    *,
    input: str | None = None,
    tty: bool = False,
    stdin_tty: bool | None = None,
    env: dict[str, str] | None = None,
) -> CliResult:
    """Invoke evctl in-process. `tty=True` makes stdout/stderr (and stdin unless given) look like terminals."""
    from typer.testing import CliRunner

    from evctl.cli.main import app

    stdout, stderr = io.StringIO(), io.StringIO()
    stdin = io.StringIO(input or "")

    def streams() -> Streams:
        return Streams(
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            stdin_isatty=tty if stdin_tty is None else stdin_tty,
            stdout_isatty=tty,
            stderr_isatty=tty,
        )

    runner = CliRunner()
    with mock.patch("evctl.cli.context.make_streams", streams), mock.patch("evctl.cli.main.make_streams", streams):
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False, prog_name="evctl")
    # typer's own usage errors and --help go through its streams; ours go through Streams.
    return CliResult(result.exit_code, result.stdout + stdout.getvalue(), result.stderr + stderr.getvalue())


DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def restore_default_signals() -> None:
    """`preexec_fn=restore_default_signals` for every child a test signals (and every evctl it starts).

    `make test &`, `nohup` and some CI runners start pytest with SIGINT (sometimes SIGTERM or SIGHUP) ignored, and
    an ignored signal stays ignored across fork and exec: the child would never see the Ctrl-C a test sends (Python
    installs no KeyboardInterrupt handler when SIGINT is ignored at start-up). It runs in the child between fork
    and exec and only sets signal dispositions (no locks, no I/O), which stays safe although the parent runs
    threads (the moto server's); it combines with `start_new_session=True`."""
    for signum in DEFAULT_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def reset_moto(endpoint: str) -> None:
    """Drop every resource of a moto server (`POST /moto-api/reset`). moto keeps its state per process, not per
    server: two servers started in one pytest process share it, so each test resets what it uses."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def evctl_executable() -> str:
    """The installed console script, next to the running interpreter."""
    candidate = Path(sys.executable).with_name("evctl")
    found = str(candidate) if candidate.exists() else shutil.which("evctl")
    assert found, "the evctl console script is not installed"
    return found


def run_evctl(
    args: Sequence[str], *, endpoint: str | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed `evctl` as a subprocess (e2e), optionally against a moto endpoint, with default signal
    handling (whatever it starts, such as a detached sandbox, is signalled later)."""
    env = dict(os.environ)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run(
        [evctl_executable(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=restore_default_signals,
    )
