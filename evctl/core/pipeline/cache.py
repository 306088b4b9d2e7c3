"""The shared describe cache: each read call is made once per run, from any thread, and its answer (or error) kept.

    cache = DescribeCache()
    sqs = cache.wrap(sqs_client, "sqs")          # a stand-in for the client: same methods, answers memoized
    resolve_queue(sqs, "orders")                  # existing core code reads through the cache unchanged
    cache.calls                                   # {("sqs", "GetQueueUrl", '{"QueueName": "orders"}'): 1, ...}

A call is keyed by service + operation + its parameters (the resource's identity), so the same read asked for by
two hops, or by two threads at once, reaches AWS once: the second caller waits for the first's answer. Errors are
kept too (an AccessDenied is not asked again) and carry `evctl_action` ("sqs:GetQueueAttributes"), so
`denied_action(exc)` can say which permission was missing however the error was wrapped on its way up.
Paginators are wrapped as well: `get_paginator(op).paginate(**kw)` returns the pages as a list, read once.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DENIED_CODES", "CachedClient", "DescribeCache", "denied_action"]

# The error codes that mean "these credentials may not make this call" (not: the resource is missing).
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnauthorizedOperation",
        "KMS.AccessDeniedException",
    }
)
# IAM action prefixes where they differ from the boto3 service name.
_ACTION_PREFIX = {"cloudwatch": "cloudwatch", "monitoring": "cloudwatch"}


def _key(kwargs: dict[str, Any]) -> str:
    return json.dumps(kwargs, sort_keys=True, default=str)


class _Slot:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class DescribeCache:
    """Memoized reads keyed by (service, operation, parameters); thread-safe; counts the real calls made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str, str], _Slot] = {}
        self.calls: dict[tuple[str, str, str], int] = {}

    def read(self, key: tuple[str, str, str], action: str, fn: Callable[[], Any]) -> Any:
        """fn()'s answer for this key, computed once; its exception re-raised to every caller, tagged with action."""
        with self._lock:
            slot = self._slots.get(key)
            owner = slot is None
            if slot is None:
                slot = self._slots[key] = _Slot()
                self.calls[key] = self.calls.get(key, 0) + 1
        if owner:
            try:
                slot.value = fn()
            except Exception as exc:
                with contextlib.suppress(AttributeError):  # an exception with __slots__ stays untagged
                    exc.evctl_action = action  # type: ignore[attr-defined]
                slot.error = exc
            finally:
                slot.done.set()
        else:
            slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.value

    def peek(self, key: tuple[str, str, str]) -> Any:
        """The answer already read for this key (None: not read, still being read, or it failed): never calls."""
        with self._lock:
            slot = self._slots.get(key)
        if slot is None or not slot.done.is_set() or slot.error is not None:
            return None
        return slot.value

    def wrap(self, client: Any, service: str) -> CachedClient:
        return CachedClient(client, service, self)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _api_name(client: Any, method: str) -> str:
    mapping: dict[str, str] = getattr(getattr(client, "meta", None), "method_to_api_mapping", {}) or {}
    return mapping.get(method) or "".join(part.title() for part in method.split("_"))


class _CachedPaginator:
    def __init__(self, owner: CachedClient, method: str) -> None:
        self._owner, self._method = owner, method

    def _key(self, kwargs: dict[str, Any]) -> tuple[str, str, str]:
        return (self._owner.service, _api_name(self._owner.client, self._method) + "[pages]", _key(kwargs))

    def already_read(self, **kwargs: Any) -> list[dict[str, Any]] | None:
        """The pages of this listing if the run has read them already (None otherwise): never calls."""
        pages: list[dict[str, Any]] | None = self._owner.cache.peek(self._key(kwargs))
        return pages

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        owner = self._owner
        api = _api_name(owner.client, self._method)
        key = self._key(kwargs)

        def pages() -> list[dict[str, Any]]:
            return list(owner.client.get_paginator(self._method).paginate(**kwargs))

        result: list[dict[str, Any]] = owner.cache.read(key, owner.action(api), pages)
        return result


class CachedClient:
    """A boto3 client's stand-in whose operations (and paginators) answer from the DescribeCache."""

    _PASS_THROUGH = frozenset({"meta", "exceptions", "can_paginate", "waiter_names", "get_waiter"})

    def __init__(self, client: Any, service: str, cache: DescribeCache) -> None:
        self.client, self.service, self.cache = client, service, cache

    def action(self, api: str) -> str:
        return f"{_ACTION_PREFIX.get(self.service, self.service)}:{api}"

    def get_paginator(self, method: str) -> _CachedPaginator:
        return _CachedPaginator(self, method)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name in self._PASS_THROUGH or name.startswith("_") or not callable(attr):
            return attr
        api = _api_name(self.client, name)

        def call(**kwargs: Any) -> Any:
            return self.cache.read((self.service, api, _key(kwargs)), self.action(api), lambda: attr(**kwargs))

        return call


def denied_action(exc: BaseException | None) -> str | None:
    """The IAM action an access-denied error was about ("sqs:GetQueueAttributes"), or None if it is not a denial.

    Follows __cause__/__context__, since core code wraps botocore errors in EvctlErrors on their way up.
    """
    seen: set[int] = set()
    action: str | None = None
    denied = False
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        action = action or getattr(exc, "evctl_action", None)
        response: Any = getattr(exc, "response", None)
        if isinstance(response, dict):
            denied = denied or str(response.get("Error", {}).get("Code", "")) in DENIED_CODES
        exc = exc.__cause__ or exc.__context__
    if not denied:
        return None
    return action or "a read call"
