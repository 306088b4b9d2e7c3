"""`evctl redrive` through the CLI: stdout, stderr and exit code apart, in the output modes that matter.

Manual mode runs against moto in-process (which lacks move tasks: the automatic fallback is part of what is
tested). Native mode runs against botocore's Stubber with the service model's response shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.aws import ClientFactory
from tests.helpers import run_cli

ACCOUNT = "123456789012"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def queue(sqs: Any, name: str, dlq: str | None = None) -> str:
    attributes: dict[str, str] = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    if dlq:
        policy = {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{dlq}", "maxReceiveCount": 3}
        attributes["RedrivePolicy"] = json.dumps(policy)
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def send(sqs: Any, url: str, count: int, group: str | None = None) -> None:
    for n in range(count):
        extra = {"MessageGroupId": group, "MessageDeduplicationId": f"d{n}"} if group else {}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), **extra)


def depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def signup(sqs: Any) -> tuple[str, str]:
    dlq = queue(sqs, "signup-dlq")
    src = queue(sqs, "signup", dlq="signup-dlq")
    send(sqs, dlq, 12)
    return src, dlq


# ---- manual mode (moto) -----------------------------------------------------------------------------------------


def test_redrive_falls_back_to_manual_and_moves_everything(sqs: Any, signup: tuple[str, str]) -> None:
    src, dlq = signup
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["mode"], summary["moved"], summary["failed"], summary["destination"]) == (
        "manual",
        12,
        0,
        "signup",
    )
    assert "manual mode" in result.stderr and "does not implement SQS message move tasks" in result.stderr
    assert (depth(sqs, src), depth(sqs, dlq)) == (12, 0)


def test_naming_the_source_queue_redrives_its_dlq(sqs: Any, signup: tuple[str, str]) -> None:
    src, dlq = signup
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup", "--yes", "--max", "5"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["moved"] == 5
    assert (depth(sqs, src), depth(sqs, dlq)) == (5, 7)


def test_table_on_a_terminal(sqs: Any, signup: tuple[str, str]) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes"], tty=True)
    assert result.exit_code == 0
    assert "moved" in result.stdout and "12" in result.stdout and "{" not in result.stdout
    assert "signup-dlq → signup: moved 12, failed 0" in result.stderr


def test_confirmation_on_a_terminal(sqs: Any, signup: tuple[str, str]) -> None:
    src, dlq = signup
    refused = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq"], tty=True, input="n\n")
    assert refused.exit_code == 2
    assert "Move ~12 messages from signup-dlq to signup? [y/N]" in refused.stderr
    assert "not confirmed; nothing was done" in refused.stderr
    assert (depth(sqs, src), depth(sqs, dlq)) == (0, 12)
    accepted = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq"], tty=True, input="y\n")
    assert accepted.exit_code == 0
    assert (depth(sqs, src), depth(sqs, dlq)) == (12, 0)


def test_dry_run_shows_and_consumes_nothing(sqs: Any, signup: tuple[str, str]) -> None:
    src, dlq = signup
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--dry-run", "--filter", "body.n >= `8`"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted(r["body"]["n"] for r in rows) == [8, 9, 10, 11]
    assert all(r["destination"] == "signup" for r in rows)
    assert "nothing was moved" in result.stderr
    assert depth(sqs, src) == 0
    visible = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "12"  # released at once, not held


@pytest.mark.parametrize("expression", ["body", "starts_with(body, 'x')"])
def test_dry_run_shows_what_the_run_moves(sqs: Any, expression: str) -> None:
    """Issue 10: the preview counted a body of 0 as no match (the run: a match) and crashed on a type error in the
    filter (the run: no match). Both now select with the one filter; same messages, same selection."""
    dlq = queue(sqs, "tricky-dlq")
    src = queue(sqs, "tricky", dlq="tricky-dlq")
    bodies = ["0", "false", "[]", "{}", '""', "null", "1", '"x1"', '"y"', "text"]
    for body in bodies:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    dry = run_cli(["redrive", "dlq", "--wait", "0", "tricky-dlq", "--dry-run", "--filter", expression])
    assert dry.exit_code == 0, dry.stderr
    previewed = sorted(json.dumps(row["body"]) for row in json.loads(dry.stdout))
    assert depth(sqs, src) == 0 and depth(sqs, dlq) == len(bodies)
    real = run_cli(["redrive", "dlq", "--wait", "0", "tricky-dlq", "--filter", expression, "--yes"])
    assert real.exit_code == 0, real.stderr
    moved_bodies = []
    while messages := sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages", []):
        moved_bodies.extend(m["Body"] for m in messages)
        for m in messages:
            sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    moved = sorted(json.dumps(json.loads(b)) if b != "text" else json.dumps(b) for b in moved_bodies)
    assert previewed == moved
    assert json.loads(real.stdout)["moved"] == len(previewed)
    if expression == "body":
        assert previewed == sorted(["0", "1", '"x1"', '"y"', '"text"'])


def test_journal(sqs: Any, signup: tuple[str, str], tmp_path: Path) -> None:
    journal = tmp_path / "moved.jsonl"
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", "--journal", str(journal)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(json.loads(line["body"])["n"] for line in lines) == list(range(12))


# ---- bad input: exit code, one line, nothing consumed -------------------------------------------------------------


def nothing_moved(sqs: Any, src: str, dlq: str) -> None:
    assert (depth(sqs, src), depth(sqs, dlq)) == (0, 12)


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def test_refuses_without_yes_when_not_a_terminal(sqs: Any, signup: tuple[str, str]) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "pass --yes" in one_error_line(result.stderr)
    nothing_moved(sqs, *signup)


@pytest.mark.parametrize("rate", ["0", "-2"])
def test_non_positive_rate(sqs: Any, signup: tuple[str, str], rate: str) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", "--rate", rate])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--rate must be a positive number" in one_error_line(result.stderr)
    nothing_moved(sqs, *signup)


def test_missing_destination(sqs: Any, signup: tuple[str, str]) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", "--to", "no-such-queue"])
    assert result.exit_code == 3 and result.stdout == ""
    assert "queue no-such-queue not found" in one_error_line(result.stderr)
    nothing_moved(sqs, *signup)


def test_missing_dlq(sqs: Any) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "nope-dlq", "--yes"])
    assert result.exit_code == 3
    assert "queue nope-dlq not found" in one_error_line(result.stderr)


def test_dlq_with_several_sources_needs_to(sqs: Any) -> None:
    dlq = queue(sqs, "shared-dlq")
    a = queue(sqs, "a", dlq="shared-dlq")
    queue(sqs, "b", dlq="shared-dlq")
    send(sqs, dlq, 12)
    result = run_cli(["redrive", "dlq", "--wait", "0", "shared-dlq", "--yes"])
    assert result.exit_code == 2
    assert "dead-letter queue of 2 queues (a, b)" in one_error_line(result.stderr)
    nothing_moved(sqs, a, dlq)


def test_nobodys_dlq_needs_to_then_warns(sqs: Any) -> None:
    lonely = queue(sqs, "lonely")
    target = queue(sqs, "target")
    send(sqs, lonely, 12)
    refused = run_cli(["redrive", "dlq", "--wait", "0", "lonely", "--yes"])
    assert refused.exit_code == 2
    line = one_error_line(refused.stderr)
    assert "not the dead-letter queue of any queue" in line and "--to QUEUE" in line
    nothing_moved(sqs, target, lonely)
    moved = run_cli(["redrive", "dlq", "--wait", "0", "lonely", "--to", "target", "--yes"])
    assert moved.exit_code == 0
    assert "evctl: warning: queue lonely is not the dead-letter queue of any queue" in moved.stderr
    assert depth(sqs, target) == 12


def test_fifo_dlq_to_standard_is_explained_and_allowed(sqs: Any) -> None:
    dlq = queue(sqs, "orders-dlq.fifo")
    queue(sqs, "orders.fifo", dlq="orders-dlq.fifo")
    plain = queue(sqs, "plain")
    send(sqs, dlq, 5, group="g")
    native = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq.fifo", "--to", "plain", "--mode", "native", "--yes"])
    assert native.exit_code == 2
    assert "same type (FIFO → standard)" in one_error_line(native.stderr)
    assert depth(sqs, dlq) == 5
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq.fifo", "--to", "plain", "--yes"])
    assert result.exit_code == 0
    assert "not their order, message group or deduplication" in result.stderr
    assert depth(sqs, plain) == 5


def test_standard_to_fifo_needs_group_id(sqs: Any, signup: tuple[str, str]) -> None:
    fifo = queue(sqs, "orders.fifo")
    refused = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--to", "orders.fifo", "--yes"])
    assert refused.exit_code == 2
    assert "--group-id" in one_error_line(refused.stderr)
    nothing_moved(sqs, *signup)
    moved = run_cli(
        ["redrive", "dlq", "--wait", "0", "signup-dlq", "--to", "orders.fifo", "--group-id", "replay", "--yes"]
    )
    assert moved.exit_code == 0
    assert depth(sqs, fifo) == 12


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--mode", "fast"], "--mode"),
        (["--journal", "-"], "--journal needs a file"),
        (["--filter", "body.["], "--filter is not a valid JMESPath"),
        (["--to", "a", "--to-bus", "b"], "choose one destination"),
        (["--max", "0"], "--max"),
    ],
)
def test_bad_options(sqs: Any, signup: tuple[str, str], args: list[str], expected: str) -> None:
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", *args])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    nothing_moved(sqs, *signup)


def test_journal_in_a_missing_directory(sqs: Any, signup: tuple[str, str], tmp_path: Path) -> None:
    result = run_cli(
        ["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", "--journal", str(tmp_path / "no" / "j.jsonl")]
    )
    assert result.exit_code == 2
    assert "does not exist" in one_error_line(result.stderr)
    nothing_moved(sqs, *signup)


# ---- EventBridge-target DLQ → bus ---------------------------------------------------------------------------------

EB_ATTRS = {
    "ERROR_CODE": {"DataType": "String", "StringValue": "NO_RESOURCE"},
    "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Function not found"},
    "RULE_ARN": {"DataType": "String", "StringValue": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/users/signup"},
    "TARGET_ARN": {"DataType": "String", "StringValue": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:welcome"},
}


def eb_setup(sqs: Any) -> tuple[str, str]:
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name="users")
    catch = queue(sqs, "catch")
    events.put_rule(Name="signup", EventBusName="users", EventPattern=json.dumps({"source": ["com.example.users"]}))
    events.put_targets(
        Rule="signup", EventBusName="users", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:catch"}]
    )
    dlq = queue(sqs, "rule-target-dlq")
    for n in range(3):
        event = {
            "version": "0",
            "id": f"id-{n}",
            "detail-type": "UserSignup",
            "source": "com.example.users",
            "account": ACCOUNT,
            "time": "2026-11-27T10:15:06Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"n": n},
        }
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(event), MessageAttributes=EB_ATTRS)
    return catch, dlq


def test_eventbridge_target_dlq_back_to_its_bus(sqs: Any) -> None:
    catch, dlq = eb_setup(sqs)
    result = run_cli(["redrive", "dlq", "--wait", "0", "rule-target-dlq", "--to-bus", "users", "--yes"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["moved"], summary["destination"]) == (3, "bus users")
    assert depth(sqs, dlq) == 0
    bodies = sqs.receive_message(QueueUrl=catch, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["detail"]["n"] for m in bodies) == [0, 1, 2]


def test_missing_bus_moves_nothing(sqs: Any) -> None:
    _, dlq = eb_setup(sqs)
    result = run_cli(["redrive", "dlq", "--wait", "0", "rule-target-dlq", "--to-bus", "nope", "--yes"])
    assert result.exit_code == 3
    assert "event bus nope not found" in one_error_line(result.stderr)
    assert depth(sqs, dlq) == 3


def test_eventbridge_dlq_dry_run_shows_error_codes(sqs: Any) -> None:
    _, dlq = eb_setup(sqs)
    result = run_cli(["redrive", "dlq", "--wait", "0", "rule-target-dlq", "--to-bus", "users", "--dry-run"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {r["error_code"] for r in rows} == {"NO_RESOURCE"}
    assert depth(sqs, dlq) == 3


# ---- native mode (Stubber) -----------------------------------------------------------------------------------------

DLQ_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"
DLQ_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders-dlq"
SRC_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders"
SRC_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
HANDLE = base64.b64encode(json.dumps({"taskId": "t-1", "sourceArn": DLQ_ARN}).encode()).decode()


def task(status: str, moved: int, to_move: int = 8, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Status": status,
        "SourceArn": DLQ_ARN,
        "DestinationArn": SRC_ARN,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": 1_795_000_000_000,
        **extra,
    }
    if status == "RUNNING":
        item["TaskHandle"] = HANDLE
    return item


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("sqs", region_name="us-east-1")
    monkeypatch.setattr(ClientFactory, "client", lambda self, service, **kwargs: client)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_plan(stubber: Stubber) -> None:
    stubber.add_response("get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": "orders-dlq"})
    stubber.add_response(
        "list_dead_letter_source_queues", {"queueUrls": [SRC_URL]}, {"QueueUrl": DLQ_URL, "MaxResults": 1000}
    )
    stubber.add_response(
        "get_queue_url", {"QueueUrl": SRC_URL}, {"QueueName": "orders", "QueueOwnerAWSAccountId": ACCOUNT}
    )
    stubber.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"ApproximateNumberOfMessages": "8"}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["All"]},
    )


def expect_list(stubber: Stubber, *results: dict[str, Any]) -> None:
    stubber.add_response(
        "list_message_move_tasks", {"Results": list(results)}, {"SourceArn": DLQ_ARN, "MaxResults": 10}
    )


def test_native_no_wait_returns_the_handle(stubbed: Stubber) -> None:
    expect_plan(stubbed)
    expect_list(stubbed)
    stubbed.add_response(
        "start_message_move_task",
        {"TaskHandle": HANDLE},
        {"SourceArn": DLQ_ARN, "DestinationArn": SRC_ARN, "MaxNumberOfMessagesPerSecond": 100},
    )
    expect_list(stubbed, task("RUNNING", 0))
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq", "--yes", "--no-wait", "--rate", "100"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["mode"], out["status"], out["task_handle"]) == ("native", "RUNNING", HANDLE)
    assert "redrive orders-dlq → orders (native mode)" in result.stderr
    assert "evctl redrive status orders-dlq" in result.stderr


def test_native_waits_for_completion(stubbed: Stubber) -> None:
    expect_plan(stubbed)
    expect_list(stubbed)
    stubbed.add_response(
        "start_message_move_task", {"TaskHandle": HANDLE}, {"SourceArn": DLQ_ARN, "DestinationArn": SRC_ARN}
    )
    expect_list(stubbed, task("RUNNING", 0))
    expect_list(stubbed, task("RUNNING", 3))
    expect_list(stubbed, task("COMPLETED", 8))
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq", "--yes"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["status"], out["moved"], out["to_move"], out["task_handle"]) == ("COMPLETED", 8, 8, HANDLE)


def test_native_failure_exits_5(stubbed: Stubber) -> None:
    expect_plan(stubbed)
    expect_list(stubbed)
    stubbed.add_response(
        "start_message_move_task", {"TaskHandle": HANDLE}, {"SourceArn": DLQ_ARN, "DestinationArn": SRC_ARN}
    )
    expect_list(stubbed, task("RUNNING", 0))
    expect_list(stubbed, task("FAILED", 2, FailureReason="AccessDenied: sqs:SendMessage"))
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq", "--yes"])
    assert result.exit_code == 5
    assert json.loads(result.stdout)["status"] == "FAILED"
    assert "the move task failed: AccessDenied: sqs:SendMessage" in one_error_line(result.stderr)


def test_native_one_task_per_queue_is_explained(stubbed: Stubber) -> None:
    expect_plan(stubbed)
    expect_list(stubbed, task("RUNNING", 5, 20))
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq", "--yes"])
    assert result.exit_code == 2 and result.stdout == ""
    line = one_error_line(result.stderr)
    assert "a move task is already running on orders-dlq (RUNNING, moved ~5 of ~20" in line
    assert HANDLE in line and "evctl redrive cancel orders-dlq" in line


def test_rate_over_500_is_refused_for_native(stubbed: Stubber) -> None:
    expect_plan(stubbed)
    stubbed.add_response("get_queue_attributes", {"Attributes": {}}, None)  # not reached: refused before
    result = run_cli(["redrive", "dlq", "--wait", "0", "orders-dlq", "--yes", "--rate", "501"])
    assert result.exit_code == 2
    assert "1 to 500" in one_error_line(result.stderr)
    # the last two stubs (queue stats) stay unused: nothing started
    stubbed._queue.clear()  # type: ignore[attr-defined]


def test_status_lists_tasks(stubbed: Stubber) -> None:
    stubbed.add_response("get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": "orders-dlq"})
    stubbed.add_response(
        "list_dead_letter_source_queues", {"queueUrls": [SRC_URL]}, {"QueueUrl": DLQ_URL, "MaxResults": 1000}
    )
    stubbed.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    expect_list(stubbed, task("RUNNING", 3), task("CANCELLED", 4, StartedTimestamp=1_794_000_000_000))
    result = run_cli(["redrive", "status", "orders-dlq"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["status"], r["moved"], r["destination"]) for r in rows] == [
        ("RUNNING", 3, "orders"),
        ("CANCELLED", 4, "orders"),
    ]


def test_cancel_a_finished_task_is_explained(stubbed: Stubber) -> None:
    stubbed.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    expect_list(stubbed, task("COMPLETED", 8))
    expect_list(stubbed, task("COMPLETED", 8))
    result = run_cli(["redrive", "cancel", HANDLE])
    assert result.exit_code == 2 and result.stdout == ""
    line = one_error_line(result.stderr)
    assert "not running" in line and "COMPLETED, moved ~8 of ~8" in line


def test_cancel_a_running_task(stubbed: Stubber) -> None:
    stubbed.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    expect_list(stubbed, task("RUNNING", 2))
    stubbed.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 2}, {"TaskHandle": HANDLE})
    result = run_cli(["redrive", "cancel", HANDLE])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "CANCELLING"
    assert "~2 messages were moved" in result.stderr


def test_status_on_an_endpoint_without_move_tasks(sqs: Any, signup: tuple[str, str]) -> None:
    result = run_cli(["redrive", "status", "signup-dlq"])
    assert result.exit_code == 5
    assert "does not implement SQS message move tasks" in one_error_line(result.stderr)


def test_ctrl_c_stops_cleanly_with_a_summary(
    sqs: Any, signup: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first Ctrl-C sets the stop event (evctl.cli.moving.graceful_stop); here it is set after one batch."""
    import contextlib
    import threading

    src, dlq = signup
    stop = threading.Event()

    @contextlib.contextmanager
    def graceful_stop(out: Any, doing: str) -> Iterator[threading.Event]:
        yield stop

    import evctl.cli.moving
    import evctl.cli.redrive

    monkeypatch.setattr(evctl.cli.redrive, "graceful_stop", graceful_stop)
    real_progress = evctl.cli.moving.show_progress

    def progress_then_interrupt(bar: Any, report: Any) -> None:
        real_progress(bar, report)
        stop.set()

    monkeypatch.setattr(evctl.cli.redrive, "show_progress", progress_then_interrupt)
    result = run_cli(["redrive", "dlq", "--wait", "0", "signup-dlq", "--yes", "--concurrency", "1"])
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    assert (summary["moved"], summary["stopped_by"]) == (10, "stop")
    assert "redrive stopped: 10 messages moved, the rest are still in signup-dlq" in one_error_line(result.stderr)
    assert (depth(sqs, src), depth(sqs, dlq)) == (10, 2)


