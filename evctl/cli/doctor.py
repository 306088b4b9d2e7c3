"""`evctl doctor [TARGET...]`: the catalogue's checks over the discovered pipelines; findings with evidence and the
exact fix; exit 1 when something is at or above --fail-on (docs/doctor.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from evctl.cli.context import app_context

FailOn = Literal["critical", "high", "medium", "info"]
MAX_LOG_WINDOW_SECONDS = 30 * 86400  # log checks read recent signatures; further back is not "recent"


def doctor(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Bus (name or ARN), rule (BUS/RULE or ARN), queue (name, URL or ARN) or function (name or ARN), "
            "as `evctl pipeline show` takes them. None: every pipeline in the region that ends in an SQS queue.",
            show_default=False,
            metavar="[TARGET...]",
        ),
    ] = None,
    sample: Annotated[
        list[str] | None,
        typer.Option(
            "--sample",
            "-s",
            metavar="TEMPLATE|@FILE",
            help="The producer's events for the pattern checks: a template name (evctl templates list) or "
            "@FILE.jsonl (events or PutEvents entries, one per line); repeatable. Default: the templates whose "
            "source a discovered rule names.",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(help="Exit 1 when a finding is at or above this severity."),
    ] = "high",
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            "-c",
            metavar="ID",
            help="Run only this check (an id such as Q-VIS-1, or a pattern such as 'Q-*'); repeatable.",
            show_default=False,
        ),
    ] = None,
    log_window: Annotated[
        str, typer.Option(metavar="DURATION", help="How far back the log checks read (30m, 2h, 1d; at most 30d).")
    ] = "1h",
    log_max_events: Annotated[
        int, typer.Option(help="At most this many log events read per log group.", min=1, max=100_000)
    ] = 2000,
    logs: Annotated[
        bool, typer.Option(help="Read the functions' recent log events (--no-logs: those checks are not checked).")
    ] = True,
    metrics: Annotated[
        bool, typer.Option(help="Read CloudWatch metrics as supporting evidence (GetMetricData).")
    ] = True,
    workers: Annotated[int, typer.Option(help="Reads made at once.", min=1, max=16)] = 8,
) -> None:
    """Check the pipelines around each TARGET (read-only) for the misconfigurations that drop, delay or duplicate
    events: each finding has its check id, severity, effect, the exact evidence read and the fix (value and aws CLI
    command). A check that could not run says why ("not checked: sqs:GetQueueAttributes denied"). Exit 0 when
    nothing is at or above --fail-on, 1 when something is; 2 for a malformed target or sample, 3 for an unknown
    target, 4 when a discovery read is denied."""
    from evctl.config import load_config
    from evctl.core.common.time import parse_duration
    from evctl.core.doctor import failing
    from evctl.core.doctor.samples import default_samples, samples_from_specs
    from evctl.core.doctor.session import DoctorSession, check_jobs, select_checks
    from evctl.render.doctor import TEXT_COLUMNS, DoctorMeta, document, report_lines, text_rows

    app = app_context(ctx)
    given = list(targets or [])
    specs = list(sample or [])
    chosen = select_checks(list(check or []))
    window = int(parse_duration(log_window, "--log-window"))
    if not 1 <= window <= MAX_LOG_WINDOW_SECONDS:
        from evctl.errors import UsageError

        raise UsageError(f"--log-window {log_window!r} is out of range", "give 1s to 30d, e.g. 30m, 2h, 1d")
    config = load_config()
    default_bus = str(config.setting("publish", "bus", "default"))
    samples_from_specs(specs, config, account=None, region=None, default_bus=default_bus)  # bad ones: exit 2 now

    pool = workers + 2
    clients = app.session_clients(pool=pool, metrics=metrics)
    region = str(clients.sqs.meta.region_name or "")
    session = DoctorSession(clients, region=region, workers=workers, metrics=metrics)
    what = ", ".join(given) if given else f"every queue in {region}"
    with app.output.progress(f"discovering {what}") as bar:
        graph = session.discover(given)
        bar.update(completed=1, total=1)
    ctx_ = session.context(graph, [], log_window_seconds=window, log_max_events=log_max_events, logs=logs)
    if specs:
        samples = samples_from_specs(specs, config, account=ctx_.account, region=region, default_bus=default_bus)
    else:
        samples = default_samples(config, graph, account=ctx_.account, region=region, default_bus=default_bus)
    ctx_.samples = samples
    with app.output.progress("checking", total=check_jobs(graph, chosen)) as bar:
        report = session.run(ctx_, checks=chosen, explicit=bool(check), on_outcome=lambda _: bar.advance())

    meta = DoctorMeta(
        targets=given,
        fail_on=fail_on,
        region=region,
        account=ctx_.account,
        checks=chosen,
        samples=samples,
        log_window_seconds=window if logs else None,
    )
    fmt = app.output.format_for(stream=False)
    bad = failing(report, fail_on=fail_on)
    app.output.verdict = 1 if bad else 0  # kept when the reader of a pipe goes away (docs/output.md)
    if fmt == "table":
        for line in report_lines(report, graph, meta, color=app.output.color):
            app.output.write_line(line)
    elif fmt == "text":
        app.output.result(text_rows(report, graph), columns=TEXT_COLUMNS)
    else:
        app.output.result(document(report, graph, meta))
    if bad:
        if fmt != "table":
            app.output.info(f"evctl doctor: {len(bad)} finding(s) at or above {fail_on}")
        raise typer.Exit(1)
