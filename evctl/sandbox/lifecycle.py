"""Start, serve, detach and stop a sandbox: the moto server, the seed's pipeline, the local runner, the state file."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evctl.core.common.time import iso_utc
from evctl.errors import ConfigError, EvctlError, ExitCode, UsageError
from evctl.sandbox import delivery, mapping_guard, process
from evctl.sandbox import metrics as sandbox_metrics
from evctl.sandbox import state as state_file
from evctl.sandbox.enforcement import Enforcement
from evctl.sandbox.enforcement import for_sandbox as enforcement_for_sandbox
from evctl.sandbox.ledger import Ledger
from evctl.sandbox.provision import (
    FUNCTION,
    HandlerSpec,
    Pipeline,
    PipelineSettings,
    SandboxClients,
    check_handler,
    parse_handler,
    provision,
)
from evctl.sandbox.runner import FunctionSpec, Invocation, LocalRunner
from evctl.sandbox.server import SandboxServer
from evctl.sandbox.state import SandboxState

MakeClients = Callable[[str], SandboxClients]


def ensure_not_running() -> str | None:
    """Refuse a second sandbox; clear a stale record. Returns a note when a stale state file was removed."""
    current = state_file.read()
    if current is None:
        return None
    verdict = state_file.verify(current)
    if verdict == "same":
        raise already_running(current)
    state_file.remove()
    return f"removed a stale state file (sandbox {state_file.stale_reason(current, verdict)})"


ALREADY_RUNNING_HINT = "reach it with `evctl --sandbox ...`, or stop it first with `evctl sandbox down`"


def already_running(current: SandboxState) -> ConfigError:
    return ConfigError(f"a sandbox is already running (pid {current.pid}, {current.endpoint})", ALREADY_RUNNING_HINT)


def take_lock() -> process.SandboxLock:
    """The sandbox lock, now: ConfigError (exit 4) naming the sandbox that holds it. `sandbox up` holds it for the
    sandbox's life (a `--detach` parent from its check until the child holds it), so two starts never race."""
    try:
        return process.SandboxLock.acquire(state_file.lock_path())
    except process.LockHeld as held:
        try:
            current = state_file.read()
        except ConfigError:
            current = None
        if current is not None and current.pid == held.holder:
            raise already_running(current) from None
        pid = f"pid {held.holder}" if held.holder else f"see {state_file.lock_path()}"
        raise ConfigError(f"a sandbox is already running or starting ({pid})", ALREADY_RUNNING_HINT) from None
    except process.LockError as exc:
        raise ConfigError(
            str(exc), "make $XDG_STATE_HOME/evctl (default ~/.local/state/evctl) a writable directory"
        ) from None


def recorded_handler(current: SandboxState) -> HandlerSpec:
    """The handler a running sandbox was started with, checked again (`sandbox reset` provisions it afresh):
    ConfigError (exit 4) when it is gone or broken since, with the way out (there is no --handler to fix here)."""
    try:
        return check_handler(parse_handler(current.handler))
    except UsageError as exc:
        raise ConfigError(
            f"the sandbox's handler cannot be provisioned again: {exc.message}",
            "restore it, or restart the sandbox: `evctl sandbox down`, then `evctl sandbox up --handler FILE.py:FN`",
        ) from None


def runner_enforcement(clients: SandboxClients, pipeline: Pipeline, endpoint: str) -> Enforcement:
    return enforcement_for_sandbox(
        clients,
        function_name=FUNCTION,
        queue_arn=pipeline.queue_arn,
        queue_url=pipeline.queue_url,
        log_group=pipeline.log_group,
        endpoint=endpoint,
    )


def function_spec(pipeline: Pipeline) -> FunctionSpec:
    return FunctionSpec(
        name=FUNCTION,
        handler_file=pipeline.handler.file,
        handler_function=pipeline.handler.function,
        arn=pipeline.function_arn,
        region=pipeline.region,
        timeout=float(pipeline.settings.timeout),
        memory_mb=pipeline.settings.memory_mb,
        log_group=pipeline.log_group,
        batch_size=pipeline.settings.batch_size,
        batching_window=float(pipeline.settings.batching_window),
        report_batch_item_failures=True,
    )


