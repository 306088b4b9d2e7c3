"""Resolving targets: function name/ARN → its log group, log group name/ARN, near-name suggestions."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.core.logs import LogSource, resolve_sources
from evctl.errors import ConfigError, ExitCode, NotFoundError, UsageError

ACCOUNT = "123456789012"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any]]:
    """Read-only for the tests, so built once (creating functions in moto is slow)."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(
            RoleName="fn-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        lam = boto3.client("lambda", region_name="us-east-1")
        for name in ("user-signup-handler", "order-handler"):
            lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": _zip()}
            )
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName="/aws/lambda/user-signup-handler")
        logs.create_log_group(logGroupName="/custom/payments")
        yield logs, lam


def test_function_name_and_arn_resolve_to_the_default_log_group(aws: tuple[Any, Any]) -> None:
    logs, lam = aws
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:user-signup-handler"
    expected = LogSource(
        label="user-signup-handler",
        group="/aws/lambda/user-signup-handler",
        arn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/user-signup-handler",
        function="user-signup-handler",
    )
    assert resolve_sources(["user-signup-handler"], logs, lam) == [expected]
    assert resolve_sources([arn], logs, lam) == [expected]
    assert resolve_sources([arn + ":$LATEST", "user-signup-handler"], logs, lam) == [expected]  # no repeats


def test_log_group_names_and_arns(aws: tuple[Any, Any]) -> None:
    logs, lam = aws
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/custom/payments"
    for target in ("/custom/payments", group_arn, group_arn + ":*"):
        [source] = resolve_sources([target], logs, lam)
        assert (source.group, source.arn, source.exists) == ("/custom/payments", group_arn, True)


def test_function_without_a_log_group_yet_is_followed_with_a_notice(aws: tuple[Any, Any]) -> None:
    logs, lam = aws
    notices: list[str] = []
    [source] = resolve_sources(["order-handler"], logs, lam, on_notice=notices.append)
    assert (source.group, source.exists, source.arn) == ("/aws/lambda/order-handler", False, None)
    assert notices == [
        "log group /aws/lambda/order-handler does not exist yet (function order-handler has not logged anything)"
    ]


def test_logging_config_log_group_wins_over_the_default(aws: tuple[Any, Any]) -> None:
    logs, _ = aws
    lam = boto3.client("lambda", region_name="us-east-1")
    with Stubber(lam) as stub:
        stub.add_response(
            "get_function_configuration",
            {"FunctionName": "payments", "LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/custom/payments"}},
            {"FunctionName": "payments"},
        )
        [source] = resolve_sources(["payments"], logs, lam)
    assert (source.label, source.group, source.function) == ("payments", "/custom/payments", "payments")


def test_denied_function_lookup_assumes_the_default_group(aws: tuple[Any, Any]) -> None:
    logs, _ = aws
    lam = boto3.client("lambda", region_name="us-east-1")
    notices: list[str] = []
    with Stubber(lam) as stub:
        stub.add_client_error("get_function_configuration", "AccessDeniedException", "not authorized", 403)
        [source] = resolve_sources(["user-signup-handler"], logs, lam, on_notice=notices.append)
    assert source.group == "/aws/lambda/user-signup-handler" and source.exists
    assert notices == [
        "cannot read function user-signup-handler's configuration (access denied); "
        "assuming log group /aws/lambda/user-signup-handler"
    ]


@pytest.mark.parametrize(
    ("target", "message", "hint"),
    [
        ("user-signup-handlr", "no function or log group named 'user-signup-handlr'", "did you mean user-signup-handler?"),
        ("/aws/lambda/user-signup-handlr", "log group /aws/lambda/user-signup-handlr not found", "did you mean /aws/lambda/user-signup-handler?"),
        ("/custom/payment", "log group /custom/payment not found", "did you mean /custom/payments?"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:order-handlr", "function order-handlr not found", "did you mean order-handler?"),
        ("zzzzzz", "no function or log group named 'zzzzzz'", "check the name (function name or ARN, log group name or ARN) and --region"),
    ],
)  # fmt: skip
def test_unknown_targets_suggest_near_names(aws: tuple[Any, Any], target: str, message: str, hint: str) -> None:
    logs, lam = aws
    with pytest.raises(NotFoundError) as raised:
        resolve_sources([target], logs, lam)
    assert raised.value.exit_code == ExitCode.NOT_FOUND
    assert (raised.value.message, raised.value.hint) == (message, hint)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/x", f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/x is in eu-west-1 but evctl is using us-east-1"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue", f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue is neither a Lambda function ARN nor a log group ARN"),
        ("arn:aws:logs", "malformed ARN 'arn:aws:logs'"),
        ("  ", "empty target"),
    ],
)  # fmt: skip
def test_malformed_targets_are_usage_errors(aws: tuple[Any, Any], target: str, message: str) -> None:
    logs, lam = aws
    with pytest.raises(UsageError) as raised:
        resolve_sources([target], logs, lam)
    assert raised.value.message == message


def test_access_denied_on_the_function_arn_path_is_not_swallowed_for_other_errors(aws: tuple[Any, Any]) -> None:
    logs, _ = aws
    lam = boto3.client("lambda", region_name="us-east-1")
    with Stubber(lam) as stub:
        stub.add_client_error("get_function_configuration", "InvalidClientTokenId", "bad token", 403)
        with pytest.raises(ConfigError) as raised:
            resolve_sources(["user-signup-handler"], logs, lam)
    assert raised.value.message == "the AWS credentials were refused (InvalidClientTokenId: bad token)"


def test_denied_describe_log_groups_assumes_the_group_exists(aws: tuple[Any, Any]) -> None:
    _, lam = aws
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stub:
        stub.add_client_error("describe_log_groups", "AccessDeniedException", "not authorized", 400)
        [source] = resolve_sources(["/custom/anything"], logs, lam)
    # FilterLogEvents will tell; there is no ARN for --live, which then falls back to polling.
    assert (source.group, source.exists, source.arn) == ("/custom/anything", True, None)
