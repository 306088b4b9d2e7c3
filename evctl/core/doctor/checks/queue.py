"""Queue configuration checks (catalogue §2.6, Q-*)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from evctl.core.patterns import PatternError, compile_pattern
from evctl.core.pipeline import Node
from evctl.core.rules.catalog import bus_name
from evctl.core.rules.transform import RuleContext, render_target

from ..context import DoctorContext, Sample
from ..metrics import evidence_metric
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .queue_common import (
    SQS_DEFAULT_RETENTION,
    SQS_MAX_MESSAGE_SIZE,
    SQS_MAX_RETENTION,
    SQS_MAX_VISIBILITY,
    arn_parts,
    compact,
    create_queue_command,
    dlq_name_for,
    is_dlq,
    max_batching_window,
    number,
    queue_arn,
    redrive,
    rules_not_all_read,
    set_attributes_command,
    url,
)

CONSUMER_METRIC_SECONDS = 86_400  # Q-CONSUMER-1: deletes in the last day mean some consumer reads the queue
MIN_RECEIVE_COUNT = 5  # AWS: "set the maxReceiveCount on the source queue's redrive policy to at least 5"


@check("Q-VIS-1", on="queue")
def visibility_shorter_than_function_timeout(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A message still being processed becomes visible again and a second invocation gets it (DUP)."""
    visibility = int(ctx.queue_attributes(node)["VisibilityTimeout"])
    for mapping in ctx.downstream(node, "polls"):
        for function in ctx.downstream(mapping, "invokes"):
            timeout = int(ctx.function(function).get("Timeout", 3))
            if visibility < timeout:
                wanted = 6 * timeout + int(mapping.attributes.get("batching_window") or 0)
                yield Finding(
                    check="Q-VIS-1",
                    resource=node.id,
                    message=f"visibility timeout {visibility} s is shorter than {function.name}'s timeout {timeout} s",
                    evidence={"VisibilityTimeout": visibility, "function": function.id, "Timeout": timeout},
                    fix=Fix(
                        summary=f"set the queue's VisibilityTimeout to at least 6 × {timeout} s (+ batching window)",
                        value={"VisibilityTimeout": str(wanted)},
                        command=(
                            f"aws sqs set-queue-attributes --queue-url {node.attributes['url']} "
                            f"--attributes VisibilityTimeout={wanted}"
                        ),
                    ),
                    related=(function.id,),
                )


