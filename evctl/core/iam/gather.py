"""Reading a role's policies from IAM: inline, attached managed (default version), and the permissions boundary.

The one module of the package that calls AWS. A policy that cannot be read (AccessDenied, or a managed policy that
does not exist) becomes ``Policy.not_read``, so the decision says NOT_CHECKED and why, never a silent pass. A role
that does not exist raises the usual NotFoundError; any other AWS failure raises through ``from_aws``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from evctl.errors import error_code, from_aws

from .model import Policy, PolicyKind
from .parse import load_policy

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


@dataclass(frozen=True)
class RolePolicies:
    """What IAM says about a role: its ARN, identity policies, boundary (None: none set) and trust policy."""

    name: str
    arn: str
    identity: tuple[Policy, ...]
    boundary: Policy | None
    trust: Policy | None


def _unreadable(exc: ClientError, what: str, kind: PolicyKind) -> Policy:
    code = error_code(exc)
    if code in _DENIED:
        return Policy.not_read(what, kind, f"{code}: {exc.response.get('Error', {}).get('Message', '')}".strip())
    if code.startswith("NoSuch"):
        return Policy.not_read(what, kind, f"{code}: it does not exist")
    raise from_aws(exc, what) or exc


def _managed(iam: IAMClient, arn: str, kind: PolicyKind) -> Policy:
    name = f"managed policy {arn.rsplit('/', 1)[-1]}"
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"].get("DefaultVersionId", "v1")
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"].get("Document")
    except ClientError as exc:
        return _unreadable(exc, name, kind)
    return load_policy(document, name=name, kind=kind)


def read_role_policies(iam: IAMClient, role_name: str) -> RolePolicies:
    """Every policy that decides what ``role_name`` may do (a role ARN is accepted too)."""
    role_name = role_name.rsplit("/", 1)[-1] if role_name.startswith("arn:") else role_name
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as exc:
        raise from_aws(exc, f"role {role_name}") or exc from exc
    identity: list[Policy] = []
    try:
        names = [
            name
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name)
            for name in page["PolicyNames"]
        ]
    except ClientError as exc:
        identity.append(_unreadable(exc, "inline policies", PolicyKind.IDENTITY))
        names = []
    for name in names:
        try:
            document: object = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        except ClientError as exc:
            identity.append(_unreadable(exc, f"inline policy {name}", PolicyKind.IDENTITY))
            continue
        identity.append(load_policy(document, name=f"inline policy {name}", kind=PolicyKind.IDENTITY))
    try:
        attached = [
            item["PolicyArn"]
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
            for item in page["AttachedPolicies"]
            if "PolicyArn" in item
        ]
    except ClientError as exc:
        identity.append(_unreadable(exc, "attached policies", PolicyKind.IDENTITY))
        attached = []
    identity.extend(_managed(iam, arn, PolicyKind.IDENTITY) for arn in attached)
    boundary_arn = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    boundary = _managed(iam, boundary_arn, PolicyKind.BOUNDARY) if boundary_arn else None
    trust_document = role.get("AssumeRolePolicyDocument")
    trust = load_policy(trust_document, "trust policy", PolicyKind.RESOURCE) if trust_document else None
    return RolePolicies(role_name, role["Arn"], tuple(identity), boundary, trust)
