from __future__ import annotations

import pytest

from evctl.aws import AwsSettings, ClientFactory


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
