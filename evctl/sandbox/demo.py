"""`evctl demo`: the seed's workflow narrated with real calls against a sandbox, each step verified.

A step is a function DemoContext → StepResult; STEPS is a plain list, run in order, stopping at the first step
that cannot be verified (later steps build on it). Extend the demo by appending to STEPS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.sandbox.provision import DLQ, QUEUE, RULE, Pipeline, SandboxClients, queue_depths
from evctl.sandbox.runner import Invocation, LocalRunner

if TYPE_CHECKING:
    from evctl.core.redrive import RedrivePlan

WELCOME_LINE = "Sending welcome email to: test@example.com"
# The demo's runner short-polls (wait 0) every 0.1 s: moto answers a long poll in whole seconds, which would
# add up to a second to each of the retries the demo waits for.
POLL_INTERVAL = 0.1


@dataclass
class StepResult:
    title: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.title,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
            **self.data,
        }


@dataclass
class DemoContext:
    clients: SandboxClients
    pipeline: Pipeline
    runner: LocalRunner
    step_timeout: float = 12.0  # the longest any one step may wait for the pipeline (a cap, not a delay)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    notes: dict[str, Any] = field(default_factory=dict)  # what a step leaves for later ones

    def wait_for(self, check: Callable[[], Any], interval: float = 0.1) -> Any:
        """Poll `check` until it returns something truthy or the step timeout passes (then its last value)."""
        deadline = self.clock() + self.step_timeout
        value = check()
        while not value and self.clock() < deadline:
            self.sleep(interval)
            value = check()
        return value


Step = Callable[[DemoContext], StepResult]


def _publish(ctx: DemoContext, entry: dict[str, Any]) -> tuple[bool, str]:
    from evctl.core.events import publish

    report = publish(ctx.clients.events, [entry], concurrency=1, sleep=ctx.sleep)
    if report.interrupted:  # publish keeps Ctrl-C / SIGTERM for its summary: the demo stops, it did not fail a step
        raise KeyboardInterrupt
    result = report.results[0]
    if not result.ok:
        return False, f"{result.error_code}: {result.error_message}"
    return True, str(result.event_id)


def _signup_entry(*, with_email: bool) -> dict[str, Any]:
    from evctl.core.events import compact_json
    from evctl.core.events.templates import BUILTIN, render

    entry = render(BUILTIN["signup"], {})  # the built-in template, whatever the user's config says
    if not with_email:
        detail = json.loads(entry["Detail"])
        detail.pop("email", None)
        entry["Detail"] = compact_json(detail)
    return entry


def step_pipeline_ready(ctx: DemoContext) -> StepResult:
    title = "the seed's pipeline is provisioned"
    clients, pipeline = ctx.clients, ctx.pipeline
    targets = clients.events.list_targets_by_rule(Rule=RULE)["Targets"]
    mapping = clients.lambda_.get_event_source_mapping(UUID=pipeline.esm_uuid)
    routed = any(t["Arn"] == pipeline.queue_arn for t in targets)
    if not routed or mapping.get("State") != "Enabled":
        return StepResult(title, False, f"rule targets {[t['Arn'] for t in targets]}, mapping {mapping.get('State')}")
    settings = pipeline.settings
    return StepResult(
        title,
        True,
        f"rule {RULE} → {QUEUE} (DLQ {DLQ} after {settings.max_receive_count} receives) → "
        f"user-signup-handler (timeout {settings.timeout} s, batch {settings.batch_size}) → {pipeline.log_group}",
        {"resources": pipeline.resources()},
    )


def step_publish_signup(ctx: DemoContext) -> StepResult:
    entry = _signup_entry(with_email=True)
    ok, detail = _publish(ctx, entry)
    ctx.notes["signup_event_id"] = detail if ok else None
    title = "publish the signup template to the default bus"
    if not ok:
        return StepResult(title, False, f"PutEvents failed: {detail}")
    return StepResult(title, True, f"event {detail}: {entry['Detail']}", {"event_id": detail})


def step_event_reaches_queue(ctx: DemoContext) -> StepResult:
    title = f"rule {RULE} routes it to {QUEUE}"
    depth = ctx.wait_for(lambda: queue_depths(ctx.clients.sqs, ctx.pipeline.queue_url)["visible"])
    if depth != 1:
        return StepResult(title, False, f"expected 1 message in {QUEUE}, found {depth}")
    return StepResult(title, True, f"{QUEUE} holds 1 message", {"queue_depth": depth})


def step_handler_runs(ctx: DemoContext) -> StepResult:
    title = "the local runner invokes user-signup-handler"
    invocation = _next_invocation(ctx)
    if invocation is None:
        return StepResult(title, False, "the runner received nothing from the queue")
    ctx.notes["welcome_request_id"] = invocation.request_id
    depth = queue_depths(ctx.clients.sqs, ctx.pipeline.queue_url)
    if invocation.outcome != "success" or depth["visible"] + depth["in_flight"] != 0:
        return StepResult(title, False, f"invocation {invocation.outcome} ({invocation.error}); queue {depth}")
    return StepResult(
        title,
        True,
        f"request {invocation.request_id}: success in {invocation.duration_ms:.0f} ms; the message was deleted",
        {"request_id": invocation.request_id},
    )


def step_logs_read_back(ctx: DemoContext) -> StepResult:
    title = f"its log lines are read back from CloudWatch Logs ({ctx.pipeline.log_group})"
    request_id = ctx.notes.get("welcome_request_id")
    lines = ctx.wait_for(lambda: _log_lines(ctx, request_id))
    if not any(WELCOME_LINE in line for line in lines or []):
        return StepResult(title, False, f"no line {WELCOME_LINE!r} in the function's logs")
    shown = [line for line in lines if not line.startswith(("START ", "END ", "REPORT "))]
    return StepResult(title, True, " | ".join(shown), {"log_lines": lines})


def step_publish_without_email(ctx: DemoContext) -> StepResult:
    title = "publish a signup without an email"
    entry = _signup_entry(with_email=False)
    ok, detail = _publish(ctx, entry)
    if not ok:
        return StepResult(title, False, f"PutEvents failed: {detail}")
    ctx.notes["bad_event_id"] = detail
    return StepResult(title, True, f"event {detail}: {entry['Detail']}", {"event_id": detail})


def step_fails_into_dlq(ctx: DemoContext) -> StepResult:
    settings = ctx.pipeline.settings
    title = f"the handler fails; SQS retries it and moves it to {DLQ} after {settings.max_receive_count} receives"
    failures: list[Invocation] = []
    deadline = ctx.clock() + ctx.step_timeout
    while ctx.clock() < deadline:
        invocation = ctx.runner.poll_once()
        if invocation is not None:
            if invocation.outcome == "success":
                return StepResult(title, False, "the handler accepted a signup without an email")
            failures.append(invocation)
        if queue_depths(ctx.clients.sqs, ctx.pipeline.dlq_url)["visible"] == 1:
            break
        if invocation is None:
            ctx.sleep(POLL_INTERVAL)
    dlq = queue_depths(ctx.clients.sqs, ctx.pipeline.dlq_url)["visible"]
    errors = sorted({f.error or "" for f in failures})
    if dlq != 1 or len(failures) != settings.max_receive_count:
        return StepResult(title, False, f"{len(failures)} failed invocations, {dlq} message(s) in {DLQ}")
    return StepResult(
        title,
        True,
        f"{len(failures)} failed invocations ({'; '.join(errors)}), then SQS moved the message to {DLQ}",
        {"failed_invocations": len(failures)},
    )


def step_dlq_depth(ctx: DemoContext) -> StepResult:
    title = f"{DLQ} depth"
    sqs = ctx.clients.sqs
    depth = queue_depths(sqs, ctx.pipeline.dlq_url)
    main = queue_depths(sqs, ctx.pipeline.queue_url)
    ok = depth["visible"] == 1 and main["visible"] + main["in_flight"] == 0
    detail = f"{DLQ}: {depth['visible']} message(s); {QUEUE}: {main['visible'] + main['in_flight']}"
    return StepResult(title, ok, detail, {"dlq_depth": depth["visible"], "queue_depth": main["visible"]})


# ---- after the DLQ: fix the cause, then redrive (evctl.core.redrive, as `evctl redrive dlq` runs it) ----------

FIXED_LINE = "No email in signup"
FIXED_HANDLER = """import json


