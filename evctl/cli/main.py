"""The root command: global options, error handling, and the sub-apps (one module per noun)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

from evctl import __version__
from evctl.aws import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, AwsSettings
from evctl.cli.context import AppContext, make_streams, require_sandbox_extra
from evctl.cli.options import harden_numbers, lift_global_options
from evctl.cli.stopping import exit_for, stop_signals, stop_word
from evctl.errors import EvctlError, ExitCode, Interrupted, UsageError, from_aws, missing_module
from evctl.output import ColorMode, Output, OutputMode, is_stdout_error, stdout_unwritable


class EvctlGroup(TyperGroup):
    """Turns every error a command raises into one line on stderr and a fixed exit code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        harden_numbers(self)  # every int/float option of every command: finite and bounded

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, lift_global_options(self, args))  # global options anywhere

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click_exceptions.NoArgsIsHelpError:
            raise
        except click_exceptions.ClickException as exc:  # the root's own usage errors
            _fail(getattr(exc, "ctx", None), _usage_error(exc), exc)
        except OSError as exc:  # the root's help written to a closed pipe or a full disk
            if not is_stdout_error(exc):
                raise
            _fail(None, stdout_unwritable(exc), exc)

    def invoke(self, ctx: Any) -> Any:
        with stop_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does (evctl/cli/stopping.py)
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            result = super().invoke(ctx)
        except click_exceptions.NoArgsIsHelpError:
            raise
        except click_exceptions.ClickException as exc:  # a subcommand's usage errors
            _fail(getattr(exc, "ctx", None) or ctx, _usage_error(exc), exc)
        except EvctlError as exc:
            _fail(ctx, exc, exc)
        except KeyboardInterrupt as exc:
            _fail(ctx, Interrupted(stop_word()), exc)
        except (typer.Exit, typer.Abort):
            _fail_if_stdout_failed(ctx)
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("typer") or type(exc).__name__ in ("UsageError", "BadParameter"):
                raise
            translated = _translate(exc)
            _fail(ctx, translated, exc)
        _fail_if_stdout_failed(ctx)
        return result


def _fail_if_stdout_failed(ctx: Any) -> None:
    """A command that went on after stdout failed (publish keeps publishing) still ends with its exit status."""
    app = ctx.obj if isinstance(ctx.obj, AppContext) else None
    if app is not None and app.output.stdout_error is not None:
        _fail(ctx, app.output.stdout_error, app.output.stdout_error)


def _usage_error(exc: click_exceptions.ClickException) -> UsageError:
    """Click's usage error (a bad choice, a missing argument, an unknown option) as one line with a --help hint."""
    ctx = getattr(exc, "ctx", None)
    message = " ".join(exc.format_message().split())  # Click's own words, on one line
    return UsageError(message, f"see '{ctx.command_path if ctx else 'evctl'} --help'")


def _translate(exc: Exception) -> EvctlError:
    if type(exc).__module__.startswith(("botocore", "boto3")):
        mapped = from_aws(exc)
        if mapped is not None:
            return mapped
    if is_stdout_error(exc):
        return stdout_unwritable(exc)  # a write to stdout outside the output layer (Click's help)
    if isinstance(exc, ModuleNotFoundError):
        missing = missing_module(exc)
        if missing is not None:
            return missing
    return EvctlError(
        f"internal error: {type(exc).__name__}: {exc}", "this is a bug in evctl; rerun with --debug and report it"
    )


def _fail(ctx: Any, error: EvctlError, original: BaseException) -> None:
    obj = getattr(ctx.find_root(), "obj", None) if ctx is not None else None
    app = obj if isinstance(obj, AppContext) else None
    output = app.output if app else Output(streams=make_streams())
    if app is not None and app.debug:
        import traceback

        traceback.print_exception(original, file=output.streams.stderr)
    code, report = exit_for(error, output)
    if report:
        output.error(error)
    raise typer.Exit(code)


app = typer.Typer(
    name="evctl",
    cls=EvctlGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help imports markdown-it and costs ~120 ms per invocation.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Publish, inspect, move and follow events in EventBridge → SQS → Lambda → CloudWatch Logs pipelines.",
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"evctl {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option(help="AWS profile (default: AWS_PROFILE or the default profile).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="Send every call to this endpoint (AWS_ENDPOINT_URL[_<SERVICE>] also work)."),
    ] = None,
    output: Annotated[
        OutputMode,
        typer.Option(
            "--output",
            "-o",
            help="auto: a table on a TTY, JSON when piped; wide: a table with every column.",
        ),
    ] = "auto",
    color: Annotated[ColorMode, typer.Option(help="NO_COLOR is honoured.")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or narration on stderr.")] = False,
    debug: Annotated[
        bool,
        typer.Option(help="Show tracebacks for errors (EVCTL_DEBUG=1 too; 0, false, no: off).", envvar="EVCTL_DEBUG"),
    ] = False,
    max_attempts: Annotated[
        int, typer.Option(help="Total attempts per AWS call (botocore standard retry mode).", min=1, max=20)
    ] = 5,
    connect_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", min=0.01, max=600, envvar="EVCTL_CONNECT_TIMEOUT", help="Per connection attempt."
        ),
    ] = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=0.01,
            max=3600,
            envvar="EVCTL_READ_TIMEOUT",
            help="Per answer; a long poll (SQS ReceiveMessage) gets its wait on top.",
        ),
    ] = DEFAULT_READ_TIMEOUT,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", envvar="EVCTL_SANDBOX", help="Target the local sandbox (`evctl sandbox up`); EVCTL_SANDBOX=1."
        ),
    ] = False,
) -> None:
    settings = AwsSettings(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url or None,
        max_attempts=max_attempts,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    ctx.obj = AppContext(
        settings=settings,
        output=Output(mode=output, color=color, quiet=quiet, streams=make_streams()),
        debug=debug,
    )
    if sandbox and ctx.invoked_subcommand not in ("sandbox", "demo"):
        require_sandbox_extra()
        from evctl.sandbox.state import target

        ctx.obj.settings, running = target(settings)
        ctx.obj.output.info(f"evctl: targeting the local sandbox at {running.endpoint} (pid {running.pid})")


def _register() -> None:
    """Sub-apps, one module per noun. Each module imports only typer at top level."""
    from evctl.cli import publish, tail, tail_bus, tail_logs, templates

    tail_bus.register(tail.app)  # `evctl tail bus` / `evctl tail logs`, listed in this order by `evctl tail --help`
    tail_logs.register(tail.app)
    app.add_typer(tail.app, name="tail")
    app.command("publish")(publish.publish)
    app.add_typer(templates.app, name="templates")
    from evctl.cli import rules

    app.add_typer(rules.app, name="rules")
    from evctl.cli import queue

    app.add_typer(queue.app, name="queue")
    from evctl.cli import redrive

    app.add_typer(redrive.app, name="redrive")
    from evctl.cli import pipeline

    app.add_typer(pipeline.app, name="pipeline")
    from evctl.cli import doctor

    app.command("doctor")(doctor.doctor)
    from evctl.cli import trace

    app.command("trace")(trace.trace)
    from evctl.cli import demo, sandbox

    app.add_typer(sandbox.app, name="sandbox")
    demo.register(app)


_register()

__all__ = ["ExitCode", "app"]
