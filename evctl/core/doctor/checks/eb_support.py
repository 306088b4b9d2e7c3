"""Shared reading and fix-building for the EventBridge-side checks (bus, rule, target, target DLQ).

Samples as the rule sees them, a rule's compiled pattern, a target as `put-targets` takes it back, a queue policy
with one statement added, the aws CLI lines quoted so shlex.split gives the CLI the exact JSON.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from evctl.core.patterns import EventError, Pattern, PatternError, compile_pattern, normalize_event
from evctl.core.pipeline import Node

from ..context import DoctorContext, Sample
from ..metrics import evidence_metric
from ..model import NotChecked

NO_SAMPLES = "no sample events: pass --sample"


def arn_parts(arn: str) -> list[str]:
    """arn:partition:service:region:account:resource (always six parts)."""
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else ["", "", "", "", "", arn]


def is_sqs(arn: str) -> bool:
    return arn_parts(arn)[2] == "sqs"


def quoted_json(value: Any) -> str:
    """A JSON argument for an aws CLI line, quoted for a POSIX shell (and shlex.split)."""
    return shlex.quote(json.dumps(value, separators=(",", ":")))


def bus_of(rule: Mapping[str, Any]) -> str:
    return str(rule.get("EventBusName") or "default")


def bus_name_of(bus: str) -> str:
    return bus.rpartition("event-bus/")[2] if bus.startswith("arn:") else bus


def same_bus(a: str, b: str) -> bool:
    return bus_name_of(a or "default") == bus_name_of(b or "default")


def samples(ctx: DoctorContext) -> list[tuple[Sample, dict[str, Any]]]:
    """Each sample with its full envelope (fields a pattern may test filled in as EventBridge would)."""
    out = []
    for sample in ctx.samples:
        try:
            envelope, _ = normalize_event(sample.event, account=ctx.account or None, region=ctx.region or None)
        except EventError as exc:
            raise NotChecked(f"sample {sample.origin or ''} is not an event: {exc.reason}".replace("  ", " ")) from exc
        out.append((sample, dict(envelope)))
    return out


def require_samples(ctx: DoctorContext) -> list[tuple[Sample, dict[str, Any]]]:
    found = samples(ctx)
    if not found:
        raise NotChecked(NO_SAMPLES)
    return found


def pattern_of(rule: Mapping[str, Any]) -> Pattern | None:
    """The rule's compiled pattern; None for a scheduled rule. NotChecked when AWS holds a pattern evctl can't read."""
    text = rule.get("EventPattern")
    if not text:
        return None
    try:
        return compile_pattern(str(text))
    except PatternError as exc:
        raise NotChecked(f"the rule's pattern cannot be compiled by evctl's engine: {exc}") from exc


def pattern_dict(rule: Mapping[str, Any]) -> Any:
    text = rule.get("EventPattern")
    if not text:
        return None
    try:
        return json.loads(str(text))
    except ValueError:
        return str(text)


def why_not(pattern: Pattern, envelope: Mapping[str, Any]) -> list[str]:
    return [str(m) for m in pattern.explain(envelope)]


def sample_evidence(sample: Sample, envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {"origin": sample.origin, "bus": sample.bus, "event": dict(envelope)}


def put_rule_command(rule: Mapping[str, Any], pattern: Any) -> str:
    """put-rule with a new pattern, keeping the rule's state and description (PutRule replaces them)."""
    command = (
        f"aws events put-rule --name {shlex.quote(str(rule['Name']))} "
        f"--event-bus-name {shlex.quote(bus_of(rule))} --event-pattern {quoted_json(pattern)} "
        f"--state {rule.get('State') or 'ENABLED'}"
    )
    if rule.get("Description"):
        command += f" --description {shlex.quote(str(rule['Description']))}"
    return command


_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "KinesisParameters",
    "RunCommandParameters",
    "EcsParameters",
    "BatchParameters",
    "SqsParameters",
    "HttpParameters",
    "RedshiftDataParameters",
    "SageMakerPipelineParameters",
    "DeadLetterConfig",
    "RetryPolicy",
    "AppSyncParameters",
)


def put_target(target: Mapping[str, Any], drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """The target as PutTargets takes it back (PutTargets replaces a target whole): some keys dropped or changed."""
    out = {key: target[key] for key in _TARGET_KEYS if key in target and key not in drop}
    out.update(changes)
    return out


def put_targets_command(rule: Mapping[str, Any], target: Mapping[str, Any]) -> str:
    return (
        f"aws events put-targets --rule {shlex.quote(str(rule['Name']))} "
        f"--event-bus-name {shlex.quote(bus_of(rule))} --targets {quoted_json([target])}"
    )


def set_policy_command(url: str, policy: Mapping[str, Any]) -> str:
    """set-queue-attributes with a whole Policy (the attribute value is the policy's JSON text)."""
    attributes = {"Policy": json.dumps(policy, separators=(",", ":"))}
    return f"aws sqs set-queue-attributes --queue-url {shlex.quote(url)} --attributes {quoted_json(attributes)}"


def policy_with(existing: str | None, statement: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The queue policy with `statement` added (statements labelled in `drop`, "Sid 'X'" / "statement #n", removed)."""
    try:
        policy = json.loads(existing) if existing else {}
    except ValueError:
        policy = {}
    if not isinstance(policy, dict):
        policy = {}
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    kept = []
    for index, item in enumerate(statements):
        labels = {f"statement #{index}", f"statement #{index + 1}"}
        if isinstance(item, dict) and item.get("Sid"):
            labels.add(f"Sid {item['Sid']!r}")
        if labels & set(drop):
            continue
        if isinstance(item, dict) and item.get("Sid") == statement.get("Sid"):
            continue
        kept.append(item)
    return {
        "Version": policy.get("Version", "2012-10-17"),
        **{k: v for k, v in policy.items() if k not in ("Version", "Statement")},
        "Statement": [*kept, statement],
    }


def queue_node(ctx: DoctorContext, arn: str) -> Node | None:
    return ctx.graph.nodes.get(arn)


def rule_metric_sum(ctx: DoctorContext, rule: Mapping[str, Any], metric: str) -> float | None:
    """Sum of an AWS/Events metric of this rule (a ListRules entry) over the log window (None: no datapoints, no
    CloudWatch, or the metrics call failed: supporting evidence only)."""
    bus = bus_name_of(bus_of(rule))
    name = str(rule.get("Name", ""))
    dimensions = {"RuleName": name} if bus == "default" else {"EventBusName": bus, "RuleName": name}
    value = evidence_metric(ctx, "AWS/Events", metric, dimensions, ctx.log_window_seconds)
    return value if isinstance(value, float) else None
