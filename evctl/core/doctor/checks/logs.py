"""Log checks (catalogue §2.11, L-*): the function's log group, its retention, and what its recent lines say."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from evctl.core.iam import create_log_group_request, evaluate
from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..logscan import MAX_EXAMPLES, SIGNATURES, scan_logs
from ..metrics import metric
from ..model import Finding, Fix
from ..registry import check
from .function import sqs_mappings
from .role import role_of

# The values PutRetentionPolicy accepts.
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
DEFAULT_RETENTION_DAYS = 30
# Which check each signature is evidence for.
SIGNATURE_CHECKS = {
    "timeout": "F-TIMEOUT-1",
    "envelope_key": "F-SHAPE-1",
    "json_decode": "F-SHAPE-1",
    "string_indices": "F-SHAPE-1",
    "runtime": "F-STATE-1",
    "access_denied": "I-*",
}


def _group(ctx: DoctorContext, function: Node) -> Node | None:
    groups = ctx.downstream(function, "logs_to")
    return groups[0] if groups else None


@check("L-GROUP-1", on="function")
def log_group_missing(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """No log group: what the function did so far left no trace. Lambda creates the group on the next invocation
    when the role may (then it is info: nothing has run since); when the role may not, nothing is ever logged."""
    group = _group(ctx, node)
    if group is None or group.exists:
        return
    role_arn, role = role_of(ctx, node)
    region = ctx.region or node.id.split(":")[3]
    account = ctx.account or node.id.split(":")[4]
    group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group.name}"
    create = evaluate(create_log_group_request(role.arn or role_arn, group_arn), role.identity, role.boundary)
    invocations = (
        metric(ctx, "AWS/Lambda", "Invocations", {"FunctionName": node.name}, "Sum", ctx.log_window_seconds)
        if ctx.clients.cloudwatch is not None
        else None
    )
    if create.decision.denied or invocations:
        severity = "high"
        why = (
            f"the role may not create it ({create.reason})"
            if create.decision.denied
            else f"yet it ran {invocations:g} times in the last {ctx.log_window_seconds // 60} min"
        )
    else:
        severity = "info"
        why = "the role may create it: Lambda will on the next invocation (none seen in the metrics)"
    yield Finding(
        check="L-GROUP-1",
        resource=node.id,
        severity=severity,  # type: ignore[arg-type]
        message=f"{node.name}'s log group {group.name} does not exist: {why}",
        evidence={
            "log_group": group.name,
            "exists": False,
            "logs:CreateLogGroup": create.as_dict(),
            "AWS/Lambda Invocations": invocations,
            "mappings": [m.id for m, _ in sqs_mappings(ctx, node)],
        },
        fix=Fix(
            summary="create the log group (with a retention), and let the role write to it (I-LOGS-1)",
            value={"logGroupName": group.name},
            command=f"aws logs create-log-group --log-group-name {group.name}",
        ),
        related=(group.id,),
    )


def _retention_for(seconds: int) -> int:
    days = -(-seconds // 86400)
    return next((d for d in RETENTION_DAYS if d >= max(days, 1)), RETENTION_DAYS[-1])


@check("L-RET-1", on="log_group")
def retention(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Never-expiring logs cost money; logs that expire before the DLQ's messages leave those messages unexplained."""
    days = node.attributes.get("retention_days")
    dlq_seconds = 0
    dlqs = []
    for function in ctx.upstream(node, "logs_to"):
        for _, queue in sqs_mappings(ctx, function):
            for dlq in ctx.downstream(queue, "dead_letters_to"):
                if dlq.exists:
                    seconds = int(ctx.queue_attributes(dlq).get("MessageRetentionPeriod") or 345600)
                    dlqs.append({"dlq": dlq.id, "MessageRetentionPeriod": seconds})
                    dlq_seconds = max(dlq_seconds, seconds)
    if days is None:
        wanted = max(DEFAULT_RETENTION_DAYS, _retention_for(dlq_seconds))
        message = f"log group {node.name} never expires its logs"
        severity = "info"
    elif int(days) * 86400 < dlq_seconds:
        wanted = _retention_for(dlq_seconds)
        message = (
            f"log group {node.name} keeps logs {days} day(s), less than the DLQ keeps messages "
            f"({dlq_seconds // 86400} days): a dead-lettered message outlives the logs that explain it"
        )
        severity = "medium"
    else:
        return
    yield Finding(
        check="L-RET-1",
        resource=node.id,
        severity=severity,  # type: ignore[arg-type]
        message=message,
        evidence={"retentionInDays": days, "dlqs": dlqs},
        fix=Fix(
            summary=f"keep logs {wanted} days",
            value={"retentionInDays": wanted},
            command=f"aws logs put-retention-policy --log-group-name {node.name} --retention-in-days {wanted}",
        ),
    )


@check("L-CUSTOM-1", on="function")
def custom_log_group(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Tools (and people) that look in /aws/lambda/<name> see an empty group."""
    config = ctx.function(node)
    logging = config.get("LoggingConfig") or {}
    group = logging.get("LogGroup")
    default = f"/aws/lambda/{node.name}"
    if not group or group == default:
        return
    yield Finding(
        check="L-CUSTOM-1",
        resource=node.id,
        message=f"{node.name} logs to {group}, not {default}: tools that assume the default see nothing",
        evidence={"LoggingConfig": logging},
        fix=Fix(
            summary=f"look in {group} (evctl does), or log to the default group again",
            value={"LoggingConfig": {"LogGroup": default}},
            command=f"aws lambda update-function-configuration --function-name {node.name} "
            f"--logging-config LogFormat={logging.get('LogFormat') or 'Text'},LogGroup={default}",
        ),
    )


@check("L-ERR-1", on="log_group")
def error_signatures(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Counts of the failure signatures in the window, with the first lines: evidence for the F-/E-/I- checks."""
    scan = scan_logs(ctx, node.name)
    counts = {name: scan.count(name) for name in SIGNATURES if scan.count(name)}
    if not counts and not scan.errors:
        return
    examples = {name: [hit.as_dict() for hit in scan.hits(name)[:MAX_EXAMPLES]] for name in counts}
    summary = ", ".join(f"{n} × {name}" for name, n in counts.items()) or "no known signature"
    yield Finding(
        check="L-ERR-1",
        resource=node.id,
        message=f"{scan.errors} error line(s) in {node.name} over the last {ctx.log_window_seconds // 60} min "
        f"({summary})",
        evidence={
            **scan.window(),
            "error_lines": scan.errors,
            "signatures": counts,
            "examples": examples,
            "first_errors": [hit.as_dict() for hit in scan.error_examples],
            "see": sorted({SIGNATURE_CHECKS[name] for name in counts}),
        },
        fix=Fix(
            summary="read the lines (the checks named under 'see' say what each means)",
            command=f"aws logs filter-log-events --log-group-name {shlex.quote(node.name)} "
            f"--start-time {scan.start_ms} --filter-pattern ERROR",
        ),
    )
