"""Shared fixtures. No test touches the network or a real AWS account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CliResult, reset_moto, run_cli


@pytest.fixture(autouse=True)
def isolated_aws(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's own AWS setup never leaks in: empty config files, fake credentials, one region."""
    home = tmp_path_factory.mktemp("aws-home")
    for name in list(os.environ):
        if name.startswith(("AWS_", "EVCTL_")) or name in ("NO_COLOR",):
            monkeypatch.delenv(name, raising=False)
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
    yield


@pytest.fixture
def cli() -> type[CliResult]:
    """`cli(args, input=..., tty=...)` runs evctl in-process; see tests.helpers.run_cli."""
    return run_cli  # type: ignore[return-value]


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1 (random port) for e2e tests; yields its endpoint URL.

    The server is new per test, but moto's state lives in the process (every server and `mock_aws` share it): it is
    reset before the test, so the test starts from nothing whatever ran before, and after, so it leaves nothing."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        reset_moto(endpoint)
        yield endpoint
        reset_moto(endpoint)
    finally:
        server.stop()


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
