"""Rule and pattern checks (catalogue §2.2, R-*): state, the pattern against the producer's events, targets,
duplicates. Patterns are matched by evctl's own engine (evctl.core.patterns), never by TestEventPattern."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.iam import Decision, Principal, Request, evaluate, load_policy, role_context
from evctl.core.patterns import Pattern, compile_pattern
from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import (
    bus_of,
    is_sqs,
    pattern_dict,
    pattern_of,
    put_rule_command,
    put_targets_command,
    require_samples,
    rule_metric_sum,
    same_bus,
    sample_evidence,
    samples,
    why_not,
)


@check("R-STATE-1", on="rule")
def rule_disabled(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A disabled rule matches nothing: the bus accepts the events and drops them."""
    rule = ctx.rule(node)
    if rule.get("State") != "DISABLED":
        return
    bus = bus_of(rule)
    yield Finding(
        check="R-STATE-1",
        resource=str(rule.get("Arn") or node.id),
        message=f"rule {node.name} on bus {bus} is DISABLED: events it should route are dropped",
        evidence={"State": rule.get("State"), "EventBusName": bus},
        fix=Fix(
            summary=f"enable rule {node.name}",
            value={"State": "ENABLED"},
            command=f"aws events enable-rule --name {shlex.quote(node.name)} --event-bus-name {shlex.quote(bus)}",
        ),
    )


def _suggested_pattern(current: Any, envelope: dict[str, Any]) -> dict[str, Any]:
    """The rule's pattern with source and detail-type set to what the producer sends (other fields kept when the
    result then matches the event; else only source and detail-type)."""
    wanted = {"source": [envelope.get("source")], "detail-type": [envelope.get("detail-type")]}
    if isinstance(current, dict) and "$or" not in current:
        merged = {**current, **wanted}
        try:
            if compile_pattern(json.dumps(merged)).matches(envelope):
                return merged
        except Exception:  # a field the engine refuses: fall back to the minimal pattern
            pass
    return wanted


def _live_pattern(ctx: DoctorContext, rule: Node) -> Pattern | None:
    """An enabled rule's compiled pattern (None: disabled, scheduled, or a pattern evctl cannot compile)."""
    listed = ctx.rule(rule)
    if listed.get("State") == "DISABLED":
        return None
    try:
        return pattern_of(listed)
    except NotChecked:
        return None


