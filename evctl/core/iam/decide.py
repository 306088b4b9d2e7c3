"""Whether a statement applies to a request, and the decision over all the policies that bear on it.

Decision rules (pipeline-checks.md §3.3, from the IAM policy evaluation logic pages and the KMS key policy page):
1. An applicable Deny in any policy: EXPLICIT_DENY.
2. A service principal: allowed iff the resource policy has an applicable Allow naming it (or "*").
3. An IAM principal, same account: (identity Allow and, if a boundary exists, boundary Allow) or a resource-policy
   Allow naming the principal itself.
4. Cross-account: (identity Allow, boundary) and a resource-policy Allow naming the principal or its account.
5. A KMS key policy: it must allow the principal directly, or name the account (the IAM delegation statement) and
   then the identity side must allow too; without either, IAM Allows have no effect.
Anything unknown (keys, policy variables, malformed statements, unreadable policies) that could change the answer
makes it INDETERMINATE (or NOT_CHECKED when a policy could not be read), never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .conditions import ConditionError, ContextView, evaluate_condition
from .match import ACCOUNT, ANY, DIRECT, action_matches, principal_match, resource_matches
from .model import (
    Decision,
    Policy,
    PolicyKind,
    Request,
    Result,
    Statement,
    StatementRef,
    Tri,
    tri_and,
    tri_or,
)


@dataclass(frozen=True)
class Applicability:
    """Whether one statement applies, how its Principal matched, and what kept it from being certain."""

    policy: Policy
    statement: Statement
    applies: Tri
    principal: str | None = None  # ANY / DIRECT / ACCOUNT for resource policies
    unknown_keys: tuple[str, ...] = ()
    near_miss: str = ""  # evidence when everything but the conditions matched
    note: str = ""

    def ref(self, note: str | None = None) -> StatementRef:
        return StatementRef(
            policy=self.policy.name,
            kind=self.policy.kind,
            statement=self.statement.label,
            effect=self.statement.effect or "?",
            note=self.note if note is None else note,
        )


def _tri_not(value: Tri) -> Tri:
    return None if value is None else not value


def statement_applies(
    statement: Statement, policy: Policy, request: Request, view: ContextView, has_boundary: bool = False
) -> Applicability:
    """Does ``statement`` (of ``policy``) apply to ``request``? Never raises."""
    if statement.error is not None:
        return Applicability(policy, statement, None, note=f"cannot be evaluated: {statement.error}")
    if statement.actions is not None:
        action: Tri = action_matches(statement.actions, request.action)
    else:
        action = not action_matches(statement.not_actions or (), request.action)
    if statement.resources is not None:
        resource = resource_matches(statement.resources, request.resource, statement.variables)
    elif statement.not_resources is not None:
        resource = _tri_not(resource_matches(statement.not_resources, request.resource, statement.variables))
    else:
        resource = True  # a resource policy without Resource means this resource
    principal: Tri = True
    matched: str | None = None
    if policy.kind in (PolicyKind.RESOURCE, PolicyKind.KEY):
        if statement.principals is not None:
            matched = principal_match(statement.principals, request.principal)
            principal = matched is not None
        elif statement.not_principals is not None:
            # A Deny with NotPrincipal always denies a principal that has a permissions boundary [IAM NotPrincipal].
            excluded = principal_match(statement.not_principals, request.principal) is not None
            principal = (has_boundary and not request.principal.is_service) or not excluded
            matched = ANY
    if False in (action, resource, principal):
        return Applicability(policy, statement, False, principal=matched)
    outcomes = []
    for condition in statement.conditions:
        try:
            outcomes.append(evaluate_condition(condition, view, statement.variables))
        except ConditionError as exc:
            return Applicability(policy, statement, None, principal=matched, note=f"invalid condition: {exc}")
    conditions = tri_and(*(outcome.value for outcome in outcomes))
    unknown = tuple(outcome.unknown_key for outcome in outcomes if outcome.unknown_key)
    failed = "; ".join(outcome.evidence for outcome in outcomes if outcome.value is False)
    applies = tri_and(action, resource, principal, conditions)
    near_miss = failed if conditions is False and tri_and(action, resource, principal) is True else ""
    note = f"unknown: {', '.join(unknown)}" if applies is None and unknown else ""
    if applies is None and not unknown:
        note = "depends on a policy variable in Resource"
    return Applicability(policy, statement, applies, matched, unknown, near_miss, note)


def _side(rows: Iterable[Applicability], principals: Sequence[str | None] | None = None) -> Tri:
    """Whether some Allow among ``rows`` applies (restricted to how the Principal matched, for resource policies)."""
    values: list[Tri] = []
    for row in rows:
        if row.statement.effect == "Deny":
            continue
        if principals is not None and row.statement.error is None and row.principal not in principals:
            continue
        values.append(row.applies)
    return tri_or(*values)


def _policy_side(policies: Sequence[Policy], rows: list[Applicability], principals: Sequence[str | None] | None) -> Tri:
    broken = [policy for policy in policies if policy.error is not None]
    mine = [row for row in rows if any(row.policy is policy for policy in policies)]
    return tri_or(_side(mine, principals), *(None for _ in broken))


def _account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def evaluate(
    request: Request,
    identity: Sequence[Policy] = (),
    boundary: Policy | None = None,
    resource: Policy | None = None,
) -> Result:
    """Decide ``request`` against the principal's identity policies, its boundary and the resource's policy.

    ``resource`` of kind KEY is read as a KMS key policy (rule 5). Pure: no AWS calls, never raises.
    """
    view = ContextView(request)
    has_boundary = boundary is not None
    policies = [*identity, *([boundary] if boundary else []), *([resource] if resource else [])]
    rows = [
        statement_applies(statement, policy, request, view, has_boundary)
        for policy in policies
        if policy.error is None
        for statement in policy.statements
    ]
    broken = [policy for policy in policies if policy.error is not None]
    unknown_keys = tuple(sorted({key for row in rows if row.applies is None for key in row.unknown_keys}))
    near = tuple(row.ref(row.near_miss) for row in rows if row.near_miss and row.statement.effect == "Allow")
    denies = [row for row in rows if row.statement.effect == "Deny" and row.applies is True]
    if denies:
        names = ", ".join(f"{row.policy.name} {row.statement.label}" for row in denies)
        return Result(
            Decision.EXPLICIT_DENY,
            f"explicitly denied by {names}",
            tuple(row.ref() for row in denies),
            near,
            unknown_keys=unknown_keys,
        )
    uncertain = tuple(row.ref() for row in rows if row.applies is None)
    maybe_deny = bool(broken) or any(row.applies is None and row.statement.effect != "Allow" for row in rows)
    notes: list[str] = [f"{policy.name} ({policy.kind.value}): {policy.error}" for policy in broken]
    allow, reason = _allow(request, identity, boundary, resource, rows, notes)
    if allow is False:
        decision = Decision.IMPLICIT_DENY
        if near:
            reason += f" ({len(near)} Allow statement(s) match but for a condition)"
    elif allow is True and not maybe_deny:
        decision = Decision.ALLOW
    else:
        decision = Decision.NOT_CHECKED if any(policy.unreadable for policy in broken) else Decision.INDETERMINATE
        reason = _uncertain_reason(decision, broken, unknown_keys, allow, uncertain)
    deciding: tuple[StatementRef, ...] = ()
    if decision is Decision.ALLOW:
        allowing = [row for row in rows if row.applies is True and row.statement.effect == "Allow"]
        deciding = tuple(row.ref() for row in allowing)
        reason = "allowed by " + ", ".join(f"{row.policy.name} {row.statement.label}" for row in allowing)
    return Result(decision, reason, deciding, near, uncertain, unknown_keys, tuple(notes))


def _uncertain_reason(
    decision: Decision,
    broken: list[Policy],
    unknown_keys: tuple[str, ...],
    allow: Tri,
    uncertain: tuple[StatementRef, ...],
) -> str:
    if decision is Decision.NOT_CHECKED:
        names = ", ".join(f"{policy.name} ({policy.error})" for policy in broken if policy.unreadable)
        return f"not checked: could not read {names}"
    parts = []
    if unknown_keys:
        parts.append(f"depends on {', '.join(unknown_keys)}")
    if broken:
        parts.append("malformed: " + ", ".join(f"{policy.name} ({policy.error})" for policy in broken))
    parts.extend(str(ref) for ref in uncertain if ref.note and not ref.note.startswith("unknown:"))
    if not parts:
        parts.append("a statement that cannot be evaluated might apply")
    head = "allowed unless an uncertain Deny applies" if allow is True else "cannot decide"
    return f"{head}: {'; '.join(parts)}"


def _allow(
    request: Request,
    identity: Sequence[Policy],
    boundary: Policy | None,
    resource: Policy | None,
    rows: list[Applicability],
    notes: list[str],
) -> tuple[Tri, str]:
    """Whether the Allow side holds under rules 2-5, and the reason when it does not."""
    who, what = request.principal, f"{request.action} on {request.resource}"
    resources = [resource] if resource else []
    direct = _policy_side(resources, rows, (ANY, DIRECT))
    via_account = _policy_side(resources, rows, (ACCOUNT,))
    if who.is_service:
        notes.append("SCPs and RCPs are not evaluated")
        if resource is None:
            return False, f"{who} is allowed only by a resource policy, and there is none"
        return direct, f"no statement of {resource.name} allows {who} to {what}"
    id_allow = _policy_side(identity, rows, None)
    bound = True if boundary is None else _policy_side([boundary], rows, None)
    identity_ok = tri_and(id_allow, bound)
    resource_account = _account_of(request.resource)
    cross = bool(resource_account and who.account and resource_account != who.account)
    if id_allow is False:
        identity_reason = f"no identity policy allows {who} {what}"
    else:
        identity_reason = f"the permissions boundary {boundary.name if boundary else ''} does not allow {what}"
    if resource is not None and resource.kind is PolicyKind.KEY:
        notes.append("KMS grants are not evaluated")
        if cross:
            allow = tri_and(identity_ok, tri_or(direct, via_account))
        else:
            allow = tri_or(direct, tri_and(via_account, identity_ok))
        if allow is False:
            if direct is False and via_account is False:
                return False, f"the key policy neither allows {who} nor enables IAM policies for account {who.account}"
            return False, f"the key policy delegates to IAM, but {identity_reason}"
        return allow, ""
    if cross:
        allow = tri_and(identity_ok, tri_or(direct, via_account))
        if allow is False and identity_ok is not False:
            return False, f"cross-account: {resource.name if resource else 'no resource policy'} does not allow {who}"
        return allow, identity_reason
    if direct is True and boundary is not None and identity_ok is not True:
        notes.append("allowed only by the resource policy while a permissions boundary exists: low confidence")
    return tri_or(identity_ok, direct), identity_reason
