from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evctl.errors import UsageError
from evctl.sandbox import provision as pv


def test_provision_builds_the_seed_pipeline_and_is_idempotent(
    clients: pv.SandboxClients, make_pipeline: Callable[..., pv.Pipeline]
) -> None:
    first = make_pipeline(timeout=3, visibility_timeout=None)
    second = make_pipeline(timeout=3, visibility_timeout=None)
    assert first == second

    attrs = clients.sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "18"  # 6 x the function timeout
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": first.dlq_arn, "maxReceiveCount": 3}
    statement = json.loads(attrs["Policy"])["Statement"]
    assert len(statement) == 1
    assert statement[0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement[0]["Action"] == "sqs:SendMessage"
    assert statement[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": first.rule_arn}}

    rule = clients.events.describe_rule(Name=pv.RULE)
    assert json.loads(rule["EventPattern"]) == {"source": ["my.webapp"], "detail-type": ["UserSignup"]}
    targets = clients.events.list_targets_by_rule(Rule=pv.RULE)["Targets"]
    assert [t["Arn"] for t in targets] == [first.queue_arn]

    function = clients.lambda_.get_function_configuration(FunctionName=pv.FUNCTION)
    assert function["Runtime"].startswith("python")
    assert function["Handler"] == "lambda_function.lambda_handler"
    assert function["Timeout"] == 3
    assert function["Role"] == first.role_arn

    mappings = clients.lambda_.list_event_source_mappings(FunctionName=pv.FUNCTION)["EventSourceMappings"]
    assert len(mappings) == 1
    assert mappings[0]["BatchSize"] == 10
    assert mappings[0]["EventSourceArn"] == first.queue_arn
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    groups = clients.logs.describe_log_groups(logGroupNamePrefix=pv.LOG_GROUP)["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/user-signup-handler"]


def test_the_function_zip_holds_the_handler(tmp_path: Path) -> None:
    import io
    import zipfile

    custom = tmp_path / "signup.py"
    custom.write_text("def go(event, context):\n    return None\n")
    spec = pv.parse_handler(f"{custom}:go")
    assert spec.lambda_handler == "signup.go"
    with zipfile.ZipFile(io.BytesIO(pv.handler_zip(spec))) as archive:
        assert archive.namelist() == ["signup.py"]
        assert archive.read("signup.py") == custom.read_bytes()
    with zipfile.ZipFile(io.BytesIO(pv.handler_zip(pv.DEFAULT_HANDLER))) as archive:
        assert archive.namelist() == ["lambda_function.py"]


def test_parse_handler_forms(tmp_path: Path) -> None:
    assert pv.parse_handler(None) is pv.DEFAULT_HANDLER
    assert pv.parse_handler("x.py") == pv.HandlerSpec((Path.cwd() / "x.py").resolve(), "lambda_handler")
    assert pv.parse_handler(f"{tmp_path}/h.py:run").function == "run"
    with pytest.raises(UsageError, match="is not a Python function name"):
        pv.parse_handler("h.py:not-a-name")


@pytest.mark.parametrize(
    ("source", "function", "message"),
    [
        (None, "handler", "does not exist"),
        ("def handler(event, context)\n    pass\n", "handler", r"has a syntax error: expected ':' \(line 1\)"),
        ("def other(event, context):\n    pass\n", "handler", "defines no function 'handler'"),
    ],
)
def test_check_handler_fails_fast(tmp_path: Path, source: str | None, function: str, message: str) -> None:
    path = tmp_path / "handler.py"
    if source is not None:
        path.write_text(source)
    with pytest.raises(UsageError, match=message) as caught:
        pv.check_handler(pv.HandlerSpec(path, function))
    assert caught.value.exit_code == 2


def test_the_default_handler_reads_the_eventbridge_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    from evctl.sandbox.default_handler import lambda_handler

    body = {"id": "e1", "source": "my.webapp", "detail-type": "UserSignup", "detail": {"email": "a@example.com"}}
    assert lambda_handler({"Records": [{"body": json.dumps(body)}]}, None)["statusCode"] == 200
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Processing user signup event: {'email': 'a@example.com'}",
        "Sending welcome email to: a@example.com",
    ]
    body["detail"] = {"user_id": "1"}
    with pytest.raises(ValueError, match="signup event e1 has no email"):
        lambda_handler({"Records": [{"body": json.dumps(body)}]}, None)
