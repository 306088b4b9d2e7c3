"""`evctl sandbox up|status|down|reset`: the embedded local AWS with the seed's pipeline and a local Lambda runner."""

from __future__ import annotations

import contextlib
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evctl.cli.context import AppContext, app_context, require_sandbox_extra, sandbox_clients
from evctl.cli.options import YesOpt
from evctl.cli.stopping import exit_code, graceful_stop, received, stop_word
from evctl.errors import EvctlError, Interrupted

if TYPE_CHECKING:
    from evctl.sandbox.process import SandboxLock
    from evctl.sandbox.provision import HandlerSpec, PipelineSettings
    from evctl.sandbox.runner import Invocation
    from evctl.sandbox.state import SandboxState

DEFAULT_PORT = 4599

app = typer.Typer(
    help="Run the seed's pipeline locally (moto on 127.0.0.1 + a local Lambda runner): no AWS account, no Docker.",
    no_args_is_help=True,
)


@app.callback()
def _needs_the_extra() -> None:
    require_sandbox_extra()


def _print_exports(app: AppContext, state: SandboxState) -> None:
    if app.output.mode in ("json", "ndjson"):
        from dataclasses import asdict

        app.output.result(asdict(state))
        return
    for line in state.exports():  # `eval "$(evctl sandbox up --detach)"` works when piped too
        app.output.write_line(line)


def describe_invocation(invocation: Invocation) -> str:
    text = (
        f"{invocation.request_id or 'not invoked'}: {len(invocation.message_ids)} message(s) → {invocation.outcome}"
        f" in {invocation.duration_ms:.0f} ms; deleted {len(invocation.deleted)}, kept {len(invocation.kept)}"
    )
    return text + (f" ({invocation.error})" if invocation.error else "")


@app.command()
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).", min=0, max=65535)] = DEFAULT_PORT,
    handler: Annotated[
        str | None,
        typer.Option(help="Your handler, FILE.py:FUNCTION (default: the seed's handler, corrected for SQS)."),
    ] = None,
    timeout: Annotated[
        int, typer.Option(help="Function timeout in seconds (the queue's visibility timeout is 6x).", min=1, max=900)
    ] = 3,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background; return when ready.")] = False,
    permissive: Annotated[
        bool,
        typer.Option(
            "--permissive",
            help="Behave as moto does: rule -> queue deliveries ignore queue/key policies, disabled rules, "
            "retries and target DLQs; the runner enforces no mapping/role rules (docs/sandbox.md).",
        ),
    ] = False,
) -> None:
    """Start the sandbox and provision the seed's pipeline; prints `export AWS_ENDPOINT_URL=...` lines.

    In the foreground it runs the handler for every message until Ctrl-C, SIGTERM or SIGHUP (then stops cleanly).
    """
    app = app_context(ctx)
    from evctl.sandbox import lifecycle
    from evctl.sandbox.provision import PipelineSettings, check_handler, parse_handler

    app.output.moves_data = True  # it starts something: a closed stdout is reported, not ignored (docs/output.md)
    spec = check_handler(parse_handler(handler))
    with lifecycle.take_lock() as lock:  # a second `sandbox up` fails here at once (exit 4), naming the first
        note = lifecycle.ensure_not_running()
        if note:
            app.output.warn(note)
        if detach:
            argv = ["sandbox", "up", "--port", str(port), "--timeout", str(timeout)]
            argv += ["--permissive"] if permissive else []
            _detach(app, lock, [*argv, "--handler", f"{spec.file}:{spec.function}"] if handler else argv)
            return
        if lock.inherited:  # the detached sandbox: `sandbox down` stops it with SIGTERM, whatever its parent ignored
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        invocations = _serve(app, port, spec, PipelineSettings(timeout=timeout), permissive=permissive)
    stopped_by = received()
    app.output.info(f"sandbox stopped ({stopped_by.name if stopped_by else 'runner ended'}); {invocations} invocations")
    if stopped_by is not None:  # Ctrl-C 130, SIGTERM 143, SIGHUP 129 (docs/output.md)
        raise typer.Exit(exit_code())


