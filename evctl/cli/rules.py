"""`evctl rules ...`: list and show a bus's rules, test events against a pattern, see which rules an event hits."""

from __future__ import annotations

from typing import Annotated

import typer

from evctl.cli.context import app_context

app = typer.Typer(
    help="Event rules: list and show them, test events against a pattern offline, see which rules an event hits.",
    no_args_is_help=True,
)

BusOption = Annotated[str, typer.Option("--bus", "-b", help="Event bus name or ARN.")]
EventOption = Annotated[
    str,
    typer.Option(
        "--event",
        "-e",
        help="Event(s): JSON, @file or - for stdin. One object, an array, or JSON lines; "
        "PutEvents entries or full envelopes.",
        show_default=False,
    ),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    bus: BusOption = "default",
    prefix: Annotated[str | None, typer.Option(help="Only rules whose name starts with this.")] = None,
) -> None:
    """List the rules on a bus (all pages): name, state, pattern summary, schedule, targets."""
    from evctl.core.rules import list_rules
    from evctl.render.rules import LIST_COLUMNS, rule_row

    app = app_context(ctx)
    rules = list_rules(app.client("events"), bus, prefix)
    if app.output.format_for(stream=False) in ("table", "text"):
        app.output.result([rule_row(rule) for rule in rules], columns=LIST_COLUMNS)
    else:
        app.output.result([rule.as_dict() for rule in rules])


@app.command("show")
def show(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name or ARN.", show_default=False)],
    bus: BusOption = "default",
) -> None:
    """Show a rule: its pattern (pretty) and targets with InputPath, InputTransformer, DeadLetterConfig, RetryPolicy."""
    from evctl.core.rules import describe_rule
    from evctl.render.rules import rule_lines

    app = app_context(ctx)
    info = describe_rule(app.client("events"), rule, bus)
    if app.output.format_for(stream=False) in ("table", "text"):
        for line in rule_lines(info):
            app.output.write_line(line)
    else:
        app.output.result(info.as_dict())


@app.command("test")
def test(
    ctx: typer.Context,
    event: EventOption,
    pattern: Annotated[
        str | None, typer.Option("--pattern", "-p", help="Event pattern: JSON or @file.", show_default=False)
    ] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", "-r", help="Use this rule's pattern (name or ARN).", show_default=False)
    ] = None,
    bus: BusOption = "default",
    remote: Annotated[
        bool, typer.Option("--remote", help="Also ask AWS (TestEventPattern) and show both answers.")
    ] = False,
) -> None:
    """Test events against a pattern offline, with why each miss missed.

    Exit 0 when every event matches, 1 when any does not, 2 for an invalid pattern or event.
    """
    from evctl.core import rules as core
    from evctl.errors import UsageError
    from evctl.render.rules import disagreement_warnings, outcome_text

    app = app_context(ctx)
    if (pattern is None) == (rule is None):
        raise UsageError("give exactly one of --pattern and --rule")
    documents = core.parse_events_text(core.read_source(event, app.output.streams.stdin, what="event"))
    if pattern is not None:
        pattern_text = core.read_source(pattern, what="pattern")
    else:
        pattern_text = core.rule_pattern(app.client("events"), str(rule), bus)
    outcomes = core.check_events(pattern_text, documents)
    if remote:
        core.ask_aws(app.client("events"), pattern_text, outcomes)
    with app.output.records() as writer:
        for outcome in outcomes:
            writer.write(outcome.as_dict(), human=outcome_text(outcome, len(outcomes)))
    for warning in disagreement_warnings(outcomes):
        app.output.warn(warning)
    misses = sum(not o.matched for o in outcomes)
    if misses:
        app.output.info(f"{misses} of {len(outcomes)} event(s) did not match")
        raise typer.Exit(1)


@app.command("match")
def match(ctx: typer.Context, event: EventOption, bus: BusOption = "default") -> None:
    """Which rules on a bus match each event, and what each target would receive (InputPath / InputTransformer
    rendered as EventBridge renders them). Exit 1 when an event reaches no enabled rule."""
    from evctl.core.rules import match_events, parse_events_text, read_source
    from evctl.render.rules import delivery_warnings, matches_text

    app = app_context(ctx)
    documents = parse_events_text(read_source(event, app.output.streams.stdin, what="event"))
    bus_rules, results = match_events(app.client("events"), bus, documents)
    for name, why in bus_rules.skipped.items():
        app.output.warn(f"rule {name} skipped: its stored pattern is invalid ({why})")
    with app.output.records() as writer:
        for result in results:
            writer.write(result.as_dict(), human=matches_text(result, len(results)))
    for warning in delivery_warnings(results):
        app.output.warn(warning)
    undelivered = sum(not r.delivered for r in results)
    if undelivered:
        app.output.info(f"{undelivered} of {len(results)} event(s) match no enabled rule on bus {bus_rules.bus}")
        raise typer.Exit(1)
