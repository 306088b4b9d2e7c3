"""May EventBridge, acting for a rule, send to this queue? The queue policy, and for SSE-KMS the key policy,
decided with evctl's offline IAM evaluator (evctl/core/iam, docs/iam.md).

AWS (sources in docs/sandbox.md, "What the sandbox enforces"):
- An SQS target is reached through the queue's resource policy: it must allow `events.amazonaws.com`
  `sqs:SendMessage` on the queue, usually with `aws:SourceArn` = the rule's ARN
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html).
- An SSE-KMS queue also needs the key policy to allow `events.amazonaws.com` `kms:GenerateDataKey` and
  `kms:Decrypt`; the AWS managed key `alias/aws/sqs` cannot be given that ("you must create a customer managed
  KMS key"), so an EventBridge delivery to such a queue always fails
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html). SSE-SQS needs no key policy.
- A FIFO target queue "must have content-based deduplication enabled" (PutTargets / Target.SqsParameters,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html).

The requests are the ones `evctl doctor` asks for Q-POLICY-* and Q-KMS-2 (evctl/core/iam/requests.py), with the
context SQS adds for the key (kms:ViaService, the encryption context). Pure: the caller reads the queue and the key
(moto's backends in the sandbox) into QueueView / KeyView.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evctl.core.iam import (
    EVENTS_KMS_ACTIONS,
    Decision,
    PolicyKind,
    evaluate,
    events_key_request,
    events_send_request,
    load_policy,
)
from evctl.sandbox.delivery.retry import INVALID_PARAMETER, NO_PERMISSIONS, NO_RESOURCE

EVENTS = "events.amazonaws.com"
AWS_MANAGED_SQS_ALIAS = "alias/aws/sqs"
KMS_ACTIONS = EVENTS_KMS_ACTIONS


@dataclass(frozen=True)
class QueueView:
    arn: str
    policy: str | None  # the queue's Policy attribute (JSON text), None when it has none
    kms_key_id: str | None = None  # KmsMasterKeyId as set: key id, key ARN, alias name or alias ARN
    fifo: bool = False
    content_based_dedup: bool = False


@dataclass(frozen=True)
class KeyView:
    arn: str
    policy: str
    manager: str = "CUSTOMER"  # KeyManager: AWS for AWS managed keys
    state: str = "Enabled"


@dataclass(frozen=True)
class Refusal:
    """Why a delivery fails: the DLQ's ERROR_CODE and ERROR_MESSAGE."""

    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    refusal: Refusal | None
    notes: tuple[str, ...] = ()  # what the evaluator could not decide (the delivery was let through)


def _is_aws_managed_alias(key_id: str) -> bool:
    return key_id == AWS_MANAGED_SQS_ALIAS or key_id.endswith(":" + AWS_MANAGED_SQS_ALIAS)


def check(queue: QueueView, rule_arn: str, find_key: Callable[[str], KeyView | None], *, fifo_target: bool) -> Verdict:
    """Would EventBridge's SendMessage for `rule_arn` to `queue` succeed? A Refusal when it would not.

    An INDETERMINATE evaluation (a condition on a key the sandbox cannot know) lets the delivery through, with a
    note: the sandbox refuses only what it can show AWS refuses.
    """
    notes: list[str] = []
    policy = load_policy(queue.policy, name="queue policy") if queue.policy else None
    result = evaluate(events_send_request(queue.arn, rule_arn), resource=policy)
    if result.decision.denied:
        return Verdict(Refusal(NO_PERMISSIONS, f"EventBridge may not sqs:SendMessage to {queue.arn}: {result.reason}"))
    if result.decision is not Decision.ALLOW:
        notes.append(f"queue policy: {result.reason}")
    if queue.kms_key_id:
        refusal = _key_refusal(queue, rule_arn, find_key, notes)
        if refusal is not None:
            return Verdict(refusal, tuple(notes))
    if fifo_target and queue.fifo and not queue.content_based_dedup:
        return Verdict(
            Refusal(
                INVALID_PARAMETER,
                f"{queue.arn} is a FIFO queue without content-based deduplication; EventBridge sends no "
                "MessageDeduplicationId",
            ),
            tuple(notes),
        )
    return Verdict(None, tuple(notes))


def _key_refusal(
    queue: QueueView, rule_arn: str, find_key: Callable[[str], KeyView | None], notes: list[str]
) -> Refusal | None:
    key_id = queue.kms_key_id or ""
    if _is_aws_managed_alias(key_id):
        return Refusal(
            NO_PERMISSIONS,
            f"{queue.arn} is encrypted with the AWS managed key {AWS_MANAGED_SQS_ALIAS}, whose key policy cannot "
            "allow events.amazonaws.com (use SSE-SQS or a customer managed key)",
        )
    key = find_key(key_id)
    if key is None:
        return Refusal(NO_RESOURCE, f"the KMS key {key_id} of {queue.arn} does not exist")
    if key.manager == "AWS":
        return Refusal(
            NO_PERMISSIONS,
            f"{queue.arn} is encrypted with the AWS managed key {key.arn}, whose key policy cannot allow "
            "events.amazonaws.com",
        )
    if key.state != "Enabled":
        return Refusal(INVALID_PARAMETER, f"the KMS key {key.arn} of {queue.arn} is {key.state}")
    key_policy = load_policy(key.policy, name="key policy", kind=PolicyKind.KEY)
    for action in KMS_ACTIONS:
        result = evaluate(events_key_request(action, key.arn, rule_arn, queue.arn), resource=key_policy)
        if result.decision.denied:
            return Refusal(
                NO_PERMISSIONS, f"EventBridge may not {action} with {key.arn} (key of {queue.arn}): {result.reason}"
            )
        if result.decision is not Decision.ALLOW:
            notes.append(f"key policy, {action}: {result.reason}")
    return None
