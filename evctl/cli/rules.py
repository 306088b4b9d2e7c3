"""`evctl rules ...`: list and show a bus's rules, test events against a pattern, see which rules an event hits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import app_context

if TYPE_CHECKING:
    from evctl.cli.context import AppContext
    from evctl.core.rules.matching import EventMatches, PatternOutcome, RuleInfo
    from evctl.output import Output

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
LIST_COLUMNS = [
    ("name", "NAME"),
    ("state", "STATE"),
    ("pattern", "PATTERN"),
    ("schedule", "SCHEDULE"),
    ("targets", "TARGETS"),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    bus: BusOption = "default",
    prefix: Annotated[str | None, typer.Option(help="Only rules whose name starts with this.")] = None,
) -> None:
    """List the rules on a bus (all pages): name, state, pattern summary, schedule, targets."""
    from evctl.core.rules.matching import list_rules

    app = app_context(ctx)
    rules = list_rules(app.client("events"), bus, prefix)
    if app.output.format_for(stream=False) in ("table", "text"):
        app.output.result([rule.summary_row() for rule in rules], columns=LIST_COLUMNS)
    else:
        app.output.result([rule.as_dict() for rule in rules])


@app.command("show")
def show(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name or ARN.", show_default=False)],
    bus: BusOption = "default",
) -> None:
    """Show a rule: its pattern (pretty) and targets with InputPath, InputTransformer, DeadLetterConfig, RetryPolicy."""
    from evctl.core.rules.matching import describe_rule

    app = app_context(ctx)
    info = describe_rule(app.client("events"), rule, bus)
    if app.output.format_for(stream=False) in ("table", "text"):
        for line in _rule_lines(info):
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
    from evctl.core.rules import matching as core
    from evctl.errors import UsageError

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
            writer.write(outcome.as_dict(), human=_outcome_text(outcome, len(outcomes)))
    _report_disagreements(app.output, outcomes)
    misses = sum(not o.matched for o in outcomes)
    if misses:
        app.output.info(f"{misses} of {len(outcomes)} event(s) did not match")
        raise typer.Exit(1)


@app.command("match")
def match(ctx: typer.Context, event: EventOption, bus: BusOption = "default") -> None:
    """Which rules on a bus match each event, and what each target would receive (InputPath / InputTransformer
    rendered as EventBridge renders them). Exit 1 when an event reaches no enabled rule."""
    from evctl.core.rules.matching import match_events, parse_events_text, read_source

    app = app_context(ctx)
    documents = parse_events_text(read_source(event, app.output.streams.stdin, what="event"))
    bus_rules, results = match_events(app.client("events"), bus, documents)
    for name, why in bus_rules.skipped.items():
        app.output.warn(f"rule {name} skipped: its stored pattern is invalid ({why})")
    with app.output.records() as writer:
        for result in results:
            writer.write(result.as_dict(), human=_matches_text(result, len(results)))
    for result in results:
        for hit in result.rules:
            for target in hit.targets:
                if target.rendered.problem:
                    app.output.warn(
                        f"event {result.index}, rule {hit.name}, target {target.id}: {target.rendered.problem}"
                    )
    undelivered = sum(not r.delivered for r in results)
    if undelivered:
        app.output.info(f"{undelivered} of {len(results)} event(s) match no enabled rule on bus {bus_rules.bus}")
        raise typer.Exit(1)


# ---- used by `evctl publish --dry-run` --------------------------------------------------------------
def report_matching_rules(app: AppContext, events: list[tuple[int | None, dict[str, Any] | None]]) -> None:
    """On stderr, the enabled rules each (line, entry) would match on its bus; a warning for an event that would
    reach no rule. Read-only; if the rules cannot be read, a warning and the dry run goes on."""
    from evctl.core.rules.matching import rules_for_entries
    from evctl.errors import EvctlError

    known = [(line, entry) for line, entry in events if entry is not None]
    try:
        found = rules_for_entries(app.client("events"), [entry for _, entry in known])
    except EvctlError as exc:
        app.output.warn(f"could not check which rules the events would match: {exc}")
        return
    for (line, _), (bus, names) in zip(known, found, strict=True):
        label = f"line {line}" if line else "the event"
        if names:
            app.output.info(f"{label} would match on bus {bus}: {', '.join(names)}")
        else:
            app.output.warn(f"{label} matches no enabled rule on bus {bus}: it would be accepted and go nowhere")


# ---- human renderings ----------------------------------------------------------------------------------
def _label(index: int, total: int) -> str:
    return f"event {index}: " if total > 1 else ""


def _outcome_text(outcome: PatternOutcome, total: int) -> str:
    lines = [f"{_label(outcome.index, total)}{'match' if outcome.matched else 'no match'}"]
    if outcome.remote is not None:
        lines[0] += f" (AWS: {'match' if outcome.remote else 'no match'})"
    elif outcome.remote_note:
        lines[0] += f" (AWS: no answer: {outcome.remote_note})"
    lines += [f"  {why}" for why in outcome.why]
    if outcome.filled:
        lines.append(f"  (filled in for matching: {', '.join(outcome.filled)})")
    return "\n".join(lines)


def _report_disagreements(output: Output, outcomes: list[PatternOutcome]) -> None:
    for outcome in outcomes:
        if outcome.remote is not None and outcome.remote != outcome.matched:
            output.warn(
                f"event {outcome.index}: evctl says {'match' if outcome.matched else 'no match'}, "
                f"AWS says {'match' if outcome.remote else 'no match'}; AWS decides delivery (please report this)"
            )


def _matches_text(result: EventMatches, total: int) -> str:
    label = _label(result.index, total)
    if not result.rules:
        return f"{label}no rule matches"
    lines = [f"{label}{len(result.rules)} rule(s) match"]
    for hit in result.rules:
        lines.append(f"  {hit.name} ({hit.state}{'' if hit.delivers else ': not delivered'})")
        for target in hit.targets:
            rendered = target.rendered
            lines.append(f"    → {target.id} {target.arn} receives ({rendered.kind}):")
            body = rendered.body if rendered.body is not None else "(nothing)"
            lines += [f"      {line}" for line in _pretty(body).splitlines()]
    return "\n".join(lines)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _rule_lines(info: RuleInfo) -> list[str]:
    lines = [
        f"name         {info.name}",
        f"arn          {info.arn}",
        f"bus          {info.bus}",
        f"state        {info.state}",
    ]
    if info.description:
        lines.append(f"description  {info.description}")
    if info.schedule:
        lines.append(f"schedule     {info.schedule}")
    if info.pattern is not None:
        lines.append("pattern")
        text = (
            json.dumps(info.pattern, indent=2, ensure_ascii=False) if isinstance(info.pattern, dict) else info.pattern
        )
        lines += [f"  {line}" for line in text.splitlines()]
    lines.append(f"targets ({len(info.targets)})")
    for target in info.targets:
        lines.append(f"  {target.get('Id')}  {target.get('Arn')}")
        lines += [f"    {line}" for line in _target_detail(target)]
    return lines


def _target_detail(target: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "Input" in target:
        lines.append(f"Input: {target['Input']}")
    if "InputPath" in target:
        lines.append(f"InputPath: {target['InputPath']}")
    transformer = target.get("InputTransformer")
    if transformer:
        lines.append("InputTransformer:")
        lines.append(f"  InputPathsMap: {json.dumps(transformer.get('InputPathsMap') or {}, ensure_ascii=False)}")
        lines.append(f"  InputTemplate: {transformer.get('InputTemplate', '')}")
    if target.get("DeadLetterConfig"):
        lines.append(f"DeadLetterConfig: {target['DeadLetterConfig'].get('Arn')}")
    if target.get("RetryPolicy"):
        policy = target["RetryPolicy"]
        lines.append("RetryPolicy: " + ", ".join(f"{key}={value}" for key, value in policy.items()))
    return lines
