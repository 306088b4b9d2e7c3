"""Small helpers the redrive modules share: a queue's name from its ARN or URL, AWS errors as evctl errors, and
best-effort lookups for explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from evctl.errors import EvctlError, Interrupted, ServiceError, from_aws

T = TypeVar("T")


def name_of(ref: str | None) -> str:
    """The last part of a queue ARN (after ':') or URL (after '/'); '' for nothing."""
    if not ref:
        return ""
    return ref.rstrip("/").rsplit(":" if ref.startswith("arn:") else "/", 1)[-1]


def aws_error(exc: BaseException, what: str | None) -> EvctlError:
    """The evctl error for an exception from a call about `what` (Ctrl-C: Interrupted)."""
    if isinstance(exc, EvctlError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    return from_aws(exc, what) or ServiceError(f"{type(exc).__name__}: {exc}")


def quietly(fn: Callable[[], T]) -> T | None:
    """Best effort for explanations: a failing lookup must not hide the error being explained."""
    try:
        return fn()
    except Exception:
        return None
