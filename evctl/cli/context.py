"""What every command shares: the per-invocation context (settings, the client factory, the output layer), and
the sandbox helpers `demo` and `sandbox` both use (no command module imports another)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from evctl.aws import AwsSettings
from evctl.output import Output, Streams

if TYPE_CHECKING:
    from evctl.aws import ClientFactory
    from evctl.core.doctor.session import SessionClients
    from evctl.sandbox.provision import SandboxClients


def make_streams() -> Streams:
    """Overridden by tests to pretend stdout/stderr/stdin are terminals."""
    return Streams()


@dataclass
class AppContext:
    settings: AwsSettings
    output: Output
    debug: bool = False
    _factory: ClientFactory | None = field(default=None, repr=False)

    @property
    def factory(self) -> ClientFactory:
        if self._factory is None:
            from evctl.aws import ClientFactory

            self._factory = ClientFactory(self.settings, on_retry=self.output.warn)
        return self._factory

    def client(self, service: str, *, pool: int = 10) -> Any:
        return self.factory.client(service, pool=pool)

    def session_clients(self, *, pool: int = 10, metrics: bool = True, iam: bool = True) -> SessionClients:
        """The clients a doctor session reads through (doctor, trace, pipeline watch), built before threads start;
        without `metrics` no CloudWatch, without `iam` no IAM and KMS (their checks say "not checked")."""
        from evctl.core.doctor.session import SessionClients

        return SessionClients(
            events=self.client("events", pool=pool),
            sqs=self.client("sqs", pool=pool),
            lambda_=self.client("lambda", pool=pool),
            logs=self.client("logs", pool=pool),
            iam=self.client("iam", pool=pool) if iam else None,
            kms=self.client("kms", pool=pool) if iam else None,
            cloudwatch=self.client("cloudwatch", pool=pool) if metrics else None,
        )


def app_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):  # a sub-app invoked on its own (tests)
        root.obj = AppContext(settings=AwsSettings(), output=Output(streams=make_streams()))
    return root.obj


def require_sandbox_extra() -> None:
    """Exit 4 with the install command when the `sandbox` extra (moto's server) is missing; imports nothing."""
    import importlib.util

    from evctl.errors import SANDBOX_MODULES, sandbox_not_installed

    for module in SANDBOX_MODULES:
        if importlib.util.find_spec(module) is None:
            raise sandbox_not_installed(module)


def sandbox_clients(endpoint: str) -> SandboxClients:
    """Clients for a sandbox endpoint, with its region and dummy credentials."""
    from evctl.aws import ClientFactory
    from evctl.sandbox.provision import SandboxClients
    from evctl.sandbox.state import CREDENTIALS, REGION

    factory = ClientFactory(AwsSettings(region=REGION, endpoint_url=endpoint, sandbox_credentials=CREDENTIALS))
    return SandboxClients(
        events=factory.client("events"),
        sqs=factory.client("sqs"),
        lambda_=factory.client("lambda"),
        iam=factory.client("iam"),
        logs=factory.client("logs"),
    )


def sandbox_factory(endpoint: str) -> ClientFactory:
    """A client factory for a sandbox endpoint (any service: doctor's KMS and CloudWatch reads, a fix's call)."""
    from evctl.aws import ClientFactory
    from evctl.sandbox.state import CREDENTIALS, REGION

    return ClientFactory(AwsSettings(region=REGION, endpoint_url=endpoint, sandbox_credentials=CREDENTIALS))
