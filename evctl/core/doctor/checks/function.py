"""Function checks (catalogue §2.9, F-*): concurrency, state, timeouts, the function's DLQ, the envelope it parses."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..logscan import scan_function_logs
from ..metrics import metrics
from ..model import Finding, Fix, NotChecked
from ..registry import check

LAMBDA_MAX_TIMEOUT = 900
MIN_RESERVED = 5  # AWS: "set a minimum of five concurrent executions" for SQS
_NOT_INVOCABLE = frozenset({"Failed", "Inactive", "Pending", "Deactivated", "ActiveNonInvocable"})


def sqs_mappings(ctx: DoctorContext, function: Node) -> list[tuple[Node, Node]]:
    """(mapping, queue) for every existing mapping that feeds the function from an SQS queue of the pipeline."""
    pairs: list[tuple[Node, Node]] = []
    for mapping in ctx.upstream(function, "invokes"):
        if not mapping.exists:
            continue
        pairs.extend((mapping, queue) for queue in ctx.upstream(mapping, "polls") if queue.kind == "queue")
    return pairs


def last_modified_ms(config: dict[str, Any]) -> int | None:
    """GetFunctionConfiguration's LastModified (2026-12-02T12:00:00.000+0000) in epoch ms; None if unreadable."""
    text = str(config.get("LastModified") or "")
    if not text:
        return None
    head = text.partition("+")[0]
    if "." in head:  # at most microseconds for fromisoformat
        whole, frac = head.split(".", 1)
        head = f"{whole}.{frac[:6]}"
    try:
        moment = dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