@check("R-PATTERN-1", on="rule")
def pattern_matches_no_sample(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The rule's pattern matches none of the producer's events (the tutorial's CloudTrail pattern)."""
    rule = ctx.rule(node)
    pattern = pattern_of(rule)
    if pattern is None:
        raise NotChecked("a scheduled rule: it has no event pattern")
    given = require_samples(ctx)
    if any(pattern.matches(envelope) for _, envelope in given):
        return
    # Samples another rule of the pipeline takes are that rule's producer's, not necessarily this one's: the rule
    # fails only if some sample reaches no rule at all (on a bus of many rules, templates cover some producers only).
    others = [
        (str(other.attributes.get("event_bus") or "default"), _live_pattern(ctx, other))
        for other in ctx.graph.sorted_nodes()
        if other.kind == "rule" and other.exists and other.id != node.id
    ]
    orphans = [
        (s, e) for s, e in given if not any(p is not None and same_bus(b, s.bus) and p.matches(e) for b, p in others)
    ]
    if not orphans:
        raise NotChecked(
            f"each of the {len(given)} sample event(s) is taken by another rule: pass --sample with the events "
            f"{node.name} is meant for"
        )
    sample, envelope = orphans[0]
    current = pattern_dict(rule)
    suggested = _suggested_pattern(current, envelope)
    yield Finding(
        check="R-PATTERN-1",
        resource=str(rule.get("Arn") or node.id),
        message=(
            f"rule {node.name}'s pattern matches none of the {len(given)} sample event(s): "
            f"{sample.origin or 'the first'} is {envelope.get('source')!r} / {envelope.get('detail-type')!r}"
        ),
        evidence={
            "EventPattern": current,
            "samples": len(given),
            "matched": 0,
            "sample": sample_evidence(sample, envelope),
            "why_not": why_not(pattern, envelope),
            "MatchedEvents": rule_metric_sum(ctx, rule, "MatchedEvents"),  # AWS/Events, the log window (None: no data)
        },
        fix=Fix(
            summary=f"rewrite the pattern to select what the producer sends: {json.dumps(suggested)}",
            value=suggested,
            command=put_rule_command(rule, suggested),
        ),
    )


_BROAD_ONLY = frozenset({"account", "region", "detail-type", "resources", "version", "time", "id"})


def _broadness(pattern: Any) -> str | None:
    """Why a pattern is too broad, or None."""
    if not isinstance(pattern, dict):
        return None
    if "$or" in pattern:
        branches = pattern["$or"] if isinstance(pattern["$or"], list) else []
        reasons = [_broadness(branch) for branch in branches if isinstance(branch, dict)]
        return next((r for r in reasons if r), None)
    source = pattern.get("source")
    if source is None:
        keys = sorted(pattern)
        if not keys or set(keys) <= _BROAD_ONLY:
            return f"no source filter (only {', '.join(keys) or 'nothing'})"
        return "no source filter"
    values = source if isinstance(source, list) else [source]
    for value in values:
        if isinstance(value, dict) and (value.get("prefix") == "" or "anything-but" in value or value.get("exists")):
            return f"source {json.dumps(value)} matches (nearly) every source"
        if isinstance(value, dict) and "wildcard" in value and str(value["wildcard"]).strip("*") == "":
            return f"source {json.dumps(value)} matches every source"
    return None


@check("R-PATTERN-2", on="rule")
def pattern_too_broad(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """No source filter: the rule takes events from other producers and AWS services too."""
    rule = ctx.rule(node)
    if pattern_of(rule) is None:
        raise NotChecked("a scheduled rule: it has no event pattern")
    current = pattern_dict(rule)
    reason = _broadness(current)
    if reason is None:
        return
    pattern = pattern_of(rule)
    matched = [env for _, env in samples(ctx) if pattern is not None and pattern.matches(env)]
    evidence: dict[str, Any] = {"EventPattern": current, "why": reason}
    fix_value: dict[str, Any] | None = None
    command = None
    if matched and isinstance(current, dict) and "$or" not in current:
        sources = sorted({str(env.get("source")) for env in matched})
        kinds = sorted({str(env.get("detail-type")) for env in matched})
        fix_value = {**current, "source": sources, "detail-type": kinds}
        command = put_rule_command(rule, fix_value)
        evidence["matched_samples"] = [
            {"source": env.get("source"), "detail-type": env.get("detail-type")} for env in matched
        ]
    yield Finding(
        check="R-PATTERN-2",
        resource=str(rule.get("Arn") or node.id),
        message=f"rule {node.name}'s pattern is too broad: {reason}",
        evidence=evidence,
        fix=Fix(
            summary="add source and detail-type filters for the producer's events"
            + ("" if fix_value else " (pass --sample to have them suggested)"),
            value=fix_value,
            command=command,
        ),
    )


def _candidate_queues(ctx: DoctorContext, rule_arn: str, targeted: set[str]) -> list[Node]:
    """Queues in the graph this rule should probably feed: their policy names the rule's ARN, or they have a consumer
    and no rule routes to them."""
    found = []
    for queue in ctx.graph.sorted_nodes():
        if queue.kind != "queue" or not queue.exists or queue.id in targeted or not queue.attributes.get("url"):
            continue
        if ctx.upstream(queue, "dead_letters_to"):
            continue  # a DLQ
        try:
            policy = ctx.queue_attributes(queue).get("Policy") or ""
        except NotChecked:
            policy = ""
        if rule_arn in policy or (ctx.downstream(queue, "polls") and not ctx.upstream(queue, "routes_to")):
            found.append(queue)
    return found


@check("R-TARGETS-1", on="rule")
def rule_has_no_targets(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The rule matches but delivers nowhere: it has no targets."""
    rule = ctx.rule(node)
    targets = ctx.targets(node)
    arn = str(rule.get("Arn") or node.id)
    targeted = {str(t.get("Arn", "")) for t in targets}
    if targets:
        # Fine if some target is not a queue, or is a queue something consumes. Otherwise: is there a consumed queue
        # whose policy names this very rule, that the rule does not target (the wrong queue was targeted)?
        for target_arn in targeted:
            queue = ctx.graph.nodes.get(target_arn)
            if not is_sqs(target_arn) or (queue is not None and ctx.downstream(queue, "polls")):
                return
        candidates = [
            q
            for q in _candidate_queues(ctx, arn, targeted)
            if ctx.downstream(q, "polls") and arn in (ctx.queue_attributes(q).get("Policy") or "")
        ]
        if not candidates:
            return
        queue = candidates[0]
        readers = [f.name for m in ctx.downstream(queue, "polls") for f in ctx.downstream(m, "invokes")]
        wanted = {"Id": queue.name.replace(".", "-")[:64], "Arn": queue.id}
        yield Finding(
            check="R-TARGETS-1",
            resource=arn,
            message=(
                f"rule {node.name} targets {', '.join(sorted(a.rsplit(':', 1)[-1] for a in targeted))}, which nothing "
                f"consumes, but not {queue.name}, whose policy allows this rule and which "
                f"{', '.join(readers) or 'a mapping'} reads"
            ),
            evidence={"Targets": sorted(targeted), "candidate_queues": [q.id for q in candidates]},
            fix=Fix(
                summary=f"add queue {queue.name} as the rule's target (and remove the wrong one once it is unused)",
                value=wanted,
                command=put_targets_command(rule, wanted),
            ),
            related=(queue.id,),
        )
        return
    candidates = _candidate_queues(ctx, arn, set())
    command = None
    value: dict[str, Any] | None = None
    if candidates:
        queue = candidates[0]
        value = {"Id": queue.name.replace(".", "-")[:64], "Arn": queue.id}
        command = put_targets_command(rule, value)
    yield Finding(
        check="R-TARGETS-1",
        resource=arn,
        message=f"rule {node.name} has no targets: every event it matches is dropped",
        evidence={"Targets": [], "candidate_queues": [q.id for q in candidates]},
        fix=Fix(
            summary=(
                f"add queue {candidates[0].name} as the rule's target (its queue policy must let this rule send)"
                if candidates
                else "add the queue as the rule's target (put-targets with the queue ARN)"
            ),
            value=value,
            command=command,
        ),
        related=tuple(q.id for q in candidates[:1]),
    )


@check("R-DUP-1", on="queue")
def queue_reached_twice(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Two targets (of one rule, or of two rules that both match an event) deliver each event twice."""
    edges = [e for e in ctx.graph.in_edges(node.id) if e.kind == "routes_to"]
    if not edges:
        return
    rules: dict[str, list[str]] = {}
    for edge in edges:
        rules.setdefault(edge.source, []).append(str(dict(edge.attributes).get("target_id", "")))
    # one rule, the same queue twice
    for rule_id, ids in sorted(rules.items()):
        rule_node = ctx.graph.nodes[rule_id]
        if len(ids) > 1 and rule_node.exists:
            rule = ctx.rule(rule_node)
            if rule.get("State") == "DISABLED":
                continue
            extra = sorted(ids)[1:]
            yield Finding(
                check="R-DUP-1",
                resource=node.id,
                message=f"rule {rule_node.name} targets {node.name} {len(ids)} times: every event arrives {len(ids)}×",
                evidence={"rule": rule_id, "target_ids": sorted(ids)},
                fix=Fix(
                    summary=f"remove the extra target(s) {', '.join(extra)} of rule {rule_node.name}",
                    value={"remove_target_ids": extra},
                    command=(
                        f"aws events remove-targets --rule {shlex.quote(rule_node.name)} "
                        f"--event-bus-name {shlex.quote(bus_of(rule))} --ids {' '.join(shlex.quote(i) for i in extra)}"
                    ),
                ),
                related=(rule_id,),
            )
    live = []
    for rule_id in sorted(rules):
        rule_node = ctx.graph.nodes[rule_id]
        if not rule_node.exists:
            continue
        rule = ctx.rule(rule_node)
        if rule.get("State") != "DISABLED":
            live.append((rule_node, rule))
    if len(live) < 2:
        return
    given = require_samples(ctx)
    for sample, envelope in given:
        hits = []
        for rule_node, rule in live:
            pattern = pattern_of(rule)
            if pattern is not None and pattern.matches(envelope):
                hits.append((rule_node, rule))
        if len(hits) < 2:
            continue
        (first, first_rule), *others = hits
        second, second_rule = others[0]
        merged = {"$or": [pattern_dict(first_rule), pattern_dict(second_rule)]}
        ids = rules[second.id]
        yield Finding(
            check="R-DUP-1",
            resource=node.id,
            message=(
                f"rules {', '.join(r.name for r, _ in hits)} all match {sample.origin or 'a sample event'} "
                f"and all target {node.name}: each such event arrives {len(hits)}×"
            ),
            evidence={
                "rules": {r.id: pattern_dict(rr) for r, rr in hits},
                "sample": sample_evidence(sample, envelope),
            },
            fix=Fix(
                summary=(
                    f"one rule per queue: remove {node.name} from rule {second.name} (if {first.name} should "
                    f"also take {second.name}'s other events, give it the merged pattern in value)"
                ),
                value={"remove_target_ids": ids, "merged_pattern": merged},
                command=(
                    f"aws events remove-targets --rule {shlex.quote(second.name)} "
                    f"--event-bus-name {shlex.quote(bus_of(second_rule))} "
                    f"--ids {' '.join(shlex.quote(i) for i in ids)}"
                ),
            ),
            related=tuple(r.id for r, _ in hits),
        )
        return  # one finding per queue: the fix is the same for every further sample


def _consumers(ctx: DoctorContext, rule: Node) -> list[Node]:
    """The functions downstream of a rule (rule → queue → mapping → function)."""
    found: dict[str, Node] = {}
    for queue in ctx.downstream(rule, "routes_to"):
        for mapping in ctx.downstream(queue, "polls"):
            for function in ctx.downstream(mapping, "invokes"):
                if function.exists:
                    found[function.id] = function
    return [found[k] for k in sorted(found)]


@check("R-LOOP-1", on="rule")
def rule_matches_its_own_output(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A consumer allowed to put events on the rule's bus, and a pattern that would take them: an infinite loop."""
    rule = ctx.rule(node)
    if pattern_of(rule) is None:
        raise NotChecked("a scheduled rule: it has no event pattern")
    bus = dict(ctx.clients.events.describe_event_bus(Name=bus_of(rule)))
    bus_arn = str(bus.get("Arn") or "")
    bus_policy = load_policy(str(bus["Policy"]), name="bus policy") if bus.get("Policy") else None
    current = pattern_dict(rule)
    broad = _broadness(current)
    undecided: list[str] = []
    for function in _consumers(ctx, node):
        role_arn = str(ctx.function(function).get("Role") or "")
        if not role_arn:
            continue
        role = ctx.role_policies(role_arn)
        request = Request(Principal.of_arn(role.arn), "events:PutEvents", bus_arn, context=role_context(role.arn))
        result = evaluate(request, role.identity, role.boundary, bus_policy)
        if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
            undecided.append(f"{role.name}: {result.reason}")
            continue
        if not result.allowed:
            continue
        if broad is None:
            undecided.append(
                f"{function.name} may put events on bus {bus_of(rule)}; whether they match depends on the source it "
                "uses (keep it out of the pattern's sources)"
            )
            continue
        matched = [env for _, env in samples(ctx) if (p := pattern_of(rule)) is not None and p.matches(env)]
        fix_value: dict[str, Any] | None = None
        command = None
        if matched and isinstance(current, dict) and "$or" not in current:
            fix_value = {**current, "source": sorted({str(e.get("source")) for e in matched})}
            command = put_rule_command(rule, fix_value)
        yield Finding(
            check="R-LOOP-1",
            resource=str(rule.get("Arn") or node.id),
            message=(
                f"{function.name}, fed by rule {node.name}, may put events on bus {bus_of(rule)} and the rule's pattern "
                f"({broad}) would match them: a loop that multiplies events and cost"
            ),
            evidence={
                "function": function.id,
                "role": role.arn,
                "EventPattern": current,
                "why_broad": broad,
                "events:PutEvents": result.as_dict(),
            },
            fix=Fix(
                summary="narrow the pattern to the producer's source, and emit the function's events under a source "
                "the pattern does not select" + ("" if fix_value else " (pass --sample to have the source suggested)"),
                value=fix_value,
                command=command,
            ),
            related=(function.id, role.arn),
        )
        return
    if undecided:
        raise NotChecked("; ".join(undecided))
