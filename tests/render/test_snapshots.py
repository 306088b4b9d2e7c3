"""Every table evctl prints, at 80 and 120 columns, by the commands themselves (in-process, against moto).

Each test builds realistic AWS state, runs the command on a pretend terminal of that width and compares stdout
(and the stderr notes) with tests/render/snapshots/<command>-<width>.txt. What moto makes up differently on
each run (message ids, sent times) is pinned; what moto lacks (SQS move tasks) is answered with fixed tasks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from moto import mock_aws

from tests.helpers import run_cli
from tests.render.snapshots import assert_snapshot

WIDTHS = [80, 120]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def rendered(args: list[str], width: int, *, exit_code: int = 0, input: str | None = None) -> str:
    """stdout on a terminal `width` columns wide, then stderr (when there is any) under a marker line."""
    result = run_cli(["--color", "never", *args], tty=True, env={"COLUMNS": str(width)}, input=input)
    assert result.exit_code == exit_code, result.stderr
    return result.stdout + (f"--- stderr ---\n{result.stderr}" if result.stderr else "")


def arn(service: str, name: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"


# ---- AWS state -----------------------------------------------------------------------------------------------

SIGNUP = {
    "version": "0",
    "id": "6f1c2b9e-6d0a-4c3e-9a51-2f8e7d4c1b0a",
    "detail-type": "UserSignup",
    "source": "my.webapp",
    "account": ACCOUNT,
    "time": "2026-11-30T09:12:44Z",
    "region": REGION,
    "resources": [],
    "detail": {"user_id": "u-1042", "email": "ann@example.com", "name": "Ann"},
}
# The DLQ's messages: body → (message id, SentTimestamp) as AWS would have them (moto makes new ones each run).
DLQ_MESSAGES = {
    json.dumps(SIGNUP | {"detail": {"user_id": "u-1042", "name": "Ann"}}): (
        "3f6d2a0c-8e1b-4c57-9d2e-7a4b1c9e0f53",
        "1796036400123",
    ),
    json.dumps(SIGNUP | {"id": "0c9e", "detail": {"user_id": "u-1043", "name": "Bo"}}): (
        "a81f04d2-5c3e-4b69-8f70-1d2e3c4b5a69",
        "1796036460456",
    ),
}
EVENTBRIDGE_DLQ_MESSAGE = json.dumps(SIGNUP | {"id": "77aa", "detail": {"user_id": "u-1044"}})
EVENTBRIDGE_DLQ_ID = ("e4b0c1d2-9f8e-4a7b-b6c5-d4e3f2a1b0c9", "1796036522789")
MOVE_TASKS = {
    arn("sqs", "user-signup-dlq"): [
        {
            "Status": "RUNNING",
            "SourceArn": arn("sqs", "user-signup-dlq"),
            "ApproximateNumberOfMessagesMoved": 120,
            "ApproximateNumberOfMessagesToMove": 431,
            "MaxNumberOfMessagesPerSecond": 50,
            "StartedTimestamp": 1_796_040_000_000,
            "TaskHandle": "AQEBhandle",
        },
        {
            "Status": "FAILED",
            "SourceArn": arn("sqs", "user-signup-dlq"),
            "DestinationArn": arn("sqs", "user-signup-queue"),
            "ApproximateNumberOfMessagesMoved": 3,
            "ApproximateNumberOfMessagesToMove": 9,
            "FailureReason": "AWS.SimpleQueueService.NonExistentQueue: the destination queue does not exist",
            "StartedTimestamp": 1_795_990_000_000,
        },
    ],
    arn("sqs", "orders-processing-dlq.fifo"): [
        {
            "Status": "COMPLETED",
            "SourceArn": arn("sqs", "orders-processing-dlq.fifo"),
            "DestinationArn": arn("sqs", "orders-processing-events.fifo"),
            "ApproximateNumberOfMessagesMoved": 17,
            "ApproximateNumberOfMessagesToMove": 17,
            "StartedTimestamp": 1_795_900_000_000,
        }
    ],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with pinned message ids and sent times, and SQS move tasks moto does not have."""
    real = botocore.client.BaseClient._make_api_call

    def call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "ListMessageMoveTasks":
            return {"Results": MOVE_TASKS.get(params["SourceArn"], [])[: params.get("MaxResults", 10)]}
        response = real(self, operation, params)
        if operation == "ReceiveMessage":
            for message in response.get("Messages", []):
                pinned = DLQ_MESSAGES.get(message["Body"]) or EVENTBRIDGE_DLQ_ID
                message["MessageId"] = pinned[0]
                message.setdefault("Attributes", {})["SentTimestamp"] = pinned[1]
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    with mock_aws():
        yield


