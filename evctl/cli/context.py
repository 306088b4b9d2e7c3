"""The per-invocation context every command receives: settings, the client factory, the output layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from evctl.aws import AwsSettings
from evctl.output import Output, Streams

if TYPE_CHECKING:
    from evctl.aws import ClientFactory


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

            self._factory = ClientFactory(self.settings)
        return self._factory

    def client(self, service: str, *, pool: int = 10) -> Any:
        return self.factory.client(service, pool=pool)


def app_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):  # a sub-app invoked on its own (tests)
        root.obj = AppContext(settings=AwsSettings(), output=Output(streams=make_streams()))
    return root.obj
