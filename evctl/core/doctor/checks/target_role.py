"""Targets that need a role (catalogue §2.3, T-ROLE-1, T-XACCT-1): the target's RoleArn can send to the queue, and a
queue in another account is reached through one; on rule nodes."""

from __future__ import annotations

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

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import (
    arn_parts,
    put_target,
    put_targets_command,
    queue_node,
    quoted_json,
)
from .target import EVENTS, rule_arn_of, sqs_targets


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
    for rule, target in sqs_targets(ctx, node):
        role_arn = target.get("RoleArn")
        queue_arn = str(target["Arn"])
        if not role_arn or arn_parts(queue_arn)[4] != arn_parts(rule_arn_of(rule, node))[4]:
            continue  # no role, or cross-account (T-XACCT-1's)
        problems = _role_side(ctx, rule_arn_of(rule, node), str(role_arn), queue_arn)
        if not problems:
            continue
        changed = put_target(target, drop=("RoleArn",))
        yield Finding(
            check="T-ROLE-1",
            resource=rule_arn_of(rule, node),
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
    for rule, target in sqs_targets(ctx, node):
        queue_arn = str(target["Arn"])
        rule_arn = rule_arn_of(rule, node)
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
