"""Option and argument aliases shared by commands, so every command spells them the same way."""

from __future__ import annotations

from typing import Annotated

import typer

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (required when not on a TTY).")]
BusOpt = Annotated[str, typer.Option("--bus", "-b", help="Event bus name or ARN.", show_default=True)]
QueueArg = Annotated[str, typer.Argument(help="Queue name, URL or ARN.", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; call nothing that changes state.")]
