"""`evctl demo`: the seed's whole workflow on an in-process sandbox, narrated and verified step by step."""

from __future__ import annotations

import typer

from evctl.cli.context import app_context, require_sandbox_extra, sandbox_clients
from evctl.cli.stopping import stop_word


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)


def demo(ctx: typer.Context) -> None:
    """Run the signup workflow locally (no AWS account, no Docker) and verify every step; exit 0 only if all pass.

    publish the `signup` template → the rule routes it to the queue → the handler runs and logs → a signup
    without an email fails, is retried and lands in the DLQ.
    """
    app = app_context(ctx)
    require_sandbox_extra()
    from evctl.errors import Interrupted, PartialFailure
    from evctl.sandbox import demo as core
    from evctl.sandbox import lifecycle
    from evctl.sandbox.provision import DEMO_SETTINGS

    failed = None
    done = 0  # steps verified (the demo stops at the first that is not)
    try:
        sandbox = lifecycle.start(sandbox_clients, port=0, settings=DEMO_SETTINGS, record=False, wait_seconds=0)
        try:
            app.output.info(f"sandbox started at {sandbox.server.endpoint} (in this process; gone when the demo ends)")
            context = core.DemoContext(sandbox.clients, sandbox.pipeline, sandbox.runner)
            with app.output.records([("step", "step"), ("ok", "ok"), ("detail", "detail")]) as out:
                for number, step in enumerate(core.run(context), start=1):
                    done = number if step.ok else done
                    mark = "✓" if step.ok else "✗"
                    out.write(step.as_dict(), human=f"{mark} {number}. {step.title}\n     {step.detail}")
                    if not step.ok:
                        failed = f"step {number} ({step.title}) could not be verified: {step.detail}"
        finally:
            sandbox.stop()
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP (evctl/cli/stopping.py): exit 130, 143 or 129
        raise Interrupted(
            f"demo {stop_word()} during step {done + 1}; {done} of {len(core.STEPS)} step(s) verified;"
            " its sandbox is stopped"
        ) from None
    if failed:
        raise PartialFailure(failed, "rerun with --debug, or report it")
    app.output.success("every step verified")