def lambda_handler(event, context):
    for record in event["Records"]:
        envelope = json.loads(record["body"])
        user_data = envelope["detail"]
        print(f"Processing user signup event: {user_data}")
        email = user_data.get("email")
        if not email:  # the fix: record it for follow-up instead of failing the batch
            print(f"No email in signup {envelope.get('id')}: recorded for follow-up, no welcome email sent")
            continue
        print(f"Sending welcome email to: {email}")
    return {"statusCode": 200, "body": "Successfully processed user signup events"}
"""
# moto, and so the sandbox, has no SQS message move tasks: evctl's redrive falls back to its manual mode.
SANDBOX_LACKS_MOVE_TASKS = "the sandbox (moto) has no SQS message move tasks"


def step_fix_handler(ctx: DemoContext) -> StepResult:
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    title = "fix the cause: the handler records a signup without an email instead of failing"
    folder = tempfile.TemporaryDirectory(prefix="evctl-demo-")
    ctx.notes["fixed_handler_dir"] = folder  # removed when the demo ends
    path = Path(folder.name) / "lambda_function.py"
    path.write_text(FIXED_HANDLER, encoding="utf-8")
    ctx.runner.function = replace(ctx.runner.function, handler_file=path)
    return StepResult(title, True, f"user-signup-handler redeployed: a missing email now logs {FIXED_LINE!r}")


def _redrive_plan(ctx: DemoContext) -> RedrivePlan:
    from evctl.core.redrive import RedriveRequest, plan_redrive

    return plan_redrive(ctx.clients.sqs, RedriveRequest(DLQ), probe=lambda arn: SANDBOX_LACKS_MOVE_TASKS)


def step_redrive_dry_run(ctx: DemoContext) -> StepResult:
    from evctl.core.redrive import preview

    title = f"evctl redrive dlq {DLQ} --dry-run: what would go back (nothing is consumed)"
    plan = _redrive_plan(ctx)
    rows, _ = preview(ctx.clients.sqs, plan, limit=10, filter=None, wait_seconds=0)
    still = queue_depths(ctx.clients.sqs, ctx.pipeline.dlq_url)["visible"]
    if len(rows) != 1 or still != 1:
        return StepResult(title, False, f"{len(rows)} message(s) shown, {still} left visible in {DLQ}")
    body = rows[0]["body"]
    detail = body.get("detail") if isinstance(body, dict) else body
    return StepResult(
        title,
        True,
        f"{plan.mode} mode ({'; '.join(plan.manual_reasons)}): 1 message → {plan.destination_label}: {detail}",
        {"would_move": len(rows), "mode": plan.mode},
    )


def step_redrive(ctx: DemoContext) -> StepResult:
    from evctl.core.redrive import make_sink, manual_redrive, manual_summary

    title = f"evctl redrive dlq {DLQ} --yes: back to {QUEUE}, deleted from the DLQ only once sent"
    sqs = ctx.clients.sqs
    plan = _redrive_plan(ctx)
    sink = make_sink(plan, sqs)
    report = manual_redrive(sqs, plan, sink, wait_seconds=0, concurrency=1, sleep=ctx.sleep)
    summary = manual_summary(plan, report, sink)
    dlq = queue_depths(sqs, ctx.pipeline.dlq_url)
    if not report.ok or summary["moved"] != 1 or dlq["visible"] + dlq["in_flight"] != 0:
        return StepResult(title, False, f"moved {summary['moved']}, failed {summary['failed']}; {DLQ}: {dlq}")
    return StepResult(title, True, f"moved 1 message; {DLQ} is empty", {"redrive": summary})


def step_redriven_processed(ctx: DemoContext) -> StepResult:
    title = "the fixed handler processes the redriven signup; its log shows it"
    invocation = _next_invocation(ctx)
    if invocation is None or invocation.outcome != "success":
        outcome = "nothing received" if invocation is None else f"{invocation.outcome} ({invocation.error})"
        return StepResult(title, False, outcome)
    lines = ctx.wait_for(lambda: _log_lines(ctx, invocation.request_id))
    fixed = [line for line in lines or [] if FIXED_LINE in line]
    if not fixed:
        return StepResult(title, False, f"no line {FIXED_LINE!r} in request {invocation.request_id}'s logs")
    return StepResult(title, True, f"request {invocation.request_id}: {fixed[0].strip()}", {"log_lines": lines})


STEPS: list[Step] = [
    step_pipeline_ready,
    step_publish_signup,
    step_event_reaches_queue,
    step_handler_runs,
    step_logs_read_back,
    step_publish_without_email,
    step_fails_into_dlq,
    step_dlq_depth,
    step_fix_handler,
    step_redrive_dry_run,
    step_redrive,
    step_redriven_processed,
]


def run(ctx: DemoContext, steps: Sequence[Step] | None = None) -> Iterator[StepResult]:
    """Each step's result as it completes; stops after the first step that could not be verified."""
    for step in STEPS if steps is None else steps:
        started = ctx.clock()
        try:
            result = step(ctx)
        except Exception as exc:  # a step's AWS call failed: report it as that step's failure
            result = StepResult(
                step.__name__.removeprefix("step_").replace("_", " "), False, f"{type(exc).__name__}: {exc}"
            )
        result.seconds = ctx.clock() - started
        yield result
        if not result.ok:
            return


def _next_invocation(ctx: DemoContext) -> Invocation | None:
    deadline = ctx.clock() + ctx.step_timeout
    while ctx.clock() < deadline:
        invocation = ctx.runner.poll_once()
        if invocation is not None:
            return invocation
        ctx.sleep(POLL_INTERVAL)
    return None


def _log_lines(ctx: DemoContext, request_id: str | None) -> list[str]:
    """The function's log lines of one request, read back through CloudWatch Logs (evctl's own fetch)."""
    from evctl.core.logs import RequestBudget, fetch_events

    # The sandbox has no FilterLogEvents quota: no pacing between calls.
    budget = RequestBudget(1000.0, clock=ctx.clock, sleep=ctx.sleep)
    lines = [event["message"] for event in fetch_events(ctx.clients.logs, ctx.pipeline.log_group, 0, budget=budget)]
    if request_id is None:
        return lines
    # one request's lines: from its START to its REPORT
    start = next((i for i, line in enumerate(lines) if line.startswith(f"START RequestId: {request_id}")), None)
    if start is None:
        return []
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(f"REPORT RequestId: {request_id}")), None)
    return lines[start : (end + 1 if end is not None else len(lines))]