def make_queues() -> None:
    sqs = boto3.client("sqs", region_name=REGION)

    def create(name: str, **attributes: Any) -> str:
        attrs = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in attributes.items()}
        return str(sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])

    dlq = create("user-signup-dlq", MessageRetentionPeriod=1_209_600)
    main = create(
        "user-signup-queue",
        VisibilityTimeout=18,
        RedrivePolicy={"deadLetterTargetArn": arn("sqs", "user-signup-dlq"), "maxReceiveCount": 3},
    )
    create("orders-processing-dlq.fifo", FifoQueue="true", MessageRetentionPeriod=1_209_600)
    orders = create(
        "orders-processing-events.fifo",
        FifoQueue="true",
        ContentBasedDeduplication="true",
        VisibilityTimeout=900,
        RedrivePolicy={"deadLetterTargetArn": arn("sqs", "orders-processing-dlq.fifo"), "maxReceiveCount": 5},
    )
    create("audit-log", DelaySeconds=0)
    for n in range(3):
        sqs.send_message(QueueUrl=main, MessageBody=json.dumps(SIGNUP | {"id": f"m{n}"}))
    for body in DLQ_MESSAGES:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody=EVENTBRIDGE_DLQ_MESSAGE,
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Lambda function does not exist"},
        },
    )
    for n in range(12):
        sqs.send_message(QueueUrl=orders, MessageBody=json.dumps({"order": n}), MessageGroupId=f"customer-{n % 3}")


def make_rules() -> None:
    events = boto3.client("events", region_name=REGION)
    rules = [
        ("user-signup-rule", {"source": ["my.webapp"], "detail-type": ["UserSignup"]}, None, "ENABLED"),
        (
            "orders-over-100-to-fulfilment",
            {"source": ["my.shop"], "detail-type": ["OrderPlaced"], "detail": {"amount": [{"numeric": [">", 100]}]}},
            None,
            "ENABLED",
        ),
        ("nightly-signup-report", None, "cron(0 3 * * ? *)", "DISABLED"),
    ]
    for name, pattern, schedule, state in rules:
        kwargs: dict[str, Any] = {"EventPattern": json.dumps(pattern)} if pattern else {"ScheduleExpression": schedule}
        events.put_rule(Name=name, State=state, **kwargs)
    events.put_targets(
        Rule="user-signup-rule",
        Targets=[
            {"Id": "queue", "Arn": arn("sqs", "user-signup-queue")},
            {"Id": "audit", "Arn": arn("sqs", "audit-log")},
        ],
    )
    events.put_targets(
        Rule="orders-over-100-to-fulfilment",
        Targets=[{"Id": "fulfil", "Arn": arn("lambda", "function:order-fulfilment-handler")}],
    )


# ---- the tables ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_queue_list(aws: None, width: int) -> None:
    make_queues()
    assert_snapshot(f"queue-list-{width}", rendered(["queue", "list"], width))


@pytest.mark.parametrize("width", WIDTHS)
def test_queue_stats(aws: None, width: int) -> None:
    make_queues()
    args = ["queue", "stats", "user-signup-queue", "user-signup-dlq", "orders-processing-events.fifo", "audit-log"]
    assert_snapshot(f"queue-stats-{width}", rendered(args, width))


@pytest.mark.parametrize("width", WIDTHS)
def test_redrive_dry_run(aws: None, width: int) -> None:
    make_queues()
    args = ["redrive", "dlq", "user-signup-dlq", "--dry-run", "--wait", "0"]
    assert_snapshot(f"redrive-dry-run-{width}", rendered(args, width))


@pytest.mark.parametrize("width", WIDTHS)
def test_redrive_status(aws: None, width: int) -> None:
    make_queues()
    assert_snapshot(f"redrive-status-{width}", rendered(["redrive", "status"], width))