@dataclass
class Sandbox:
    """A started sandbox in this process."""

    server: SandboxServer
    clients: SandboxClients
    pipeline: Pipeline
    runner: LocalRunner
    state: SandboxState | None = None
    errors: list[str] = field(default_factory=list)
    metrics: sandbox_metrics.SandboxMetrics | None = None  # AWS's service metrics into the sandbox's CloudWatch
    delivery_mode: delivery.Mode | None = None  # rule -> SQS delivery hook installed (sandbox/delivery)
    guard: mapping_guard.Guard | None = None  # CreateEventSourceMapping checks the role (enforcing mode)

    def stop(self) -> None:
        if self.delivery_mode is not None:  # pending retries dropped, moto's own delivery back (counted)
            self.delivery_mode = None
            delivery.uninstall()
        if self.metrics is not None:  # flushed and unhooked while moto is still there
            self.metrics.stop()
        if self.runner.enforcement is not None:
            self.runner.enforcement.close()
        if self.guard is not None:
            mapping_guard.uninstall(self.guard)
            self.guard = None
        self.server.stop()
        if self.state is not None:
            state_file.remove(self.state.pid)


def start(
    make_clients: MakeClients,
    *,
    port: int = 0,
    handler: HandlerSpec | None = None,
    settings: PipelineSettings | None = None,
    record: bool = True,
    wait_seconds: int = 2,
    permissive: bool = False,
) -> Sandbox:
    """Start the server, provision, build the runner; with `record`, write the state file (after provisioning,
    so a reader never finds a sandbox that is not ready). `permissive`: the runner enforces nothing (runner.py),
    and rule -> SQS deliveries are moto's own (sandbox/delivery: recorded, not enforced)."""
    server = SandboxServer(port).start()
    emitter: sandbox_metrics.SandboxMetrics | None = None
    enforcement: Enforcement | None = None
    guard: mapping_guard.Guard | None = None
    mode = delivery.PERMISSIVE if permissive else delivery.ENFORCING
    delivery_installed = False
    try:
        delivery.install(mode)
        delivery_installed = True
        server.reset()  # moto's state is per process: a new sandbox starts empty, even in a long-lived process
        clients = make_clients(server.endpoint)
        if not permissive:  # before provisioning: the seed's own mapping passes Lambda's check
            guard = mapping_guard.install(clients)
        pipeline = provision(clients, handler or parse_handler(None), settings)
        if not permissive:
            enforcement = runner_enforcement(clients, pipeline, server.endpoint)
        runner = LocalRunner(
            clients.sqs,
            clients.logs,
            function_spec(pipeline),
            pipeline.queue_url,
            pipeline.queue_arn,
            wait_seconds=wait_seconds,
            endpoint=server.endpoint,
            enforcement=enforcement,
            ledger=Ledger(clients.logs, FUNCTION),
        )
        sandbox = Sandbox(server, clients, pipeline, runner, delivery_mode=mode, guard=guard)
        sandbox.metrics = emitter = sandbox_metrics.start_for_sandbox(pipeline.region)
        if record:
            sandbox.state = SandboxState.for_process(
                os.getpid(),
                endpoint=server.endpoint,
                port=server.port,
                handler=str(pipeline.handler),
                started_at=iso_utc(dt.datetime.now(dt.UTC), suffix="+00:00"),
                log_file=os.environ.get("EVCTL_SANDBOX_LOG", ""),
                settings=pipeline.settings.as_dict(),
                delivery=mode,
            )
            state_file.write(sandbox.state)
        return sandbox
    except BaseException:  # a failure, or a second Ctrl-C / SIGTERM while starting: nothing is left behind
        if emitter is not None:
            emitter.stop()
        if enforcement is not None:
            enforcement.close()
        if guard is not None:
            mapping_guard.uninstall(guard)
        if delivery_installed:
            delivery.uninstall()
        server.stop()
        if record:
            state_file.remove(os.getpid())
        raise


@dataclass
class MetricsWatch:
    """Follows the emitter's failures: each new kind is reported once, the count goes into the state file (what
    `sandbox status` shows)."""

    on_new_kind: Callable[[str], None] | None = None
    seen_count: int = 0
    seen_kinds: set[str] = field(default_factory=set)

    def check(self, sandbox: Sandbox) -> None:
        emitter = sandbox.metrics
        if emitter is None or emitter.error_count == self.seen_count:
            return
        self.seen_count = emitter.error_count
        for message in list(emitter.errors):
            kind = sandbox_metrics.error_kind(message)
            if kind not in self.seen_kinds:
                self.seen_kinds.add(kind)
                if self.on_new_kind is not None:
                    self.on_new_kind(message)
        if sandbox.state is not None:
            sandbox.state = replace(sandbox.state, metric_errors=self.seen_count)
            with contextlib.suppress(ConfigError):  # a full disk must not stop the sandbox; the count waits
                state_file.write(sandbox.state)


