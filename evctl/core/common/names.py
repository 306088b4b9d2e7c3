"""The one place that checks the names of AWS resources a user gives, before any call: one line, exit 2.

    check_name("rule", "signups")                 # "signups"; UsageError for "", "a b", 65 characters, ...
    check_name("event bus", "orders", option="--bus")
    is_name("log group", "/aws/lambda/x")         # True/False, for callers that try another reading first
    is_bus_ref("arn:aws:events:us-east-1:123456789012:event-bus/orders")   # a bus name or ARN (PutEvents)

AWS's own rules (the documented patterns and lengths), so a name refused here could not exist there; a botocore
"Parameter validation failed" or an AWS "does not exist" for a malformed name never reaches the user.
"""

from __future__ import annotations

import re
from typing import Literal

from evctl.errors import UsageError

__all__ = ["MAX_BUS_REF_CHARS", "NameKind", "check_name", "is_bus_ref", "is_name", "name_rule", "quoted"]

NameKind = Literal["rule", "event bus", "function", "log group"]

_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "rule": (re.compile(r"[.\-_A-Za-z0-9]{1,64}"), "1-64 letters, digits, '.', '-' or '_'"),
    # Partner event buses are named aws.partner/<partner>/<name>.
    "event bus": (re.compile(r"[/.\-_A-Za-z0-9]{1,256}"), "1-256 letters, digits, '.', '-', '_' or '/'"),
    # A function name, optionally with :version or :alias.
    "function": (
        re.compile(r"[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?"),
        "1-64 letters, digits, '-' or '_' (and :version or :alias)",
    ),
    "log group": (re.compile(r"[.\-_/#A-Za-z0-9]{1,512}"), "1-512 letters, digits, '.', '-', '_', '/' or '#'"),
}

MAX_BUS_REF_CHARS = 1600  # PutEvents' EventBusName: a name or an ARN
_BUS_ARN = re.compile(r"arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus/")


def is_bus_ref(value: str) -> bool:
    """An event bus name or ARN, as PutEvents' EventBusName takes it."""
    if len(value) > MAX_BUS_REF_CHARS:
        return False
    arn = _BUS_ARN.match(value)
    return is_name("event bus", value[arn.end() :] if arn else value)


def name_rule(kind: NameKind) -> str:
    """What a valid name of `kind` is made of, for hints."""
    return _PATTERNS[kind][1]


def is_name(kind: NameKind, value: str) -> bool:
    """Whether `value` is a well-formed name of `kind` (not whether it exists)."""
    return _PATTERNS[kind][0].fullmatch(value) is not None


def check_name(kind: NameKind, value: str, *, option: str | None = None) -> str:
    """`value` when it is a well-formed `kind` name; else a UsageError (exit 2) that names the option, if any."""
    if is_name(kind, value):
        return value
    label = f"{option}: " if option else ""
    article = "an" if kind[0] in "aeiou" else "a"
    if not value.strip():
        raise UsageError(f"{label}empty {kind} name", f"give {article} {kind} name ({name_rule(kind)})")
    raise UsageError(
        f"{label}{quoted(value)} is not a valid {kind} name", f"{article} {kind} name has {name_rule(kind)}"
    )


def quoted(value: str, limit: int = 80) -> str:
    """A name as messages quote it: repr (control characters escaped), cut to `limit` characters."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")
