"""Shared by the queue checks (queue_access, queue, dlq): the queue's role in the graph, its attributes as numbers,
the rules that route to it, and the aws CLI commands that change a queue."""

from __future__ import annotations

import json
import shlex
from typing import Any

from evctl.core.pipeline import Node
from evctl.core.queues import RedrivePolicy, parse_redrive_policy

from ..context import DoctorContext
from ..model import NotChecked

SQS_MAX_RETENTION = 1_209_600  # 14 days
SQS_DEFAULT_RETENTION = 345_600  # 4 days
SQS_MAX_VISIBILITY = 43_200  # 12 hours
SQS_MAX_MESSAGE_SIZE = 1_048_576  # 1 MiB, also the default


def number(attributes: dict[str, str], key: str, default: int = 0) -> int:
    """An integer attribute (absent or malformed: the default)."""
    try:
        return int(attributes.get(key, default))
    except (TypeError, ValueError):
        return default


def redrive(attributes: dict[str, str]) -> RedrivePolicy | None:
    return parse_redrive_policy(attributes.get("RedrivePolicy"))


def is_dlq(ctx: DoctorContext, queue: Node) -> bool:
    """A queue some queue dead-letters to, or some rule target's DLQ. NotChecked when that cannot be known (the
    queue's DLQ sources were not read): a check that holds only for source queues must not guess."""
    if ctx.upstream(queue, "dead_letters_to") or ctx.upstream(queue, "target_dlq"):
        return True
    unread = [note for note in queue.not_read if "ListDeadLetterSourceQueues" in note]
    if unread:
        raise NotChecked(f"whether the queue is a DLQ is unknown ({'; '.join(unread)})")
    return False


def queue_arn(queue: Node, attributes: dict[str, str]) -> str:
    return attributes.get("QueueArn") or queue.id


def url(queue: Node) -> str:
    value = queue.attributes.get("url")
    if not value:
        raise NotChecked("the queue's URL was not read" + (f" ({'; '.join(queue.not_read)})" if queue.not_read else ""))
    return str(value)


def routing_rules(ctx: DoctorContext, queue: Node) -> list[tuple[Node, str]]:
    """Every existing rule that routes to the queue, with its ARN as DescribeRule gives it (never constructed)."""
    rules = []
    for rule in ctx.upstream(queue, "routes_to"):
        if not rule.exists:
            continue
        arn = str(ctx.rule(rule).get("Arn") or "")
        if not arn:
            raise NotChecked(f"DescribeRule gave no Arn for rule {rule.name}")
        rules.append((rule, arn))
    return rules


def rules_not_all_read(queue: Node) -> str | None:
    """Why the rules that route to the queue may be incomplete (a denied ListRuleNamesByTarget or ListEventBuses
    in discovery), or None: a check that found nothing wrong must then say `not checked`, not pass."""
    notes = [note for note in queue.not_read if "ListRuleNamesByTarget" in note or "ListEventBuses" in note]
    return f"the rules that target the queue were not all read ({'; '.join(notes)})" if notes else None


def max_batching_window(ctx: DoctorContext, queue: Node) -> int:
    windows = [int(m.attributes.get("batching_window") or 0) for m in ctx.downstream(queue, "polls")]
    return max(windows, default=0)


def set_attributes_command(queue_url: str, attributes: dict[str, str]) -> str:
    """`aws sqs set-queue-attributes` in the JSON form of --attributes (values such as a Policy are JSON text)."""
    document = json.dumps(attributes, separators=(",", ":"))
    return f"aws sqs set-queue-attributes --queue-url {shlex.quote(queue_url)} --attributes {shlex.quote(document)}"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts + [""] * (6 - len(parts))


def dlq_name_for(source_name: str) -> str:
    """The conventional DLQ name for a source queue: orders-queue → orders-dlq, orders → orders-dlq (.fifo kept)."""
    fifo = source_name.endswith(".fifo")
    base = source_name[: -len(".fifo")] if fifo else source_name
    if base.endswith("-queue"):
        base = base[: -len("-queue")]
    return f"{base}-dlq" + (".fifo" if fifo else "")


def create_queue_command(name: str, retention: int = SQS_MAX_RETENTION) -> str:
    attributes = {"MessageRetentionPeriod": str(retention)}
    if name.endswith(".fifo"):
        attributes["FifoQueue"] = "true"
    return f"aws sqs create-queue --queue-name {shlex.quote(name)} --attributes {shlex.quote(compact(attributes))}"