@check("F-RC-1", on="function")
def reserved_concurrency_zero(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Reserved concurrency 0 throttles every invocation: the mapping's batches go back to the queue."""
    reserved = ctx.reserved_concurrency(node)
    if reserved != 0:
        return
    yield Finding(
        check="F-RC-1",
        resource=node.id,
        message=f"{node.name} has reserved concurrency 0: it never runs, every batch is throttled back to the queue",
        evidence={"ReservedConcurrentExecutions": 0, "mappings": [m.id for m, _ in sqs_mappings(ctx, node)]},
        fix=Fix(
            summary="remove the reservation (or reserve at least 5)",
            value={"ReservedConcurrentExecutions": None},
            command=f"aws lambda delete-function-concurrency --function-name {node.name}",
        ),
    )


@check("F-RC-2", on="function")
def reserved_concurrency_low(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A small reservation throttles SQS batches (they return to the queue, and after maxReceiveCount, the DLQ)."""
    reserved = ctx.reserved_concurrency(node)
    if reserved is None or reserved == 0:
        return
    maxima = [
        int((ctx.mapping(m).get("ScalingConfig") or {}).get("MaximumConcurrency") or 0)
        for m, _ in sqs_mappings(ctx, node)
    ]
    wanted = max([MIN_RESERVED, *maxima])
    if reserved >= wanted:
        return
    yield Finding(
        check="F-RC-2",
        resource=node.id,
        message=f"{node.name} has reserved concurrency {reserved} (< {wanted}): SQS batches are throttled under load",
        evidence={
            "ReservedConcurrentExecutions": reserved,
            "mappings_MaximumConcurrency": maxima,
            "minimum_advised": MIN_RESERVED,
        },
        fix=Fix(
            summary=f"reserve at least {wanted}",
            value={"ReservedConcurrentExecutions": wanted},
            command=f"aws lambda put-function-concurrency --function-name {node.name} "
            f"--reserved-concurrent-executions {wanted}",
        ),
    )


@check("F-STATE-1", on="function")
def not_invocable(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A function that is not Active cannot take the mapping's batches."""
    config = ctx.function(node)
    state = str(config.get("State") or "")
    update = str(config.get("LastUpdateStatus") or "")
    if state not in _NOT_INVOCABLE and update != "Failed":
        return
    reason = config.get("StateReasonCode") or config.get("LastUpdateStatusReasonCode")
    inactive = state == "Inactive"
    yield Finding(
        check="F-STATE-1",
        resource=node.id,
        message=f"{node.name} is {state or '?'} (last update {update or '?'}"
        + (f", {reason}" if reason else "")
        + "): the mapping cannot invoke it",
        evidence={
            k: config.get(k)
            for k in (
                "State",
                "StateReason",
                "StateReasonCode",
                "LastUpdateStatus",
                "LastUpdateStatusReason",
                "LastUpdateStatusReasonCode",
            )
        },
        fix=Fix(
            summary="fix the cause the StateReasonCode names (role permissions, KMS key, subnets, image) and "
            "redeploy; an Inactive function becomes Active again when it is updated or invoked",
            command=f"aws lambda update-function-configuration --function-name {node.name} "
            f"--timeout {int(config.get('Timeout') or 3)}"
            if inactive or update == "Failed"
            else None,
        ),
    )


def _timeout_seconds(line: str) -> float | None:
    marker = "Task timed out after "
    start = line.find(marker)
    if start < 0:
        return None
    try:
        return float(line[start + len(marker) :].split()[0])
    except (ValueError, IndexError):
        return None


@check("F-TIMEOUT-1", on="function")
def invocations_time_out(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An invocation that times out fails its whole batch: the messages come back and run again (or go to the DLQ)."""
    config = ctx.function(node)
    timeout = int(config.get("Timeout") or 3)
    unread: list[str] = []
    evidence: dict[str, Any] = {"Timeout": timeout, "LastModified": config.get("LastModified")}
    current: list[Any] = []
    try:
        scan = scan_function_logs(ctx, node)
    except NotChecked as exc:
        unread.append(f"logs: {exc.reason}")
    else:
        hits = scan.hits("timeout", last_modified_ms(config))
        # A line written under an older, shorter timeout says nothing about the current one.
        current = [hit for hit in hits if (_timeout_seconds(hit.line) or timeout) >= timeout - 0.5]
        evidence |= scan.evidence(current)
    duration: float | None = None
    try:
        [duration] = metrics(
            ctx, [("AWS/Lambda", "Duration", {"FunctionName": node.name}, "Maximum")], ctx.log_window_seconds
        )
    except NotChecked as exc:
        unread.append(f"metrics: {exc.reason}")
    if duration is not None:
        evidence["AWS/Lambda Duration Maximum (ms)"] = duration
    elif not unread or not unread[-1].startswith("metrics"):
        unread.append("metrics: no AWS/Lambda Duration datapoints")
    near = duration is not None and duration >= 0.9 * timeout * 1000
    if not current and not near:
        if len(unread) == 2:  # neither the logs nor the metrics were there to look at
            raise NotChecked("; ".join(unread))
        return
    wanted = min(LAMBDA_MAX_TIMEOUT, max(timeout * 2, timeout + 1))
    queues = [q for _, q in sqs_mappings(ctx, node)]
    yield Finding(
        check="F-TIMEOUT-1",
        resource=node.id,
        message=(
            f"{node.name} timed out {len(current)} time(s) in the last {ctx.log_window_seconds // 60} min "
            if current
            else f"{node.name} ran up to {duration:g} ms in the last {ctx.log_window_seconds // 60} min, "
            f"≥ 90% of its timeout "
        )
        + f"(timeout {timeout} s): each timeout returns its whole batch to the queue",
        evidence=evidence,
        fix=Fix(
            summary=f"raise the timeout (here to {wanted} s) or shrink the batch, then keep each source queue's "
            f"visibility timeout ≥ 6 × {wanted} s (Q-VIS-1/Q-VIS-2)",
            value={"Timeout": wanted},
            command=f"aws lambda update-function-configuration --function-name {node.name} --timeout {wanted}",
        ),
        related=tuple(q.id for q in queues),
    )


@check("F-DLQ-1", on="function")
def dlq_on_the_function(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A function's DeadLetterConfig serves asynchronous invocations only; SQS-fed failures never reach it."""
    pairs = sqs_mappings(ctx, node)
    if not pairs:
        return
    config = ctx.function(node)
    target = str((config.get("DeadLetterConfig") or {}).get("TargetArn") or "")
    where = "DeadLetterConfig.TargetArn"
    if not target:  # an asynchronous-invocation on-failure destination is the same false comfort
        answer = ctx.clients.lambda_.list_function_event_invoke_configs(FunctionName=node.name)
        for item in answer.get("FunctionEventInvokeConfigs") or []:
            destination = ((item.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if destination:
                target, where = str(destination), "DestinationConfig.OnFailure.Destination"
                break
    if not target:
        return
    bare = []
    for _, queue in pairs:
        attributes = ctx.queue_attributes(queue)
        if not attributes.get("RedrivePolicy"):
            bare.append((queue, attributes))
    if not bare:
        return
    queue, _ = bare[0]
    url = str(queue.attributes.get("url") or "")
    command = None
    value: dict[str, Any] | None = None
    if target.split(":")[2:3] == ["sqs"] and url:
        policy = json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": "5"})
        value = {"RedrivePolicy": policy}
        command = f"aws sqs set-queue-attributes --queue-url {url} --attributes {shlex.quote(json.dumps(value))}"
    yield Finding(
        check="F-DLQ-1",
        resource=node.id,
        message=f"{node.name} has a {'dead-letter queue' if where.startswith('Dead') else 'failure destination'} "
        f"({target.rsplit(':', 1)[-1]}), but it is fed by "
        f"{', '.join(q.name for q, _ in bare)} with no RedrivePolicy: failed messages never reach a DLQ",
        evidence={where: target, "queues_without_RedrivePolicy": [q.id for q, _ in bare]},
        fix=Fix(
            summary="put the DLQ on the source queue (RedrivePolicy), not on the function: a function's DLQ is for "
            "asynchronous invocations only",
            value=value,
            command=command,
        ),
        related=tuple(q.id for q, _ in bare),
    )


@check("F-SHAPE-1", on="function")
def wrong_envelope(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """`json.loads(body['Message'])` on an EventBridge → SQS body: KeyError on every record, the batch poisons."""
    config = ctx.function(node)
    scan = scan_function_logs(ctx, node)
    since = last_modified_ms(config)  # lines from before the last deployment are about older code
    key_hits = scan.hits("envelope_key", since)
    decode_hits = scan.hits("json_decode", since)
    string_hits = scan.hits("string_indices", since)
    hits = sorted([*key_hits, *decode_hits, *string_hits], key=lambda hit: hit.timestamp_ms)
    if not hits:
        return
    keys = sorted({hit.line.split("KeyError: ")[-1].strip().strip("'\"") for hit in key_hits})
    sns = "Message" in keys or "Sns" in keys or "TopicArn" in keys
    causes = []
    if keys:
        causes.append(f"KeyError {', '.join(repr(k) for k in keys)}")
    if decode_hits:
        causes.append("JSONDecodeError (the body is not the JSON it expects)")
    if string_hits:
        causes.append("TypeError: string indices (a JSON string used as an object: json.loads missing)")
    yield Finding(
        check="F-SHAPE-1",
        resource=node.id,
        message=f"{node.name}'s handler fails with {'; '.join(causes)} on {len(hits)} line(s): "
        + (
            "it parses an SNS envelope, but the queue receives the EventBridge event itself"
            if sns
            else "it does not parse the body the queue receives (the EventBridge event as JSON)"
        ),
        evidence={
            "keys": keys,
            "signatures": {
                "envelope_key": len(key_hits),
                "json_decode": len(decode_hits),
                "string_indices": len(string_hits),
            },
            "LastModified": config.get("LastModified"),
            **scan.evidence(hits),
        },
        fix=Fix(
            summary="read the EventBridge event from the SQS body: detail = json.loads(record['body'])['detail'] "
            "(no 'Message': that is SNS's envelope); then deploy the corrected handler",
            value="detail = json.loads(record['body'])['detail']",
            command=f"aws lambda update-function-code --function-name {node.name} --zip-file fileb://function.zip",
        ),
    )


@check("F-ACCT-1", on="function")
def account_concurrency(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Unreserved functions share the account's pool; a small or exhausted pool throttles the mapping."""
    if ctx.reserved_concurrency(node) is not None:
        return  # a reservation is the function's own pool (F-RC-1/F-RC-2)
    settings = ctx.clients.lambda_.get_account_settings()
    limit = settings.get("AccountLimit") or {}
    unreserved = limit.get("UnreservedConcurrentExecutions")
    total = limit.get("ConcurrentExecutions")
    if unreserved is None:
        raise NotChecked("GetAccountSettings gave no UnreservedConcurrentExecutions")
    wanted = max(MIN_RESERVED * 2, 100)
    if int(unreserved) >= wanted:
        return
    yield Finding(
        check="F-ACCT-1",
        resource=node.id,
        message=f"{node.name} runs from the account's unreserved pool of {unreserved} concurrent executions "
        f"(account limit {total}): other functions can use it up and throttle the mapping",
        evidence={"UnreservedConcurrentExecutions": unreserved, "ConcurrentExecutions": total},
        fix=Fix(
            summary="ask for a higher account concurrency quota (Service Quotas, L-B99A9384), or reserve "
            "concurrency for this function",
            command="aws service-quotas request-service-quota-increase --service-code lambda "
            "--quota-code L-B99A9384 --desired-value 1000",
        ),
    )
