"""What the user names: a bus, a rule (`bus/rule` or ARN), a queue (name, URL or ARN) or a function (name or ARN).

    spec = parse_target("default/user-signup-rule")      # TargetSpec(kind="rule", value="user-signup-rule", bus=…)
    parse_target("queue:orders")                         # an explicit kind when a name is ambiguous
    parse_target("orders")                               # kind None: looked up as a bus, a queue and a function

A malformed target is a UsageError (exit 2) here, before any call. Which of bus / queue / function a bare name is,
and whether the resource exists, is decided by `Walker.resolve` (discover.py): one of them → that one; none → a
NotFoundError (exit 3); several → a UsageError (exit 2) asking for the `kind:` prefix or an ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from evctl.core.rules import rule_ref
from evctl.errors import UsageError

__all__ = ["TARGET_HINT", "TargetKind", "TargetSpec", "parse_target"]

TargetKind = Literal["bus", "rule", "queue", "function"]
TARGET_HINT = (
    "give a bus, BUS/RULE, a queue name, URL or ARN, or a function name or ARN "
    "(prefix bus:, rule:, queue: or function: to say which)"
)
_KINDS: tuple[TargetKind, ...] = ("bus", "rule", "queue", "function")
_BUS_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_RULE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class TargetSpec:
    text: str  # as given
    kind: TargetKind | None  # None: a bare name, to be looked up
    value: str  # a name, URL or ARN (for a rule: the rule's name)
    bus: str | None = None  # a rule's bus


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"target {text!r} {why}", TARGET_HINT)


def parse_target(text: str) -> TargetSpec:
    """Parse one target; a UsageError (exit 2) for one that cannot name anything."""
    value = text.strip()
    if not value:
        raise _bad(text, "is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise _bad(text, "contains spaces or control characters")
    if value.startswith("arn:"):
        return _parse_arn(text, value)
    if "://" in value:
        return TargetSpec(text, "queue", value)
    prefix, sep, rest = value.partition(":")
    if sep and prefix in _KINDS:
        if not rest:
            raise _bad(text, f"names no {prefix}")
        if rest.startswith("arn:"):
            spec = _parse_arn(text, rest)
            if spec.kind != prefix:
                raise _bad(text, f"says {prefix} but the ARN is a {spec.kind}'s")
            return spec
        return _named(text, prefix, rest)
    if sep:
        raise _bad(text, f"has an unknown prefix {prefix!r}:")
    if "/" in value:
        return _named(text, "rule", value)
    if not (_QUEUE_NAME.match(value) or _FUNCTION_NAME.match(value) or _BUS_NAME.match(value)):
        raise _bad(text, "is not a valid bus, queue or function name")
    return TargetSpec(text, None, value)


def _named(text: str, kind: TargetKind, value: str) -> TargetSpec:
    if kind == "rule":
        bus, slash, name = value.rpartition("/")
        if not slash:
            bus, name = "default", value
        if not bus or not _BUS_NAME.match(bus) or not _RULE_NAME.match(name):
            raise _bad(text, "is not BUS/RULE (a rule name is 1-64 letters, digits, '.', '-' or '_')")
        return TargetSpec(text, "rule", name, bus)
    if "://" in value and kind == "queue":
        return TargetSpec(text, "queue", value)
    pattern = {"bus": _BUS_NAME, "queue": _QUEUE_NAME, "function": _FUNCTION_NAME}[kind]
    if not pattern.match(value):
        raise _bad(text, f"is not a valid {kind} name")
    return TargetSpec(text, kind, value)


def _parse_arn(text: str, arn: str) -> TargetSpec:
    parts = arn.split(":", 5)
    if len(parts) < 6 or not parts[5]:
        raise _bad(text, "is a malformed ARN")
    service, resource = parts[2], parts[5]
    if service == "events" and resource.startswith("event-bus/") and len(resource) > len("event-bus/"):
        return TargetSpec(text, "bus", arn)
    if service == "events" and resource.startswith("rule/"):
        name, bus = rule_ref(arn, None)
        if not _RULE_NAME.match(name):
            raise _bad(text, "is a malformed rule ARN")
        return TargetSpec(text, "rule", name, bus)
    if service == "sqs":
        return TargetSpec(text, "queue", arn)
    if service == "lambda" and resource.startswith("function:"):
        name = resource.split(":")[1]
        if not _FUNCTION_NAME.match(name):
            raise _bad(text, "is a malformed function ARN")
        return TargetSpec(text, "function", arn)
    raise _bad(text, "is not an event bus, rule, SQS queue or Lambda function ARN")
