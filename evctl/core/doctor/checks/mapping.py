"""Event source mapping checks (catalogue §2.8, E-*): the ESM between the queue and the function."""

from __future__ import annotations

from collections.abc import Iterator

from evctl.core.common.metrics import Query
from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..metrics import metrics
from ..model import Finding, Fix, NotChecked
from ..registry import check

# ESM states on the way to Enabled: not decided yet (re-run doctor once the change settles).
_TRANSITIONS = frozenset({"Creating", "Enabling", "Updating"})


def uuid_of(mapping: Node) -> str:
    return mapping.name or mapping.id.rsplit(":", 1)[-1]


def update_command(mapping: Node, *options: str) -> str:
    return " ".join(["aws lambda update-event-source-mapping --uuid", uuid_of(mapping), *options])


def polled_queue(ctx: DoctorContext, mapping: Node) -> Node | None:
    queues = [node for node in ctx.upstream(mapping, "polls") if node.kind == "queue"]
    return queues[0] if queues else None


def invoked_function(ctx: DoctorContext, mapping: Node) -> Node | None:
    functions = ctx.downstream(mapping, "invokes")
    return functions[0] if functions else None


@check("E-STATE-1", on="mapping")
def mapping_not_enabled(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A disabled ESM polls nothing: messages wait in the queue until they expire."""
    config = ctx.mapping(node)
    state = str(config.get("State") or "")
    if state == "Enabled":
        return
    if state in _TRANSITIONS:
        raise NotChecked(f"the mapping is {state} (re-run once the change has settled)")
    queue = polled_queue(ctx, node)
    yield Finding(
        check="E-STATE-1",
        resource=node.id,
        message=f"event source mapping {uuid_of(node)} is {state or 'in no state'}: nothing reads "
        f"{queue.name if queue else config.get('EventSourceArn')}",
        evidence={
            "State": state,
            "StateTransitionReason": config.get("StateTransitionReason"),
            "LastModified": str(config.get("LastModified") or ""),
            "EventSourceArn": config.get("EventSourceArn"),
        },
        fix=Fix(
            summary="enable the event source mapping",
            value={"Enabled": True},
            command=update_command(node, "--enabled"),
        ),
        related=tuple(n.id for n in (queue,) if n),
    )


@check("E-PBR-1", on="mapping")
def no_partial_batch_response(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Without ReportBatchItemFailures one failing message returns the whole batch, done ones included."""
    config = ctx.mapping(node)
    batch = int(config.get("BatchSize") or 1)
    types = list(config.get("FunctionResponseTypes") or [])
    if batch <= 1 or "ReportBatchItemFailures" in types:
        return
    yield Finding(
        check="E-PBR-1",
        resource=node.id,
        message=f"mapping {uuid_of(node)} takes batches of {batch} without ReportBatchItemFailures: one failure "
        "re-delivers the whole batch",
        evidence={"BatchSize": batch, "FunctionResponseTypes": types},
        fix=Fix(
            summary="turn on ReportBatchItemFailures, and have the handler return "
            '{"batchItemFailures": [{"itemIdentifier": <messageId>}]} for the records that failed',
            value={"FunctionResponseTypes": ["ReportBatchItemFailures"]},
            command=update_command(node, "--function-response-types ReportBatchItemFailures"),
        ),
    )


@check("E-PBR-2", on="mapping")
def reports_nothing(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """With ReportBatchItemFailures on, an empty/missing batchItemFailures is complete success (caught failures
    deleted) and an unknown itemIdentifier is complete failure (everything retried)."""
    config = ctx.mapping(node)
    if "ReportBatchItemFailures" not in list(config.get("FunctionResponseTypes") or []):
        return
    queue, function = polled_queue(ctx, node), invoked_function(ctx, node)
    if queue is None or function is None:
        raise NotChecked("the mapping's queue or function is not in this pipeline")
    labels = (
        "AWS/Lambda Invocations",
        "AWS/Lambda Errors",
        "AWS/SQS NumberOfMessagesReceived",
        "AWS/SQS NumberOfMessagesDeleted",
    )
    queries: list[Query] = [
        ("AWS/Lambda", "Invocations", {"FunctionName": function.name}, "Sum"),
        ("AWS/Lambda", "Errors", {"FunctionName": function.name}, "Sum"),
        ("AWS/SQS", "NumberOfMessagesReceived", {"QueueName": queue.name}, "Sum"),
        ("AWS/SQS", "NumberOfMessagesDeleted", {"QueueName": queue.name}, "Sum"),
    ]
    read = metrics(ctx, queries, ctx.log_window_seconds) if ctx.clients.cloudwatch is not None else [None] * 4
    values = dict(zip(labels, read, strict=True))
    invocations, errors = values["AWS/Lambda Invocations"], values["AWS/Lambda Errors"]
    received, deleted = values["AWS/SQS NumberOfMessagesReceived"], values["AWS/SQS NumberOfMessagesDeleted"]
    if invocations and received and errors == 0 and not deleted:
        yield Finding(
            check="E-PBR-2",
            resource=node.id,
            severity="high",
            message=f"{function.name} ran {invocations:g} times without an error, yet none of the {received:g} "
            f"messages received from {queue.name} was deleted: its batchItemFailures names every message (or an "
            "unknown itemIdentifier), so every batch is retried",
            evidence={"metrics_window_seconds": ctx.log_window_seconds, **values},
            fix=Fix(
                summary="return only the failed records' messageId in batchItemFailures "
                '({"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}), [] when all succeed; '
                "or turn ReportBatchItemFailures off until the handler does",
                value={"FunctionResponseTypes": []},
                command=update_command(node, "--function-response-types '[]'"),
            ),
            related=(function.id, queue.id),
        )
        return
    raise NotChecked(
        "whether the handler returns batchItemFailures is visible only in its code (not downloaded: CODE evidence "
        "is opt-in); the metrics show no batch-response failure"
        + ("" if invocations else " (no AWS/Lambda Invocations datapoints in the window)")
    )


@check("E-CONC-1", on="mapping")
def maximum_concurrency_above_reserved(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An ESM allowed more concurrent batches than the function may run throttles them back into the queue."""
    config = ctx.mapping(node)
    maximum = (config.get("ScalingConfig") or {}).get("MaximumConcurrency")
    function = invoked_function(ctx, node)
    if not maximum or function is None or not function.exists:
        return
    reserved = ctx.reserved_concurrency(function)
    if reserved is None:
        return
    mappings = [m for m in ctx.upstream(function, "invokes") if m.exists]
    total = 0
    for mapping in mappings:
        total += int((ctx.mapping(mapping).get("ScalingConfig") or {}).get("MaximumConcurrency") or 0)
    if total <= reserved:
        return
    yield Finding(
        check="E-CONC-1",
        resource=node.id,
        message=f"mapping {uuid_of(node)} may run {maximum} concurrent batches ({total} over all of "
        f"{function.name}'s mappings) but {function.name} has reserved concurrency {reserved}: batches are throttled",
        evidence={
            "MaximumConcurrency": maximum,
            "sum_over_mappings": total,
            "ReservedConcurrentExecutions": reserved,
            "mappings": [m.id for m in mappings],
        },
        fix=Fix(
            summary=f"reserve at least {total} (the sum of the mappings' maximum concurrency), or remove the reservation",
            value={"ReservedConcurrentExecutions": total},
            command=f"aws lambda put-function-concurrency --function-name {function.name} "
            f"--reserved-concurrent-executions {total}",
        ),
        related=(function.id,),
    )


@check("E-WINDOW-1", on="mapping")
def batching_window(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Lambda waits up to the batching window to fill a batch: every event is that much later."""
    config = ctx.mapping(node)
    window = int(config.get("MaximumBatchingWindowInSeconds") or 0)
    if window <= 0:
        return
    yield Finding(
        check="E-WINDOW-1",
        resource=node.id,
        message=f"mapping {uuid_of(node)} waits up to {window} s to fill a batch of {config.get('BatchSize')}",
        evidence={"MaximumBatchingWindowInSeconds": window, "BatchSize": config.get("BatchSize")},
        fix=Fix(
            summary="set the batching window to 0 if latency matters more than batch size (and keep the queue's "
            "visibility timeout ≥ 6 × the function timeout + the window)",
            value={"MaximumBatchingWindowInSeconds": 0},
            command=update_command(node, "--maximum-batching-window-in-seconds 0"),
        ),
    )


@check("E-ORPHAN-1", on="mapping")
def orphan_mapping(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An ESM whose function was deleted keeps its queue attached to nothing that runs."""
    function = invoked_function(ctx, node)
    if function is None:
        raise NotChecked("the mapping names no function")
    if function.exists:
        config = ctx.mapping(node)
        arn = str(config.get("FunctionArn") or "")
        qualifier = arn.split(":")[7] if len(arn.split(":")) > 7 else ""
        if not qualifier.isdigit():
            return  # unqualified ($LATEST) or an alias: follows deployments
        pages = ctx.clients.lambda_.get_paginator("list_versions_by_function").paginate(FunctionName=function.name)
        versions = [int(v["Version"]) for page in pages for v in page.get("Versions", []) if v["Version"].isdigit()]
        newest = max(versions, default=int(qualifier))
        if newest <= int(qualifier):
            return
        yield Finding(
            check="E-ORPHAN-1",
            resource=node.id,
            message=f"mapping {uuid_of(node)} is pinned to {function.name} version {qualifier}; version {newest} "
            "is newer: the queue is processed by old code",
            evidence={"FunctionArn": arn, "pinned_version": int(qualifier), "newest_version": newest},
            fix=Fix(
                summary=f"point the mapping at {function.name} (or at the alias you deploy), not at a fixed version",
                value={"FunctionName": function.name},
                command=update_command(node, f"--function-name {function.name}"),
            ),
            related=(function.id,),
        )
        return
    queue = polled_queue(ctx, node)
    yield Finding(
        check="E-ORPHAN-1",
        resource=node.id,
        message=f"mapping {uuid_of(node)} invokes {function.name}, which does not exist",
        evidence={"FunctionArn": function.id, "function_exists": False, "EventSourceArn": queue.id if queue else None},
        fix=Fix(
            summary="delete the orphaned mapping (and create one for the function that should read the queue)",
            command=f"aws lambda delete-event-source-mapping --uuid {uuid_of(node)}",
        ),
        related=tuple(n.id for n in (function, queue) if n),
    )


@check("E-METRICS-1", on="mapping")
def metrics_off(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Without EventCount metrics, filtered-out and dropped messages leave no count anywhere."""
    config = ctx.mapping(node)
    metrics = list((config.get("MetricsConfig") or {}).get("Metrics") or [])
    if "EventCount" in metrics:
        return
    yield Finding(
        check="E-METRICS-1",
        resource=node.id,
        message=f"mapping {uuid_of(node)} emits no event-count metrics (filtered or dropped messages are uncounted)",
        evidence={"MetricsConfig": config.get("MetricsConfig")},
        fix=Fix(
            summary="turn on the mapping's EventCount metrics",
            value={"MetricsConfig": {"Metrics": ["EventCount"]}},
            command=update_command(node, "--metrics-config Metrics=EventCount"),
        ),
    )


@check("E-COMPETE-1", on="mapping")
def competing_consumers(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Two functions reading one queue each get part of the stream."""
    queue = polled_queue(ctx, node)
    function = invoked_function(ctx, node)
    if queue is None or function is None:
        return
    others = [m for m in ctx.downstream(queue, "polls") if m.id != node.id and m.exists]
    rivals = [(m, f) for m in others for f in ctx.downstream(m, "invokes") if f.id != function.id]
    if not rivals:
        return
    yield Finding(
        check="E-COMPETE-1",
        resource=node.id,
        message=f"{queue.name} is also read by {', '.join(sorted({f.name for _, f in rivals}))}: each message goes "
        f"to one consumer only, so {function.name} sees part of the stream",
        evidence={
            "queue": queue.id,
            "this": {"mapping": uuid_of(node), "function": function.id},
            "others": [{"mapping": uuid_of(m), "function": f.id} for m, f in rivals],
        },
        fix=Fix(
            summary="give each consumer its own queue (one rule target per queue); or, if the other consumer is "
            "stale, delete its mapping",
            command=f"aws lambda delete-event-source-mapping --uuid {uuid_of(rivals[0][0])}",
        ),
        related=(queue.id, *(f.id for _, f in rivals)),
    )


@check("E-SOURCE-1", on="mapping")
def reads_another_queue(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The function's mapping reads a queue no rule feeds (an old one, the DLQ) while the rule's queue has no reader."""
    queue, function = polled_queue(ctx, node), invoked_function(ctx, node)
    if queue is None or function is None or ctx.upstream(queue, "routes_to"):
        return
    fed = [
        q
        for q in ctx.graph.sorted_nodes()
        if q.kind == "queue"
        and q.exists
        and q.id != queue.id
        and any(r.kind == "rule" for r in ctx.upstream(q, "routes_to"))
        and not ctx.downstream(q, "polls")
    ]
    sources = [q for q in ctx.upstream(queue, "dead_letters_to") if q.exists]
    if not fed:
        return
    right = next((q for q in fed if q in sources), fed[0])
    config = ctx.mapping(node)
    options = [f"--batch-size {int(config.get('BatchSize') or 10)}"]
    if "ReportBatchItemFailures" in list(config.get("FunctionResponseTypes") or []):
        options.append("--function-response-types ReportBatchItemFailures")
    rules = [r.name for r in ctx.upstream(right, "routes_to")]
    yield Finding(
        check="E-SOURCE-1",
        resource=node.id,
        message=f"{function.name}'s mapping reads {queue.name}"
        + (" (the DLQ of " + ", ".join(q.name for q in sources) + ")" if sources else "")
        + f", but rule {', '.join(rules)} delivers to {right.name}, which nothing reads",
        evidence={
            "EventSourceArn": config.get("EventSourceArn"),
            "rule_target_queues_without_consumer": [q.id for q in fed],
            "rules": rules,
            "dead_letter_sources": [q.id for q in sources],
        },
        fix=Fix(
            summary=f"map {function.name} to {right.name}; then delete mapping {uuid_of(node)} unless reading "
            f"{queue.name} is intended",
            command=f"aws lambda create-event-source-mapping --function-name {function.name} "
            f"--event-source-arn {right.id} {' '.join(options)}",
        ),
        related=(right.id, function.id),
    )
