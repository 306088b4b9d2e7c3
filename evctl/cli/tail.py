"""`evctl tail ...`: follow what flows through the pipeline. Each subcommand lives in its own module
(tail_logs.py, tail_bus.py); evctl/cli/main.py registers them on this sub-app."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Follow what flows through the pipeline: a function's logs, or the events crossing a bus.",
    no_args_is_help=True,
)
