"""Matching a request's action, resource and principal against a statement's elements.

Globs: ``*`` is any run of characters, ``?`` one character; in policies of Version 2012-10-17 ``${*}``, ``${?}``
and ``${$}`` are those characters literally, and any other ``${...}`` is a policy variable, which this evaluator
does not resolve: a match that depends on one is unknown (None), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from .model import Principal, Tri, tri_or

_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}
_TOKEN = re.compile(r"\$\{[*?$]\}|\$\{[^}]*\}|[*?]|[^*?$]+|\$")


@lru_cache(maxsize=4096)
def glob_regex(pattern: str, variables: bool = True, ignore_case: bool = False) -> re.Pattern[str] | None:
    """The compiled regex of an IAM glob, or None when it holds a policy variable."""
    parts: list[str] = []
    for token in _TOKEN.findall(pattern):
        if token == "*":
            parts.append(".*")
        elif token == "?":
            parts.append(".")
        elif variables and token in _ESCAPES:
            parts.append(re.escape(_ESCAPES[token]))
        elif variables and token.startswith("${"):
            return None
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def has_variable(value: str) -> bool:
    """Whether a value holds a policy variable (other than the three escapes)."""
    return glob_regex(value) is None


def glob_match(pattern: str, value: str, variables: bool = True, ignore_case: bool = False) -> Tri:
    regex = glob_regex(pattern, variables, ignore_case)
    if regex is None:
        return None
    return regex.fullmatch(value) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    """Service prefix and action name compare case-insensitively; ``*`` and ``?`` glob."""
    return any(glob_match(pattern, action, variables=False, ignore_case=True) for pattern in patterns)


def arn_match(pattern: str, arn: str, variables: bool = True) -> Tri:
    """ARN glob matching per colon-separated component; the resource part's ``*`` may span ``/`` and ``:``."""
    if pattern == "*":
        return True
    wanted = pattern.split(":", 5)
    given = arn.split(":", 5)
    if len(wanted) < 6 or len(given) < 6:
        return glob_match(pattern, arn, variables)
    results = [glob_match(want, have, variables) for want, have in zip(wanted, given, strict=True)]
    if any(result is False for result in results):
        return False
    return None if any(result is None for result in results) else True


@lru_cache(maxsize=4096)
def resource_regex(pattern: str, variables: bool = True) -> re.Pattern[str] | None:
    """The regex of a Resource/NotResource ARN pattern, or None when it holds a policy variable.

    Wildcards stay within a colon-separated segment, except that a ``*`` that ends a segment "can expand to match
    beyond the colon boundaries" (the IAM Resource element page), so ``...:log-group:name:*`` covers the group's
    streams and ``arn:aws:sqs:us-east-1:*`` every queue of the region.
    """
    parts: list[str] = []
    tokens = _TOKEN.findall(pattern)
    for index, token in enumerate(tokens):
        if token == "*":
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            parts.append(".*" if following == "" or following.startswith(":") else "[^:]*")
        elif token == "?":
            parts.append("[^:]")
        elif variables and token in _ESCAPES:
            parts.append(re.escape(_ESCAPES[token]))
        elif variables and token.startswith("${"):
            return None
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts), re.DOTALL)


def resource_matches(patterns: Iterable[str], resource: str, variables: bool = True) -> Tri:
    """Whether a Resource/NotResource list names ``resource`` (``"*"`` names everything)."""
    results: list[Tri] = []
    for pattern in patterns:
        regex = resource_regex(pattern, variables)
        results.append(None if regex is None else regex.fullmatch(resource) is not None)
    return tri_or(*results)


# How a Principal element matched: everyone ("*"), this principal by name, or its account (IAM delegation).
ANY = "any"
DIRECT = "direct"
ACCOUNT = "account"


def _role_of_session(arn: str) -> tuple[str, str] | None:
    """(account, role name) of an assumed-role session ARN or of a role ARN (path dropped)."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    resource = parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        pieces = resource.split("/")
        return (parts[4], pieces[1]) if len(pieces) >= 2 else None
    if parts[2] == "iam" and resource.startswith("role/"):
        return parts[4], resource.rsplit("/", 1)[-1]
    return None


def _aws_match(value: str, who: Principal) -> str | None:
    if value == "*":
        return ANY
    if who.arn is None:
        return None
    if value == who.arn:
        return DIRECT
    account = who.account
    if account is not None and value in (account, f"arn:aws:iam::{account}:root"):
        return ACCOUNT
    if account is not None and value.startswith("arn:") and value.endswith(f":iam::{account}:root"):
        return ACCOUNT  # other partitions (aws-cn, aws-us-gov)
    named, asking = _role_of_session(value), _role_of_session(who.arn)
    if named is not None and asking is not None and named == asking:
        return DIRECT
    return None


def principal_match(principals: Mapping[str, tuple[str, ...]], who: Principal) -> str | None:
    """How a Principal/NotPrincipal element names ``who``: ANY, DIRECT, ACCOUNT, or None (it does not).

    ``"*"`` (or ``{"AWS": "*"}``) names everyone, AWS services included; ``{"Service": ...}`` names that service
    only; an account id or ``arn:aws:iam::<account>:root`` names that account's IAM principals (never a service),
    which lets the account's IAM policies decide; a role ARN names the role and its sessions.
    """
    best: str | None = None
    for kind, values in principals.items():
        for value in values:
            found: str | None = None
            if kind == "AWS":
                found = _aws_match(value, who)
            elif kind == "Service" and who.service is not None:
                found = DIRECT if value.lower() == who.service.lower() else None
            if found in (ANY, DIRECT):
                return found
            best = best or found
    return best
