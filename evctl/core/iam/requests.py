"""The pipeline's IAM questions, built in one place: `evctl doctor` (I-SQS-1, I-KMS-1, I-LOGS-1, L-GROUP-1,
Q-POLICY-*, Q-KMS-2) and the sandbox's enforcement (the runner's gate, the rule → SQS delivery) ask the same ones.

    evaluate(poller_requests(role_arn, queue_arn)["sqs:ReceiveMessage"], role.identity, role.boundary, queue_policy)
    evaluate(events_send_request(queue_arn, rule_arn), resource=queue_policy)

Only the requests (principal, action, resource, context) live here; each caller evaluates them against the policies
it read and decides what a DENY means for it.
"""

from __future__ import annotations

from .context import SERVICE_ABSENT_KEYS, role_context, service_context
from .model import Principal, Request

EVENTS = "events.amazonaws.com"
# What Lambda's SQS poller does with the function's role (Lambda developer guide, with-sqs: "Execution role
# permissions"); the doctor's I-SQS-1 and the sandbox runner's gate.
POLLER_SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
EVENTS_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def role_request(role_arn: str, action: str, resource: str, extra: dict[str, object] | None = None) -> Request:
    """A request made with a role's session (the function's execution role), `extra` context keys added."""
    context = role_context(role_arn)
    if extra:
        context = context | extra
    return Request(Principal.of_arn(role_arn), action, resource, context=context)


def poller_requests(role_arn: str, queue_arn: str) -> dict[str, Request]:
    """The SQS calls the event source mapping makes with the role, one request per action."""
    return {action: role_request(role_arn, action, queue_arn) for action in POLLER_SQS_ACTIONS}


def poller_decrypt_request(role_arn: str, key_arn: str, region: str, caller_account: str | None) -> Request:
    """kms:Decrypt on the queue's key, through SQS in `region` (kms:ViaService), for the poller."""
    extra: dict[str, object] = {"kms:ViaService": f"sqs.{region}.amazonaws.com"}
    if caller_account:
        extra["kms:CallerAccount"] = caller_account
    return role_request(role_arn, "kms:Decrypt", key_arn, extra)


def log_write_requests(role_arn: str, group_arn: str) -> dict[str, Request]:
    """Writing the function's logs into `group_arn` (arn:aws:logs:r:a:log-group:NAME): stream and events."""
    resources = {"logs:CreateLogStream": f"{group_arn}:*", "logs:PutLogEvents": f"{group_arn}:log-stream:*"}
    return {action: role_request(role_arn, action, resource) for action, resource in resources.items()}


def create_log_group_request(role_arn: str, group_arn: str) -> Request:
    """Creating the missing log group (Lambda does it on the first invocation when the role may)."""
    return role_request(role_arn, "logs:CreateLogGroup", f"{group_arn}:*")


def events_send_request(queue_arn: str, rule_arn: str) -> Request:
    """EventBridge's SendMessage to an SQS target, on behalf of `rule_arn` (decided by the queue policy)."""
    return Request(
        Principal.of_service(EVENTS),
        "sqs:SendMessage",
        queue_arn,
        context=service_context(rule_arn),
        absent=SERVICE_ABSENT_KEYS,
    )


def events_key_request(action: str, key_arn: str, rule_arn: str, queue_arn: str | None = None) -> Request:
    """EventBridge using an SSE-KMS queue's key for `rule_arn` (decided by the key policy). With `queue_arn`, the
    context SQS adds for the queue (kms:ViaService, the encryption context) is known too."""
    context = service_context(rule_arn)
    if queue_arn is not None:
        region = queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else ""
        context |= {
            "kms:ViaService": f"sqs.{region}.amazonaws.com",
            "kms:EncryptionContext:aws:sqs:arn": queue_arn,
        }
    return Request(Principal.of_service(EVENTS), action, key_arn, context=context, absent=SERVICE_ABSENT_KEYS)