@pytest.mark.parametrize("width", WIDTHS)
def test_rules_list(aws: None, width: int) -> None:
    make_rules()
    assert_snapshot(f"rules-list-{width}", rendered(["rules", "list"], width))


@pytest.mark.parametrize("width", WIDTHS)
def test_tail_bus_cleanup(aws: None, width: int) -> None:
    from evctl.core.rules.bus_tail import NAME_PREFIX, TAG_KEY, TAG_VALUE

    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    for suffix in ("3f9c2a71", "b7d01e4c"):
        name = f"{NAME_PREFIX}{suffix}"
        rule = events.put_rule(Name=name, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        events.tag_resource(ResourceARN=rule["RuleArn"], Tags=[{"Key": TAG_KEY, "Value": TAG_VALUE}])
        sqs.create_queue(QueueName=name, tags={TAG_KEY: TAG_VALUE})
    assert_snapshot(f"tail-bus-cleanup-{width}", rendered(["tail", "bus", "--cleanup", "--yes"], width))


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in template and two of a user's; the config path is relative, so the table is the same anywhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", "config")
    (tmp_path / "config" / "evctl").mkdir(parents=True)
    (tmp_path / "config" / "evctl" / "config.toml").write_text(
        "[templates.order-placed]\n"
        'source = "my.shop"\n'
        'detail-type = "OrderPlaced"\n'
        'detail = { order_id = "{uuid}", customer_id = "c-1", amount = 10, currency = "EUR" }\n'
        "[templates.payment-failed]\n"
        'source = "my.shop.payments"\n'
        'detail-type = "PaymentFailed"\n'
        'bus = "payments"\n'
        'detail = { order_id = "{uuid}", reason = "card_declined" }\n'
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_templates_list(templates: None, width: int) -> None:
    assert_snapshot(f"templates-list-{width}", rendered(["templates", "list"], width))


@pytest.mark.parametrize("width", WIDTHS)
def test_templates_show(templates: None, width: int) -> None:
    assert_snapshot(f"templates-show-{width}", rendered(["templates", "show", "order-placed"], width))


@pytest.mark.parametrize("width", WIDTHS)
def test_publish_failures(aws: None, tmp_path: Path, width: int) -> None:
    """Events that were not published, then the run's summary (its duration pinned)."""
    lines = [
        json.dumps({"Source": "my.webapp", "DetailType": "UserSignup", "Detail": json.dumps(SIGNUP["detail"])}),
        json.dumps({"Source": "my.webapp", "DetailType": "UserSignup", "Detail": "[1, 2]"}),
        "{not json",
        json.dumps({"Source": "my.webapp", "Detail": "{}"}),
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    text = rendered(["publish", "--file", str(tmp_path / "events.jsonl")], width, exit_code=1)
    text = re.sub(r"(?m)^(seconds +)\d+(\.\d+)?$", r"\g<1>0.01", text)
    text = re.sub(r"(?m)^(events per second +)\d+(\.\d+)?$", r"\g<1>400.0", text)
    text = re.sub(r"(?m)\d+\.\d\d s$", "0.01 s", text)
    assert_snapshot(f"publish-failures-{width}", text.replace(str(tmp_path), "/tmp/work"))


@pytest.mark.parametrize("command", [["queue", "list"], ["queue", "stats", "user-signup-queue", "user-signup-dlq"]])
def test_queue_tables_at_80_columns_keep_names_and_headers_whole(aws: None, command: list[str]) -> None:
    """The issue's report: at 80 columns names split (`user-s`/`ignup-`/`queue`), headers too (`VISIB`/`LE`),
    and an empty list showed as `[]`."""
    from evctl.render.queues import STATS_COLUMNS
    from evctl.render.tables import as_columns

    make_queues()
    result = run_cli(["--color", "never", *command], tty=True, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = {cell for line in lines for cell in re.split(r"\s{2,}", line.strip())}
    names = {"user-signup-queue", "user-signup-dlq"}
    assert names <= cells
    headers = {column.header for column in as_columns(STATS_COLUMNS)} | {
        str(column.short) for column in as_columns(STATS_COLUMNS) if column.short
    }
    assert set(re.split(r"\s{2,}", lines[0].strip())) <= headers  # every header whole (full or short)
    assert "[]" not in result.stdout