def serve(
    sandbox: Sandbox,
    stop: threading.Event,
    on_invocation: Callable[[Invocation], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_metrics_error: Callable[[str], None] | None = None,
) -> None:
    """Run the local runner until `stop` is set, then shut everything down and remove the state file.
    `on_metrics_error(message)`: the emitter failed in a way not reported before (one call per kind)."""
    worker = threading.Thread(
        target=sandbox.runner.run, args=(stop, on_invocation, on_error), name="evctl-runner", daemon=True
    )
    worker.start()
    watch = MetricsWatch(on_metrics_error)
    try:
        while not stop.wait(0.2):
            watch.check(sandbox)
            if not worker.is_alive():
                break
    finally:
        stop.set()
        # The runner finishes its long poll (≤ wait_seconds) and any invocation in flight (≤ the timeout).
        worker.join(timeout=sandbox.runner.wait_seconds + sandbox.pipeline.settings.timeout + 5)
        sandbox.stop()


def spawn_detached(
    argv: Sequence[str],
    lock: process.SandboxLock,
    *,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SandboxState:
    """Run `evctl sandbox up` (argv without --detach) as a background process; return once it is ready.

    The child starts a new session (a closed terminal does not stop it) and logs to the state directory. It
    inherits `lock` (the same lock, not a new one: nothing can start between this check and the child's). If this
    process is stopped before the child is ready, the child is stopped too.
    """
    log = state_file.log_path()
    env = dict(os.environ, EVCTL_SANDBOX_LOG=str(log), **{process.LOCK_FD_ENV: str(lock.fd)})
    env.pop("EVCTL_SANDBOX", None)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "ab")  # noqa: SIM115 (closed below, once the child has its own copy)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the sandbox log {log} ({exc.strerror})",
            "make $XDG_STATE_HOME/evctl (default ~/.local/state/evctl) a writable directory",
        ) from None
    with out, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(
            [sys.executable, "-m", "evctl", *argv],
            stdin=devnull,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
            pass_fds=(lock.fd,),
        )
    try:
        deadline = clock() + timeout
        while clock() < deadline:
            code = child.poll()
            if code is not None:
                raise _child_error(code, log)
            with contextlib.suppress(ConfigError):
                current = state_file.read()
                if current is not None and current.pid == child.pid:
                    return current
            sleep(0.1)
        raise EvctlError(f"the sandbox did not become ready within {timeout:.0f} s", f"see {log}")
    except BaseException:
        if child.poll() is None:  # not ready (a timeout, a Ctrl-C or SIGTERM here): no half-started sandbox
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        raise


def _child_error(code: int, log: os.PathLike[str]) -> EvctlError:
    lines = open(log, encoding="utf-8", errors="replace").read().splitlines()  # noqa: SIM115
    reason = next((line for line in reversed(lines) if line.startswith("evctl: error: ")), None)
    message = reason[len("evctl: error: ") :] if reason else f"the sandbox process exited with status {code}"
    error = EvctlError(message, None if reason else f"see {log}")
    with contextlib.suppress(ValueError):
        error.exit_code = ExitCode(code)
    return error


def stop_running(
    *, timeout: float = 15.0, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Stop the recorded sandbox: SIGTERM, wait, then SIGKILL. Idempotent.

    Every signal goes only to the process the record names by identity (process.signal_if_same): a state file
    that outlived its sandbox (a crash, a reboot) names a pid another program may have now; that file is stale,
    removed, and nothing is signalled. ConfigError (exit 4) for a corrupt file.
    """
    current = state_file.read()
    if current is None:
        starting = state_file.unrecorded()  # a sandbox still starting is not "none running"
        if starting is not None:
            raise starting
        return {"stopped": False, "reason": "no sandbox is running"}
    verdict = process.signal_if(current.pid, lambda: state_file.verify(current), signal.SIGTERM)
    if verdict != "same":
        state_file.remove()
        reason = (
            "process was gone" if verdict == "gone" else f"process {current.pid} is now another program, not signalled"
        )
        return {"stopped": False, "pid": current.pid, "reason": f"stale state file removed ({reason})"}
    deadline = clock() + timeout
    while state_file.verify(current) == "same" and clock() < deadline:
        sleep(0.1)
    forced = process.signal_if(current.pid, lambda: state_file.verify(current), signal.SIGKILL) == "same"
    state_file.remove(current.pid)
    return {"stopped": True, "pid": current.pid, "endpoint": current.endpoint, "forced": forced}
