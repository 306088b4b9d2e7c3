"""What every mistake does the same way: put the seed back, publish, drive the runner, run doctor, apply its fix.

The steps are `evctl demo`'s (StepResult, DemoContext): each returns a verified result or says what it found.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evctl.core.doctor import Finding, Report
from evctl.core.doctor.apply import apply_command
from evctl.core.doctor.samples import sample_from_template
from evctl.core.doctor.session import DoctorSession, SessionClients
from evctl.core.events.templates import BUILTIN
from evctl.sandbox.demo import POLL_INTERVAL, WELCOME_LINE, DemoContext, StepResult, _log_lines, _publish, _signup_entry
from evctl.sandbox.provision import DEFAULT_HANDLER, FUNCTION, QUEUE, provision, queue_depths
from evctl.sandbox.runner import Invocation, LocalRunner

Poller = Callable[[], Invocation | None]
FIX_DIR = "fix"  # where a fix's files (function.zip) are written, under the context's work directory


@dataclass
class MistakesContext(DemoContext):
    """The demo's context, plus a client for any service (doctor reads KMS and CloudWatch; fixes call any service)
    and a work directory for the files a fix names (`fileb://function.zip`)."""

    client_for: Callable[[str], Any] | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    invocations: list[Invocation] = field(default_factory=list)  # every invocation of the current mistake

    def client(self, service: str) -> Any:
        if self.client_for is None:
            raise RuntimeError("the mistakes context has no client factory")
        return self.client_for(service)


# ---- the seed, restored before each mistake -----------------------------------------------------------------------


def restore_seed(ctx: MistakesContext) -> None:
    """The seed pipeline as provisioned (policy, DLQ, pattern, handler, timeouts), its queues emptied, the runner
    back on the deployed default handler and timeout; the previous mistake's invocations forgotten."""
    provision(ctx.clients, DEFAULT_HANDLER, ctx.pipeline.settings)
    for url in (ctx.pipeline.queue_url, ctx.pipeline.dlq_url):
        empty_queue(ctx, url)
    ctx.runner.function = replace(ctx.runner.function, handler_file=DEFAULT_HANDLER.file)
    sync_runner(ctx)
    ctx.invocations.clear()
    ctx.notes.clear()


def empty_queue(ctx: MistakesContext, url: str) -> None:
    """Receive and delete until the queue is empty (PurgeQueue is allowed once a minute; a message in flight is
    waited for until it is visible again, within the step timeout)."""
    sqs = ctx.clients.sqs

    def emptied() -> bool:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if got:
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
        return depth(ctx, url) == 0

    if not ctx.wait_for(emptied):
        raise RuntimeError(f"{url} could not be emptied within {ctx.step_timeout:g} s")


def sync_runner(ctx: MistakesContext) -> dict[str, Any]:
    """The runner follows the function's deployed configuration (its timeout); returns that configuration."""
    config = dict(ctx.clients.lambda_.get_function_configuration(FunctionName=FUNCTION))
    ctx.runner.function = replace(ctx.runner.function, timeout=float(str(config.get("Timeout") or 3)))
    return config


def deploy_handler(ctx: MistakesContext, source: str, name: str) -> Path:
    """Zip `source` as lambda_function.py and deploy it with UpdateFunctionCode; the runner then runs it."""
    archive = zip_handler(source)
    ctx.clients.lambda_.update_function_code(FunctionName=FUNCTION, ZipFile=archive)
    return run_deployed(ctx, archive, name)


