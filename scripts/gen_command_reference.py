"""Print docs/commands.md: every command's --help, generated so the reference cannot drift from the code."""

from __future__ import annotations

import sys

import typer
from typer.testing import CliRunner

from evctl.cli.main import app


def command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below `command`, depth first, groups included."""
    paths = [prefix]
    sub = getattr(command, "commands", None) or {}
    for name in sorted(sub):
        if getattr(sub[name], "hidden", False):
            continue
        paths.extend(command_paths(sub[name], (*prefix, name)))
    return paths


def render() -> str:
    runner = CliRunner()
    root = typer.main.get_command(app)
    parts = [
        "# Command reference\n",
        "Generated from `--help` by `make docs` (scripts/gen_command_reference.py); a test fails when it drifts.\n",
    ]
    for path in command_paths(root):
        title = " ".join(("evctl", *path))
        result = runner.invoke(app, [*path, "--help"], prog_name="evctl", env={"COLUMNS": "100", "TERM": "dumb"})
        parts.append(f"## {title}\n\n```text\n{result.stdout.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
