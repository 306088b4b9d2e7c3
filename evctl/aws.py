"""The session layer: the one place that builds a boto3 Session and its clients.

Core functions receive clients; they never create them. Clients are created before any worker thread
starts (boto3 Sessions are not thread-safe; clients are). boto3 is imported lazily so that `--help`
and `--version` stay fast.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl import __version__
from evctl.errors import ConfigError, UsageError

if TYPE_CHECKING:
    import boto3

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_POOL = 10
# Timeouts (seconds). An endpoint that accepts a connection but never answers costs at most
# attempts × (read timeout + backoff), with a note on stderr before each retry; never minutes of silence.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0  # any call but a long poll; a long poll gets its wait on top (fitted_read_timeout)
SQS_MAX_WAIT = 20  # ReceiveMessage without WaitTimeSeconds waits for the queue's ReceiveMessageWaitTimeSeconds (≤ 20)
LIVE_TAIL_READ_TIMEOUT = 300.0  # StartLiveTail is a stream (a session update every second): not a short call
ENDPOINT_EXAMPLE = "http://localhost:4566"


@dataclass(frozen=True)
class AwsSettings:
    """What the user asked for on the command line; None means "let boto3's chain decide"."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT  # per call; long polls get their wait on top
    # Set when the target is the local sandbox: it supplies the endpoint and dummy credentials.
    sandbox_credentials: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.endpoint_url is not None:
            check_endpoint_url(self.endpoint_url, "--endpoint-url")


@dataclass
class ClientFactory:
    """Builds one boto3 Session and caches one client per (service, pool size)."""

    settings: AwsSettings = field(default_factory=AwsSettings)
    # Told (one line) before a call is retried after a connection error or a timeout; None: silent.
    on_retry: Callable[[str], None] | None = None
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[tuple[str, int, int], Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            import boto3

            kwargs: dict[str, Any] = {}
            # An explicit profile_name drops env credentials from the chain; pass it only when asked for.
            if self.settings.profile:
                kwargs["profile_name"] = self.settings.profile
            if self.settings.sandbox_credentials:
                kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = self.settings.sandbox_credentials
            region = resolve_region(self.settings.region)
            if region:
                kwargs["region_name"] = region
            try:
                self._session = boto3.Session(**kwargs)
            except Exception as exc:  # ProfileNotFound and friends
                from evctl.errors import from_aws

                raise (from_aws(exc) or exc) from exc
        session: boto3.Session = self._session
        return session

    @property
    def region(self) -> str | None:
        name: str | None = self.session.region_name
        return name

    def client(self, service: str, *, pool: int = DEFAULT_POOL, max_attempts: int | None = None) -> Any:
        """A cached client; `pool` sizes the connection pool for the caller's concurrency. `max_attempts`
        overrides --max-attempts for a probe whose failure is an answer (e.g. max_attempts=1)."""
        key = (service, max(pool, DEFAULT_POOL), max_attempts or self.settings.max_attempts)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(service, key[1], key[2])
            return self._clients[key]

    def custom_endpoint(self, service: str) -> bool:
        """True when calls for `service` go to a configured endpoint (--endpoint-url or AWS_ENDPOINT_URL[_<SVC>])."""
        if self.settings.endpoint_url:
            return True
        if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return False
        return bool(
            os.environ.get("AWS_ENDPOINT_URL") or os.environ.get(f"AWS_ENDPOINT_URL_{_service_env_suffix(service)}")
        )

    def _check_target(self, service: str) -> None:
        """Before a client exists: a configured endpoint URL must be a URL (exit 2), and without one the region
        must be one botocore knows (exit 4): `--region us-est-1` is a typo, not an unreachable endpoint."""
        if not self.settings.endpoint_url and os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "") != "true":
            for name in (f"AWS_ENDPOINT_URL_{_service_env_suffix(service)}", "AWS_ENDPOINT_URL"):
                if os.environ.get(name):
                    check_endpoint_url(os.environ[name], name)
                    break
        region = self.region
        if region is None or self.custom_endpoint(service):
            return
        known = known_regions(self.session, service)
        if known and region not in known:
            close = difflib.get_close_matches(region, sorted(known), n=2)
            raise ConfigError(
                f"unknown AWS region {region!r} for {service}",
                (f"did you mean {' or '.join(close)}? " if close else "")
                + "check --region, AWS_REGION, AWS_DEFAULT_REGION or the profile's region (with --endpoint-url any"
                " region name works)",
            )

    def _build(self, service: str, pool: int, max_attempts: int | None = None) -> Any:
        from botocore.config import Config

        from evctl.errors import from_aws

        self._check_target(service)
        attempts = max_attempts or self.settings.max_attempts
        config = Config(
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=pool,
            user_agent_extra=f"evctl/{__version__}",
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            # Local endpoints (the sandbox, moto, LocalStack) do not serve host-prefixed names.
            inject_host_prefix=not self.custom_endpoint(service),
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        try:
            client = self.session.client(service, **kwargs)  # type: ignore[call-overload]
        except Exception as exc:
            raise (from_aws(exc) or exc) from exc
        events = client.meta.events
        events.register("before-parameter-build", _fit_read_timeout(self.settings.read_timeout))
        if self.on_retry is not None:
            events.register("needs-retry", _remember_failure)
            events.register("before-send", _note_retry(self.on_retry, service, attempts))
        return client


def _service_env_suffix(service: str) -> str:
    # botocore names the variable after the service ID: events -> EVENTBRIDGE, logs -> CLOUDWATCH_LOGS.
    return {"events": "EVENTBRIDGE", "logs": "CLOUDWATCH_LOGS"}.get(service, service.upper().replace("-", "_"))


def resolve_region(explicit: str | None) -> str | None:
    """--region, then AWS_REGION (which boto3 alone ignores), then AWS_DEFAULT_REGION; else the profile's."""
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def check_endpoint_url(url: str, source: str) -> str:
    """`url` when it is an http(s) URL with a host (and a valid port); else a UsageError (exit 2) naming `source`."""
    problem = None
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "it needs http:// or https://"
        elif not parts.hostname:
            problem = "it names no host"
        elif not re.fullmatch(r"[A-Za-z0-9_.:%-]+", parts.hostname):
            problem = f"{parts.hostname!r} is not a host name"
    if problem:
        raise UsageError(f"{source} {url!r} is not an endpoint URL ({problem})", f"e.g. {ENDPOINT_EXAMPLE}")
    return url


def known_regions(session: boto3.Session, service: str) -> set[str]:
    """Every region botocore's endpoint data lists for `service`, in every partition (empty if it knows none)."""
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions(service, partition_name=partition))
    return regions


