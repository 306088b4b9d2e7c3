"""Execution role checks (catalogue §2.10, I-*, all ⚖): what the function's role may do, by evctl.core.iam.

They run on function nodes (the role is the function's `Role`); a finding's resource is the role's ARN.
Only a DENY (explicit or implicit) fails; an INDETERMINATE answer is `not checked` with the keys it depends on.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

from evctl.core.iam import (
    SERVICE_ABSENT_KEYS,
    Decision,
    PolicyKind,
    Principal,
    Request,
    Result,
    RolePolicies,
    create_log_group_request,
    evaluate,
    load_policy,
    log_write_requests,
    poller_decrypt_request,
    poller_requests,
    role_context,
    service_context,
)
from evctl.core.pipeline import Node, denied_action
from evctl.errors import EvctlError

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .function import sqs_mappings

SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LOGS_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
LAMBDA = "lambda.amazonaws.com"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA}, "Action": "sts:AssumeRole"}],
}


def role_of(ctx: DoctorContext, function: Node) -> tuple[str, RolePolicies]:
    role_arn = str(ctx.function(function).get("Role") or "")
    if not role_arn:
        raise NotChecked(f"{function.name} has no Role in its configuration")
    try:
        return role_arn, ctx.role_policies(role_arn)
    except EvctlError as exc:  # read_role_policies wraps AWS errors: a denial is "not checked", not a crash
        action = denied_action(exc)
        if action:
            raise NotChecked(f"{action} denied") from exc
        raise


def _put_role_policy(role: RolePolicies, name: str, statements: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    document = {"Version": "2012-10-17", "Statement": statements}
    command = (
        f"aws iam put-role-policy --role-name {role.name} --policy-name {name} "
        f"--policy-document {shlex.quote(json.dumps(document, separators=(',', ':')))}"
    )
    return document, command


def _undecided(results: dict[str, Result]) -> str | None:
    """The reason to say `not checked` when no answer is a deny but some are not ALLOW."""
    unsure = {a: r for a, r in results.items() if r.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED)}
    if not unsure:
        return None
    return "; ".join(f"{action}: {result.reason}" for action, result in unsure.items())


def _evidence(results: dict[str, Result]) -> dict[str, Any]:
    return {action: result.as_dict() for action, result in results.items()}


def _identity_fix(
    role: RolePolicies, results: dict[str, Result], name: str, statements: list[dict[str, Any]], what: str
) -> Fix:
    """A put-role-policy fix when the identity side is what is missing; words only when a Deny or the boundary
    or a resource policy decides."""
    denied = {a: r for a, r in results.items() if r.decision.denied}
    explicit = [r for r in denied.values() if r.decision is Decision.EXPLICIT_DENY]
    if explicit:
        names = sorted({str(ref) for r in explicit for ref in r.deciding})
        return Fix(summary=f"remove or narrow the Deny that blocks {what}: {'; '.join(names)}")
    boundary = [r for r in denied.values() if "permissions boundary" in r.reason]
    document, command = _put_role_policy(role, name, statements)
    if boundary:
        return Fix(
            summary=f"let the permissions boundary allow {what} too, then add this statement to the role",
            value=document,
        )
    return Fix(summary=f"allow {what} in the role's policy", value=document, command=command)


@check("I-TRUST-1", on="function")
def role_not_assumable(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Lambda assumes the execution role for every invocation; a trust policy without lambda.amazonaws.com fails it."""
    role_arn, role = role_of(ctx, node)
    request = Request(
        Principal.of_service(LAMBDA),
        "sts:AssumeRole",
        role.arn or role_arn,
        context=service_context(None, LAMBDA),
        absent=SERVICE_ABSENT_KEYS,
    )
    result = evaluate(request, resource=role.trust)
    if result.decision is Decision.ALLOW:
        return
    if not result.decision.denied:
        raise NotChecked(f"the trust policy: {result.reason}")
    document = TRUST
    yield Finding(
        check="I-TRUST-1",
        resource=role.arn or role_arn,
        message=f"{node.name}'s role {role.name} cannot be assumed by {LAMBDA}: {result.reason}",
        evidence={
            "AssumeRolePolicyDocument": [s.raw for s in role.trust.statements] if role.trust else None,
            "sts:AssumeRole": result.as_dict(),
        },
        fix=Fix(
            summary=f"let {LAMBDA} assume the role (trust policy)",
            value=document,
            command=f"aws iam update-assume-role-policy --role-name {role.name} --policy-document "
            f"{shlex.quote(json.dumps(document, separators=(',', ':')))}",
        ),
        related=(node.id,),
    )


