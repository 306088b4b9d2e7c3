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

Pure functions and frozen dataclasses; nothing here prints or calls AWS except ``read_role_policies``. What it
decides and what it does not (SCPs, RCPs, KMS grants, session policies): docs/iam.md.
"""

from __future__ import annotations

from .context import SERVICE_ABSENT_KEYS, role_context, service_context
from .decide import evaluate
from .gather import RolePolicies, read_role_policies
from .model import Decision, Policy, PolicyKind, Principal, Request, Result, StatementRef
from .parse import load_policy

__all__ = [
    "SERVICE_ABSENT_KEYS",
    "Decision",
    "Policy",
    "PolicyKind",
    "Principal",
    "Request",
    "Result",
    "RolePolicies",
    "StatementRef",
    "evaluate",
    "load_policy",
    "read_role_policies",
    "role_context",
    "service_context",
]
