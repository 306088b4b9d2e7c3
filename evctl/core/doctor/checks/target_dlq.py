"""EventBridge target DLQ checks (catalogue §2.4, TD-*): the queue a rule's target dead-letters to must be a
standard queue in the rule's Region that EventBridge may write to (queue policy, KMS key), and someone must see it.

TD-POLICY-1, TD-KMS-1 and TD-WATCH-1 run on queue nodes with an incoming target_dlq edge (the DLQ is the
resource the fix changes); TD-TYPE-1 runs on rules, since a missing DLQ is no node the runner visits."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from evctl.core.iam import (
    SERVICE_ABSENT_KEYS,
    Decision,
    PolicyKind,
    Principal,
    Request,
    evaluate,
    load_policy,
    service_context,
)
from evctl.core.pipeline import Node
from evctl.errors import error_code

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import arn_parts, policy_with, put_target, put_targets_command, set_policy_command
from .queue_common import SQS_MAX_RETENTION
from .queue_kms import KMS_ACTIONS, events_key_decisions, events_key_fix
from .target import EVENTS, dlq_name, new_dlq

SQS_DEFAULT_RETENTION = 345_600  # 4 days


def _rules_of(ctx: DoctorContext, dlq: Node) -> list[tuple[Node, str]]:
    """The existing rules whose targets dead-letter to this queue, with their ARN from DescribeRule."""
    rules = []
    for rule in ctx.upstream(dlq, "target_dlq"):
        if rule.exists:
            rules.append((rule, str(ctx.rule(rule).get("Arn") or rule.id)))
    return rules


def _url(dlq: Node) -> str:
    value = dlq.attributes.get("url")
    if not value:
        raise NotChecked("the DLQ's URL was not read" + (f" ({'; '.join(dlq.not_read)})" if dlq.not_read else ""))
    return str(value)


def _sid(rule_name: str) -> str:
    return "EventsToDLQ" + re.sub(r"[^A-Za-z0-9]", "", rule_name.title())[:80]


@check("TD-POLICY-1", on="queue")
def dlq_policy_does_not_allow_eventbridge(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The target DLQ's policy must let events.amazonaws.com SendMessage with aws:SourceArn = the rule."""
    rules = _rules_of(ctx, node)
    if not rules:
        return
    text = ctx.queue_attributes(node).get("Policy") or None
    policy = load_policy(text, name="DLQ policy") if text else None
    denied = []
    for rule, rule_arn in rules:
        request = Request(
            Principal.of_service(EVENTS),
            "sqs:SendMessage",
            node.id,
            context=service_context(rule_arn),
            absent=SERVICE_ABSENT_KEYS,
        )
        result = evaluate(request, resource=policy)
        if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
            keys = f" (keys: {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
            raise NotChecked(f"the DLQ policy for rule {rule.name}: {result.reason}{keys}")
        if result.decision.denied:
            denied.append((rule, rule_arn, result))
    if not denied:
        return
    arns = [arn for _, arn, _ in denied]
    statement = {
        "Sid": _sid(denied[0][0].name) if len(denied) == 1 else "EventsToDLQ",
        "Effect": "Allow",
        "Principal": {"Service": EVENTS},
        "Action": "sqs:SendMessage",
        "Resource": node.id,
        "Condition": {"ArnEquals": {"aws:SourceArn": arns[0] if len(arns) == 1 else arns}},
    }
    drop = tuple(ref.statement for _, _, result in denied for ref in result.deciding if ref.effect == "Deny")
    merged = policy_with(text, statement, drop)
    yield Finding(
        check="TD-POLICY-1",
        resource=node.id,
        message=(
            f"target DLQ {node.name} does not let EventBridge send for rule {', '.join(r.name for r, _, _ in denied)}: "
            "events that fail delivery are lost a second time"
        ),
        evidence={
            "Policy": json.loads(text) if text else None,
            "rules": arns,
            "decisions": {arn: result.as_dict() for _, arn, result in denied},
        },
        fix=Fix(
            summary="add this statement to the DLQ's policy (merged with its statements"
            + ("; the Deny statement(s) that catch EventBridge removed)" if drop else ")"),
            value=statement,
            command=set_policy_command(_url(node), merged),
        ),
        related=tuple(r.id for r, _, _ in denied),
    )


