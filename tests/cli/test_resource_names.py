"""Names of rules, buses, functions and log groups are checked by core/common/names before any AWS call: an empty or
malformed name is one line and exit 2, never botocore's "Parameter validation failed" nor a misleading
"not found" (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from evctl.core.common.names import check_name, is_bus_ref, is_name
from evctl.errors import UsageError
from tests.helpers import run_cli

LONG = "x" * 600
CASES = [
    (["rules", "show", ""], "empty rule name"),
    (["rules", "show", "a b"], "'a b' is not a valid rule name"),
    (["rules", "show", "x" * 65], "is not a valid rule name"),
    (["rules", "show", "arn:aws:events:us-east-1:123456789012:rule//x"], "empty event bus name"),
    (["rules", "show", "r", "--bus", ""], "empty event bus name"),
    (["rules", "list", "--bus", ""], "empty event bus name"),
    (["rules", "list", "--bus", "a b"], "'a b' is not a valid event bus name"),
    (["rules", "list", "--bus", "arn:aws:events:us-east-1:123456789012:event-bus/a b"], "is not a valid event bus"),
    (["rules", "test", "--rule", "", "--event", "{}"], "empty rule name"),
    (["rules", "test", "--rule", "r\x1b[31m", "--event", "{}"], "'r\\x1b[31m' is not a valid rule name"),
    (["rules", "match", "--bus", "", "--event", "{}"], "empty event bus name"),
    (["tail", "bus", ""], "empty event bus name"),
    (["tail", "bus", "a b"], "'a b' is not a valid event bus name"),
    (["tail", "logs", "a b"], "'a b' is neither a function name nor a log group name"),
    (["tail", "logs", LONG], "is neither a function name nor a log group name"),
    (["tail", "logs", "fn:"], "'fn:' is neither a function name nor a log group name"),
    (["tail", "logs", "arn:aws:lambda:us-east-1:123456789012:function:"], "empty function name"),
    (["tail", "logs", "arn:aws:logs:us-east-1:123456789012:log-group:"], "empty log group name"),
    (["tail", "logs", "arn:aws:logs:us-east-1:123456789012:log-group:a b"], "'a b' is not a valid log group name"),
    (["publish", "--source", "s", "--detail-type", "t", "--bus", ""], "--bus: empty event bus name"),
    (["publish", "--source", "s", "--detail-type", "t", "--bus", "a b"], "--bus: 'a b' is not a valid event bus name"),
]


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS call fails the test: names are checked before the first one."""

    def refuse(self: Any, operation: str, params: Any) -> Any:
        raise AssertionError(f"AWS was called: {operation}")

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", refuse)


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_names_exit_2_before_any_call(no_aws: None, args: list[str], message: str) -> None:
    result = run_cli(args)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evctl: error: ") and message in lines[0], result.stderr
    assert "Parameter validation" not in result.stderr and len(lines[0]) < 300


def test_names_follow_aws_rules() -> None:
    assert is_name("rule", "a.b-c_1") and not is_name("rule", "a/b")
    assert is_name("event bus", "aws.partner/acme.com/orders") and is_bus_ref("default")
    assert is_bus_ref("arn:aws:events:us-east-1:123456789012:event-bus/orders") and not is_bus_ref("")
    assert is_name("function", "fn:live") and is_name("function", "fn:$LATEST") and not is_name("function", "fn:")
    assert is_name("log group", "/aws/lambda/fn#1") and not is_name("log group", "x" * 513)
    with pytest.raises(UsageError) as raised:
        check_name("event bus", " ", option="--bus")
    assert (raised.value.message, raised.value.exit_code) == ("--bus: empty event bus name", 2)
