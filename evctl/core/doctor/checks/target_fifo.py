"""FIFO queue targets (catalogue §2.3, T-FIFO-*): deduplication, identical bodies, message groups; on rule nodes."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix
from ..registry import check
from .eb_support import (
    put_target,
    put_targets_command,
    queue_node,
)
from .target import rule_arn_of, sqs_targets
from .target_input import input_fields, renders


def _fifo_targets(
    ctx: DoctorContext, node: Node
) -> Iterator[tuple[dict[str, Any], dict[str, Any], Node, dict[str, str]]]:
    for rule, target in sqs_targets(ctx, node):
        queue = queue_node(ctx, str(target["Arn"]))
        if queue is None or not queue.exists or not str(target["Arn"]).endswith(".fifo"):
            continue
        yield rule, target, queue, ctx.queue_attributes(queue)


@check("T-FIFO-1", on="rule")
def fifo_target_without_dedup(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A FIFO target needs a MessageGroupId and content-based deduplication on the queue."""
    for rule, target, queue, attributes in _fifo_targets(ctx, node):
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        dedup = attributes.get("ContentBasedDeduplication", "false").lower() == "true"
        if not group:
            changed = put_target(target, SqsParameters={"MessageGroupId": str(rule.get("Name"))})
            yield Finding(
                check="T-FIFO-1",
                resource=rule_arn_of(rule, node),
                message=f"target {target.get('Id')} of rule {node.name} is FIFO queue {queue.name} without a MessageGroupId",
                evidence={"SqsParameters": target.get("SqsParameters"), "FifoQueue": True},
                fix=Fix(
                    summary="set SqsParameters.MessageGroupId",
                    value={"SqsParameters": changed["SqsParameters"]},
                    command=put_targets_command(rule, changed),
                ),
                related=(queue.id,),
            )
        if not dedup:
            yield Finding(
                check="T-FIFO-1",
                resource=rule_arn_of(rule, node),
                message=(
                    f"FIFO queue {queue.name}, a target of rule {node.name}, has no content-based deduplication: "
                    "EventBridge deliveries to it fail"
                ),
                evidence={"ContentBasedDeduplication": attributes.get("ContentBasedDeduplication"), "FifoQueue": True},
                fix=Fix(
                    summary=f"turn on content-based deduplication on {queue.name}",
                    value={"ContentBasedDeduplication": "true"},
                    command=(
                        f"aws sqs set-queue-attributes --queue-url {shlex.quote(str(queue.attributes['url']))} "
                        "--attributes ContentBasedDeduplication=true"
                    ),
                ),
                related=(queue.id,),
            )


@check("T-FIFO-2", on="rule")
def fifo_dedup_drops_identical_bodies(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Content-based dedup on a body without the event id: two genuine events with equal bodies, one is dropped."""
    for rule, target, queue, attributes in _fifo_targets(ctx, node):
        if attributes.get("ContentBasedDeduplication", "false").lower() != "true":
            continue
        for sample, envelope, rendered in renders(ctx, rule, target):
            if rendered.body is None or str(envelope.get("id", "")) in rendered.body:
                continue
            changed = put_target(target, drop=("Input", "InputPath", "InputTransformer"))
            yield Finding(
                check="T-FIFO-2",
                resource=rule_arn_of(rule, node),
                message=(
                    f"FIFO queue {queue.name} deduplicates on the body, and the body rule {node.name} sends lacks the "
                    "event id: identical bodies within 5 minutes are accepted but not delivered"
                ),
                evidence={
                    "ContentBasedDeduplication": "true",
                    "target": {"Id": target.get("Id"), **input_fields(target)},
                    "sample": {"origin": sample.origin, "id": envelope.get("id")},
                    "queue_receives": rendered.body,
                },
                fix=Fix(
                    summary="keep the event id in the body: send the whole event (no transform) or include "
                    "<aws.events.event.json> / $.id in the template",
                    value={"remove": sorted(input_fields(target))},
                    command=put_targets_command(rule, changed),
                ),
                related=(queue.id,),
            )
            break


@check("T-FIFO-3", on="rule")
def constant_message_group(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """One fixed MessageGroupId puts every event in one group: the FIFO queue's consumer runs one batch at a time."""
    for rule, target, queue, _ in _fifo_targets(ctx, node):
        group = str((target.get("SqsParameters") or {}).get("MessageGroupId") or "")
        if not group or group.startswith("$"):
            continue  # no group (T-FIFO-1's), or a path
        yield Finding(
            check="T-FIFO-3",
            resource=rule_arn_of(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} puts every event in message group {group!r} of "
                f"{queue.name}: Lambda processes one batch at a time"
            ),
            evidence={"SqsParameters": target.get("SqsParameters"), "queue": queue.id},
            fix=Fix(
                summary=(
                    "a rule target's MessageGroupId is one value for all events: if order across all events is not "
                    "needed, target a standard queue; for per-entity order (e.g. detail.user_id) route through "
                    "something that sets the group per event (EventBridge Pipes, or a function)"
                ),
                value={"SqsParameters": target.get("SqsParameters")},
                command=None,
            ),
            related=(queue.id,),
        )
