"""`evctl tail bus`: print the events crossing a bus, through a temporary rule and queue removed on exit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from evctl.cli.context import app_context
from evctl.cli.stopping import stop_word

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

    from evctl.cli.context import AppContext
    from evctl.core.rules import BusTail


def bus(
    ctx: typer.Context,
    bus: Annotated[str, typer.Argument(help="Event bus name or ARN.")] = "default",
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern",
            "-p",
            help="Only events matching this pattern (JSON or @file); default: all.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[int | None, typer.Option("--count", "-n", min=1, help="Stop after this many events.")] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.", show_default=False)
    ] = None,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Remove temporary rules and queues left behind by killed runs, then exit.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="--cleanup without asking (required when not on a TTY).")
    ] = False,
) -> None:
    """Stream the events crossing a bus as they arrive (ndjson when piped).

    A temporary queue (its policy admits only the temporary rule) and rule, tagged as evctl's, are created and
    removed again on exit, Ctrl-C or SIGTERM.
    """
    from evctl.core.rules import BusTail, ensure_bus, load_pattern, read_source

    app = app_context(ctx)
    events, sqs = app.client("events"), app.client("sqs")
    if cleanup:
        return _cleanup(app, events, sqs, yes)
    pattern_text = read_source(pattern, what="pattern") if pattern is not None else None
    if pattern_text is not None:
        load_pattern(pattern_text)  # an invalid pattern fails here, before anything is created
    tail = BusTail(events, sqs, ensure_bus(events, bus), pattern_text)
    stopped_by, received, removed = _run(app, tail, count, duration)
    outcome = f"{received} event(s); " + ("temporary rule and queue removed" if removed else "see the warnings above")
    if stopped_by:
        from evctl.errors import Interrupted

        raise Interrupted(f"{stopped_by} after {outcome}")
    app.output.info(outcome)


def _run(app: AppContext, tail: BusTail, count: int | None, duration: float | None) -> tuple[str | None, int, bool]:
    """Create, stream, and always remove: returns (what stopped it early, events printed, all removed)."""
    from evctl.render.rules import bus_event_line

    stopped_by = None
    try:
        res = tail.create()
        app.output.info(
            f"tailing bus {res.bus} through rule {res.name} and queue {res.name}; "
            "a newly created rule may take a moment to become active (Ctrl-C to stop)"
        )
        with app.output.records() as writer:
            for event in tail.poll(max_events=count, duration=duration):
                writer.write(event, human=bus_event_line(event))
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP (evctl/cli/stopping.py)
        stopped_by = stop_word()
    finally:
        removed = _remove(app, tail)
    return stopped_by, tail.received, removed


def _remove(app: AppContext, tail: BusTail) -> bool:
    """Remove what the tail created; a second Ctrl-C or SIGTERM during removal must not leave them behind."""
    while True:
        try:
            problems = tail.remove()
            break
        except KeyboardInterrupt:
            continue
    for problem in problems:
        app.output.warn(f"could not remove {problem} — run `evctl tail bus --cleanup`")
    return not problems


def _cleanup(app: AppContext, events: EventBridgeClient, sqs: SQSClient, yes: bool) -> None:
    from evctl.core.rules import find_leftovers, remove_leftovers
    from evctl.errors import PartialFailure
    from evctl.render.rules import LEFTOVER_COLUMNS

    leftovers = find_leftovers(events, sqs)
    if not leftovers:
        app.output.info("no temporary rules or queues of evctl tail bus found")
        app.output.result([], columns=LEFTOVER_COLUMNS)
        return
    app.output.confirm(f"remove {len(leftovers)} temporary rule(s)/queue(s) left by evctl tail bus", yes=yes)
    problems = remove_leftovers(events, sqs, leftovers)
    app.output.result([item.as_dict() for item in leftovers], columns=LEFTOVER_COLUMNS)
    if problems:
        raise PartialFailure(f"could not remove {len(problems)}: {'; '.join(problems)}")
    app.output.info(f"removed {len(leftovers)} temporary rule(s)/queue(s)")


def register(app: typer.Typer) -> None:
    app.command("bus")(bus)
