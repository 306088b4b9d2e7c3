"""A mapping's filter criteria (catalogue §2.8, E-FILTER-1): Lambda deletes the messages no filter matches, so a filter
that matches none of the producer's events, or asks for fields an SQS record lacks, loses them."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.patterns import PatternError, compile_pattern
from evctl.core.pipeline import Node

from ..context import DoctorContext, Sample
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .mapping import polled_queue, update_command, uuid_of

# ESM states on the way to Enabled: not decided yet (re-run doctor once the change settles).


def sqs_record(sample: Sample, queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda's filter sees for an EventBridge event delivered to SQS unchanged: `body` is the event."""
    return {
        "messageId": "00000000-0000-0000-0000-000000000000",
        "receiptHandle": "",
        "body": sample.event,  # JSON bodies are filtered as JSON
        "attributes": {"ApproximateReceiveCount": "1", "SenderId": "AIDAEXAMPLE", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region or queue_arn.split(":")[3],
    }


def _reaching_samples(ctx: DoctorContext, queue: Node) -> tuple[list[Sample], list[str]]:
    """The samples an upstream rule routes to the queue (all of them when no rule feeds it), and notes."""
    rules = [rule for rule in ctx.upstream(queue, "routes_to") if rule.exists]
    if not rules:
        return list(ctx.samples), ["no rule routes to the queue: every sample is assumed to arrive"]
    reaching: list[Sample] = []
    for rule in rules:
        for target in ctx.targets(rule):
            if target.get("Arn") == queue.id and any(target.get(k) for k in ("Input", "InputPath", "InputTransformer")):
                raise NotChecked(
                    f"rule {rule.name}'s target rewrites the message body (see T-INPUT-1); "
                    "the filter is not evaluated on a body evctl cannot render here"
                )
        described = ctx.rule(rule)
        text = described.get("EventPattern")
        if not text:
            continue
        try:
            pattern = compile_pattern(str(text))
        except PatternError:
            continue
        bus = str(rule.attributes.get("event_bus") or "default")
        reaching.extend(s for s in ctx.samples if s.bus in (bus, "") and pattern.matches(s.event) and s not in reaching)
    return reaching, []


RECORD_KEYS = frozenset(
    {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
)


def _keys_outside_the_record(text: object) -> list[str]:
    """Top-level keys of a filter that no SQS record has and that the filter needs present ([] if none)."""
    try:
        pattern = json.loads(str(text))
    except ValueError:
        return []
    if not isinstance(pattern, dict):
        return []
    needed = []
    for key, value in pattern.items():
        if key in RECORD_KEYS or key == "$or":
            continue
        values = value if isinstance(value, list) else []
        if any(isinstance(v, dict) and v.get("exists") is False for v in values):
            continue  # {"exists": false} matches a missing field
        needed.append(key)
    return needed


def _filter_fix(node: Node) -> Fix:
    return Fix(
        summary="remove the mapping's filter (the rule already chooses the events), or rewrite it with the "
        'event\'s keys under "body" (e.g. {"body": {"detail-type": ["UserSignup"]}})',
        value={"FilterCriteria": {"Filters": []}},
        command=update_command(node, "--filter-criteria", shlex.quote(json.dumps({"Filters": []}))),
    )


@check("E-FILTER-1", on="mapping")
def filter_deletes_messages(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Lambda deletes an SQS message its filter criteria reject: no retry, no DLQ, no trace."""
    config = ctx.mapping(node)
    filters = [f.get("Pattern") for f in (config.get("FilterCriteria") or {}).get("Filters") or []]
    filters = [f for f in filters if f]
    if not filters:
        return
    queue = polled_queue(ctx, node)
    if queue is None:
        raise NotChecked("the mapping's source is not an SQS queue in this pipeline")
    patterns = []
    for text in filters:
        try:
            patterns.append((text, compile_pattern(str(text))))
        except PatternError as exc:
            raise NotChecked(f"filter pattern {text} is not one evctl's engine reads: {exc}") from exc
    outside = [_keys_outside_the_record(text) for text in filters]
    if all(outside):  # every filter needs a top-level field no SQS record has: every message is deleted
        yield Finding(
            check="E-FILTER-1",
            resource=node.id,
            message=f"every filter of mapping {uuid_of(node)} needs a field an SQS record does not have "
            f'({", ".join(sorted({k for keys in outside for k in keys}))}; the event is under "body"): Lambda '
            f"deletes every message from {queue.name} unprocessed",
            evidence={"Filters": filters, "fields_not_in_an_sqs_record": outside, "record_fields": sorted(RECORD_KEYS)},
            fix=_filter_fix(node),
            related=(queue.id,),
        )
        return
    if not ctx.samples:
        raise NotChecked("no sample events (pass --sample)")
    samples, notes = _reaching_samples(ctx, queue)
    if not samples:
        raise NotChecked("none of the samples reaches the queue (see R-PATTERN-1)")
    dropped = []
    for sample in samples:
        record = sqs_record(sample, queue.id, ctx.region)
        if any(pattern.matches(record) for _, pattern in patterns):
            continue
        why = [str(m) for m in patterns[0][1].explain(record)]
        dropped.append({"sample": sample.origin or sample.event.get("id"), "event": sample.event, "why_not": why})
    if not dropped:
        return
    yield Finding(
        check="E-FILTER-1",
        resource=node.id,
        message=f"the filter of mapping {uuid_of(node)} rejects {len(dropped)} of {len(samples)} sample event(s) "
        f"from {queue.name}: Lambda deletes those messages unprocessed",
        evidence={
            "Filters": filters,
            "deleted": dropped[:5],
            "samples": len(samples),
            "notes": notes,
            "record_shape": "SQS record; body = the EventBridge event as JSON (keys under body)",
        },
        fix=_filter_fix(node),
        related=(queue.id,),
    )
