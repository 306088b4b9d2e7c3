"""Target delivery settings (catalogue §2.3, T-*): what each SQS target of a rule receives and what happens when
delivery fails. They run on rule nodes (a target is part of its rule: the fix is a put-targets on the rule)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import (
    arn_parts,
    is_sqs,
    put_target,
    put_targets_command,
    queue_node,
    quoted_json,
    rule_metric_sum,
)

EVENTS = "events.amazonaws.com"
DEFAULT_RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def sqs_targets(ctx: DoctorContext, node: Node) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    rule = ctx.rule(node)
    for target in ctx.targets(node):
        if is_sqs(str(target.get("Arn", ""))):
            yield rule, target


def rule_arn_of(rule: Mapping[str, Any], node: Node) -> str:
    return str(rule.get("Arn") or node.id)


def dlq_name(rule: Mapping[str, Any]) -> str:
    return f"{str(rule.get('Name', 'rule'))[:60]}-target-dlq"


def dlq_policy(dlq_arn: str, rule_arn: str) -> dict[str, Any]:
    """The statement EventBridge needs on a target DLQ [EB-DLQ] (TD-POLICY-1's)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventsToDLQ",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sqs:SendMessage",
                "Resource": dlq_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def new_dlq(rule: Mapping[str, Any], queue_arn: str) -> tuple[str, str]:
    """(DLQ ARN, the create-queue command with its EventBridge policy) for a new standard queue beside the target."""
    parts = arn_parts(queue_arn)
    name = dlq_name(rule)
    arn = f"arn:{parts[1]}:sqs:{parts[3]}:{parts[4]}:{name}"
    attributes = {"Policy": json.dumps(dlq_policy(arn, str(rule.get("Arn"))), separators=(",", ":"))}
    return arn, f"aws sqs create-queue --queue-name {name} --attributes {quoted_json(attributes)}"


@check("T-RETRY-1", on="rule")
def target_without_dlq(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """After retries (or at once, for permission and missing-queue errors) an undeliverable event is dropped."""
    for rule, target in sqs_targets(ctx, node):
        if (target.get("DeadLetterConfig") or {}).get("Arn"):
            continue
        failed = rule_metric_sum(ctx, rule, "FailedInvocations")
        arn, create = new_dlq(rule, str(target["Arn"]))
        changed = put_target(target, DeadLetterConfig={"Arn": arn})
        yield Finding(
            check="T-RETRY-1",
            resource=rule_arn_of(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} ({arn_parts(str(target['Arn']))[5]}) has no "
                "dead-letter queue: events EventBridge cannot deliver are dropped"
                + (f" ({failed:g} FailedInvocations in the window)" if failed else "")
            ),
            evidence={
                "target": {"Id": target.get("Id"), "Arn": target.get("Arn")},
                "DeadLetterConfig": None,
                "RetryPolicy": target.get("RetryPolicy"),
                "FailedInvocations": failed,
            },
            fix=Fix(
                summary=(
                    f"create standard queue {dlq_name(rule)} with a policy letting this rule send to it, "
                    "then set it as the target's DeadLetterConfig"
                ),
                value={"DeadLetterConfig": {"Arn": arn}},
                command=put_targets_command(rule, changed),
                before=(create,),
            ),
            # high only with evidence that deliveries fail now; a missing safety net alone is medium
            severity="high" if failed else "medium",
            related=(str(target["Arn"]),),
        )


@check("T-RETRY-2", on="rule")
def retry_policy_shortened(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A shortened retry budget with no DLQ: a short outage drops events."""
    for rule, target in sqs_targets(ctx, node):
        if (target.get("DeadLetterConfig") or {}).get("Arn"):
            continue
        retry = target.get("RetryPolicy") or {}
        attempts = retry.get("MaximumRetryAttempts")
        age = retry.get("MaximumEventAgeInSeconds")
        short = []
        if attempts is not None and int(attempts) < 10:
            short.append(f"MaximumRetryAttempts {attempts}")
        if age is not None and int(age) < 3600:
            short.append(f"MaximumEventAgeInSeconds {age}")
        if not short:
            continue
        changed = put_target(target, RetryPolicy=dict(DEFAULT_RETRY))
        yield Finding(
            check="T-RETRY-2",
            resource=rule_arn_of(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} gives up after {' / '.join(short)} and has no "
                "dead-letter queue: a short outage drops events"
            ),
            evidence={"target": {"Id": target.get("Id"), "Arn": target.get("Arn")}, "RetryPolicy": retry},
            fix=Fix(
                summary="restore the default retry policy (185 attempts over 24 h), or add a target DLQ (T-RETRY-1)",
                value={"RetryPolicy": DEFAULT_RETRY},
                command=put_targets_command(rule, changed),
            ),
            related=(str(target["Arn"]),),
        )


@check("T-ARN-1", on="rule")
def target_queue_missing(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A target ARN naming a queue that does not exist: every delivery fails, without retries."""
    for rule, target in sqs_targets(ctx, node):
        queue_arn = str(target["Arn"])
        queue = queue_node(ctx, queue_arn)
        parts = arn_parts(queue_arn)
        if queue is None:
            raise NotChecked(f"target queue {queue_arn} was not discovered")
        if queue.exists and not (ctx.region and parts[3] != ctx.region):
            continue
        why = f"it is in region {parts[3]}, the rule in {ctx.region}" if queue.exists else "no such queue"
        names = [str(url).rsplit("/", 1)[-1] for url in ctx.clients.sqs.list_queues().get("QueueUrls", [])]
        close = difflib.get_close_matches(parts[5], names, n=1)
        changed = (
            put_target(target, Arn=f"arn:{parts[1]}:sqs:{ctx.region or parts[3]}:{parts[4]}:{close[0]}")
            if close
            else None
        )
        yield Finding(
            check="T-ARN-1",
            resource=rule_arn_of(rule, node),
            message=f"target {target.get('Id')} of rule {node.name} names queue {parts[5]}: {why}",
            evidence={
                "target": {"Id": target.get("Id"), "Arn": queue_arn},
                "exists": queue.exists,
                "closest_existing": close,
            },
            fix=Fix(
                summary=(f"point the target at {close[0]}" if close else "point the target at the real queue ARN")
                + " (same Region as the rule)",
                value={"Arn": changed["Arn"]} if changed else None,
                command=put_targets_command(rule, changed) if changed else None,
            ),
            related=(queue_arn,),
        )

