"""Target delivery settings (catalogue §2.3, T-*): what each SQS target of a rule receives and what happens when
delivery fails. They run on rule nodes (a target is part of its rule: the fix is a put-targets on the rule)."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from evctl.core.iam import (
    SERVICE_ABSENT_KEYS,
    Decision,
    Principal,
    Request,
    Result,
    evaluate,
    load_policy,
    role_context,
    service_context,
)
from evctl.core.pipeline import Node
from evctl.core.rules import RuleContext, render_target

from ..context import DoctorContext, Sample
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import (
    arn_parts,
    is_sqs,
    pattern_of,
    put_target,
    put_targets_command,
    queue_node,
    quoted_json,
    require_samples,
    rule_metric_sum,
)

EVENTS = "events.amazonaws.com"
DEFAULT_RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def _sqs_targets(ctx: DoctorContext, node: Node) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    rule = ctx.rule(node)
    for target in ctx.targets(node):
        if is_sqs(str(target.get("Arn", ""))):
            yield rule, target


def _arn(rule: Mapping[str, Any], node: Node) -> str:
    return str(rule.get("Arn") or node.id)


def dlq_name(rule: Mapping[str, Any]) -> str:
    return f"{str(rule.get('Name', 'rule'))[:60]}-target-dlq"


def dlq_policy(dlq_arn: str, rule_arn: str) -> dict[str, Any]:
    """The statement EventBridge needs on a target DLQ [EB-DLQ] (TD-POLICY-1's)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventsToDLQ",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sqs:SendMessage",
                "Resource": dlq_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def new_dlq(rule: Mapping[str, Any], queue_arn: str) -> tuple[str, str]:
    """(DLQ ARN, the create-queue command with its EventBridge policy) for a new standard queue beside the target."""
    parts = arn_parts(queue_arn)
    name = dlq_name(rule)
    arn = f"arn:{parts[1]}:sqs:{parts[3]}:{parts[4]}:{name}"
    attributes = {"Policy": json.dumps(dlq_policy(arn, str(rule.get("Arn"))), separators=(",", ":"))}
    return arn, f"aws sqs create-queue --queue-name {name} --attributes {quoted_json(attributes)}"


@check("T-RETRY-1", on="rule")
def target_without_dlq(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """After retries (or at once, for permission and missing-queue errors) an undeliverable event is dropped."""
    for rule, target in _sqs_targets(ctx, node):
        if (target.get("DeadLetterConfig") or {}).get("Arn"):
            continue
        failed = rule_metric_sum(ctx, rule, "FailedInvocations")
        arn, create = new_dlq(rule, str(target["Arn"]))
        changed = put_target(target, DeadLetterConfig={"Arn": arn})
        yield Finding(
            check="T-RETRY-1",
            resource=_arn(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} ({arn_parts(str(target['Arn']))[5]}) has no "
                "dead-letter queue: events EventBridge cannot deliver are dropped"
                + (f" ({failed:g} FailedInvocations in the window)" if failed else "")
            ),
            evidence={
                "target": {"Id": target.get("Id"), "Arn": target.get("Arn")},
                "DeadLetterConfig": None,
                "RetryPolicy": target.get("RetryPolicy"),
                "FailedInvocations": failed,
            },
            fix=Fix(
                summary=(
                    f"create standard queue {dlq_name(rule)} with a policy letting this rule send to it, "
                    "then set it as the target's DeadLetterConfig"
                ),
                value={"DeadLetterConfig": {"Arn": arn}},
                command=put_targets_command(rule, changed),
                before=(create,),
            ),
            # high only with evidence that deliveries fail now; a missing safety net alone is medium
            severity="high" if failed else "medium",
            related=(str(target["Arn"]),),
        )


@check("T-RETRY-2", on="rule")
def retry_policy_shortened(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A shortened retry budget with no DLQ: a short outage drops events."""
    for rule, target in _sqs_targets(ctx, node):
        if (target.get("DeadLetterConfig") or {}).get("Arn"):
            continue
        retry = target.get("RetryPolicy") or {}
        attempts = retry.get("MaximumRetryAttempts")
        age = retry.get("MaximumEventAgeInSeconds")
        short = []
        if attempts is not None and int(attempts) < 10:
            short.append(f"MaximumRetryAttempts {attempts}")
        if age is not None and int(age) < 3600:
            short.append(f"MaximumEventAgeInSeconds {age}")
        if not short:
            continue
        changed = put_target(target, RetryPolicy=dict(DEFAULT_RETRY))
        yield Finding(
            check="T-RETRY-2",
            resource=_arn(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} gives up after {' / '.join(short)} and has no "
                "dead-letter queue: a short outage drops events"
            ),
            evidence={"target": {"Id": target.get("Id"), "Arn": target.get("Arn")}, "RetryPolicy": retry},
            fix=Fix(
                summary="restore the default retry policy (185 attempts over 24 h), or add a target DLQ (T-RETRY-1)",
                value={"RetryPolicy": DEFAULT_RETRY},
                command=put_targets_command(rule, changed),
            ),
            related=(str(target["Arn"]),),
        )


def _renders(
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


def _input_fields(target: Mapping[str, Any]) -> dict[str, Any]:
    return {key: target[key] for key in ("Input", "InputPath", "InputTransformer") if key in target}


@check("T-INPUT-1", on="rule")
def transform_changes_body(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The queue receives something other than the event, while consumers parse the whole event (body['detail'])."""
    for rule, target in _sqs_targets(ctx, node):
        fields = _input_fields(target)
        if not fields:
            continue
        sample, envelope, rendered = _renders(ctx, rule, target)[0]
        if rendered.value == envelope:
            continue  # a transform that passes the whole event on
        changed = put_target(target, drop=("Input", "InputPath", "InputTransformer"))
        yield Finding(
            check="T-INPUT-1",
            resource=_arn(rule, node),
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
    for rule, target in _sqs_targets(ctx, node):
        if not target.get("InputTransformer"):
            continue
        for sample, envelope, rendered in _renders(ctx, rule, target):
            if not rendered.problem:
                continue
            changed = put_target(target, drop=("InputTransformer",))
            yield Finding(
                check="T-INPUT-2",
                resource=_arn(rule, node),
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
    for rule, target in _sqs_targets(ctx, node):
        if target.get("Input") is None:
            continue
        changed = put_target(target, drop=("Input",))
        yield Finding(
            check="T-INPUT-3",
            resource=_arn(rule, node),
            message=f"target {target.get('Id')} of rule {node.name} sends the same constant Input for every event",
            evidence={"target": {"Id": target.get("Id"), "Arn": target.get("Arn")}, "Input": target["Input"]},
            fix=Fix(
                summary="remove Input (the queue then gets the whole event) or use an InputTransformer",
                value={"remove": ["Input"]},
                command=put_targets_command(rule, changed),
            ),
            related=(str(target["Arn"]),),
        )


def _fifo_targets(
    ctx: DoctorContext, node: Node
) -> Iterator[tuple[dict[str, Any], dict[str, Any], Node, dict[str, str]]]:
    for rule, target in _sqs_targets(ctx, node):
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
                resource=_arn(rule, node),
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
                resource=_arn(rule, node),
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
        for sample, envelope, rendered in _renders(ctx, rule, target):
            if rendered.body is None or str(envelope.get("id", "")) in rendered.body:
                continue
            changed = put_target(target, drop=("Input", "InputPath", "InputTransformer"))
            yield Finding(
                check="T-FIFO-2",
                resource=_arn(rule, node),
                message=(
                    f"FIFO queue {queue.name} deduplicates on the body, and the body rule {node.name} sends lacks the "
                    "event id: identical bodies within 5 minutes are accepted but not delivered"
                ),
                evidence={
                    "ContentBasedDeduplication": "true",
                    "target": {"Id": target.get("Id"), **_input_fields(target)},
                    "sample": {"origin": sample.origin, "id": envelope.get("id")},
                    "queue_receives": rendered.body,
                },
                fix=Fix(
                    summary="keep the event id in the body: send the whole event (no transform) or include "
                    "<aws.events.event.json> / $.id in the template",
                    value={"remove": sorted(_input_fields(target))},
                    command=put_targets_command(rule, changed),
                ),
                related=(queue.id,),
            )
            break


def _decide(result: Result, what: str) -> bool:
    """True when denied; raises NotChecked when the evaluator cannot decide."""
    if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
        keys = f" (depends on {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
        raise NotChecked(f"{what}: {result.reason}{keys}")
    return result.decision.denied


def _role_side(ctx: DoctorContext, rule_arn: str, role_arn: str, queue_arn: str) -> list[dict[str, Any]]:
    """What the target's role lacks: trust for EventBridge, sqs:SendMessage on the queue (identity side)."""
    role = ctx.role_policies(role_arn)
    problems = []
    trust = evaluate(
        Request(
            Principal.of_service(EVENTS),
            "sts:AssumeRole",
            role.arn,
            context=service_context(rule_arn),
            absent=SERVICE_ABSENT_KEYS,
        ),
        resource=role.trust,
    )
    if _decide(trust, f"the trust policy of {role.name}"):
        problems.append({"what": f"{role.name}'s trust policy does not let {EVENTS} assume it", **trust.as_dict()})
    # the identity side alone; across accounts a resource policy naming the role stands in for the queue's (which
    # is checked separately), since there both sides must allow
    cross = arn_parts(queue_arn)[4] != arn_parts(role.arn)[4]
    everything = {"Effect": "Allow", "Principal": {"AWS": role.arn}, "Action": "*", "Resource": "*"}
    stand_in = (
        load_policy({"Version": "2012-10-17", "Statement": [everything]}, name="(identity side only)")
        if cross
        else None
    )
    send = evaluate(
        Request(Principal.of_arn(role.arn), "sqs:SendMessage", queue_arn, context=role_context(role.arn)),
        role.identity,
        role.boundary,
        stand_in,
    )
    if _decide(send, f"sqs:SendMessage for {role.name}"):
        problems.append({"what": f"{role.name} may not sqs:SendMessage to {queue_arn}", **send.as_dict()})
    return problems


@check("T-ROLE-1", on="rule")
def target_role(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """With a RoleArn on an SQS target, the role (not the queue policy) decides whether EventBridge may send."""
    for rule, target in _sqs_targets(ctx, node):
        role_arn = target.get("RoleArn")
        queue_arn = str(target["Arn"])
        if not role_arn or arn_parts(queue_arn)[4] != arn_parts(_arn(rule, node))[4]:
            continue  # no role, or cross-account (T-XACCT-1's)
        problems = _role_side(ctx, _arn(rule, node), str(role_arn), queue_arn)
        if not problems:
            continue
        changed = put_target(target, drop=("RoleArn",))
        yield Finding(
            check="T-ROLE-1",
            resource=_arn(rule, node),
            message=(
                f"target {target.get('Id')} of rule {node.name} sends as role {str(role_arn).rsplit('/', 1)[-1]}, "
                f"which cannot deliver: {problems[0]['what']}"
            ),
            evidence={"target": {"Id": target.get("Id"), "Arn": queue_arn, "RoleArn": role_arn}, "problems": problems},
            fix=Fix(
                summary="remove RoleArn from the SQS target and let the queue policy allow the rule (Q-POLICY-1), "
                "or grant the role sqs:SendMessage (and trust events.amazonaws.com)",
                value={"remove": ["RoleArn"]},
                command=put_targets_command(rule, changed),
            ),
            related=(queue_arn, str(role_arn)),
        )


def _xacct_role(rule: Mapping[str, Any], queue_arn: str) -> tuple[str, list[str]]:
    """A role for the cross-account target (in the bus account) and the commands that create it."""
    parts = arn_parts(str(rule.get("Arn")))
    name = f"{str(rule.get('Name'))[:40]}-to-{arn_parts(queue_arn)[5][:20]}"
    arn = f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": EVENTS}, "Action": "sts:AssumeRole"}],
    }
    send = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}],
    }
    return arn, [
        f"aws iam create-role --role-name {name} --assume-role-policy-document {quoted_json(trust)}",
        f"aws iam put-role-policy --role-name {name} --policy-name send-to-{arn_parts(queue_arn)[5][:40]} "
        f"--policy-document {quoted_json(send)}",
    ]


@check("T-XACCT-1", on="rule")
def cross_account_queue(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A queue in another account needs an execution role in the bus account and a queue policy allowing it."""
    for rule, target in _sqs_targets(ctx, node):
        queue_arn = str(target["Arn"])
        rule_arn = _arn(rule, node)
        queue_account, bus_account = arn_parts(queue_arn)[4], arn_parts(rule_arn)[4]
        if queue_account == bus_account:
            continue
        role_arn = target.get("RoleArn")
        statement = {
            "Sid": "FromRule",
            "Effect": "Allow",
            "Principal": {"AWS": str(role_arn or "<role arn>")},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }
        if not role_arn:
            new_role, before = _xacct_role(rule, queue_arn)
            statement["Principal"] = {"AWS": new_role}
            changed = put_target(target, RoleArn=new_role)
            yield Finding(
                check="T-XACCT-1",
                resource=rule_arn,
                message=(
                    f"target {target.get('Id')} of rule {node.name} is a queue in account {queue_account} and "
                    "has no RoleArn: EventBridge cannot deliver across accounts to SQS without one"
                ),
                evidence={
                    "target": {"Id": target.get("Id"), "Arn": queue_arn, "RoleArn": None},
                    "queue_account": queue_account,
                    "bus_account": bus_account,
                },
                fix=Fix(
                    summary=(
                        f"create role {new_role.rsplit('/', 1)[-1]} (trusting {EVENTS}, allowed sqs:SendMessage), "
                        f"set it as the target's RoleArn, and in account {queue_account} add the queue-policy "
                        "statement in value"
                    ),
                    value={"RoleArn": new_role, "queue_policy_statement": statement},
                    command=put_targets_command(rule, changed),
                    before=tuple(before),
                ),
                related=(queue_arn,),
            )
            continue
        problems = _role_side(ctx, rule_arn, str(role_arn), queue_arn)
        queue = queue_node(ctx, queue_arn)
        policy_text = None
        if queue is not None and queue.exists and queue.attributes.get("url"):
            policy_text = ctx.queue_attributes(queue).get("Policy")
        elif not problems:
            raise NotChecked(
                f"the role side allows; the queue policy in account {queue_account} was not read"
                + (f" ({'; '.join(queue.not_read)})" if queue is not None and queue.not_read else "")
            )
        if queue is not None and queue.exists and queue.attributes.get("url"):
            role = ctx.role_policies(str(role_arn))
            both = evaluate(
                Request(Principal.of_arn(role.arn), "sqs:SendMessage", queue_arn, context=role_context(role.arn)),
                role.identity,
                role.boundary,
                load_policy(policy_text, name="queue policy") if policy_text else None,
            )
            if _decide(both, f"sqs:SendMessage from {role.name} to {queue_arn}") and not problems:
                problems.append(
                    {
                        "what": f"the queue policy of {arn_parts(queue_arn)[5]} does not allow {role.arn}",
                        **both.as_dict(),
                    }
                )
        if not problems:
            continue
        yield Finding(
            check="T-XACCT-1",
            resource=rule_arn,
            message=f"cross-account target {target.get('Id')} of rule {node.name}: {problems[0]['what']}",
            evidence={"target": {"Id": target.get("Id"), "Arn": queue_arn, "RoleArn": role_arn}, "problems": problems},
            fix=Fix(
                summary=(
                    f"let {EVENTS} assume the role and grant it sqs:SendMessage on the queue; in account "
                    f"{queue_account} the queue policy must allow the role (statement in value)"
                ),
                value={"queue_policy_statement": statement},
                command=None,
            ),
            related=(queue_arn, str(role_arn)),
        )


@check("T-ARN-1", on="rule")
def target_queue_missing(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A target ARN naming a queue that does not exist: every delivery fails, without retries."""
    for rule, target in _sqs_targets(ctx, node):
        queue_arn = str(target["Arn"])
        queue = queue_node(ctx, queue_arn)
        parts = arn_parts(queue_arn)
        if queue is None:
            raise NotChecked(f"target queue {queue_arn} was not discovered")
        if queue.exists and not (ctx.region and parts[3] != ctx.region):
            continue
        why = f"it is in region {parts[3]}, the rule in {ctx.region}" if queue.exists else "no such queue"
        names = [str(url).rsplit("/", 1)[-1] for url in ctx.clients.sqs.list_queues().get("QueueUrls", [])]
        close = difflib.get_close_matches(parts[5], names, n=1)
        changed = (
            put_target(target, Arn=f"arn:{parts[1]}:sqs:{ctx.region or parts[3]}:{parts[4]}:{close[0]}")
            if close
            else None
        )
        yield Finding(
            check="T-ARN-1",
            resource=_arn(rule, node),
            message=f"target {target.get('Id')} of rule {node.name} names queue {parts[5]}: {why}",
            evidence={
                "target": {"Id": target.get("Id"), "Arn": queue_arn},
                "exists": queue.exists,
                "closest_existing": close,
            },
            fix=Fix(
                summary=(f"point the target at {close[0]}" if close else "point the target at the real queue ARN")
                + " (same Region as the rule)",
                value={"Arn": changed["Arn"]} if changed else None,
                command=put_targets_command(rule, changed) if changed else None,
            ),
            related=(queue_arn,),
        )


@check("T-FIFO-3", on="rule")
def constant_message_group(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """One fixed MessageGroupId puts every event in one group: the FIFO queue's consumer runs one batch at a time."""
    for rule, target, queue, _ in _fifo_targets(ctx, node):
        group = str((target.get("SqsParameters") or {}).get("MessageGroupId") or "")
        if not group or group.startswith("$"):
            continue  # no group (T-FIFO-1's), or a path
        yield Finding(
            check="T-FIFO-3",
            resource=_arn(rule, node),
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
