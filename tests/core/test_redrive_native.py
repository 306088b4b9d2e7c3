"""Native redrive (SQS message move tasks) against botocore's Stubber: moto has no move tasks, so these follow the
service model's response shapes (ListMessageMoveTasks results, TaskHandle as base64 JSON as AWS returns it)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from evctl.core import redrive
from evctl.core.redrive.native import _find_task
from evctl.errors import Interrupted, NotFoundError, ServiceError, UsageError
from evctl.render.redrive import task_row

ACCOUNT = "123456789012"
DLQ_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"
DLQ_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders-dlq"
SRC_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
STARTED = 1_795_000_000_000


def handle_for(source_arn: str, task_id: str = "da1d8a61-0c0c-42a4-a54a-33c0be68bfb4") -> str:
    """The shape AWS documents: base64 of {"taskId", "sourceArn"}."""
    return base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


HANDLE = handle_for(DLQ_ARN)


def task(status: str, moved: int = 0, to_move: int = 10, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Status": status,
        "SourceArn": DLQ_ARN,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": STARTED,
        **extra,
    }
    if status == "RUNNING":
        item.setdefault("TaskHandle", HANDLE)  # AWS lists the handle only while the task runs
    return item


@pytest.fixture
def sqs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_list(stubber: Stubber, *results: dict[str, Any], limit: int = 10) -> None:
    stubber.add_response(
        "list_message_move_tasks", {"Results": list(results)}, {"SourceArn": DLQ_ARN, "MaxResults": limit}
    )


def test_start_passes_destination_and_rate(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber)
    stubber.add_response(
        "start_message_move_task",
        {"TaskHandle": HANDLE},
        {"SourceArn": DLQ_ARN, "DestinationArn": SRC_ARN, "MaxNumberOfMessagesPerSecond": 50},
    )
    expect_list(stubber, task("RUNNING", 0, 10, DestinationArn=SRC_ARN, MaxNumberOfMessagesPerSecond=50))
    started = redrive.start_move_task(client, DLQ_ARN, SRC_ARN, 50)
    assert (started.status, started.handle, started.rate, started.to_move) == ("RUNNING", HANDLE, 50, 10)


def test_start_without_destination_returns_to_original_sources(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber)
    stubber.add_response("start_message_move_task", {"TaskHandle": HANDLE}, {"SourceArn": DLQ_ARN})
    expect_list(stubber, task("RUNNING"))
    started = redrive.start_move_task(client, DLQ_ARN, None, None)
    assert started.handle == HANDLE
    assert task_row(started)["destination"] == "(original sources)"


@pytest.mark.parametrize("rate", [0, -1, 501, 2.5])
def test_bad_native_rates_are_rejected_before_any_call(sqs: tuple[Any, Stubber], rate: float) -> None:
    client, _ = sqs  # no stubbed responses: any call would fail the test
    with pytest.raises(UsageError) as err:
        redrive.start_move_task(client, DLQ_ARN, None, rate)
    assert "--rate" in str(err.value)


def test_lifecycle_running_to_completed_reports_progress(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 0, 10))
    expect_list(stubber, task("RUNNING", 6, 10))
    expect_list(stubber, task("COMPLETED", 10, 10))  # no TaskHandle once finished: matched by start time
    seen: list[tuple[str, int]] = []
    sleeps: list[float] = []
    start = redrive.MoveTask.from_api(task("RUNNING"))
    final = redrive.follow_task(
        client,
        start,
        on_progress=lambda t: seen.append((t.status, t.moved)),
        poll_seconds=3,
        sleep=sleeps.append,
    )
    assert seen == [("RUNNING", 0), ("RUNNING", 6), ("COMPLETED", 10)]
    assert sleeps == [3, 3]
    assert final.finished and final.moved == 10
    assert final.handle == HANDLE  # kept from the start although SQS drops it from finished tasks


def test_failed_task_keeps_its_reason(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("FAILED", 3, 10, FailureReason="AWS.SimpleQueueService.NonExistentQueue"))
    final = redrive.follow_task(
        client, redrive.MoveTask.from_api(task("RUNNING")), on_progress=lambda t: None, sleep=lambda s: None
    )
    assert final.status == "FAILED"
    assert final.failure == "AWS.SimpleQueueService.NonExistentQueue"
    assert task_row(final)["failure"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_cancelled_elsewhere_ends_the_wait(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("CANCELLING", 4, 10, TaskHandle=HANDLE))
    expect_list(stubber, task("CANCELLED", 4, 10))
    final = redrive.follow_task(
        client, redrive.MoveTask.from_api(task("RUNNING")), on_progress=lambda t: None, sleep=lambda s: None
    )
    assert (final.status, final.moved) == ("CANCELLED", 4)


def test_our_task_is_found_among_older_ones(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    older = task("COMPLETED", 99, 99, StartedTimestamp=STARTED - 86_400_000)
    expect_list(stubber, task("COMPLETED", 10, 10), older)
    final = redrive.follow_task(
        client, redrive.MoveTask.from_api(task("RUNNING")), on_progress=lambda t: None, sleep=lambda s: None
    )
    assert final.moved == 10


def test_ctrl_c_stops_waiting_not_the_task(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 2, 10))

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as err:
        redrive.follow_task(
            client, redrive.MoveTask.from_api(task("RUNNING")), on_progress=lambda t: None, sleep=interrupt
        )
    assert "keeps running on orders-dlq" in err.value.message
    assert "evctl redrive cancel orders-dlq" in str(err.value.hint)


def test_timeout_returns_the_running_task(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 1, 10))
    now = iter([0.0, 100.0])
    final = redrive.follow_task(
        client,
        redrive.MoveTask.from_api(task("RUNNING")),
        on_progress=lambda t: None,
        clock=lambda: next(now),
        sleep=lambda s: None,
        timeout=5,
    )
    assert final.status == "RUNNING"


def test_one_active_task_is_explained_with_the_running_task(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 7, 20))  # and no start_message_move_task call is stubbed
    with pytest.raises(UsageError) as err:
        redrive.start_move_task(client, DLQ_ARN, None, None)
    message = str(err.value)
    assert "already running on orders-dlq" in message
    assert "moved ~7 of ~20" in message and HANDLE in message
    assert "one task per queue" in message
    assert "evctl redrive cancel orders-dlq" in message


def test_one_active_task_race_is_explained_too(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber)
    stubber.add_client_error(
        "start_message_move_task",
        service_error_code="InvalidParameterValue",
        service_message="There is already a task running on this queue.",
        http_status_code=400,
    )
    expect_list(stubber, task("RUNNING", 1, 5))
    with pytest.raises(UsageError) as err:
        redrive.start_move_task(client, DLQ_ARN, None, None)
    assert "already running" in str(err.value)


def test_start_error_without_a_running_task_is_passed_on(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber)
    stubber.add_client_error(
        "start_message_move_task",
        service_error_code="InvalidParameterValue",
        service_message="Source queue must be configured as a Dead Letter Queue.",
        http_status_code=400,
    )
    expect_list(stubber)
    with pytest.raises(UsageError) as err:
        redrive.start_move_task(client, DLQ_ARN, None, None)
    assert "must be configured as a Dead Letter Queue" in str(err.value)


def test_cancel_by_handle(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 3, 10))
    stubber.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 3}, {"TaskHandle": HANDLE})
    cancelled = redrive.cancel(client, HANDLE)
    assert (cancelled.status, cancelled.moved, cancelled.handle) == ("CANCELLING", 3, HANDLE)


def test_cancel_by_queue_finds_the_running_task(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    stubber.add_response("get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": "orders-dlq"})
    expect_list(stubber, task("RUNNING", 3, 10))
    stubber.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 4}, {"TaskHandle": HANDLE})
    assert redrive.cancel(client, "orders-dlq").moved == 4


def test_cancelling_a_finished_task_is_explained(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("COMPLETED", 10, 10))
    expect_list(stubber, task("COMPLETED", 10, 10))  # no cancel call is stubbed: none may be made
    with pytest.raises(UsageError) as err:
        redrive.cancel(client, HANDLE)
    message = str(err.value)
    assert "not running" in message and "COMPLETED, moved ~10 of ~10" in message
    assert "only a running task can be cancelled" in message


def test_task_finishing_between_listing_and_cancel_is_explained(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    expect_list(stubber, task("RUNNING", 9, 10))
    stubber.add_client_error(
        "cancel_message_move_task",
        service_error_code="ResourceNotFoundException",
        service_message="The task handle is not valid or the task is no longer running.",
        http_status_code=400,
    )
    expect_list(stubber, task("COMPLETED", 10, 10))
    with pytest.raises(UsageError) as err:
        redrive.cancel(client, HANDLE)
    assert "COMPLETED" in str(err.value)


def test_cancel_by_queue_with_nothing_running(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    stubber.add_response(
        "get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": "orders-dlq", "QueueOwnerAWSAccountId": ACCOUNT}
    )
    expect_list(stubber, task("CANCELLED", 2, 10))
    with pytest.raises(NotFoundError) as err:
        redrive.cancel(client, DLQ_ARN)
    assert "no move task is running on orders-dlq" in str(err.value)
    assert "CANCELLED" in str(err.value)


def test_handles_are_told_apart_from_queue_names() -> None:
    assert redrive.decode_handle(HANDLE) == {"taskId": "da1d8a61-0c0c-42a4-a54a-33c0be68bfb4", "sourceArn": DLQ_ARN}
    assert redrive.decode_handle("orders-dlq") is None
    assert redrive.looks_like_queue("orders-dlq") and redrive.looks_like_queue(DLQ_URL)
    assert not redrive.looks_like_queue(HANDLE)


def test_probe_tells_what_lacks_move_tasks(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    stubber.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    stubber.add_client_error("list_message_move_tasks", service_error_code="500", http_status_code=500)
    stubber.add_client_error("list_message_move_tasks", service_error_code="UnsupportedOperation")
    stubber.add_client_error("list_message_move_tasks", service_error_code="RequestThrottled", http_status_code=400)
    stubber.add_client_error("list_message_move_tasks", service_error_code="AccessDenied", http_status_code=403)
    probe = redrive.native_probe(client)
    assert probe(DLQ_ARN) is None
    assert "HTTP 500" in str(probe(DLQ_ARN))
    assert "UnsupportedOperation" in str(probe(DLQ_ARN))
    assert probe(DLQ_ARN) is None  # throttled: SQS is there; the real calls retry
    with pytest.raises(Exception) as err:  # a real AWS error is not "unsupported": it is reported
        probe(DLQ_ARN)
    assert "access denied" in str(err.value)


def test_probe_catches_moto_not_implemented() -> None:
    class Lacking:
        def list_message_move_tasks(self, **_: Any) -> None:
            raise NotImplementedError("The list_message_move_tasks action has not been implemented")

    assert "does not implement" in str(redrive.native_probe(Lacking())(DLQ_ARN))


def test_unlisted_task_is_a_service_error() -> None:
    known = redrive.MoveTask.from_api(task("RUNNING"))
    with pytest.raises(ServiceError):
        _find_task([], known)