def test_status_of_every_dlq(stubbed: Stubber) -> None:
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 3})
    stubbed.add_response("list_queues", {"QueueUrls": [DLQ_URL, SRC_URL]}, {"MaxResults": 1000})
    stubbed.add_response("get_queue_attributes", {"Attributes": {}}, {"QueueUrl": DLQ_URL, "AttributeNames": ["All"]})
    stubbed.add_response(
        "get_queue_attributes",
        {"Attributes": {"RedrivePolicy": policy}},
        {"QueueUrl": SRC_URL, "AttributeNames": ["All"]},
    )
    stubbed.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    expect_list(stubbed, task("COMPLETED", 8))
    result = run_cli(["redrive", "status"], tty=True, env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:4] == ["DLQ", "STATUS", "MOVED", "TO"]
    assert row.split()[:5] == ["orders-dlq", "COMPLETED", "8", "8", "orders"]


def test_bus_dry_run_flags_bodies_the_real_run_refuses(sqs: Any) -> None:
    """--to-bus --dry-run checks each body as the real run does: not an event → movable false, with the reason;
    the real run then refuses exactly those and leaves them in the DLQ."""
    _, dlq = eb_setup(sqs)
    sqs.send_message(QueueUrl=dlq, MessageBody="plain text", MessageAttributes=EB_ATTRS)
    sqs.send_message(QueueUrl=dlq, MessageBody='{"no": "event"}', MessageAttributes=EB_ATTRS)
    dry = run_cli(["redrive", "dlq", "rule-target-dlq", "--to-bus", "users", "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    rows = json.loads(dry.stdout)
    refused = sorted(
        r["body"] if isinstance(r["body"], str) else json.dumps(r["body"]) for r in rows if not r["movable"]
    )
    assert refused == sorted(['{"no": "event"}', "plain text"])
    assert all(r["problem"].startswith("NotAnEvent") for r in rows if not r["movable"])
    assert all(r["problem"] is None for r in rows if r["movable"]) and len(rows) == 5
    assert "2 message(s) shown would be refused" in dry.stderr
    real = run_cli(["redrive", "dlq", "--wait", "0", "rule-target-dlq", "--to-bus", "users", "--yes"])
    summary = json.loads(real.stdout)
    assert (real.exit_code, summary["moved"], summary["failed"]) == (1, 3, 2)
    assert depth(sqs, dlq) == 2


def test_bus_dry_run_table_shows_why_a_message_would_fail(sqs: Any) -> None:
    _, dlq = eb_setup(sqs)
    sqs.send_message(QueueUrl=dlq, MessageBody="plain text", MessageAttributes=EB_ATTRS)
    result = run_cli(["redrive", "dlq", "rule-target-dlq", "--to-bus", "users", "--dry-run"], tty=True)
    assert result.exit_code == 0 and "WOULD FAIL" in result.stdout and "NotAnEvent" in result.stdout