def _detach(app: AppContext, lock: SandboxLock, argv: list[str]) -> None:
    """`sandbox up` in a background process that takes over `lock`; its exports are printed once it is ready."""
    from evctl.sandbox import lifecycle

    try:
        state = lifecycle.spawn_detached(argv, lock)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP while it starts: the child is stopped too
        raise Interrupted(f"{stop_word()} while the sandbox was starting; it was stopped") from None
    try:
        _print_exports(app, state)
    except BaseException:  # stdout failed (or a stop): nobody has the exports, so no sandbox is left
        lock.release()
        with contextlib.suppress(EvctlError):
            lifecycle.stop_running()
        app.output.warn(f"the sandbox (pid {state.pid}) was stopped: its settings could not be printed")
        raise
    app.output.info(f"sandbox running in the background (pid {state.pid}); stop it with `evctl sandbox down`")


def _serve(
    app: AppContext, port: int, spec: HandlerSpec, settings: PipelineSettings, *, permissive: bool = False
) -> int:
    """The sandbox in this process until Ctrl-C, SIGTERM or SIGHUP (the invocation in hand finishes, then everything
    stops cleanly) or until the runner ends; the number of invocations."""
    from evctl.sandbox import lifecycle

    with graceful_stop(app.output, "stopping the sandbox") as stop:
        sandbox = lifecycle.start(sandbox_clients, port=port, handler=spec, settings=settings, permissive=permissive)
        try:  # whatever fails before serving (stdout on /dev/full...), the sandbox and its state file go
            assert sandbox.state is not None
            if sandbox.server.speed_note:
                app.output.warn(
                    f"moto's SQS speed adjustment is off ({sandbox.server.speed_note}): deep queues are slow"
                )
            _print_exports(app, sandbox.state)
            app.output.info(f"sandbox ready at {sandbox.state.endpoint}; running {spec.file.name}:{spec.function}")
            app.output.info("reach it with `evctl --sandbox ...`; Ctrl-C stops it")
            lifecycle.serve(
                sandbox,
                stop,
                on_invocation=lambda invocation: app.output.info(describe_invocation(invocation)),
                on_error=lambda exc: app.output.warn(f"runner: {type(exc).__name__}: {exc}"),
                on_metrics_error=lambda message: app.output.warn(
                    f"metrics: {message} (later ones of this kind: counted in `evctl sandbox status`)"
                ),
            )
        finally:
            sandbox.stop()
    return len(sandbox.runner.invocations)


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the running sandbox: endpoint, pid, resources, queue and DLQ depths."""
    app = app_context(ctx)
    from evctl.sandbox import provision, state

    current = state.running()
    details = provision.describe(sandbox_clients(current.endpoint))
    result: dict[str, Any] = {
        "endpoint": current.endpoint,
        "pid": current.pid,
        "region": current.region,
        "started_at": current.started_at,
        "handler_file": current.handler or "(built-in default handler)",
        "delivery": current.delivery or "not recorded",
        "metric_errors": current.metric_errors,
        **details,
    }
    app.output.result(result)


@app.command()
def down(ctx: typer.Context) -> None:
    """Stop the running sandbox (SIGTERM, then SIGKILL after 15 s); its state is gone.

    Only the process the state file names by pid and identity is signalled: a stale file is removed.
    """
    app = app_context(ctx)
    from evctl.sandbox import lifecycle

    result = lifecycle.stop_running()
    if not result["stopped"]:
        app.output.info(result["reason"])
    app.output.result(result)


@app.command()
def reset(ctx: typer.Context, yes: YesOpt = False) -> None:
    """Delete everything in the running sandbox and provision the seed's pipeline afresh."""
    app = app_context(ctx)
    from evctl.sandbox import lifecycle, provision, server, state

    current = state.running()
    spec = lifecycle.recorded_handler(current)
    app.output.confirm(
        f"reset the sandbox at {current.endpoint} (every resource and message in it is deleted)", yes=yes
    )
    server.reset_endpoint(current.endpoint)
    pipeline = provision.provision(
        sandbox_clients(current.endpoint), spec, provision.PipelineSettings.from_dict(current.settings)
    )
    app.output.info("sandbox reset; the seed's pipeline is provisioned afresh")
    app.output.result(pipeline.resources())
