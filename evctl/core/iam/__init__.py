"""An offline IAM policy evaluator: does this principal get to do this action on this resource?

    queue_policy = load_policy(attributes["Policy"], name="queue policy")          # JSON text or dict
    request = Request(Principal.of_service("events.amazonaws.com"), "sqs:SendMessage", queue_arn,
                      context=service_context(rule_arn), absent=SERVICE_ABSENT_KEYS)
    result = evaluate(request, resource=queue_policy)
    result.decision          # Decision.ALLOW / EXPLICIT_DENY / IMPLICIT_DENY / INDETERMINATE / NOT_CHECKED
    result.reason, result.deciding, result.near_misses, result.unknown_keys

    role = read_role_policies(iam_client, "my-role")  # RolePolicies: identity policies, boundary (moto-tested)
    evaluate(Request(Principal.of_arn(role.arn), "sqs:ReceiveMessage", queue_arn), role.identity, role.boundary,
             load_policy(queue_policy_text))

The pipeline's own questions (the poller's SQS/KMS calls, the function's logs, EventBridge's delivery) are built
by requests.py, for the doctor's checks and the sandbox's enforcement alike:

    results = {a: evaluate(r, role.identity, role.boundary, queue_policy) for a, r in poller_requests(arn, q).items()}

Pure functions and frozen dataclasses; nothing here prints or calls AWS except ``read_role_policies``. What it
decides and what it does not (SCPs, RCPs, KMS grants, session policies): docs/iam.md.
"""

from __future__ import annotations

from .context import SERVICE_ABSENT_KEYS, role_context, service_context
from .decide import evaluate
from .gather import RolePolicies, read_role_policies
from .model import Decision, Policy, PolicyKind, Principal, Request, Result, StatementRef
from .parse import load_policy
from .requests import (
    EVENTS_KMS_ACTIONS,
    LOG_WRITE_ACTIONS,
    POLLER_SQS_ACTIONS,
    create_log_group_request,
    events_key_request,
    events_send_request,
    log_write_requests,
    poller_decrypt_request,
    poller_requests,
    role_request,
)

__all__ = [
    "EVENTS_KMS_ACTIONS",
    "LOG_WRITE_ACTIONS",
    "POLLER_SQS_ACTIONS",
    "SERVICE_ABSENT_KEYS",
    "Decision",
    "Policy",
    "PolicyKind",
    "Principal",
    "Request",
    "Result",
    "RolePolicies",
    "StatementRef",
    "create_log_group_request",
    "evaluate",
    "events_key_request",
    "events_send_request",
    "load_policy",
    "log_write_requests",
    "poller_decrypt_request",
    "poller_requests",
    "read_role_policies",
    "role_context",
    "role_request",
    "service_context",
]
