"""`evctl demo`: the seed's whole workflow on an in-process sandbox, narrated and verified step by step;
`evctl demo mistakes`: the seed's Common Mistakes planted, seen, named by doctor and fixed, on the same sandbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from evctl.cli.context import app_context, require_sandbox_extra, sandbox_clients, sandbox_factory
from evctl.cli.stopping import stop_word

if TYPE_CHECKING:
    from evctl.cli.context import AppContext
    from evctl.sandbox.demo import StepResult


def register(app: typer.Typer) -> None:
    group = typer.Typer(invoke_without_command=True)
    group.callback(invoke_without_command=True)(demo)
    group.command(name="mistakes")(mistakes)
    app.add_typer(group, name="demo")


def demo(ctx: typer.Context) -> None:
    """Run the signup workflow locally (no AWS account, no Docker) and verify every step; exit 0 only if all pass.

    publish the `signup` template → the rule routes it to the queue → the handler runs and logs → a signup
    without an email fails, is retried and lands in the DLQ. `evctl demo mistakes`: the article's Common Mistakes.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = app_context(ctx)
    require_sandbox_extra()
    from evctl.errors import Interrupted, PartialFailure
    from evctl.sandbox import demo as core
    from evctl.sandbox import lifecycle
    from evctl.sandbox.provision import DEMO_SETTINGS

    failed: list[str] = []
    done = [0]  # steps verified (the demo stops at the first that is not)
    try:
        sandbox = lifecycle.start(sandbox_clients, port=0, settings=DEMO_SETTINGS, record=False, wait_seconds=0)
        try:
            app.output.info(f"sandbox started at {sandbox.server.endpoint} (in this process; gone when the demo ends)")
            context = core.DemoContext(sandbox.clients, sandbox.pipeline, sandbox.runner)
            results = ((str(n), step) for n, step in enumerate(core.run(context), start=1))
            _show_steps(app, results, failed, done)
        finally:
            sandbox.stop()
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP (evctl/cli/stopping.py): exit 130, 143 or 129
        raise Interrupted(
            f"demo {stop_word()} during step {done[0] + 1}; {done[0]} of {len(core.STEPS)} step(s) verified;"
            " its sandbox is stopped"
        ) from None
    if failed:
        raise PartialFailure(failed[0], "rerun with --debug, or report it")
    app.output.success("every step verified")


def _show_steps(app: AppContext, results: Iterable[tuple[str, StepResult]], failed: list[str], done: list[int]) -> None:
    """Each step as it completes: a JSON record, or `✓ 2. title` and its detail; failures collected in `failed`."""
    with app.output.records([("step", "step"), ("ok", "ok"), ("detail", "detail")]) as out:
        for label, step in results:
            mark = "✓" if step.ok else "✗"
            done[0] += step.ok  # counted before it is shown: a signal right after the line sees it counted
            if not step.ok:
                failed.append(f"step {label} ({step.title}) could not be verified: {step.detail}")
                app.output.verdict = 1  # kept when the reader of a pipe goes away (docs/output.md)
            out.write(step.as_dict(), human=f"{mark} {label}. {step.title}\n     {step.detail}")


def mistakes(
    ctx: typer.Context,
    only: Annotated[
        list[int] | None,
        typer.Option(
            "--mistake", "-m", min=1, max=5, metavar="N", show_default=False,
            help="Run only this mistake (1-5, the article's order); repeatable. Default: all five.",
        ),
    ] = None,
) -> None:  # fmt: skip
    """The seed article's five Common Mistakes, one after another on an in-process sandbox; exit 0 only if every
    step is verified, 1 if any is not.

    For each: plant it in the seed pipeline → publish a signup → the symptom as a user meets it → doctor names it
    by its check id, with evidence → apply doctor's printed fix (through boto3; no aws CLI needed) → publish again
    → the welcome email's log line. 1 missing queue policy / role · 2 no DLQ · 3 the tutorial's CloudTrail
    pattern · 4 the tutorial's body['Message'] handler · 5 a timeout longer than the visibility timeout.
    """
    app = app_context(ctx)
    require_sandbox_extra()
    import tempfile
    from pathlib import Path

    from evctl.errors import Interrupted, PartialFailure
    from evctl.sandbox import lifecycle
    from evctl.sandbox import mistakes as core
    from evctl.sandbox.provision import DEMO_SETTINGS

    chosen = [m for m in core.MISTAKES if not only or m.number in only]
    failed: list[str] = []
    done = [0]
    try:
        sandbox = lifecycle.start(sandbox_clients, port=0, settings=DEMO_SETTINGS, record=False, wait_seconds=0)
        try:
            app.output.info(f"sandbox started at {sandbox.server.endpoint} (in this process; gone when the demo ends)")
            factory = sandbox_factory(sandbox.server.endpoint)
            with tempfile.TemporaryDirectory(prefix="evctl-mistakes-") as workdir:
                context = core.MistakesContext(
                    sandbox.clients, sandbox.pipeline, sandbox.runner, client_for=factory.client, workdir=Path(workdir)
                )
                results = ((f"{m.number}.{n}", step) for m, n, step in core.run(context, chosen))
                _show_steps(app, results, failed, done)
        finally:
            sandbox.stop()
    except KeyboardInterrupt:
        raise Interrupted(f"demo mistakes {stop_word()}; {done[0]} step(s) verified; its sandbox is stopped") from None
    if failed:
        raise PartialFailure(f"{len(failed)} mistake(s) not verified: {failed[0]}", "rerun with --debug, or report it")
    app.output.success(f"every step of {len(chosen)} mistake(s) verified")
