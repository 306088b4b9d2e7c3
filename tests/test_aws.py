from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from evctl.aws import (
    LIVE_TAIL_READ_TIMEOUT,
    SQS_MAX_WAIT,
    AwsSettings,
    ClientFactory,
    check_endpoint_url,
    fitted_read_timeout,
)
from evctl.errors import ConfigError


@pytest.mark.parametrize(
    ("env", "settings", "expected"),
    [
        ({}, AwsSettings(), True),
        ({}, AwsSettings(endpoint_url="http://127.0.0.1:5000"), False),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, AwsSettings(), False),
        ({"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": "http://127.0.0.1:5000"}, AwsSettings(), False),
        ({"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:5000"}, AwsSettings(), True),
    ],
)
def test_host_prefix_is_off_only_for_custom_endpoints(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], settings: AwsSettings, expected: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = ClientFactory(settings).client("logs")
    assert client.meta.config.inject_host_prefix is expected


def test_region_prefers_aws_region_over_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert ClientFactory(AwsSettings()).region == "eu-west-1"
    assert ClientFactory(AwsSettings(region="ap-south-1")).region == "ap-south-1"


def test_clients_use_standard_retries_and_the_pool_size() -> None:
    factory = ClientFactory(AwsSettings(max_attempts=7))
    client = factory.client("events", pool=32)
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 7
    assert client.meta.config.max_pool_connections == 32
    assert factory.client("events", pool=32) is client
    assert "evctl/" in client.meta.config.user_agent_extra


# --- the target: endpoint URLs and regions are checked before any client exists ----------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "localhost:4566",
        "127.0.0.1:4566",
        "ftp://host",
        "http://",
        "http://h:99999",
        "http://exa mple.com",
        "https://[::1",
        "http://:80",
    ],
)
def test_an_endpoint_url_that_is_not_a_url_is_exit_2_with_an_example(url: str) -> None:
    from tests.helpers import run_cli

    with mock.patch("boto3.Session.client", side_effect=AssertionError("a client was built")) as built:
        flag = run_cli(["--endpoint-url", url, "queue", "list"])
        env = run_cli(["queue", "list"], env={"AWS_ENDPOINT_URL": url})
        service_env = run_cli(["queue", "list"], env={"AWS_ENDPOINT_URL_SQS": url})
    assert built.call_count == 0
    for result, source in ((flag, "--endpoint-url"), (env, "AWS_ENDPOINT_URL"), (service_env, "AWS_ENDPOINT_URL_SQS")):
        assert result.exit_code == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and source in result.stderr and "http://localhost:4566" in result.stderr


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "https://sqs.example.com/path", "http://[::1]:4566"])
def test_endpoint_urls_that_are_urls_pass(url: str) -> None:
    assert check_endpoint_url(url, "--endpoint-url") == url
    assert (
        ClientFactory(AwsSettings(endpoint_url=url)).client("sqs").meta.endpoint_url.startswith(url.split("/path")[0])
    )


def test_an_unknown_region_is_named_not_reported_as_unreachable() -> None:
    from tests.helpers import run_cli

    result = run_cli(["--region", "us-est-1", "queue", "list"])
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1
    assert "unknown AWS region 'us-est-1'" in result.stderr and "us-east-1" in result.stderr
    assert "reach" not in result.stderr
    env = run_cli(["queue", "list"], env={"AWS_REGION": "eu-wset-1"})
    assert env.exit_code == 4 and "eu-west-1" in env.stderr


def test_known_regions_of_every_partition_pass_and_any_region_passes_with_an_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for region in ("us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1"):
        ClientFactory(AwsSettings(region=region)).client("sqs")
    ClientFactory(AwsSettings(region="local-lab-1", endpoint_url="http://127.0.0.1:9")).client("sqs")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")
    ClientFactory(AwsSettings(region="local-lab-1")).client("sqs")
    with pytest.raises(ConfigError):  # that endpoint is for SQS only
        ClientFactory(AwsSettings(region="local-lab-1")).client("events")


# --- timeouts: short connect, a read timeout fitted to each call, a note before each retry ------------------------


class _Sent(Exception):
    pass


def _capture_read_timeout(client: Any) -> list[Any]:
    seen: list[Any] = []

    def handler(request: Any, **_: Any) -> None:
        seen.append(request.context.get("read_timeout"))
        raise _Sent  # nothing leaves the process

    client.meta.events.register("before-send", handler)
    return seen


def test_each_call_gets_a_read_timeout_fitted_to_it() -> None:
    settings = AwsSettings(endpoint_url="http://127.0.0.1:9", read_timeout=3.0, connect_timeout=1.5)
    factory = ClientFactory(settings)
    sqs, logs = factory.client("sqs"), factory.client("logs")
    assert (sqs.meta.config.connect_timeout, sqs.meta.config.read_timeout) == (1.5, 3.0)
    seen = _capture_read_timeout(sqs)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("receive_message", {"QueueUrl": "http://127.0.0.1:9/1/q", "WaitTimeSeconds": 7}),
        ("receive_message", {"QueueUrl": "http://127.0.0.1:9/1/q"}),
        ("list_queues", {}),
    ]
    for method, params in calls:
        with pytest.raises(_Sent):
            getattr(sqs, method)(**params)
    assert seen == [10.0, SQS_MAX_WAIT + 3.0, None]  # None: the client's own read timeout (3 s)
    live = _capture_read_timeout(logs)
    with pytest.raises(_Sent):
        logs.start_live_tail(logGroupIdentifiers=["arn:aws:logs:us-east-1:123456789012:log-group:g"])
    assert live == [LIVE_TAIL_READ_TIMEOUT]


def test_defaults_are_short() -> None:
    settings = AwsSettings()
    assert settings.connect_timeout <= 5 and settings.read_timeout <= 30
    assert fitted_read_timeout("ReceiveMessage", {"WaitTimeSeconds": 20}, settings.read_timeout) == 40


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A local socket that accepts connections (the kernel's backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_a_silent_endpoint_is_noted_while_retrying_and_reported(silent_endpoint: str) -> None:
    from tests.helpers import run_cli

    args = ["queue", "list", "--endpoint-url", silent_endpoint, "--read-timeout", "0.1", "--max-attempts", "3"]
    with mock.patch("botocore.retries.standard.ExponentialBackoff.delay_amount", return_value=0):
        result = run_cli(args)
    assert result.exit_code == 5
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith("evctl: warning: sqs ListQueues: Read timeout") and "(attempt 2 of 3)" in lines[0]
    assert "(attempt 3 of 3)" in lines[1]
    assert lines[2].startswith("evctl: error: the endpoint did not answer in time")


def test_timeouts_are_configurable_by_environment() -> None:
    from evctl.cli.context import AppContext

    seen: list[AwsSettings] = []

    def capture(self: AppContext) -> Any:
        seen.append(self.settings)
        raise _Sent

    from tests.helpers import run_cli

    with mock.patch.object(AppContext, "factory", property(capture)):
        run_cli(["queue", "list"], env={"EVCTL_READ_TIMEOUT": "2.5", "EVCTL_CONNECT_TIMEOUT": "0.5"})
        run_cli(["queue", "list", "--read-timeout", "4", "--connect-timeout", "1"])
    assert [(s.read_timeout, s.connect_timeout) for s in seen] == [(2.5, 0.5), (4.0, 1.0)]
