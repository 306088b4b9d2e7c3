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


@app.command("watch")
def watch(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(help="What to watch, as `pipeline show` takes it.", show_default=False, metavar="TARGET..."),
    ],
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", min=1, max=300, help="Read each queue every SECONDS.")
    ] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit (-o json for scripts).")] = False,
    metrics: Annotated[bool, typer.Option(help="Read CloudWatch once a minute (one GetMetricData).")] = True,
    doctor: Annotated[bool, typer.Option(help="Run the doctor's checks; show findings at high or above.")] = True,
    doctor_every: Annotated[
        str, typer.Option(metavar="DURATION", help="Run the doctor again this often (1m to 24h).")
    ] = "5m",
    workers: Annotated[int, typer.Option(help="Reads made at once (discovery, doctor).", min=1, max=16)] = 8,
) -> None:
    """A live dashboard of the pipeline around each TARGET: per hop its numbers and a sparkline (rule matched and
    failed; queue visible, in flight, oldest message; DLQ depth, marked when it grows; function invocations,
    errors, throttles, p95 duration) and the doctor's findings at high or above. Queues are read every --interval
    (DLQs every minute), CloudWatch once a minute in one call. Piped: one JSON snapshot per line. Ctrl-C stops it."""
    import time

    from evctl.cli.stopping import stop_word
    from evctl.config import load_config
    from evctl.core.common.time import parse_duration
    from evctl.core.doctor.samples import default_samples
    from evctl.core.doctor.session import DoctorSession
    from evctl.core.watch import DoctorRuns, WatchClients, Watcher, plan_hops
    from evctl.errors import Interrupted, UsageError
    from evctl.render.watch_live import watch_writer

    every = parse_duration(doctor_every, "--doctor-every")
    if not 60 <= every <= 86400:
        raise UsageError(f"--doctor-every {doctor_every!r} is out of range", "give 1m to 24h, e.g. 5m")
    app, pool = app_context(ctx), workers + 2
    clients = app.session_clients(pool=pool, metrics=metrics, iam=doctor)
    session = DoctorSession(clients, region=str(clients.sqs.meta.region_name or ""), workers=workers, metrics=metrics)
    graph = session.discover(targets)
    config = load_config()
    bus = str(config.setting("publish", "bus", "default"))
    samples = lambda g, account: default_samples(config, g, account=account, region=session.region, default_bus=bus)  # noqa: E731
    runs = DoctorRuns(session, targets, graph=graph, samples=samples) if doctor else None
    watcher = Watcher(plan_hops(graph), WatchClients(clients.sqs, clients.cloudwatch), targets=targets,
                      interval=interval, doctor=runs, doctor_every=every)  # fmt: skip
    started = time.monotonic()
    try:
        with watch_writer(app.output, once=once) as emit:
            watcher.run(emit, sleep=app.output.idle_sleep() or time.sleep, once=once)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP
        calls = ", ".join(f"{name} {count}" for name, count in sorted(watcher.calls.items()))
        app.output.info(f"watched for {time.monotonic() - started:.0f}s: {calls}")
        raise Interrupted(f"stopped watching ({stop_word()})") from None
