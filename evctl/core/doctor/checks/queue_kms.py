"""Queue encryption (catalogue §2.5, Q-KMS-*): EventBridge must be able to use the queue's KMS key: never the AWS managed
alias/aws/sqs, a customer managed key whose policy allows events.amazonaws.com, a key that is enabled."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from evctl.core.iam import (
    Policy,
    PolicyKind,
    Result,
    evaluate,
    events_key_request,
    load_policy,
)
from evctl.core.pipeline import Node
from evctl.errors import error_code

from ..context import DoctorContext
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .queue_access import EVENTS, undecided
from .queue_common import (
    arn_parts,
    compact,
    routing_rules,
    rules_not_all_read,
    set_attributes_command,
    url,
)

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

AWS_MANAGED_SQS_ALIAS = "alias/aws/sqs"
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
_UNUSABLE_FIXES = {
    "Disabled": ("enable the key", "aws kms enable-key --key-id {key}"),
    "PendingDeletion": (
        "cancel the key's deletion, then enable it (cancel leaves it Disabled: aws kms enable-key --key-id {key})",
        "aws kms cancel-key-deletion --key-id {key}",
    ),
}


def _kms(ctx: DoctorContext) -> KMSClient:
    if ctx.clients.kms is None:
        raise NotChecked("KMS is not read in this run")
    return ctx.clients.kms


def _is_aws_managed_alias(key_id: str) -> bool:
    return key_id == AWS_MANAGED_SQS_ALIAS or key_id.endswith(":" + AWS_MANAGED_SQS_ALIAS)


def _describe_key(ctx: DoctorContext, key_id: str) -> dict[str, Any] | None:
    """DescribeKey's KeyMetadata; None: no such key (deleted, or an alias that names nothing)."""
    try:
        return dict(_kms(ctx).describe_key(KeyId=key_id)["KeyMetadata"])
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise


def _sse_sqs_fix(queue_url: str, why: str) -> Fix:
    value = {"KmsMasterKeyId": "", "SqsManagedSseEnabled": "true"}
    return Fix(
        summary=f"{why}: switch the queue to SSE-SQS (or to a customer managed key whose policy allows "
        "events.amazonaws.com kms:GenerateDataKey and kms:Decrypt)",
        value=value,
        command=set_attributes_command(queue_url, value),
    )


@check("Q-KMS-1", on="queue")
def queue_on_aws_managed_key(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """SSE-KMS with alias/aws/sqs (or any AWS managed key): its policy cannot let EventBridge encrypt."""
    key_id = ctx.queue_attributes(node).get("KmsMasterKeyId") or ""
    if not key_id:
        return
    if not ctx.upstream(node, "routes_to"):
        incomplete = rules_not_all_read(node)
        if incomplete:
            raise NotChecked(incomplete)
        return
    evidence: dict[str, Any] = {"KmsMasterKeyId": key_id}
    if not _is_aws_managed_alias(key_id):
        metadata = _describe_key(ctx, key_id)
        if metadata is None or metadata.get("KeyManager") != "AWS":
            return  # a customer managed key (Q-KMS-2 reads its policy) or a missing key (Q-KMS-3)
        evidence.update(KeyArn=metadata.get("Arn"), KeyManager="AWS")
    rules = [rule.name for rule in ctx.upstream(node, "routes_to")]
    yield Finding(
        check="Q-KMS-1",
        resource=node.id,
        message=f"{node.name} is encrypted with the AWS managed key {key_id}: EventBridge cannot send to it "
        f"(rule {', '.join(rules)})",
        evidence=evidence,
        fix=_sse_sqs_fix(url(node), "the AWS managed key's policy cannot be changed"),
        related=tuple(rule.id for rule in ctx.upstream(node, "routes_to")),
    )


def events_key_decisions(key_arn: str, policy: Policy, rule_arn: str, queue_arn: str) -> dict[str, Result]:
    """Whether the key policy lets EventBridge, sending for this rule, use the key: one decision per KMS action.
    The call reaches KMS through SQS, so kms:ViaService and the queue's encryption context are known (as the
    sandbox's delivery asks it)."""
    return {
        action: evaluate(events_key_request(action, key_arn, rule_arn, queue_arn), resource=policy)
        for action in KMS_ACTIONS
    }


def events_key_fix(key_arn: str, policy_text: str, sid: str) -> Fix:
    """Merge a statement letting EventBridge use the key into its policy (existing statements kept)."""
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": EVENTS},
        "Action": list(KMS_ACTIONS),
        "Resource": "*",
    }
    document = json.loads(policy_text) if policy_text else {"Version": "2012-10-17", "Statement": []}
    statements = document.get("Statement", [])
    document["Statement"] = [*(statements if isinstance(statements, list) else [statements]), statement]
    return Fix(
        summary="add this statement to the key policy (merged with its existing statements)",
        value=statement,
        command=f"aws kms put-key-policy --key-id {key_arn} --policy-name default "
        f"--policy {shlex.quote(compact(document))}",
    )


