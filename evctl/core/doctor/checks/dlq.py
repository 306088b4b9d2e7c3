"""Source queue DLQ checks (catalogue §2.7, D-*): the queue a RedrivePolicy names exists, is of the right kind,
accepts the source, keeps messages longer than the source, is watched and is not drained by the failing consumer.

A DLQ is a queue node with an incoming dead_letters_to edge (its sources: ctx.upstream(dlq, "dead_letters_to")).
D-EXISTS-1 and D-TYPE-1 run on the source queue (a missing DLQ is no node to run on)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .queue_common import (
    SQS_MAX_RETENTION,
    arn_parts,
    compact,
    create_queue_command,
    dlq_name_for,
    number,
    queue_arn,
    redrive,
    set_attributes_command,
    url,
)

WATCH_METRICS = ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage")
MAX_REDRIVE_SOURCES = 10  # RedriveAllowPolicy byQueue: up to 10 source queue ARNs


def _sources(ctx: DoctorContext, dlq: Node) -> list[Node]:
    """The queues that dead-letter to this one (none: it is no DLQ, or NotChecked when that could not be read)."""
    sources = ctx.upstream(dlq, "dead_letters_to")
    if not sources:
        unread = [note for note in dlq.not_read if "ListDeadLetterSourceQueues" in note]
        if unread:
            raise NotChecked(f"the queue's DLQ sources were not read ({'; '.join(unread)})")
    return [source for source in sources if source.exists]


def _is_fifo(name: str) -> bool:
    return name.endswith(".fifo")


@check("D-EXISTS-1", on="queue")
def dlq_deleted(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The RedrivePolicy names a queue that no longer exists (deleted after the policy was set)."""
    for dlq in ctx.downstream(node, "dead_letters_to"):
        if dlq.exists:
            if dlq.not_read and "url" not in dlq.attributes:
                raise NotChecked(f"the DLQ {dlq.id} was not read ({'; '.join(dlq.not_read)})")
            continue
        policy = redrive(ctx.queue_attributes(node))
        count = policy.max_receive_count if policy else None
        yield Finding(
            check="D-EXISTS-1",
            resource=node.id,
            message=f"{node.name}'s RedrivePolicy names {dlq.name}, which does not exist: messages that fail "
            f"{count} times have nowhere to go",
            evidence={"deadLetterTargetArn": dlq.id, "maxReceiveCount": count, "GetQueueUrl": "NonExistentQueue"},
            fix=Fix(
                summary=f"recreate the DLQ {dlq.name} (or point the RedrivePolicy at an existing queue)",
                value={"QueueName": dlq.name, "MessageRetentionPeriod": str(SQS_MAX_RETENTION)},
                command=create_queue_command(dlq.name),
            ),
            related=(dlq.id,),
        )


