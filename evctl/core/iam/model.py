"""The evaluator's data: a request, normalised policies and statements, and the decision with its evidence.

Three-valued logic runs through the package: a check is True, False or None (unknown: a context key nobody
supplied, a policy variable, a malformed statement). Unknown never becomes a silent pass or a silent fail.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# Kleene three-valued truth: True, False, or None for "cannot tell".
Tri = bool | None


def tri_and(*values: Tri) -> Tri:
    """False if any is False, else None if any is unknown, else True."""
    if any(value is False for value in values):
        return False
    if any(value is None for value in values):
        return None
    return True


def tri_or(*values: Tri) -> Tri:
    """True if any is True, else None if any is unknown, else False."""
    if any(value is True for value in values):
        return True
    if any(value is None for value in values):
        return None
    return False


class PolicyKind(enum.Enum):
    IDENTITY = "identity"  # inline or managed policy of the principal
    BOUNDARY = "boundary"  # the principal's permissions boundary
    RESOURCE = "resource"  # queue policy, bus policy, role trust policy, ...
    KEY = "key"  # a KMS key policy (a resource policy with the IAM-delegation rule)


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    INDETERMINATE = "indeterminate"
    NOT_CHECKED = "not_checked"  # a policy could not be read (AccessDenied and the like)

    @property
    def denied(self) -> bool:
        return self in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)


@dataclass(frozen=True)
class Principal:
    """Who makes the request: an AWS service (``events.amazonaws.com``) or an IAM principal by ARN."""

    service: str | None = None
    arn: str | None = None

    @classmethod
    def of_service(cls, name: str) -> Principal:
        return cls(service=name)

    @classmethod
    def of_arn(cls, arn: str) -> Principal:
        return cls(arn=arn)

    @property
    def is_service(self) -> bool:
        return self.service is not None

    @property
    def account(self) -> str | None:
        if self.arn is None:
            return None
        parts = self.arn.split(":", 5)
        return parts[4] if len(parts) == 6 and parts[4] else None

    def __str__(self) -> str:
        return self.service if self.service is not None else str(self.arn)


@dataclass(frozen=True)
class Request:
    """One request to decide: principal, action, resource ARN and the request context.

    ``context`` maps condition keys (any case) to a value or a list of values (multi-valued keys); booleans and
    numbers are accepted and compared as AWS prints them. ``absent`` names keys known NOT to be in the request
    (a trailing ``*`` covers a key family, e.g. ``aws:PrincipalTag/*``). A key neither given nor known absent is
    unknown: a condition on it makes the statement indeterminate, unless ``closed`` says every other key is absent.
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, object] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()
    closed: bool = False


@dataclass(frozen=True)
class Condition:
    """One operator/key pair of a Condition block, values as written (strings)."""

    operator: str
    key: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        shown = self.values[0] if len(self.values) == 1 else list(self.values)
        return f"{self.operator} {self.key} {shown}"


@dataclass(frozen=True)
class Statement:
    """A statement with every element normalised to tuples (a missing element is None)."""

    index: int
    sid: str | None
    effect: str  # "Allow" or "Deny" ("" when malformed)
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: Mapping[str, tuple[str, ...]] | None = None
    not_principals: Mapping[str, tuple[str, ...]] | None = None
    conditions: tuple[Condition, ...] = ()
    variables: bool = True  # Version 2012-10-17: ${...} are policy variables
    error: str | None = None  # why the statement cannot be evaluated
    raw: object = None

    @property
    def label(self) -> str:
        return f"Sid {self.sid!r}" if self.sid else f"statement #{self.index}"


@dataclass(frozen=True)
class Policy:
    """A normalised policy document. ``error`` is set when it could not be read or parsed as a whole."""

    name: str
    kind: PolicyKind
    statements: tuple[Statement, ...] = ()
    error: str | None = None
    unreadable: bool = False  # error came from reading it (AccessDenied), not from its content

    @classmethod
    def not_read(cls, name: str, kind: PolicyKind, reason: str) -> Policy:
        """A policy that could not be read: the decision becomes NOT_CHECKED unless something denies anyway."""
        return cls(name=name, kind=kind, error=reason, unreadable=True)


@dataclass(frozen=True)
class StatementRef:
    """A statement named in a decision: which policy, which statement, and what about it mattered."""

    policy: str
    kind: PolicyKind
    statement: str  # "Sid 'X'" or "statement #2"
    effect: str
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.policy} ({self.kind.value}) {self.statement} [{self.effect}]"
        return f"{text}: {self.note}" if self.note else text


@dataclass(frozen=True)
class Result:
    """The decision, the statements that decided it, and what kept it from being certain."""

    decision: Decision
    reason: str
    deciding: tuple[StatementRef, ...] = ()
    near_misses: tuple[StatementRef, ...] = ()  # Allows that match but for a condition (Q-POLICY-2's evidence)
    uncertain: tuple[StatementRef, ...] = ()  # statements that might apply (unknown keys, variables, errors)
    unknown_keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON evidence (a doctor finding's ``evidence``)."""

        def refs(items: tuple[StatementRef, ...]) -> list[dict[str, str]]:
            return [
                {"policy": ref.policy, "kind": ref.kind.value, "statement": ref.statement, "effect": ref.effect}
                | ({"note": ref.note} if ref.note else {})
                for ref in items
            ]

        return {
            "decision": self.decision.value,
            "reason": self.reason,
            "deciding": refs(self.deciding),
            "near_misses": refs(self.near_misses),
            "uncertain": refs(self.uncertain),
            "unknown_keys": list(self.unknown_keys),
            "notes": list(self.notes),
        }
