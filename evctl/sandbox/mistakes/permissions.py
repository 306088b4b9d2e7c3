"""Mistake 1, "Incorrect IAM Permissions", both sides of the queue: no queue policy lets EventBridge send (the
rule's deliveries are refused: the event vanishes, AWS/Events FailedInvocations rises), and the function's role has
only "basic Lambda permissions" (logs), so its mapping cannot receive from the queue (PROBLEM on the mapping).

The sandbox enforces both as AWS does (sandbox/delivery, sandbox/enforcement): nothing here fakes the symptom.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from evctl.sandbox.demo import StepResult
from evctl.sandbox.provision import QUEUE, ROLE, RULE

from .steps import MistakesContext, depth, drive, restore_seed

ROLE_POLICY = "user-signup-handler"  # the seed's inline policy on the role (provision.py)
# What the console's "Create a new role with basic Lambda permissions" grants (AWSLambdaBasicExecutionRole).
BASIC_EXECUTION = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
}


def plant_permissions(ctx: MistakesContext) -> StepResult:
    restore_seed(ctx)
    ctx.clients.sqs.set_queue_attributes(QueueUrl=ctx.pipeline.queue_url, Attributes={"Policy": ""})
    ctx.clients.iam.put_role_policy(RoleName=ROLE, PolicyName=ROLE_POLICY, PolicyDocument=json.dumps(BASIC_EXECUTION))
    attributes = ctx.clients.sqs.get_queue_attributes(QueueUrl=ctx.pipeline.queue_url, AttributeNames=["Policy"])
    return StepResult(
        "plant: no queue policy for EventBridge; a role with basic Lambda permissions only",
        not attributes.get("Attributes", {}).get("Policy"),
        f"{QUEUE}: Policy removed (the rule was created by API, so nothing added one); {ROLE}: logs only, "
        "no sqs:ReceiveMessage / DeleteMessage / GetQueueAttributes",
    )


def failed_invocations(ctx: MistakesContext) -> float:
    """AWS/Events FailedInvocations of the rule over the last 10 minutes (the sandbox emits it as AWS does)."""
    now = dt.datetime.now(dt.UTC)
    answer = ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Events",
        MetricName="FailedInvocations",
        Dimensions=[{"Name": "RuleName", "Value": RULE}],
        StartTime=now - dt.timedelta(minutes=10),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return float(sum(point.get("Sum", 0.0) for point in answer.get("Datapoints", [])))


def mapping_problem(ctx: MistakesContext) -> str:
    mapping: dict[str, Any] = dict(ctx.clients.lambda_.get_event_source_mapping(UUID=ctx.pipeline.esm_uuid))
    return str(mapping.get("LastProcessingResult") or "")


def symptom_vanishes(ctx: MistakesContext) -> StepResult:
    title = "symptom: the event vanishes, FailedInvocations rises, the mapping shows PROBLEM"
    made = drive(ctx, bool, timeout=1.0)  # the runner's poll: the mapping's gate decides whether it may
    failed = ctx.wait_for(lambda: failed_invocations(ctx))
    problem = ctx.wait_for(lambda: mapping_problem(ctx).startswith("PROBLEM") and mapping_problem(ctx))
    left = depth(ctx, ctx.pipeline.queue_url)
    data = {"FailedInvocations": failed, "LastProcessingResult": problem or None, "queue_depth": left}
    if made or left or not failed or not problem:
        return StepResult(
            title, False, f"{len(made)} invocation(s), {left} queued, FailedInvocations {failed}, mapping {problem!r}",
            data,
        )  # fmt: skip
    return StepResult(
        title,
        True,
        f"PutEvents said success, but {QUEUE} holds 0 messages and no invocation ran; AWS/Events FailedInvocations "
        f"for {RULE}: {failed:g}; the mapping's LastProcessingResult: {problem}",
        data,
    )