def zip_handler(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


def run_deployed(ctx: MistakesContext, archive: bytes, name: str) -> Path:
    """Point the runner at the code in `archive` once Lambda reports it deployed (its CodeSha256 is the archive's):
    the runner runs what was deployed, never a file the demo merely meant to deploy."""
    config = sync_runner(ctx)
    digest = base64.b64encode(hashlib.sha256(archive).digest()).decode()
    if config.get("CodeSha256") != digest:
        raise RuntimeError(f"{FUNCTION}'s CodeSha256 {config.get('CodeSha256')} is not the deployed archive's {digest}")
    folder = ctx.workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        opened.extractall(folder)
    ctx.runner.function = replace(ctx.runner.function, handler_file=folder / "lambda_function.py")
    return folder


# ---- publishing and watching the pipeline --------------------------------------------------------------------------


def publish_signup(ctx: MistakesContext, title: str, *, with_email: bool = True) -> StepResult:
    """Publish the built-in `signup` template (without its email: a signup the seed's handler rejects)."""
    entry = _signup_entry(with_email=with_email)
    ok, detail = _publish(ctx, entry)
    if not ok:
        return StepResult(title, False, f"PutEvents failed: {detail}")
    user = json.loads(entry["Detail"]).get("user_id")
    ctx.notes["event_id"], ctx.notes["user_id"] = detail, user
    return StepResult(title, True, f"event {detail}: {entry['Detail']}", {"event_id": detail})


def drive(
    ctx: MistakesContext, until: Callable[[list[Invocation]], bool], *, pollers: int = 1, timeout: float | None = None
) -> list[Invocation]:
    """Run the local runner until `until(invocations)` holds (asked after every poll, empty or not) or the step
    timeout passes; the invocations made.

    With pollers > 1, copies of the runner poll the same queue at once, as Lambda's pollers for one mapping do
    (each its own execution environment); every invocation in flight finishes before this returns.
    """
    made: list[Invocation] = []
    runners = [ctx.runner] + [_copy_runner(ctx.runner) for _ in range(pollers - 1)]
    lock, stop = threading.Lock(), threading.Event()
    deadline = ctx.clock() + (ctx.step_timeout if timeout is None else timeout)

    def poll(runner: LocalRunner) -> None:
        while not stop.is_set() and ctx.clock() < deadline:
            invocation = runner.poll_once()
            with lock:
                if invocation is not None:
                    made.append(invocation)
                    ctx.invocations.append(invocation)
                if until(list(made)):
                    stop.set()
                    return
            if invocation is None:
                ctx.sleep(POLL_INTERVAL)

    if pollers == 1:
        poll(ctx.runner)
        return made
    errors: list[BaseException] = []

    def guarded(runner: LocalRunner) -> None:
        try:
            poll(runner)
        except Exception as exc:  # reported by the step; none after a stop (the sandbox may be going away)
            if not stop.is_set():
                errors.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=guarded, args=(r,), name=f"evctl-poller-{n}", daemon=True)
        for n, r in enumerate(runners)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:  # Ctrl-C, SIGTERM, SIGHUP while joining: the pollers stop after their current invocation
        stop.set()
    if errors:
        raise errors[0]
    return made


def _copy_runner(runner: LocalRunner) -> LocalRunner:
    twin = copy.copy(runner)
    twin.invocations = []
    twin.log_stream = ""  # its own execution environment, its own log stream
    return twin


def receives(invocations: Sequence[Invocation]) -> dict[str, int]:
    """How many invocations each message id was handed to."""
    counts: dict[str, int] = {}
    for invocation in invocations:
        for message_id in invocation.message_ids:
            counts[message_id] = counts.get(message_id, 0) + 1
    return counts


def welcome_requests(ctx: MistakesContext, user_id: str) -> list[tuple[Invocation, list[str]]]:
    """The invocations whose log lines (read back from CloudWatch Logs) show this user's welcome email."""
    found = []
    for invocation in ctx.invocations:
        lines = _log_lines(ctx, invocation.request_id)
        text = "\n".join(lines)
        if user_id in text and WELCOME_LINE in text:
            found.append((invocation, lines))
    return found


def step_welcome(
    ctx: MistakesContext, *, pollers: int = 1, extra: Callable[[], str | None] | None = None
) -> StepResult:
    """The signup just published is processed: its welcome-email line is in the function's logs (and `extra`, a
    mistake's own check, returns None: else what it found)."""
    title = f"the welcome email is sent: its line is in {ctx.pipeline.log_group}"
    user = str(ctx.notes.get("user_id"))
    before = len(ctx.invocations)

    def welcomed(made: list[Invocation]) -> bool:
        return any(i.outcome == "success" and user in "\n".join(i.log_lines) for i in made)

    # until the signup is processed and the queue is empty: nothing of this mistake is left for the next one
    drive(ctx, lambda made: welcomed(made) and depth(ctx, ctx.pipeline.queue_url) == 0, pollers=pollers)
    if not welcomed(ctx.invocations[before:]):
        failures = sorted({i.error or i.outcome for i in ctx.invocations[before:]})
        return StepResult(title, False, f"no successful invocation for user {user} ({'; '.join(failures) or 'none'})")
    found = ctx.wait_for(lambda: welcome_requests(ctx, user))
    if not found:
        return StepResult(title, False, f"no line {WELCOME_LINE!r} for user {user} in the function's logs")
    problem = extra() if extra is not None else None
    left = depth(ctx, ctx.pipeline.queue_url)
    if left and not problem:
        problem = f"{left} message(s) left in {QUEUE}"
    if problem:
        return StepResult(title, False, problem)
    invocation, lines = found[0]
    welcome = next(line for line in lines if WELCOME_LINE in line)
    return StepResult(title, True, f"request {invocation.request_id}: {welcome.strip()}", {"log_lines": lines})


