from __future__ import annotations

import subprocess
import sys

from evctl import __version__
from tests.helpers import evctl_executable, run_cli


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"evctl {__version__}"


def test_installed_version_fast_path_matches() -> None:
    done = subprocess.run([evctl_executable(), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"evctl {__version__}\n"


def test_bad_output_mode_is_a_usage_error() -> None:
    result = run_cli(["--output", "yaml", "--help"])
    assert result.exit_code == 0  # --help is eager
    result = run_cli(["--output", "yaml", "templates", "list"])
    assert result.exit_code == 2
    assert "--output" in result.stderr


def test_help_does_not_import_boto3() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "evctl", "--help"],
        capture_output=True,
        text=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "boto3" not in imported and "botocore" not in imported
