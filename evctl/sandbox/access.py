"""What a function's execution role lets the event source mapping and the function's logs do, decided by evctl's
offline IAM evaluator (evctl.core.iam) over the sandbox's IAM, queue policy and key policy.

The questions are the ones `evctl doctor` asks (I-SQS-1, I-KMS-1, I-LOGS-1), with the same resources and contexts:
- the poller: sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes on the queue (identity policies with
  the boundary, or the queue policy naming the role); kms:Decrypt on the queue's customer managed key (the key policy
  must allow the role or delegate to IAM; the AWS managed key alias/aws/sqs needs nothing);
- the logs: logs:CreateLogStream and logs:PutLogEvents on the function's log group, logs:CreateLogGroup as well
  while the group is missing.

Only a DENY (explicit or implicit) stops anything; an answer evctl cannot decide (a condition on a key it does not
know) lets the runner go on, with the reason kept as a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.core.iam import (
    POLLER_SQS_ACTIONS,
    Decision,
    Policy,
    PolicyKind,
    Principal,
    RolePolicies,
    create_log_group_request,
    evaluate,
    load_policy,
    log_write_requests,
    poller_decrypt_request,
    poller_requests,
)

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

SQS_ACTIONS = POLLER_SQS_ACTIONS
AWS_MANAGED_SQS_KEY = "alias/aws/sqs"


def sqs_problem_text(action: str) -> str:
    """The words AWS uses when it refuses a mapping for this (CreateEventSourceMapping, InvalidParameterValueException:
    "The function execution role does not have permissions to call ReceiveMessage on SQS"; the older wording said
    "The provided execution role")."""
    return f"The function execution role does not have permissions to call {action.split(':', 1)[1]} on SQS"


@dataclass(frozen=True)
class Access:
    """The role's verdict: why the mapping cannot poll (None: it can), whether the function's logs are written."""

    poll_problem: str | None = None
    logs_allowed: bool = True
    may_create_group: bool = True
    denied: tuple[str, ...] = ()  # the actions refused, e.g. ("sqs:ReceiveMessage", "logs:PutLogEvents")
    notes: tuple[str, ...] = field(default_factory=tuple)  # undecided answers (treated as allowed)

    @property
    def polls(self) -> bool:
        return self.poll_problem is None


def _key_policy(kms: KMSClient | None, key_id: str) -> tuple[str, Any] | None:
    """(key ARN, key policy) for a customer managed key; None for an AWS managed one."""
    if key_id == AWS_MANAGED_SQS_KEY or key_id.endswith(":" + AWS_MANAGED_SQS_KEY) or kms is None:
        return None
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    if metadata.get("KeyManager") == "AWS":
        return None
    key_arn = str(metadata.get("Arn") or key_id)
    policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default").get("Policy")
    return key_arn, load_policy(policy, name="key policy", kind=PolicyKind.KEY)


def sqs_denials(role: RolePolicies, queue_arn: str, queue_policy: Policy | None) -> tuple[list[str], list[str]]:
    """(the poller's SQS actions the role is denied on the queue, notes on those left undecided)."""
    denied: list[str] = []
    notes: list[str] = []
    for action, request in poller_requests(role.arn, queue_arn).items():
        result = evaluate(request, role.identity, role.boundary, queue_policy)
        if result.decision.denied:
            denied.append(action)
        elif result.decision is not Decision.ALLOW:
            notes.append(f"{action}: {result.reason}")
    return denied, notes


def decide(
    role: RolePolicies,
    queue_arn: str,
    queue_attributes: dict[str, str],
    log_group_arn: str,
    log_group_exists: bool,
    kms: KMSClient | None = None,
) -> Access:
    """The verdict for `role` polling `queue_arn` and writing to `log_group_arn` (arn:aws:logs:r:a:log-group:NAME)."""
    principal = Principal.of_arn(role.arn)
    policy_text = queue_attributes.get("Policy")
    queue_policy = load_policy(policy_text, name="queue policy") if policy_text else None
    denied, notes = sqs_denials(role, queue_arn, queue_policy)
    problem = sqs_problem_text(denied[0]) if denied else None

    key_id = queue_attributes.get("KmsMasterKeyId")
    keyed = _key_policy(kms, key_id) if key_id else None
    if keyed is not None:
        key_arn, key_policy = keyed
        region = key_arn.split(":")[3] if key_arn.startswith("arn:") else ""
        request = poller_decrypt_request(role.arn, key_arn, region, principal.account)
        result = evaluate(request, role.identity, role.boundary, key_policy)
        if result.decision.denied:
            denied.append("kms:Decrypt")
            problem = problem or (
                f"The function execution role does not have permissions to call Decrypt on KMS key {key_arn}"
            )
        elif result.decision is not Decision.ALLOW:
            notes.append(f"kms:Decrypt: {result.reason}")

    logs_allowed = True
    for action, request in log_write_requests(role.arn, log_group_arn).items():
        if evaluate(request, role.identity, role.boundary).decision.denied:
            denied.append(action)
            logs_allowed = False
    create = evaluate(create_log_group_request(role.arn, log_group_arn), role.identity, role.boundary)
    may_create_group = not create.decision.denied
    if not log_group_exists and not may_create_group:
        denied.append("logs:CreateLogGroup")
        logs_allowed = False
    return Access(problem, logs_allowed, may_create_group, tuple(denied), tuple(notes))
