"""Test helpers: run the CLI in-process with chosen TTY flags, capture stdout and stderr apart; start children with
default signal handling; reset a moto server.

Every stdout that is JSON (`-o json`, `-o ndjson`, or the piped default) produced through run_cli or run_evctl is
parsed with a strict parser (NaN / Infinity refused, as every parser but Python's does): the whole suite is the proof
that stdout is strict JSON (docs/output.md)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
    if not tty:
        assert_strict_json(args, stdout.getvalue())
    return CliResult(result.exit_code, result.stdout + stdout.getvalue(), result.stderr + stderr.getvalue())


class NotStrictJson(AssertionError):
    """stdout held NaN, Infinity or -Infinity: JSON only Python's parser reads."""


def _refuse_constant(name: str) -> Any:
    raise NotStrictJson(f"stdout is not strict JSON: it holds a bare {name}")


STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _json_output(args: Sequence[str]) -> bool:
    """Whether evctl writes JSON to a piped stdout for these arguments (auto, json or ndjson: not table/wide/text)."""
    args = list(args)
    for i, arg in enumerate(args):
        value = None
        if arg in ("-o", "--output") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--output="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2:
            value = arg[2:]
        if value is not None and value not in ("auto", "json", "ndjson"):
            return False
    return True


def assert_strict_json(args: Sequence[str], stdout: str) -> None:
    """Parse every JSON document in a JSON stdout strictly. A whole document (pretty or compact), else one per line:
    a line that is not JSON at all (a raw body, a log line in `short` format) is left alone, but a line that is JSON
    to Python's lenient parser must be strict JSON."""
    if not stdout.strip() or not _json_output(args):
        return
    try:
        STRICT.decode(stdout)
        return
    except NotStrictJson:
        raise
    except ValueError:
        pass
    for line in stdout.splitlines():
        text = line.strip()
        if not text:
            continue
        try:
            STRICT.decode(text)
        except NotStrictJson:
            raise
        except ValueError:
            try:
                json.loads(text)
            except ValueError:
                continue  # not JSON: text output
            raise NotStrictJson(f"stdout is not strict JSON: {text[:200]}") from None


def strict_json_lines(stdout: str) -> list[Any]:
    """NDJSON, each line parsed strictly."""
    return [STRICT.decode(line) for line in stdout.splitlines() if line.strip()]


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
    result = subprocess.run(
        [evctl_executable(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=restore_default_signals,
    )
    assert_strict_json(args, result.stdout)
    return result
