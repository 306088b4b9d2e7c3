"""`evctl tail ...`: follow what flows through the pipeline. Each subcommand lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Follow what flows through the pipeline: a function's logs, or the events crossing a bus.",
    no_args_is_help=True,
)

# Registered here so that `evctl tail --help` lists them; each module imports only typer at top level.
# (tail_logs.register(app) / tail_bus.register(app) lines are added as the commands land.)

from evctl.cli import tail_bus  # noqa: E402

tail_bus.register(app)
from evctl.cli import tail_logs  # noqa: E402

tail_logs.register(app)
