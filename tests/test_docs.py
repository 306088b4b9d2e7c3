"""Every command has help text, and docs/commands.md is the current --help of every command."""

from __future__ import annotations

from pathlib import Path

import typer

from evctl.cli.main import app
from scripts.gen_command_reference import command_paths, render

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)
    missing = []
    for path in command_paths(root):
        command = root
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        if not (command.help or command.short_help):
            missing.append(" ".join(path) or "evctl")
    assert missing == []


def test_command_reference_is_current() -> None:
    current = (ROOT / "docs" / "commands.md").read_text()
    assert current == render(), "docs/commands.md is stale: run `make docs`"
