"""`evctl tail logs`: print a function's or log group's events; follow them with no duplicates and no gaps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from evctl.cli.context import app_context

if TYPE_CHECKING:
    from evctl.core.logs import Tail
    from evctl.errors import Interrupted
    from evctl.output import Output
    from evctl.render.logs import LogFormatter

# The formats of evctl.render.logs.FORMATS (a test keeps the two equal); spelled here so --help loads no core.
Format = Literal["short", "detailed", "json", "raw"]


def logs(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(
            metavar="TARGET",
            help="Function names or ARNs, log group names or ARNs (several are merged by time).",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            "-s",
            metavar="WHEN",
            help="Start: 30s, 5m, 2h, 1d, ISO-8601 (UTC unless an offset is given) or epoch. [default: 10m]",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", "-u", metavar="WHEN", help="End, same forms as --since. [default: now]", show_default=False
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new events (Ctrl-C to stop).")
    ] = False,
    live: Annotated[
        bool,
        typer.Option("--live", help="Stream new events with StartLiveTail (≤10 groups); polls when it is unavailable."),
    ] = False,
    filter_pattern: Annotated[
        str | None,
        typer.Option("--filter-pattern", metavar="PATTERN", help="CloudWatch Logs filter pattern.", show_default=False),
    ] = None,
    stream: Annotated[
        list[str] | None,
        typer.Option(
            "--stream",
            metavar="PREFIX",
            help="Only log streams whose name starts with this (a full name works); repeatable.",
            show_default=False,
        ),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            metavar="ID",
            help="Only the lines of this invocation (START to REPORT).",
            show_default=False,
        ),
    ] = None,
    errors: Annotated[
        bool, typer.Option("--errors", help='Only errors: ERROR lines, tracebacks, "Task timed out".')
    ] = False,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="short | detailed | json | raw. [default: json with --output json/ndjson, else short]",
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        str, typer.Option("--interval", metavar="DURATION", help="With --follow: time between polls.")
    ] = "1s",
    lookback: Annotated[
        str,
        typer.Option(
            "--lookback",
            metavar="DURATION",
            help="With --follow: still show events arriving this late (older timestamps).",
        ),
    ] = "30s",
    settle: Annotated[
        str,
        typer.Option(
            "--settle",
            metavar="DURATION",
            help="With --follow: hold events this long so late ones print in timestamp order.",
        ),
    ] = "0s",
) -> None:
    """Print log events of Lambda functions or log groups; --follow or --live to keep watching.

    Each event is printed once, in timestamp order, labelled by its source when there are several.
    """
    from evctl.core import logs as core
    from evctl.render.logs import LogFormatter

    app = app_context(ctx)
    out = app.output
    options = core.options_from_cli(
        since, until, targets=targets, follow=follow, live=live, filter_pattern=filter_pattern, streams=stream or [],
        request_id=request_id, errors_only=errors, interval=interval, lookback=lookback, settle=settle,
    )  # fmt: skip
    tail, formatter = None, None
    try:
        sources = core.resolve_sources(targets, app.client("logs"), app.client("lambda"), on_notice=out.warn)
        formatter = LogFormatter(
            fmt or ("json" if out.mode in ("json", "ndjson") else "short"),
            labels=[s.label for s in sources],
            color=out.color,
            pretty=bool(out.streams.stdout_isatty),
        )
        # out.idle sleeps between polls watching stdout: `-f | head -1` ends even when no event comes
        tail = core.Tail(app.client("logs"), sources, options, on_notice=out.warn, sleep=out.idle_sleep())
        for event in tail:
            out.write_line(formatter.format(event))
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP (evctl/cli/stopping.py)
        raise _interrupted(tail, formatter, out) from None
    if tail.shown == 0 and not (follow or live):
        out.info("no log events in the window (widen it with --since, or --follow to wait for new ones)")


def _interrupted(tail: Tail | None, formatter: LogFormatter | None, out: Output) -> Interrupted:
    """Ctrl-C: print what --settle still holds back; the error says how much was shown."""
    from evctl.cli.stopping import stop_word
    from evctl.errors import Interrupted

    if tail is None or formatter is None:
        return Interrupted(stop_word())
    for event in tail.flush():
        out.write_line(formatter.format(event))
    return Interrupted(f"{stop_word()} after {tail.summary()}")


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
