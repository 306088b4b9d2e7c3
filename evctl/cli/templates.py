"""`evctl templates ...`: the named events `evctl publish NAME` can send."""

from __future__ import annotations

from typing import Annotated

import typer

from evctl.cli.context import app_context

app = typer.Typer(
    help="Named event templates: the built-in `signup` and your own (evctl.toml or ~/.config/evctl/config.toml).",
    no_args_is_help=True,
)


@app.command("list")
def list_templates(ctx: typer.Context) -> None:
    """List the templates: built-in ones and those in your config file."""
    from evctl.config import load_config
    from evctl.core.events import all_templates, describe_template
    from evctl.render.templates import LIST_COLUMNS, template_row

    app_ = app_context(ctx)
    rows = [describe_template(t) for _, t in sorted(all_templates(load_config()).items())]
    if app_.output.format_for(stream=False) in ("table", "text"):
        rows = [template_row(row) for row in rows]
    app_.output.result(rows, columns=LIST_COLUMNS)


@app.command("show")
def show_template(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.", show_default=False)],
) -> None:
    """Show one template: Source, DetailType, bus, and the Detail keys `--set` can change."""
    from evctl.config import load_config
    from evctl.core.events import describe_template, get_template

    app_ = app_context(ctx)
    app_.output.result(describe_template(get_template(name, load_config())), title=f"template {name}")