# ---- doctor, in-process, and its fix --------------------------------------------------------------------------------


def run_doctor(ctx: MistakesContext, *, only: Sequence[str] | None = None) -> Report:
    """doctor on the seed pipeline (as `evctl doctor user-signup-queue --sample signup` runs it), in this process."""
    clients = SessionClients(
        events=ctx.clients.events,
        sqs=ctx.clients.sqs,
        lambda_=ctx.clients.lambda_,
        logs=ctx.clients.logs,
        iam=ctx.clients.iam,
        kms=ctx.client("kms"),
        cloudwatch=ctx.client("cloudwatch"),
    )
    session = DoctorSession(clients, region=ctx.pipeline.region)
    graph = session.discover([QUEUE])
    account = ctx.pipeline.rule_arn.split(":")[4]
    sample = sample_from_template(BUILTIN["signup"], account=account, region=ctx.pipeline.region)
    return session.run(session.context(graph, [sample]), checks=list(only) if only else None)


def step_doctor(ctx: MistakesContext, checks: Sequence[str]) -> StepResult:
    """doctor names each of `checks` (the finding, its evidence, its fix command)."""
    names = " and ".join(checks)
    title = f"evctl doctor {QUEUE} --sample signup names {names}"
    report = run_doctor(ctx)
    found = {
        c: next(f for f in report.findings if f.check == c)
        for c in checks
        if any(f.check == c for f in report.findings)
    }
    others = sorted({f.check for f in report.findings if f.check not in checks})
    data: dict[str, Any] = {"other_findings": others}
    missing = [c for c in checks if c not in found]
    if missing:
        seen = sorted({f.check for f in report.findings})
        return StepResult(title, False, f"no {' or '.join(missing)} finding (found: {', '.join(seen) or 'none'})", data)
    ctx.notes["findings"] = [found[c] for c in checks]
    parts = []
    for check, finding in found.items():
        evidence = json.dumps(finding.evidence, default=str, separators=(",", ":"))
        parts.append(
            f"{check}: {finding.message}\n     evidence: {_clip(evidence, 400)}\n     fix: {finding.fix.command}"
        )
    findings = [_finding_dict(f) for f in found.values()]
    return StepResult(title, True, "\n     ".join(parts), {**data, "findings": findings})


def step_apply_fix(
    ctx: MistakesContext,
    checks: Sequence[str],
    prepare: Callable[[MistakesContext, Path], None] | None = None,
    after: Callable[[MistakesContext], None] | None = None,
) -> StepResult:
    """Apply each finding's printed command through boto3 (evctl.core.doctor.apply); doctor's checks then pass."""
    names = " and ".join(checks)
    title = f"apply the printed fix{'es' if len(checks) > 1 else ''}; doctor --check {names} passes"
    findings: list[Finding] = ctx.notes.get("findings") or []
    commands = [f.fix.command for f in findings]
    if len(findings) != len(checks) or not all(commands):
        return StepResult(title, False, f"{names}: a finding carries no command to apply")
    folder = ctx.workdir / FIX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if prepare is not None:
        prepare(ctx, folder)  # the files a command names (function.zip), as the fix's summary describes them
    for command in commands:
        apply_command(ctx.client, str(command), cwd=folder)
    sync_runner(ctx)
    if after is not None:
        after(ctx)
    still = [f for f in run_doctor(ctx, only=checks).findings if f.check in checks]
    if still:
        return StepResult(title, False, f"after the fix, doctor still reports {still[0].check}: {still[0].message}")
    return StepResult(title, True, "\n     ".join(f"$ {c}" for c in commands), {"commands": commands})


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "resource": finding.resource,
        "message": finding.message,
        "evidence": json.loads(json.dumps(finding.evidence, default=str)),
        "fix": {"summary": finding.fix.summary, "command": finding.fix.command},
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def depth(ctx: MistakesContext, url: str) -> int:
    counts = queue_depths(ctx.clients.sqs, url)
    return counts["visible"] + counts["in_flight"]