@check("D-TYPE-1", on="queue")
def dlq_wrong_type_account_or_region(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The DLQ must be of the source's type (FIFO ↔ FIFO), in its account and Region."""
    attributes = ctx.queue_attributes(node)
    policy = redrive(attributes)
    if policy is None:
        return
    source = arn_parts(queue_arn(node, attributes))
    target = arn_parts(policy.dead_letter_arn)
    problems = []
    if _is_fifo(source[5]) != _is_fifo(target[5]):
        kinds = ("FIFO" if _is_fifo(source[5]) else "standard", "FIFO" if _is_fifo(target[5]) else "standard")
        problems.append(f"a {kinds[0]} queue with a {kinds[1]} DLQ")
    if target[4] != source[4]:
        problems.append(f"the DLQ is in account {target[4]}, not {source[4]}")
    if target[3] != source[3]:
        problems.append(f"the DLQ is in {target[3]}, not {source[3]}")
    if not problems:
        return
    name = dlq_name_for(source[5])
    wanted = f"arn:{source[1]}:sqs:{source[3]}:{source[4]}:{name}"
    value = {"RedrivePolicy": compact({"deadLetterTargetArn": wanted, "maxReceiveCount": policy.max_receive_count})}
    yield Finding(
        check="D-TYPE-1",
        resource=node.id,
        message=f"{node.name}'s DLQ {policy.dead_letter_arn} cannot be its DLQ: {'; '.join(problems)}",
        evidence={
            "source": queue_arn(node, attributes),
            "deadLetterTargetArn": policy.dead_letter_arn,
            "problems": problems,
        },
        fix=Fix(
            summary=f"use a DLQ of the same type, account and Region: create {name} ({create_queue_command(name)}) "
            "and point the RedrivePolicy at it",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
        related=(policy.dead_letter_arn,),
    )


@check("D-RET-1", on="queue")
def dlq_retention_not_longer(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A DLQ keeps messages no longer than its (standard) source: expiry counts from the original enqueue time."""
    sources = [s for s in _sources(ctx, node) if not _is_fifo(s.name)]
    if not sources:
        return
    retention = number(ctx.queue_attributes(node), "MessageRetentionPeriod")
    for source in sources:
        source_retention = number(ctx.queue_attributes(source), "MessageRetentionPeriod")
        if retention > source_retention:
            continue
        if source_retention < SQS_MAX_RETENTION:
            value = {"MessageRetentionPeriod": str(SQS_MAX_RETENTION)}
            summary = "set the DLQ's retention to 14 days (longer than the source's)"
            command = set_attributes_command(url(node), value)
        else:
            value = {"MessageRetentionPeriod": str(SQS_MAX_RETENTION - 2 * 86400)}
            summary = (
                f"the source keeps messages 14 days already: lower {source.name}'s retention to 12 days "
                f"and keep the DLQ's at 14 ({set_attributes_command(url(node), {'MessageRetentionPeriod': str(SQS_MAX_RETENTION)})})"
            )
            command = set_attributes_command(url(source), value)
        yield Finding(
            check="D-RET-1",
            resource=node.id,
            message=f"{node.name} keeps messages {retention} s, no longer than its source {source.name} "
            f"({source_retention} s): a message that failed for days expires soon after reaching it",
            evidence={
                "MessageRetentionPeriod": retention,
                "source": source.id,
                "source_MessageRetentionPeriod": source_retention,
            },
            fix=Fix(summary=summary, value=value, command=command),
            related=(source.id,),
        )


def _redrive_allow(attributes: dict[str, str]) -> dict[str, Any] | None:
    text = attributes.get("RedriveAllowPolicy")
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise NotChecked(f"RedriveAllowPolicy is not JSON: {text!r}") from None
    if not isinstance(value, dict):
        raise NotChecked(f"RedriveAllowPolicy is not a JSON object: {text!r}")
    return value


@check("D-ALLOW-1", on="queue")
def dlq_redrive_allow_excludes_source(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The DLQ's RedriveAllowPolicy (denyAll, or byQueue without the source) refuses to be this source's DLQ."""
    sources = _sources(ctx, node)
    if not sources:
        return
    policy = _redrive_allow(ctx.queue_attributes(node))
    if policy is None:
        return  # not set: allowAll, AWS's default
    permission = str(policy.get("redrivePermission") or "")
    allowed = [str(arn) for arn in policy.get("sourceQueueArns") or []]
    if permission == "allowAll":
        return
    if permission not in ("denyAll", "byQueue"):
        raise NotChecked(f"RedriveAllowPolicy has redrivePermission {permission!r}")
    excluded = [s for s in sources if permission == "denyAll" or s.id not in allowed]
    if not excluded:
        return
    wanted = allowed + [s.id for s in excluded if s.id not in allowed]
    fixed: dict[str, Any] = (
        {"redrivePermission": "byQueue", "sourceQueueArns": wanted}
        if len(wanted) <= MAX_REDRIVE_SOURCES
        else {"redrivePermission": "allowAll"}
    )
    value = {"RedriveAllowPolicy": compact(fixed)}
    yield Finding(
        check="D-ALLOW-1",
        resource=node.id,
        message=f"{node.name}'s RedriveAllowPolicy ({permission}) excludes its source(s) "
        f"{', '.join(s.name for s in excluded)}",
        evidence={"RedriveAllowPolicy": policy, "sources": [s.id for s in excluded]},
        fix=Fix(
            summary="allow the source queue(s) in the DLQ's RedriveAllowPolicy",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
        related=tuple(s.id for s in excluded),
    )


@check("D-WATCH-1", on="queue")
def dlq_unwatched(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """No CloudWatch alarm on the DLQ's visible messages or oldest age: messages pile up unnoticed."""
    if not _sources(ctx, node):
        return
    if ctx.clients.cloudwatch is None:
        raise NotChecked("CloudWatch is not read in this run")
    if any(ctx.alarm_names("AWS/SQS", metric, {"QueueName": node.name}) for metric in WATCH_METRICS):
        return  # watched
    depth = number(ctx.queue_attributes(node), "ApproximateNumberOfMessages")
    name = f"{node.name}-not-empty"
    command = (
        f"aws cloudwatch put-metric-alarm --alarm-name {shlex.quote(name)} --namespace AWS/SQS "
        f"--metric-name ApproximateNumberOfMessagesVisible --dimensions Name=QueueName,Value={node.name} "
        "--statistic Maximum --period 300 --evaluation-periods 1 --threshold 0 "
        "--comparison-operator GreaterThanThreshold --treat-missing-data notBreaching"
    )
    yield Finding(
        check="D-WATCH-1",
        resource=node.id,
        message=f"no alarm watches {node.name} ({depth} message(s) in it now): failed events pile up unnoticed",
        evidence={"alarms": {m: [] for m in WATCH_METRICS}, "ApproximateNumberOfMessages": depth},
        fix=Fix(
            summary="alarm when the DLQ is not empty (add --alarm-actions <your SNS topic ARN> to be notified)",
            value={
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
            command=command,
        ),
    )


@check("D-DRAIN-1", on="queue")
def dlq_drained_by_the_failing_function(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An enabled mapping on the DLQ invokes the same function that fails on the source, and the DLQ has no DLQ."""
    sources = _sources(ctx, node)
    if not sources or redrive(ctx.queue_attributes(node)) is not None:
        return
    consumers = {f.id for s in sources for m in ctx.downstream(s, "polls") for f in ctx.downstream(m, "invokes")}
    for mapping in ctx.downstream(node, "polls"):
        state = str(ctx.mapping(mapping).get("State") or "")
        if state in ("Disabled", "Disabling"):
            continue
        for function in ctx.downstream(mapping, "invokes"):
            if function.id not in consumers:
                continue
            yield Finding(
                check="D-DRAIN-1",
                resource=node.id,
                message=f"{function.name} consumes both {node.name} and its source: a message it cannot process "
                f"cycles through the DLQ until the DLQ's retention deletes it",
                evidence={
                    "mapping": mapping.id,
                    "State": state,
                    "function": function.id,
                    "sources": [s.id for s in sources],
                    "RedrivePolicy": None,
                },
                fix=Fix(
                    summary="disable the DLQ's mapping (redrive with evctl once the handler is fixed)",
                    value={"Enabled": False},
                    command=f"aws lambda update-event-source-mapping --uuid {mapping.name} --no-enabled",
                ),
                related=(mapping.id, function.id),
            )