@check("TD-TYPE-1", on="rule")
def dlq_fifo_other_region_or_missing(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """EventBridge target DLQs must be standard queues in the rule's Region, and must exist."""
    rule = ctx.rule(node)
    rule_region = arn_parts(str(rule.get("Arn") or node.id))[3]
    for target in ctx.targets(node):
        dlq = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
        if not dlq:
            continue
        parts = arn_parts(dlq)
        dlq_node = ctx.graph.nodes.get(dlq)
        problems = []
        if parts[5].endswith(".fifo"):
            problems.append("it is a FIFO queue (only standard queues are supported)")
        if parts[3] != rule_region:
            problems.append(f"it is in {parts[3]}, the rule in {rule_region}")
        if dlq_node is not None and not dlq_node.exists:
            problems.append("it does not exist")
        if not problems:
            if dlq_node is None:
                raise NotChecked(f"target DLQ {dlq} was not discovered")
            continue
        new_arn, create = new_dlq(rule, str(target.get("Arn")))
        changed = put_target(target, DeadLetterConfig={"Arn": new_arn})
        yield Finding(
            check="TD-TYPE-1",
            resource=str(rule.get("Arn") or node.id),
            message=f"target {target.get('Id')} of rule {node.name} dead-letters to {parts[5]}: {'; '.join(problems)}",
            evidence={
                "DeadLetterConfig": target.get("DeadLetterConfig"),
                "rule_region": rule_region,
                "exists": dlq_node.exists if dlq_node is not None else None,
                "problems": problems,
            },
            fix=Fix(
                summary=f"point the target at a standard queue in {rule_region}: create {dlq_name(rule)} with a "
                f"policy letting this rule send, then set it as the target's DeadLetterConfig",
                value={"DeadLetterConfig": {"Arn": new_arn}},
                command=put_targets_command(rule, changed),
                before=(create,),
            ),
            related=(dlq,),
        )


def _describe_key(ctx: DoctorContext, key_id: str) -> dict[str, Any] | None:
    if ctx.clients.kms is None:
        raise NotChecked("KMS is not read in this run")
    try:
        return dict(ctx.clients.kms.describe_key(KeyId=key_id)["KeyMetadata"])
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise


def _sse_sqs(url: str) -> str:
    value = {"KmsMasterKeyId": "", "SqsManagedSseEnabled": "true"}
    return f"aws sqs set-queue-attributes --queue-url {shlex.quote(url)} --attributes {shlex.quote(json.dumps(value))}"


@check("TD-KMS-1", on="queue")
def dlq_key_unusable_by_eventbridge(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The target DLQ's KMS key must let EventBridge GenerateDataKey and Decrypt (an AWS managed key never does)."""
    rules = _rules_of(ctx, node)
    if not rules:
        return
    key_id = ctx.queue_attributes(node).get("KmsMasterKeyId") or ""
    if not key_id:
        return
    aws_alias = key_id == "alias/aws/sqs" or key_id.endswith(":alias/aws/sqs")
    metadata = None if aws_alias else _describe_key(ctx, key_id)
    if not aws_alias and metadata is None:
        raise NotChecked(f"key {key_id} does not exist (Q-KMS-3)")
    if aws_alias or (metadata or {}).get("KeyManager") == "AWS":
        yield Finding(
            check="TD-KMS-1",
            resource=node.id,
            message=f"target DLQ {node.name} is encrypted with the AWS managed key {key_id}: EventBridge cannot write "
            "dead letters to it",
            evidence={"KmsMasterKeyId": key_id, "KeyManager": "AWS", "rules": [arn for _, arn in rules]},
            fix=Fix(
                summary="switch the DLQ to SSE-SQS (the AWS managed key's policy cannot be changed), or to a customer "
                "managed key whose policy allows events.amazonaws.com kms:GenerateDataKey and kms:Decrypt",
                value={"KmsMasterKeyId": "", "SqsManagedSseEnabled": "true"},
                command=_sse_sqs(_url(node)),
            ),
            related=tuple(r.id for r, _ in rules),
        )
        return
    assert metadata is not None and ctx.clients.kms is not None
    key_arn = str(metadata["Arn"])
    text = ctx.clients.kms.get_key_policy(KeyId=key_arn, PolicyName="default").get("Policy") or ""
    policy = load_policy(text, name="key policy", kind=PolicyKind.KEY)
    denied: dict[str, Any] = {}
    for rule, rule_arn in rules:
        for action, result in events_key_decisions(key_arn, policy, rule_arn, node.id).items():
            if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
                keys = f" (keys: {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
                raise NotChecked(f"the DLQ's key policy for rule {rule.name}: {result.reason}{keys}")
            if result.decision.denied:
                denied[f"{rule_arn} {action}"] = result.as_dict()
    if not denied:
        return
    yield Finding(
        check="TD-KMS-1",
        resource=node.id,
        message=f"target DLQ {node.name}'s key {key_arn} does not let EventBridge {' and '.join(KMS_ACTIONS)}: "
        "dead letters cannot be written",
        evidence={
            "KmsMasterKeyId": key_id,
            "KeyArn": key_arn,
            "key_policy": json.loads(text) if text else None,
            "decisions": denied,
        },
        fix=events_key_fix(key_arn, text, "AllowEventBridgeDeadLetters"),
        related=(key_arn, *(r.id for r, _ in rules)),
    )


@check("TD-WATCH-1", on="queue")
def dlq_unwatched(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Nobody is told when dead letters arrive (no alarm on its depth), and they expire after the default 4 days."""
    rules = _rules_of(ctx, node)
    if not rules:
        return
    attributes = ctx.queue_attributes(node)
    retention = int(attributes.get("MessageRetentionPeriod") or SQS_DEFAULT_RETENTION)
    url = _url(node)
    if retention <= SQS_DEFAULT_RETENTION:
        yield Finding(
            check="TD-WATCH-1",
            resource=node.id,
            message=f"target DLQ {node.name} keeps dead letters {retention // 86400} days only",
            evidence={"MessageRetentionPeriod": retention},
            fix=Fix(
                summary="keep dead letters for the maximum, 14 days",
                value={"MessageRetentionPeriod": str(SQS_MAX_RETENTION)},
                command=f"aws sqs set-queue-attributes --queue-url {shlex.quote(url)} "
                f"--attributes MessageRetentionPeriod={SQS_MAX_RETENTION}",
            ),
        )
    if ctx.clients.cloudwatch is None:
        raise NotChecked("CloudWatch is not read in this run: alarms on the DLQ not checked")
    alarms = ctx.alarm_names("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": node.name})
    if alarms:
        return
    alarm = f"{node.name}-not-empty"
    yield Finding(
        check="TD-WATCH-1",
        resource=node.id,
        message=f"no alarm watches target DLQ {node.name}: dead letters from rule "
        f"{', '.join(r.name for r, _ in rules)} go unnoticed",
        evidence={"alarms_on_ApproximateNumberOfMessagesVisible": [], "MessageRetentionPeriod": retention},
        fix=Fix(
            summary="alarm when the DLQ holds any message (then read them: RULE_ARN, ERROR_CODE attributes; redrive "
            "with `evctl redrive`)",
            value={"AlarmName": alarm, "MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 0},
            command=(
                f"aws cloudwatch put-metric-alarm --alarm-name {shlex.quote(alarm)} --namespace AWS/SQS "
                f"--metric-name ApproximateNumberOfMessagesVisible --dimensions Name=QueueName,Value={node.name} "
                "--statistic Maximum --period 300 --evaluation-periods 1 --threshold 0 "
                "--comparison-operator GreaterThanThreshold"
            ),
        ),
    )
