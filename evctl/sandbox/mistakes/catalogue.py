"""The seed article's Common Mistakes, each planted in the seed pipeline with its symptom as a user meets it.

A Mistake says what to plant, what the symptom is, which catalogue check names it, and what its fix needs besides
the printed command (F-SHAPE-1's command names a function.zip the user builds from the corrected handler).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evctl.core.events.templates import BUILTIN, render
from evctl.core.rules import rules_for_entries
from evctl.sandbox.demo import StepResult, _log_lines
from evctl.sandbox.provision import BUS, DLQ, FUNCTION, QUEUE, RULE

from .handlers import SLOW_HANDLER, SLOW_SECONDS, TUTORIAL_HANDLER, corrected_handler
from .permissions import plant_permissions, symptom_vanishes
from .steps import (
    FIX_DIR,
    MistakesContext,
    deploy_handler,
    depth,
    drive,
    receives,
    restore_seed,
    run_deployed,
    zip_handler,
)

Step = Callable[[MistakesContext], StepResult]

CYCLES = 4  # receives that show a poison message cycling: one more than the seed's maxReceiveCount (3)
QUIET_SECONDS = 1.0  # how long "nothing arrives" is watched for (the sandbox delivers within PutEvents)
# The tutorial's rule: "AWS services → CloudWatch Events via CloudTrail → AWS API Call via CloudTrail".
CLOUDTRAIL_PATTERN = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"]}
PLANTED_TIMEOUT = 3  # seconds: the function's timeout, longer than the queue's 1 s visibility timeout


@dataclass(frozen=True)
class Mistake:
    number: int
    article: str  # the article's heading for it
    title: str  # what is planted, in a few words
    checks: tuple[str, ...]  # the catalogue ids doctor must name
    plant: Step
    symptom: Step
    with_email: bool = True  # the first signup published (False: the one the seed's handler rejects)
    prepare_fix: Callable[[MistakesContext, Path], None] | None = None  # writes the files the fix command names
    after_apply: Callable[[MistakesContext], None] | None = None  # what follows the command (run the deployed code)
    pollers: int = 1  # concurrent pollers of the mapping (2 show a duplicate)
    check_end: Callable[[MistakesContext], str | None] | None = None  # the mistake's own last check (None: ok)


# ---- 2. no DLQ ----------------------------------------------------------------------------------------------------


def plant_no_dlq(ctx: MistakesContext) -> StepResult:
    restore_seed(ctx)
    ctx.clients.sqs.set_queue_attributes(QueueUrl=ctx.pipeline.queue_url, Attributes={"RedrivePolicy": ""})
    attributes = ctx.clients.sqs.get_queue_attributes(QueueUrl=ctx.pipeline.queue_url, AttributeNames=["All"])
    ok = "RedrivePolicy" not in attributes["Attributes"]
    return StepResult(
        "plant: user-signup-queue has no dead-letter queue (no RedrivePolicy)",
        ok,
        f"{QUEUE}: RedrivePolicy removed; a message that always fails has nowhere to go",
    )


def symptom_cycles(ctx: MistakesContext) -> StepResult:
    title = "symptom: the poison message cycles, its receive count rising"
    made = drive(ctx, lambda made: max(receives(made).values(), default=0) >= CYCLES)
    counts = receives(made)
    message_id, count = max(counts.items(), key=lambda item: item[1], default=("", 0))
    left, dlq = depth(ctx, ctx.pipeline.queue_url), depth(ctx, ctx.pipeline.dlq_url)
    errors = sorted({i.error or i.outcome for i in made if message_id in i.message_ids})
    if count < CYCLES or left != 1 or dlq != 0:
        return StepResult(title, False, f"received {count} time(s); {QUEUE} holds {left}, {DLQ} {dlq}")
    return StepResult(
        title,
        True,
        f"message {message_id} received {count} times, failing each time ({'; '.join(errors)}); still in {QUEUE}, "
        f"nothing in any DLQ: it cycles until the retention period ends, then SQS deletes it unseen",
        {"receives": count},
    )


def poison_dead_lettered(ctx: MistakesContext) -> str | None:
    """After the fix the poison message goes to the DLQ (after the new maxReceiveCount) instead of cycling."""
    drive(ctx, lambda _: depth(ctx, ctx.pipeline.dlq_url) == 1)
    dlq = depth(ctx, ctx.pipeline.dlq_url)
    return None if dlq == 1 else f"the poison message did not reach {DLQ} ({dlq} message(s) there)"


# ---- 3. the tutorial's CloudTrail pattern ------------------------------------------------------------------------


def plant_cloudtrail_pattern(ctx: MistakesContext) -> StepResult:
    restore_seed(ctx)
    ctx.clients.events.put_rule(
        Name=RULE, EventBusName=BUS, EventPattern=json.dumps(CLOUDTRAIL_PATTERN), State="ENABLED",
        Description="The tutorial pattern: AWS API Call via CloudTrail",
    )  # fmt: skip
    return StepResult(
        "plant: the tutorial's CloudTrail pattern on user-signup-rule",
        True,
        f"{RULE} pattern {json.dumps(CLOUDTRAIL_PATTERN)} (the producer sends my.webapp / UserSignup)",
    )


def symptom_nothing_matches(ctx: MistakesContext) -> StepResult:
    title = "symptom: nothing matches; the queue stays empty and the handler never runs"
    made = drive(ctx, bool, timeout=QUIET_SECONDS)
    left = depth(ctx, ctx.pipeline.queue_url)
    [(bus, matched)] = rules_for_entries(ctx.clients.events, [render(BUILTIN["signup"], {})])
    if made or left or matched:
        return StepResult(title, False, f"{len(made)} invocation(s), {left} message(s) queued, rules {matched}")
    return StepResult(
        title,
        True,
        f"after {QUIET_SECONDS:g} s: {QUEUE} holds 0 messages, 0 invocations; the {bus} bus has no enabled rule "
        "matching the signup (PutEvents still said success)",
        {"matched_rules": matched},
    )


# ---- 4. the tutorial's handler: body['Message'] ----------------------------------------------------------------------


def plant_tutorial_handler(ctx: MistakesContext) -> StepResult:
    restore_seed(ctx)
    deploy_handler(ctx, TUTORIAL_HANDLER, "tutorial-handler")
    return StepResult(
        "plant: the tutorial's handler, json.loads(message_body['Message'])",
        True,
        f"{FUNCTION} redeployed (UpdateFunctionCode) with the article's handler, which expects an SNS envelope",
    )


def symptom_key_error(ctx: MistakesContext) -> StepResult:
    title = f"symptom: KeyError: 'Message' in {FUNCTION}'s logs"
    made = drive(ctx, bool)
    if not made:
        return StepResult(title, False, "the runner received nothing from the queue")
    invocation = made[0]
    lines = ctx.wait_for(lambda: _log_lines(ctx, invocation.request_id)) or []
    errors = [line for line in lines if "KeyError: 'Message'" in line]
    if invocation.outcome != "error" or not errors:
        return StepResult(title, False, f"invocation {invocation.outcome} ({invocation.error}); no KeyError logged")
    return StepResult(
        title,
        True,
        f"request {invocation.request_id} failed: {errors[0].split(chr(13))[0]} (every signup fails the same way)",
        {"log_lines": lines},
    )


def write_function_zip(ctx: MistakesContext, folder: Path) -> None:
    """F-SHAPE-1's command deploys fileb://function.zip: the corrected handler (its fix's value), zipped."""
    (folder / "function.zip").write_bytes(zip_handler(corrected_handler()))


def run_corrected_handler(ctx: MistakesContext) -> None:
    """The runner runs what the fix deployed (its CodeSha256 checked), not a file the demo swapped in."""
    run_deployed(ctx, (ctx.workdir / FIX_DIR / "function.zip").read_bytes(), "corrected-handler")


# ---- 5. a timeout longer than the visibility timeout ---------------------------------------------------------------


def plant_long_timeout(ctx: MistakesContext) -> StepResult:
    restore_seed(ctx)
    lam = ctx.clients.lambda_
    lam.update_function_configuration(FunctionName=FUNCTION, Timeout=PLANTED_TIMEOUT)
    deploy_handler(ctx, SLOW_HANDLER, "slow-handler")
    visibility = ctx.clients.sqs.get_queue_attributes(
        QueueUrl=ctx.pipeline.queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"]
    return StepResult(
        "plant: the function's timeout is longer than the queue's visibility timeout",
        ctx.runner.function.timeout == PLANTED_TIMEOUT,
        f"{FUNCTION}: timeout {PLANTED_TIMEOUT} s, each signup takes {SLOW_SECONDS:g} s (a slow email provider); "
        f"{QUEUE}: visibility timeout {visibility} s",
    )


def symptom_duplicate(ctx: MistakesContext) -> StepResult:
    title = "symptom: a duplicate, the same message processed twice"
    made = drive(ctx, lambda made: max(receives(made).values(), default=0) >= 2, pollers=2)
    counts = receives(made)
    message_id, count = max(counts.items(), key=lambda item: item[1], default=("", 0))
    user = str(ctx.notes.get("user_id"))
    welcomes = [i for i in made if i.outcome == "success" and user in "\n".join(i.log_lines)]
    if count < 2 or len(welcomes) < 2:
        return StepResult(title, False, f"message received {count} time(s), {len(welcomes)} welcome email(s)")
    return StepResult(
        title,
        True,
        f"message {message_id} became visible again after 1 s while still being processed: requests "
        f"{', '.join(i.request_id for i in welcomes)} each sent user {user} a welcome email",
        {"receives": count, "welcome_emails": len(welcomes)},
    )


def processed_once(ctx: MistakesContext) -> str | None:
    user = str(ctx.notes.get("user_id"))
    welcomes = [i for i in ctx.invocations if i.outcome == "success" and user in "\n".join(i.log_lines)]
    left = depth(ctx, ctx.pipeline.queue_url)
    if len(welcomes) != 1 or left:
        return f"{len(welcomes)} welcome email(s) for user {user}; {left} message(s) left in {QUEUE}"
    return None


MISTAKES: list[Mistake] = [
    Mistake(1, "Incorrect IAM Permissions", "no queue policy, a role that cannot read the queue",
            ("Q-POLICY-1", "I-SQS-1"), plant_permissions, symptom_vanishes),
    Mistake(2, "Missing Error Handling", "no DLQ", ("Q-REDRIVE-1",), plant_no_dlq, symptom_cycles, with_email=False,
            check_end=poison_dead_lettered),
    Mistake(3, "Incorrect Event Pattern", "the tutorial's CloudTrail pattern", ("R-PATTERN-1",),
            plant_cloudtrail_pattern, symptom_nothing_matches),
    Mistake(4, "Serialization Issues", "the tutorial's body['Message'] handler", ("F-SHAPE-1",), plant_tutorial_handler,
            symptom_key_error, prepare_fix=write_function_zip, after_apply=run_corrected_handler),
    Mistake(5, "Lambda Timeout", "a timeout longer than the visibility timeout", ("Q-VIS-1",), plant_long_timeout,
            symptom_duplicate, pollers=2, check_end=processed_once),
]  # fmt: skip