@check("Q-KMS-2", on="queue")
def queue_key_does_not_allow_eventbridge(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The queue's customer managed key: does its policy let EventBridge GenerateDataKey and Decrypt for each rule?"""
    key_id = ctx.queue_attributes(node).get("KmsMasterKeyId") or ""
    rules = routing_rules(ctx, node)
    if not key_id:
        return
    if not rules:
        undecided([], node)
        return
    if _is_aws_managed_alias(key_id):
        raise NotChecked(f"{key_id} is the AWS managed key (Q-KMS-1)")
    metadata = _describe_key(ctx, key_id)
    if metadata is None:
        raise NotChecked(f"key {key_id} does not exist (Q-KMS-3)")
    if metadata.get("KeyManager") == "AWS":
        raise NotChecked(f"{key_id} is an AWS managed key (Q-KMS-1)")
    key_arn = str(metadata["Arn"])
    text = _kms(ctx).get_key_policy(KeyId=key_arn, PolicyName="default").get("Policy") or ""
    policy = load_policy(text, name="key policy", kind=PolicyKind.KEY)
    findings: list[Finding] = []
    uncertain: list[tuple[str, Result]] = []
    for rule, rule_arn in rules:
        denied: dict[str, Result] = {}
        for action, result in events_key_decisions(key_arn, policy, rule_arn, node.id).items():
            if result.decision.denied:
                denied[action] = result
            elif not result.allowed:
                uncertain.append((rule_arn, result))
        if not denied:
            continue
        findings.append(
            Finding(
                check="Q-KMS-2",
                resource=node.id,
                message=f"{node.name}'s key {key_arn} does not let EventBridge {' and '.join(denied)} for rule "
                f"{rule.name}: every delivery fails",
                evidence={
                    "rule": rule_arn,
                    "KmsMasterKeyId": key_id,
                    "KeyArn": key_arn,
                    "key_policy": json.loads(text) if text else None,
                    "decisions": {action: r.as_dict() for action, r in denied.items()},
                },
                fix=events_key_fix(key_arn, text, "AllowEventBridgeToUseTheKey"),
                related=(rule.id, key_arn),
            )
        )
    if not findings:
        undecided(uncertain, node)
    yield from findings


@check("Q-KMS-3", on="queue")
def queue_key_unusable(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """The queue's KMS key is disabled, pending deletion (or otherwise not Enabled), or gone."""
    key_id = ctx.queue_attributes(node).get("KmsMasterKeyId") or ""
    if not key_id:
        return
    metadata = _describe_key(ctx, key_id)
    if metadata is None:
        if _is_aws_managed_alias(key_id):
            raise NotChecked(f"{key_id} cannot be described here (not available from this endpoint)")
        yield Finding(
            check="Q-KMS-3",
            resource=node.id,
            message=f"{node.name}'s key {key_id} does not exist: nothing can be sent to or received from the queue",
            evidence={"KmsMasterKeyId": key_id, "DescribeKey": "NotFoundException"},
            fix=_sse_sqs_fix(url(node), "the key is gone"),
        )
        return
    state = str(metadata.get("KeyState") or "")
    if state == "Enabled" and metadata.get("Enabled", True):
        return
    key_arn = str(metadata.get("Arn") or key_id)
    summary, command = _UNUSABLE_FIXES.get(state, (f"make the key usable again (state {state})", None))
    # the key id names a key of this account (KMS takes an id or ARN; an ARN is needed only across accounts)
    same_account = (
        str(metadata.get("AWSAccountId") or "") == arn_parts(key_arn)[4] == (ctx.account or arn_parts(key_arn)[4])
    )
    key_ref = str(metadata.get("KeyId") or key_arn) if same_account else key_arn
    evidence = {"KmsMasterKeyId": key_id, "KeyArn": key_arn, "KeyState": state, "Enabled": metadata.get("Enabled")}
    if metadata.get("DeletionDate"):
        evidence["DeletionDate"] = str(metadata["DeletionDate"])
    yield Finding(
        check="Q-KMS-3",
        resource=node.id,
        message=f"{node.name}'s key {key_arn} is {state}: senders and the consumer fail",
        evidence=evidence,
        fix=Fix(
            summary=summary, value={"KeyState": "Enabled"}, command=command.format(key=key_ref) if command else None
        ),
        related=(key_arn,),
    )
