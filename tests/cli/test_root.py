"""The root command: --version (in-process and the installed fast path), a bad --output, and a --help that stays
light. Every check looks at the exit code and both streams: a crash can never pass for the expected output."""

from __future__ import annotations

import subprocess
import sys

from evctl import __version__
from tests.helpers import evctl_executable, run_cli


def test_version() -> None:
    result = run_cli(["--version"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.strip() == f"evctl {__version__}"


def test_installed_version_fast_path_matches() -> None:
    done = subprocess.run([evctl_executable(), "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"evctl {__version__}\n", "")


def test_bad_output_mode_is_a_usage_error() -> None:
    result = run_cli(["--output", "yaml", "--help"])
    assert result.exit_code == 0, result.stderr  # --help is eager: it answers before --output is checked
    assert result.stdout.startswith("Usage: evctl [OPTIONS] COMMAND [ARGS]...")
    assert result.stderr == ""
    result = run_cli(["--output", "yaml", "templates", "list"])
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing was listed
    assert "--output" in result.stderr
    assert "yaml" in result.stderr or "auto" in result.stderr  # names the bad value or the choices


def test_help_does_not_import_boto3() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "evctl", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: evctl [OPTIONS] COMMAND [ARGS]...")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"evctl", "evctl.cli.main", "typer"} <= imported  # the import log was read: the check below can fail
    assert "boto3" not in imported and "botocore" not in imported


def test_installed_evctl_takes_global_options_anywhere_and_reports_usage_errors_on_one_line() -> None:
    """Through the real entry point (sys.argv, not CliRunner): the lifted options and the one-line usage errors."""
    import json

    from tests.helpers import run_evctl

    listed = run_evctl(["templates", "list", "-o", "json", "--color", "never"])
    assert (listed.returncode, listed.stderr) == (0, "")
    assert {t["name"] for t in json.loads(listed.stdout)} >= {"signup"}
    for args in (["templates", "list", "--format", "yaml"], ["tail", "bus", "--duration", "nan"], ["-o", "yaml"]):
        bad = run_evctl(args)
        assert (bad.returncode, bad.stdout) == (2, ""), bad.stderr
        assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("evctl: error: "), bad.stderr
