"""How EventBridge retries a failed delivery to a target, on a compressed clock.

AWS (sources in docs/sandbox.md, "What the sandbox enforces"):
- "for errors that result from missing permissions to a target, or a target resource that no longer exists, all
  retry attempts fail until an action is taken ... Rather than retrying, EventBridge sends these events directly to
  the DLQ, if you have one" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). Other
  client (4xx) errors are not retried either; throttling (429) and service (5xx) errors are
  (https://repost.aws/knowledge-center/eventbridge-resolve-failedinvocation-errors).
- Retries use "exponential back off and jitter", by default "for 24 hours and up to 185 times"; the target's
  RetryPolicy sets MaximumRetryAttempts (0-185) and MaximumEventAgeInSeconds (60-86400): "Retry attempts continue
  until either the maximum number of attempts is made or until the duration of the MaximumEventAgeInSeconds is met"
  (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).

AWS does not publish its backoff schedule. The sandbox's: 1 s doubling per retry, capped at 600 s, times a jitter
in [0.5, 1]. Time is compressed: one simulated second lasts TIME_SCALE real seconds (1 ms), so the default policy
(24 h) runs out in about 86 real seconds. Pure functions; the clock and the randomness are injected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_MAX_ATTEMPTS = 185
DEFAULT_MAX_AGE_SECONDS = 86_400
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 600.0
TIME_SCALE = 0.001  # real seconds per simulated second

# EventBridge's DLQ ERROR_CODE values (eb-rule-dlq.html lists them) that the sandbox produces.
NO_PERMISSIONS = "NO_PERMISSIONS"
NO_RESOURCE = "NO_RESOURCE"
INVALID_PARAMETER = "INVALID_PARAMETER"
THROTTLING = "THROTTLING"
INTERNAL_ERROR = "INTERNAL_ERROR"
TIMEOUT = "TIMEOUT"
CONNECTION_FAILURE = "CONNECTION_FAILURE"

NOT_RETRIED = frozenset({NO_PERMISSIONS, NO_RESOURCE, INVALID_PARAMETER})
RETRIED = frozenset({THROTTLING, INTERNAL_ERROR, TIMEOUT, CONNECTION_FAILURE})

MAX_ATTEMPTS_CONDITION = "MaximumRetryAttempts"
MAX_AGE_CONDITION = "MaximumEventAgeInSeconds"


def retriable(error_code: str) -> bool:
    """Is a failure with this ERROR_CODE retried? Permission, missing-resource and other client errors are not."""
    return error_code not in NOT_RETRIED


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # retries after the first attempt
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS

    @classmethod
    def of_target(cls, target: Mapping[str, Any]) -> RetryPolicy:
        """The target's RetryPolicy as PutTargets stored it (AWS's defaults for what is absent)."""
        raw = target.get("RetryPolicy") or {}
        attempts = _int(raw.get("MaximumRetryAttempts"), DEFAULT_MAX_ATTEMPTS)
        age = _int(raw.get("MaximumEventAgeInSeconds"), DEFAULT_MAX_AGE_SECONDS)
        return cls(max(0, attempts), max(0, age))


def _int(value: object, default: int) -> int:
    if isinstance(value, bool) or value is None:
        return default
    try:
        return int(str(value))
    except ValueError:
        return default


@dataclass(frozen=True)
class Retry:
    """Try again after `delay` simulated seconds."""

    delay: float
    kind: Literal["retry"] = "retry"


@dataclass(frozen=True)
class GiveUp:
    """No more attempts: `condition` is the DLQ's EXHAUSTED_RETRY_CONDITION."""

    condition: str
    kind: Literal["give_up"] = "give_up"


def backoff(retry_number: int, jitter: Callable[[], float] = random.random) -> float:
    """Simulated seconds to wait before retry `retry_number` (1-based): exponential, capped, jittered."""
    base: float = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(retry_number - 1, 30))
    return base * (0.5 + 0.5 * float(jitter()))


def next_step(
    policy: RetryPolicy,
    error_code: str,
    retries_made: int,
    age_seconds: float,
    jitter: Callable[[], float] = random.random,
) -> Retry | GiveUp:
    """After a failed attempt: retry (and when), or give up (and why).

    `retries_made` counts retries already made (0 after the first attempt); `age_seconds` is the event's simulated
    age now. A retry that would start after MaximumEventAgeInSeconds is not made.
    """
    if not retriable(error_code):
        return GiveUp(MAX_ATTEMPTS_CONDITION)  # not retried: 0 of the allowed attempts were made
    if retries_made >= policy.max_attempts:
        return GiveUp(MAX_ATTEMPTS_CONDITION)
    delay = backoff(retries_made + 1, jitter)
    if age_seconds + delay > policy.max_age_seconds:
        return GiveUp(MAX_AGE_CONDITION)
    return Retry(delay)
