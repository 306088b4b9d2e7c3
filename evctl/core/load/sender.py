"""Each PutEvents call of a load run, timed and counted; a throttled or failing call retried here, never hidden.

    log = CallLog()
    sender = TimedSender(client, clock, gate, log, max_attempts=5, stop=stop)
    send_batch(sender, entries, ...)     # core/events' entry-level retries, through this wrapper
    log.latencies, log.api_calls, log.call_retries, log.throttled_calls, log.throttled_entries

The client of a load run is built with botocore's retries off (max_attempts=1), so that every call is seen: a
whole-call ThrottlingException or server error (5xx) is retried here with `backoff_delay` (full jitter), counted,
and tells the ThrottleGate; so are entries answered with ThrottlingException. A connection error is retried the
same way, and fatal once attempts run out (the endpoint is gone: `is_fatal`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evctl.core.common.backoff import backoff_delay
from evctl.core.events import PutEventsClient
from evctl.core.load.clock import Clock
from evctl.core.load.throttle import ThrottleGate
from evctl.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef, PutEventsResponseTypeDef

__all__ = ["SERVER_CODES", "THROTTLE_CODES", "CallLog", "TimedSender", "call_failure", "is_fatal"]

THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
SERVER_CODES = frozenset(
    {"InternalFailure", "InternalException", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"}
)
RETRY_BASE, RETRY_CAP = 0.1, 20.0  # as the entry-level re-sends (core/events/publishing.py)


def call_failure(exc: BaseException) -> str | None:
    """'throttle', 'server' or 'connection' for a whole-call error worth retrying; None for any other."""
    code = error_code(exc)
    if code in THROTTLE_CODES:
        return "throttle"
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    if code in SERVER_CODES or int(status) >= 500:
        return "server"
    if any(kind.__name__ in ("ConnectionError", "HTTPClientError") for kind in type(exc).__mro__[:-1]):
        return "connection"  # botocore's EndpointConnectionError, ReadTimeoutError, ConnectionClosedError, …
    return None


def is_fatal(exc: Exception) -> bool:
    """Whether a whole-call error (after its retries) ends the run: yes unless throttling or a server error, which
    fail that batch only (an unknown bus, denied access, bad credentials, a dead endpoint would fail every call)."""
    return call_failure(exc) not in ("throttle", "server")


@dataclass
class CallLog:
    """The calls of one batch (one thread writes it; the dispatcher reads it once the batch is done)."""

    latencies: list[float] = field(default_factory=list)  # seconds, per call, send → answer (or error)
    api_calls: int = 0
    entry_resends: int = 0  # entries re-sent after a retryable ErrorCode
    call_retries: int = 0  # whole calls re-sent after a throttle, a server or a connection error
    throttled_calls: int = 0
    throttled_entries: int = 0

    def sent(self, resent_entries: int) -> None:
        """send_batch's on_call."""
        self.entry_resends += resent_entries


class TimedSender:
    """A PutEventsClient around the real one: times and counts each call, retries whole-call failures."""

    def __init__(
        self,
        client: PutEventsClient,
        clock: Clock,
        gate: ThrottleGate,
        log: CallLog,
        *,
        max_attempts: int,
        stop: threading.Event,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.client, self.clock, self.gate, self.log = client, clock, gate, log
        self.max_attempts, self.stop, self.rand = max_attempts, stop, rand

    def put_events(self, *, Entries: Sequence[PutEventsRequestEntryTypeDef]) -> PutEventsResponseTypeDef:
        attempt = 1
        while True:
            started = self.clock.now()
            self.log.api_calls += 1
            try:
                response = self.client.put_events(Entries=Entries)
            except Exception as exc:
                ended = self.clock.now()
                self.log.latencies.append(ended - started)
                kind = call_failure(exc)
                if kind == "throttle":
                    self.log.throttled_calls += 1
                    self.gate.throttled(ended)
                if kind is None or attempt >= self.max_attempts or self.stop.is_set():
                    raise
                self.log.call_retries += 1
                self.clock.wait(backoff_delay(attempt, base=RETRY_BASE, cap=RETRY_CAP, rand=self.rand), self.stop)
                attempt += 1
                continue
            ended = self.clock.now()
            self.log.latencies.append(ended - started)
            throttled = sum(1 for answer in response.get("Entries", []) if answer.get("ErrorCode") in THROTTLE_CODES)
            if throttled:
                self.log.throttled_entries += throttled
                self.gate.throttled(ended)
            else:
                self.gate.answered()
            return response