@check("Q-VIS-2", on="queue")
def visibility_below_six_times_timeout(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Visibility ≥ the function's timeout (else Q-VIS-1) but below 6 × timeout + the batching window."""
    visibility = int(ctx.queue_attributes(node)["VisibilityTimeout"])
    for mapping in ctx.downstream(node, "polls"):
        window = int(mapping.attributes.get("batching_window") or 0)
        for function in ctx.downstream(mapping, "invokes"):
            if not function.exists:
                continue
            timeout = int(ctx.function(function).get("Timeout", 3))
            wanted = 6 * timeout + window
            if timeout <= visibility < wanted:
                value = str(min(wanted, SQS_MAX_VISIBILITY))
                yield Finding(
                    check="Q-VIS-2",
                    resource=node.id,
                    message=f"visibility timeout {visibility} s is below 6 × {function.name}'s timeout {timeout} s"
                    + (f" + batching window {window} s" if window else "")
                    + f" = {wanted} s: throttled retries can run a message twice or push it to the DLQ",
                    evidence={
                        "VisibilityTimeout": visibility,
                        "function": function.id,
                        "Timeout": timeout,
                        "MaximumBatchingWindowInSeconds": window,
                        "mapping": mapping.id,
                        "wanted": wanted,
                    },
                    fix=Fix(
                        summary=f"set the queue's VisibilityTimeout to 6 × {timeout} s + {window} s",
                        value={"VisibilityTimeout": value},
                        command=set_attributes_command(url(node), {"VisibilityTimeout": value}),
                    ),
                    related=(function.id, mapping.id),
                )


@check("Q-REDRIVE-1", on="queue")
def no_redrive_policy(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A source queue (not itself a DLQ) without a RedrivePolicy: poison messages recycle until retention, then vanish."""
    if is_dlq(ctx, node):
        return
    attributes = ctx.queue_attributes(node)
    if attributes.get("RedrivePolicy"):
        return
    dlq = dlq_name_for(node.name)
    parts = arn_parts(queue_arn(node, attributes))
    dlq_arn = f"arn:{parts[1]}:sqs:{parts[3]}:{parts[4]}:{dlq}"
    value = {"RedrivePolicy": compact({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MIN_RECEIVE_COUNT})}
    retention = number(attributes, "MessageRetentionPeriod", SQS_DEFAULT_RETENTION)
    yield Finding(
        check="Q-REDRIVE-1",
        resource=node.id,
        message=f"{node.name} has no dead-letter queue: a message that always fails is retried for "
        f"{retention} s and then deleted by SQS, unseen",
        evidence={"RedrivePolicy": None, "MessageRetentionPeriod": retention},
        fix=Fix(
            summary=f"create the DLQ ({create_queue_command(dlq)}) and point the queue's RedrivePolicy at it",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
        related=(dlq_arn,),
    )


@check("Q-REDRIVE-2", on="queue")
def max_receive_count_below_five(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """maxReceiveCount < 5: a throttled receive (or a console peek) sends a good message to the DLQ."""
    attributes = ctx.queue_attributes(node)
    policy = redrive(attributes)
    if policy is None:
        if attributes.get("RedrivePolicy"):
            raise NotChecked(f"RedrivePolicy is not readable JSON: {attributes['RedrivePolicy']!r}")
        return
    if policy.max_receive_count >= MIN_RECEIVE_COUNT:
        return
    value = {
        "RedrivePolicy": compact({"deadLetterTargetArn": policy.dead_letter_arn, "maxReceiveCount": MIN_RECEIVE_COUNT})
    }
    yield Finding(
        check="Q-REDRIVE-2",
        resource=node.id,
        message=f"{node.name} moves a message to its DLQ after {policy.max_receive_count} receive(s): "
        "throttled or peeked messages reach the DLQ unprocessed",
        evidence={
            "RedrivePolicy": json.loads(attributes["RedrivePolicy"]),
            "maxReceiveCount": policy.max_receive_count,
        },
        fix=Fix(
            summary=f"raise maxReceiveCount to at least {MIN_RECEIVE_COUNT}",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
        related=(policy.dead_letter_arn,),
    )


@check("Q-RET-1", on="queue")
def retention_shorter_than_retry_horizon(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """MessageRetentionPeriod < maxReceiveCount × VisibilityTimeout + DelaySeconds + batching window."""
    attributes = ctx.queue_attributes(node)
    policy = redrive(attributes)
    if policy is None:
        return  # no DLQ to reach (Q-REDRIVE-1)
    retention = number(attributes, "MessageRetentionPeriod", SQS_DEFAULT_RETENTION)
    visibility = number(attributes, "VisibilityTimeout", 30)
    delay = number(attributes, "DelaySeconds")
    window = max_batching_window(ctx, node)
    horizon = policy.max_receive_count * visibility + delay + window
    if retention >= horizon:
        return
    evidence = {
        "MessageRetentionPeriod": retention,
        "maxReceiveCount": policy.max_receive_count,
        "VisibilityTimeout": visibility,
        "DelaySeconds": delay,
        "MaximumBatchingWindowInSeconds": window,
        "retry_horizon": horizon,
    }
    if horizon <= SQS_MAX_RETENTION:
        wanted = min(SQS_MAX_RETENTION, max(SQS_DEFAULT_RETENTION, -(-horizon // 3600) * 3600))
        value = {"MessageRetentionPeriod": str(wanted)}
        summary = f"raise MessageRetentionPeriod above the retry horizon {horizon} s (keep the DLQ's longer: D-RET-1)"
    else:
        count = max(1, (SQS_MAX_RETENTION - delay - window) // max(1, visibility))
        value = {
            "MessageRetentionPeriod": str(SQS_MAX_RETENTION),
            "RedrivePolicy": compact({"deadLetterTargetArn": policy.dead_letter_arn, "maxReceiveCount": count}),
        }
        summary = f"the horizon {horizon} s exceeds SQS's 14-day maximum: retention 14 days and maxReceiveCount {count}"
    yield Finding(
        check="Q-RET-1",
        resource=node.id,
        message=f"{node.name} keeps messages {retention} s but a failing one needs {horizon} s "
        f"({policy.max_receive_count} × {visibility} s visibility) to reach its DLQ: it expires first, unseen",
        evidence=evidence,
        fix=Fix(summary=summary, value=value, command=set_attributes_command(url(node), value)),
        related=(policy.dead_letter_arn,),
    )


def _bodies(ctx: DoctorContext, node: Node) -> Iterator[tuple[Node, Sample, str]]:
    """The body each routing rule's target delivers to this queue for each sample the rule matches."""
    for rule in ctx.upstream(node, "routes_to"):
        if not rule.exists:
            continue
        described = ctx.rule(rule)
        pattern = described.get("EventPattern")
        if not pattern:
            continue  # a scheduled rule: its events are not the producer's
        try:
            compiled = compile_pattern(str(pattern))
        except PatternError:
            continue  # R-PATTERN checks report it
        bus = str(described.get("EventBusName") or rule.attributes.get("event_bus") or "default")
        context = RuleContext(rule.name, str(described.get("Arn") or rule.id))
        targets = [t for t in ctx.targets(rule) if t.get("Arn") == node.id]
        for sample in ctx.samples:
            if bus_name(sample.bus) != bus_name(bus) or not compiled.matches(sample.event):
                continue
            for target in targets:
                body = render_target(target, sample.event, context).body
                if body is not None:
                    yield rule, sample, body


@check("Q-SIZE-1", on="queue")
def maximum_message_size_below_events(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A sample event's delivered body is larger than the queue's MaximumMessageSize: SendMessage refuses it."""
    if not ctx.upstream(node, "routes_to"):
        incomplete = rules_not_all_read(node)
        if incomplete:
            raise NotChecked(incomplete)
        return
    if not ctx.samples:
        raise NotChecked("no sample events (pass --sample or name the producer's templates)")
    limit = number(ctx.queue_attributes(node), "MaximumMessageSize", SQS_MAX_MESSAGE_SIZE)
    largest: tuple[int, Node, Sample] | None = None
    seen = 0
    for rule, sample, body in _bodies(ctx, node):
        seen += 1
        size = len(body.encode())
        if largest is None or size > largest[0]:
            largest = (size, rule, sample)
    if largest is None:
        raise NotChecked(f"none of the {len(ctx.samples)} sample event(s) reaches {node.name}")
    size, rule, sample = largest
    if size <= limit:
        return
    value = {"MaximumMessageSize": str(SQS_MAX_MESSAGE_SIZE)}
    yield Finding(
        check="Q-SIZE-1",
        resource=node.id,
        message=f"{node.name} accepts messages up to {limit} bytes but rule {rule.name} delivers {size} bytes "
        f"for {sample.origin or 'a sample event'}: SendMessage refuses it",
        evidence={
            "MaximumMessageSize": limit,
            "body_bytes": size,
            "sample": sample.origin,
            "rule": rule.id,
            "samples_reaching_queue": seen,
        },
        fix=Fix(
            summary="raise MaximumMessageSize to 1 MiB (the default)",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
        related=(rule.id,),
    )


@check("Q-DELAY-1", on="queue")
def delivery_delay(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """DelaySeconds > 0: every message waits before any consumer can see it."""
    delay = number(ctx.queue_attributes(node), "DelaySeconds")
    if delay <= 0:
        return
    value = {"DelaySeconds": "0"}
    yield Finding(
        check="Q-DELAY-1",
        resource=node.id,
        message=f"{node.name} delays every message by {delay} s before any consumer sees it",
        evidence={"DelaySeconds": delay},
        fix=Fix(
            summary="set DelaySeconds to 0 unless the delay is intended",
            value=value,
            command=set_attributes_command(url(node), value),
        ),
    )


@check("Q-CONSUMER-1", on="queue")
def nothing_consumes_the_queue(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """No event source mapping polls the queue (and it is no DLQ): messages wait until retention deletes them."""
    if is_dlq(ctx, node) or ctx.downstream(node, "polls"):
        return
    unread = [note for note in node.not_read if "ListEventSourceMappings" in note]
    if unread:
        raise NotChecked("the queue's event source mappings were not read (" + "; ".join(unread) + ")")
    attributes = ctx.queue_attributes(node)
    # Something other than Lambda (a container, an instance) may read it: SQS counts the deletes it makes.
    dimensions = {"QueueName": node.name}
    deleted = evidence_metric(ctx, "AWS/SQS", "NumberOfMessagesDeleted", dimensions, CONSUMER_METRIC_SECONDS)
    if isinstance(deleted, float) and deleted > 0:
        return
    visible = number(attributes, "ApproximateNumberOfMessages")
    retention = number(attributes, "MessageRetentionPeriod", SQS_DEFAULT_RETENTION)
    yield Finding(
        check="Q-CONSUMER-1",
        resource=node.id,
        message=f"nothing consumes {node.name}: no Lambda event source mapping reads it, so its messages "
        f"({visible} waiting) are deleted after {retention} s",
        evidence={
            "ListEventSourceMappings(EventSourceArn)": [],
            "ApproximateNumberOfMessages": visible,
            "MessageRetentionPeriod": retention,
            "NumberOfMessagesDeleted (24 h)": deleted,
            "rules": [rule.id for rule in ctx.upstream(node, "routes_to")],
        },
        fix=Fix(
            summary="add the trigger: an event source mapping from the queue to its consumer function "
            "(replace FUNCTION_NAME); if another kind of consumer reads it, ignore this",
            value={"EventSourceArn": node.id, "BatchSize": 10},
            command=f"aws lambda create-event-source-mapping --event-source-arn {node.id} "
            "--function-name FUNCTION_NAME --batch-size 10",
        ),
    )
