"""Request contexts for the pipeline's hops (pipeline-checks.md §3.3, "Request contexts to evaluate").

What a service principal's request carries: ``aws:SourceArn`` / ``aws:SourceAccount`` (present only when a service
principal calls a resource directly [IAM-GCK]), ``aws:PrincipalIsAWSService`` true, ``aws:PrincipalServiceName``,
``aws:SecureTransport`` true. The keys that describe an IAM caller or its network (org, account, ARN, tags, VPC,
source IP) are absent for it: declared in SERVICE_ABSENT_KEYS so that a negated condition on them is decided (true,
per the missing-key rule) instead of left unknown. Anything else (``kms:ViaService``, ``kms:EncryptionContext:*``,
``aws:CurrentTime``, ...) stays unknown unless the caller supplies it.
"""

from __future__ import annotations

SERVICE_ABSENT_KEYS = frozenset(
    {
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalTag/*",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:VpcSourceIp",
        "aws:MultiFactorAuthPresent",
        "aws:MultiFactorAuthAge",
        "aws:TokenIssueTime",
        "aws:ViaAWSService",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
    }
)


def _account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def service_context(source_arn: str | None, service: str = "events.amazonaws.com") -> dict[str, object]:
    """The context of a service principal calling on behalf of ``source_arn`` (an EventBridge rule's ARN)."""
    context: dict[str, object] = {
        "aws:PrincipalIsAWSService": True,
        "aws:PrincipalServiceName": service,
        "aws:SecureTransport": True,
    }
    if source_arn:
        context["aws:SourceArn"] = source_arn
        account = _account(source_arn)
        if account:
            context["aws:SourceAccount"] = account
    return context


def role_context(role_arn: str) -> dict[str, object]:
    """The context of a role's session calling an API (Lambda's execution role polling a queue)."""
    context: dict[str, object] = {
        "aws:PrincipalArn": role_arn,
        "aws:PrincipalIsAWSService": False,
        "aws:SecureTransport": True,
        "aws:PrincipalType": "AssumedRole",
    }
    account = _account(role_arn)
    if account:
        context["aws:PrincipalAccount"] = account
    return context