def fitted_read_timeout(operation: str, params: dict[str, Any], read_timeout: float) -> float | None:
    """The read timeout of one call: a long poll waits up to its WaitTimeSeconds before answering, so it gets that on
    top; StartLiveTail is a stream, not a call; anything else gets the plain read timeout (None: the client's)."""
    if operation == "ReceiveMessage":
        wait = params.get("WaitTimeSeconds")
        return (SQS_MAX_WAIT if wait is None else float(wait)) + read_timeout
    if operation == "StartLiveTail":
        return max(LIVE_TAIL_READ_TIMEOUT, read_timeout)
    return None


def _fit_read_timeout(read_timeout: float) -> Callable[..., None]:
    def handler(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        fitted = fitted_read_timeout(model.name, params, read_timeout)
        if fitted is not None:
            context["read_timeout"] = fitted  # botocore's per-request override (URLLib3Session)

    return handler


def _remember_failure(request_dict: dict[str, Any], caught_exception: Exception | None, **_: Any) -> None:
    """After each attempt: the connection error or timeout it ended with, for the note before the next one."""
    request_dict.get("context", {})["evctl_failure"] = caught_exception


def _note_retry(note: Callable[[str], None], service: str, attempts: int) -> Callable[..., None]:
    def handler(request: Any, event_name: str, **_: Any) -> None:
        context = getattr(request, "context", None) or {}
        attempt = int(context.get("retries", {}).get("attempt", 1))
        failure = context.get("evctl_failure")
        if attempt > 1 and failure is not None:
            operation = event_name.rsplit(".", 1)[-1]
            what = " ".join(str(failure).split())
            note(f"{service} {operation}: {what}; retrying (attempt {attempt} of {attempts})")

    return handler
