"""The session layer: the one place that builds a boto3 Session and its clients.

Core functions receive clients; they never create them. Clients are created before any worker thread
starts (boto3 Sessions are not thread-safe; clients are). boto3 is imported lazily so that `--help`
and `--version` stay fast.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl import __version__

if TYPE_CHECKING:
    import boto3

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_POOL = 10


@dataclass(frozen=True)
class AwsSettings:
    """What the user asked for on the command line; None means "let boto3's chain decide"."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    connect_timeout: float = 10.0
    read_timeout: float = 70.0  # must exceed SQS's 20 s long poll
    # Set when the target is the local sandbox: it supplies the endpoint and dummy credentials.
    sandbox_credentials: tuple[str, str] | None = None


@dataclass
class ClientFactory:
    """Builds one boto3 Session and caches one client per (service, pool size)."""

    settings: AwsSettings = field(default_factory=AwsSettings)
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

    def _build(self, service: str, pool: int, max_attempts: int | None = None) -> Any:
        from botocore.config import Config

        from evctl.errors import from_aws

        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts or self.settings.max_attempts},
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
            return self.session.client(service, **kwargs)  # type: ignore[call-overload]
        except Exception as exc:
            raise (from_aws(exc) or exc) from exc


def _service_env_suffix(service: str) -> str:
    # botocore names the variable after the service ID: events -> EVENTBRIDGE, logs -> CLOUDWATCH_LOGS.
    return {"events": "EVENTBRIDGE", "logs": "CLOUDWATCH_LOGS"}.get(service, service.upper().replace("-", "_"))


def resolve_region(explicit: str | None) -> str | None:
    """--region, then AWS_REGION (which boto3 alone ignores), then AWS_DEFAULT_REGION; else the profile's."""
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