@check("I-SQS-1", on="function")
def role_cannot_poll(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The mapping polls with the function's role: Receive, Delete and GetQueueAttributes on each source queue."""
    pairs = sqs_mappings(ctx, node)
    if not pairs:
        return
    role_arn, role = role_of(ctx, node)
    principal = Principal.of_arn(role.arn or role_arn)
    undecided = []
    for mapping, queue in pairs:
        attributes = ctx.queue_attributes(queue)
        queue_arn = attributes.get("QueueArn") or queue.id
        policy_text = attributes.get("Policy")
        queue_policy = load_policy(policy_text, name="queue policy") if policy_text else None
        results = {
            action: evaluate(request, role.identity, role.boundary, queue_policy)
            for action, request in poller_requests(role.arn or role_arn, queue_arn).items()
        }
        denied = [action for action, result in results.items() if result.decision.denied]
        if not denied:
            reason = _undecided(results)
            if reason:
                undecided.append(f"{queue.name}: {reason}")
            continue
        cross = queue_arn.split(":")[4:5] != principal.arn.split(":")[4:5] if principal.arn else False
        statement = {"Effect": "Allow", "Action": list(SQS_ACTIONS), "Resource": queue_arn}
        fix = _identity_fix(
            role, results, f"evctl-sqs-{queue.name}", [statement], f"{', '.join(denied)} on {queue.name}"
        )
        if cross and all("cross-account" in results[a].reason for a in denied):
            fix = Fix(
                summary=f"the queue's policy (account {queue_arn.split(':')[4]}) must allow {role.arn} "
                f"{', '.join(denied)} too"
            )
        yield Finding(
            check="I-SQS-1",
            resource=role.arn or role_arn,
            message=f"{node.name}'s role {role.name} may not {', '.join(a.split(':')[1] for a in denied)} on "
            f"{queue.name}: the mapping cannot poll (or cannot delete, so messages come back)",
            evidence={"role": role.arn, "queue": queue_arn, "denied": denied, **_evidence(results)},
            fix=fix,
            related=(node.id, mapping.id, queue.id),
        )
    if undecided:
        raise NotChecked("; ".join(undecided))


def _key_of(ctx: DoctorContext, key_id: str) -> dict[str, Any]:
    kms = ctx.clients.kms
    if kms is None:
        raise NotChecked("KMS is not read in this run")
    return dict(kms.describe_key(KeyId=key_id)["KeyMetadata"])


@check("I-KMS-1", on="function")
def role_cannot_decrypt(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An SQS queue encrypted with a customer managed key: the poller needs kms:Decrypt, by IAM and the key policy."""
    pairs = sqs_mappings(ctx, node)
    keyed = [(m, q, ctx.queue_attributes(q)) for m, q in pairs]
    keyed = [(m, q, a) for m, q, a in keyed if a.get("KmsMasterKeyId")]
    if not keyed:
        return
    role_arn, role = role_of(ctx, node)
    principal = Principal.of_arn(role.arn or role_arn)
    undecided = []
    for mapping, queue, attributes in keyed:
        key_id = attributes["KmsMasterKeyId"]
        if key_id in ("alias/aws/sqs",) or key_id.endswith(":alias/aws/sqs"):
            continue  # the AWS managed key's policy lets every principal of the account use it through SQS
        metadata = _key_of(ctx, key_id)
        if metadata.get("KeyManager") == "AWS":
            continue
        key_arn = str(metadata.get("Arn") or key_id)
        assert ctx.clients.kms is not None
        policy_text = ctx.clients.kms.get_key_policy(KeyId=key_arn, PolicyName="default").get("Policy")
        key_policy = load_policy(policy_text, name="key policy", kind=PolicyKind.KEY)
        region = key_arn.split(":")[3] if key_arn.startswith("arn:") else ctx.region
        request = poller_decrypt_request(role.arn or role_arn, key_arn, region, principal.account or ctx.account)
        result = evaluate(request, role.identity, role.boundary, key_policy)
        if result.decision is Decision.ALLOW:
            continue
        if not result.decision.denied:
            undecided.append(f"{queue.name}'s key: {result.reason}")
            continue
        results = {"kms:Decrypt": result}
        if "key policy neither allows" in result.reason:
            document = (
                json.loads(policy_text) if isinstance(policy_text, str) else {"Version": "2012-10-17", "Statement": []}
            )
            statements = document.get("Statement")
            statements = [statements] if isinstance(statements, dict) else list(statements or [])
            statements.append(
                {
                    "Sid": "AllowLambdaPollerDecrypt",
                    "Effect": "Allow",
                    "Principal": {"AWS": role.arn},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                }
            )
            document["Statement"] = statements
            fix = Fix(
                summary=f"let {role.name} decrypt with the key in its key policy",
                value=document,
                command=f"aws kms put-key-policy --key-id {metadata.get('KeyId') or key_arn} --policy-name default "
                f"--policy {shlex.quote(json.dumps(document, separators=(',', ':')))}",
            )
        else:
            statement = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
            fix = _identity_fix(
                role, results, f"evctl-kms-{queue.name}", [statement], f"kms:Decrypt on {queue.name}'s key"
            )
        yield Finding(
            check="I-KMS-1",
            resource=role.arn or role_arn,
            message=f"{node.name}'s role {role.name} may not kms:Decrypt with {queue.name}'s key {key_arn}: "
            "the mapping cannot read the messages",
            evidence={
                "role": role.arn,
                "queue": queue.id,
                "KmsMasterKeyId": key_id,
                "key": key_arn,
                **_evidence(results),
            },
            fix=fix,
            related=(node.id, mapping.id, queue.id),
        )
    if undecided:
        raise NotChecked("; ".join(undecided))


@check("I-LOGS-1", on="function")
def role_cannot_log(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Without CreateLogStream/PutLogEvents (and CreateLogGroup while the group is missing) failures leave no trace."""
    role_arn, role = role_of(ctx, node)
    groups = ctx.downstream(node, "logs_to")
    group_name = groups[0].name if groups else f"/aws/lambda/{node.name}"
    exists = groups[0].exists if groups else False
    region = ctx.region or node.id.split(":")[3]
    account = ctx.account or node.id.split(":")[4]
    group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group_name}"
    requests = log_write_requests(role.arn or role_arn, group_arn)
    if not exists:
        requests["logs:CreateLogGroup"] = create_log_group_request(role.arn or role_arn, group_arn)
    results = {action: evaluate(request, role.identity, role.boundary) for action, request in requests.items()}
    denied = [action for action, result in results.items() if result.decision.denied]
    if not denied:
        reason = _undecided(results)
        if reason:
            raise NotChecked(reason)
        return
    statement = {"Effect": "Allow", "Action": sorted(requests), "Resource": f"{group_arn}:*"}
    fix = _identity_fix(role, results, "evctl-logs", [statement], f"writing to {group_name}")
    yield Finding(
        check="I-LOGS-1",
        resource=role.arn or role_arn,
        message=f"{node.name}'s role {role.name} may not {', '.join(a.split(':')[1] for a in denied)} on "
        f"{group_name}: its failures leave no logs",
        evidence={
            "role": role.arn,
            "log_group": group_name,
            "log_group_exists": exists,
            "denied": denied,
            **_evidence(results),
        },
        fix=fix,
        related=(node.id, *(g.id for g in groups)),
    )


@check("F-RECUR-1", on="function")
def feeds_its_own_queue(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A function allowed to send to the queue it consumes, with Lambda's loop detection on (the default):
    Lambda stops the loop after ~16 hops and drops the event. (An F-* check, here because it evaluates the role.)"""
    pairs = sqs_mappings(ctx, node)
    if not pairs:
        return
    role_arn, role = role_of(ctx, node)
    principal = Principal.of_arn(role.arn or role_arn)
    looping = []
    undecided = []
    for _, queue in pairs:
        attributes = ctx.queue_attributes(queue)
        queue_arn = attributes.get("QueueArn") or queue.id
        policy_text = attributes.get("Policy")
        request = Request(principal, "sqs:SendMessage", queue_arn, context=role_context(principal.arn or ""))
        result = evaluate(
            request,
            role.identity,
            role.boundary,
            load_policy(policy_text, name="queue policy") if policy_text else None,
        )
        if result.decision is Decision.ALLOW:
            looping.append((queue, result))
        elif not result.decision.denied:
            undecided.append(f"{queue.name}: {result.reason}")
    if not looping:
        if undecided:
            raise NotChecked("; ".join(undecided))
        return
    recursion = ctx.clients.lambda_.get_function_recursion_config(FunctionName=node.name)
    setting = str(recursion.get("RecursiveLoop") or "Terminate")
    if setting != "Terminate":
        return
    queue, result = looping[0]
    yield Finding(
        check="F-RECUR-1",
        resource=node.id,
        message=f"{node.name} may send to {queue.name}, the queue it consumes, and Lambda's recursive loop "
        "detection is on: a message that loops is dropped after about 16 rounds",
        evidence={"RecursiveLoop": setting, "queue": queue.id, "sqs:SendMessage": result.as_dict()},
        fix=Fix(
            summary="if the loop is intended, allow it; otherwise send to another queue (or remove sqs:SendMessage)",
            value={"RecursiveLoop": "Allow"},
            command=f"aws lambda put-function-recursion-config --function-name {node.name} --recursive-loop Allow",
        ),
        related=(queue.id, role.arn),
    )
