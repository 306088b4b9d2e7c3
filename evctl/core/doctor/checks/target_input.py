"""What a rule's SQS target receives (catalogue §2.3, T-INPUT-*): InputPath, InputTransformer and constant Input against the
samples; on rule nodes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from evctl.core.pipeline import Node
from evctl.core.rules import RuleContext, render_target

from ..context import DoctorContext, Sample
from ..model import Finding, Fix
from ..registry import check
from .eb_support import (
    arn_parts,
    pattern_of,
    put_target,
    put_targets_command,
    require_samples,
)
from .target import rule_arn_of, sqs_targets


def renders(
    ctx: DoctorContext, rule: Mapping[str, Any], target: Mapping[str, Any]
) -> list[tuple[Sample, dict[str, Any], Any]]:
    context = RuleContext(
        str(rule.get("Name", "")), str(rule.get("Arn", "")), dt.datetime.fromtimestamp(ctx.now(), dt.UTC)
    )
    given = require_samples(ctx)
    pattern = pattern_of(rule)
    matched = [(s, e) for s, e in given if pattern is not None and pattern.matches(e)]
    # the events this rule takes (all samples when it takes none: R-PATTERN-1 says so; the body is still shown)
    return [(sample, envelope, render_target(target, envelope, context)) for sample, envelope in matched or given]


def input_fields(target: Mapping[str, Any]) -> dict[str, Any]:
    return {key: target[key] for key in ("Input", "InputPath", "InputTransformer") if key in target}


@check("T-INPUT-1", on="rule")
def transform_changes_body(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The queue receives something other than the event, while consumers parse the whole event (body['detail'])."""
    for rule, target in sqs_targets(ctx, node):
        fields = input_fields(target)
        if not fields:
            continue
        sample, envelope, rendered = renders(ctx, rule, target)[0]
        if rendered.value == envelope:
            continue  # a transform that passes the whole event on
        changed = put_target(target, drop=("Input", "InputPath", "InputTransformer"))
        yield Finding(
            check="T-INPUT-1",
            resource=rule_arn_of(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} sends {arn_parts(str(target['Arn']))[5]} "
                f"a {rendered.kind} body, not the event: a consumer reading body['detail'] fails on every message"
            ),
            evidence={
                "target": {"Id": target.get("Id"), "Arn": target.get("Arn"), **fields},
                "sample": {"origin": sample.origin, "event": envelope},
                "queue_receives": rendered.body,
                "problem": rendered.problem,
            },
            fix=Fix(
                summary="remove the input transformation (the default sends the whole event), or change the handler "
                "to parse the rendered shape",
                value={"remove": sorted(fields)},
                command=put_targets_command(rule, changed),
            ),
            related=(str(target["Arn"]),),
        )


@check("T-INPUT-2", on="rule")
def template_renders_badly(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An InputTransformer that renders invalid JSON or drops fields for the producer's events."""
    for rule, target in sqs_targets(ctx, node):
        if not target.get("InputTransformer"):
            continue
        for sample, envelope, rendered in renders(ctx, rule, target):
            if not rendered.problem:
                continue
            changed = put_target(target, drop=("InputTransformer",))
            yield Finding(
                check="T-INPUT-2",
                resource=rule_arn_of(rule, node),
                message=(
                    f"target {target.get('Id')} of rule {node.name}: the input template renders badly for "
                    f"{sample.origin or 'a sample event'}: {rendered.problem}"
                ),
                evidence={
                    "InputTransformer": target["InputTransformer"],
                    "sample": {"origin": sample.origin, "event": envelope},
                    "queue_receives": rendered.body,
                    "missing": list(rendered.missing),
                    "problem": rendered.problem,
                },
                fix=Fix(
                    summary="fix the InputPathsMap paths / quote string placeholders, or remove the transformer "
                    "(the command below removes it: the queue then gets the whole event)",
                    value={"missing": list(rendered.missing), "remove": ["InputTransformer"]},
                    command=put_targets_command(rule, changed),
                ),
                related=(str(target["Arn"]),),
            )
            break


@check("T-INPUT-3", on="rule")
def constant_input(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A constant Input: nothing from the event reaches the queue."""
    for rule, target in sqs_targets(ctx, node):
        if target.get("Input") is None:
            continue
        changed = put_target(target, drop=("Input",))
        yield Finding(
            check="T-INPUT-3",
            resource=rule_arn_of(rule, node),
            message=f"target {target.get('Id')} of rule {node.name} sends the same constant Input for every event",
            evidence={"target": {"Id": target.get("Id"), "Arn": target.get("Arn")}, "Input": target["Input"]},
            fix=Fix(
                summary="remove Input (the queue then gets the whole event) or use an InputTransformer",
                value={"remove": ["Input"]},
                command=put_targets_command(rule, changed),
            ),
            related=(str(target["Arn"]),),
        )
