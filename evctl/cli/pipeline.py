"""`evctl pipeline show`: the whole pipeline around any hop, with live numbers, as a tree, JSON or a picture."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from evctl.cli.context import app_context

app = typer.Typer(
    help="Pipelines: see the whole bus → rule → queue → mapping → function → logs graph from any hop.",
    no_args_is_help=True,
)

Format = Literal["tree", "mermaid", "dot"]


@app.command("show")
def show(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(
            help="Bus (name or ARN), rule (BUS/RULE or ARN), queue (name, URL or ARN) or function (name or ARN); "
            "prefix bus:, rule:, queue: or function: when a name is several things.",
            show_default=False,
            metavar="TARGET...",
        ),
    ],
    format_: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="tree (the terminal default), mermaid (renders in GitHub markdown) or dot (graphviz). "
            "-o json gives the graph as data.",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        bool, typer.Option(help="Read the age of each queue's oldest message from CloudWatch (GetMetricData).")
    ] = True,
    workers: Annotated[int, typer.Option(help="Reads made at once.", min=1, max=16)] = 8,
) -> None:
    """Discover the pipeline around each TARGET (read-only) and show it: rule state and pattern, queue depths and
    DLQ depth, mapping settings, function timeout and concurrency, log retention. A read that is denied shows as
    "not read: <action> denied". Exit 3 for an unknown target, 2 for an ambiguous or malformed one."""
    from evctl.core.pipeline import PipelineClients, discover
    from evctl.render.pipeline import dot, mermaid, tree_lines

    app = app_context(ctx)
    pool = workers + 2
    clients = PipelineClients(
        events=app.client("events", pool=pool),
        sqs=app.client("sqs", pool=pool),
        lambda_=app.client("lambda", pool=pool),
        logs=app.client("logs", pool=pool),
        cloudwatch=app.client("cloudwatch") if metrics else None,
    )
    graph = discover(clients, targets, workers=workers, metrics=metrics)
    if format_ in ("mermaid", "dot"):
        app.output.streams.stdout.write(mermaid(graph) if format_ == "mermaid" else dot(graph))
        app.output.streams.stdout.flush()
    elif format_ == "tree" or app.output.format_for(stream=False) in ("table", "text"):
        for line in tree_lines(graph):
            app.output.write_line(line)
    else:
        app.output.result(graph.as_dict())
