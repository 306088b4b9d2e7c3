"""read_role_policies against moto's IAM: inline, managed (default version), boundary, trust; unreadable → NOT_CHECKED."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.core.iam import Decision, PolicyKind, Principal, Request, evaluate, read_role_policies, role_context
from evctl.errors import NotFoundError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@mock_aws
def test_reads_inline_managed_boundary_and_trust() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    boundary = iam.create_policy(
        PolicyName="boundary", PolicyDocument=_doc({"Effect": "Allow", "Action": ["sqs:*", "logs:*"], "Resource": "*"})
    )["Policy"]["Arn"]
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST), PermissionsBoundary=boundary)
    managed = iam.create_policy(
        PolicyName="sqs-read", PolicyDocument=_doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"})
    )["Policy"]["Arn"]
    # A second version becomes the default: the reader must use it, not v1.
    iam.create_policy_version(
        PolicyArn=managed,
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": "*"}
        ),
        SetAsDefault=True,
    )
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=managed)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="logs",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}),
    )

    policies = read_role_policies(iam, role["Role"]["Arn"])

    assert policies.arn == role["Role"]["Arn"]
    assert sorted(policy.name for policy in policies.identity) == ["inline policy logs", "managed policy sqs-read"]
    assert all(policy.kind is PolicyKind.IDENTITY and policy.error is None for policy in policies.identity)
    assert policies.boundary is not None and policies.boundary.kind is PolicyKind.BOUNDARY
    assert policies.trust is not None

    queue = "arn:aws:sqs:us-east-1:123456789012:orders"
    principal = Principal.of_arn(policies.arn)
    context = role_context(policies.arn)

    def decide(action: str) -> Decision:
        request = Request(principal, action, queue, context=context)
        return evaluate(request, policies.identity, policies.boundary).decision

    assert decide("sqs:DeleteMessage") is Decision.ALLOW  # from the default version (v2)
    assert decide("sqs:GetQueueAttributes") is Decision.IMPLICIT_DENY
    assert decide("logs:PutLogEvents") is Decision.ALLOW
    trust = Request(Principal.of_service("lambda.amazonaws.com"), "sts:AssumeRole", policies.arn)
    assert evaluate(trust, resource=policies.trust).decision is Decision.ALLOW


@mock_aws
def test_a_role_without_policies() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="bare", AssumeRolePolicyDocument=json.dumps(TRUST))
    policies = read_role_policies(iam, "bare")
    assert policies.identity == () and policies.boundary is None
    request = Request(Principal.of_arn(policies.arn), "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    assert evaluate(request, policies.identity).decision is Decision.IMPLICIT_DENY


@mock_aws
def test_a_missing_role_is_not_found() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    with pytest.raises(NotFoundError, match="role nope"):
        read_role_policies(iam, "nope")


@pytest.mark.parametrize("denied_call", ["list_role_policies", "get_role_policy", "list_attached_role_policies"])
def test_access_denied_on_a_read_becomes_not_checked(denied_call: str) -> None:
    """AccessDenied on any read: the decision is NOT_CHECKED naming what could not be read, never a pass."""
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    role_arn = "arn:aws:iam::123456789012:role/fn-role"
    denied = {"service_error_code": "AccessDenied", "service_message": "not authorized", "http_status_code": 403}
    with Stubber(iam) as stub:
        stub.add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/",
                    "RoleName": "fn-role",
                    "RoleId": "AROAEXAMPLE123456789",
                    "Arn": role_arn,
                    "CreateDate": "2026-01-01T00:00:00Z",
                    "AssumeRolePolicyDocument": json.dumps(TRUST),
                }
            },
        )
        if denied_call == "list_role_policies":
            stub.add_client_error("list_role_policies", **denied)
        else:
            stub.add_response("list_role_policies", {"PolicyNames": ["inline"], "IsTruncated": False})
            if denied_call == "get_role_policy":
                stub.add_client_error("get_role_policy", **denied)
            else:
                stub.add_response(
                    "get_role_policy",
                    {
                        "RoleName": "fn-role",
                        "PolicyName": "inline",
                        "PolicyDocument": _doc({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),
                    },
                )
        if denied_call == "list_attached_role_policies":
            stub.add_client_error("list_attached_role_policies", **denied)
        else:
            stub.add_response("list_attached_role_policies", {"AttachedPolicies": [], "IsTruncated": False})
        policies = read_role_policies(iam, "fn-role")
    unreadable = [policy for policy in policies.identity if policy.unreadable]
    assert len(unreadable) == 1 and "AccessDenied" in str(unreadable[0].error)
    request = Request(Principal.of_arn(role_arn), "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    result = evaluate(request, policies.identity)
    assert result.decision is Decision.NOT_CHECKED, result
    assert "not checked" in result.reason
