"""The redrive sinks: what a SendMessageBatch carries, how every Failed[] entry is treated, FIFO order and
deduplication, pacing, the journal, and publishing EventBridge-target DLQ messages back to a bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from evctl.core.common import Pacer
from evctl.core.moving import (
    BusSink,
    FileSink,
    JournalSink,
    QueueSink,
    check_bus,
    dedup_id_for,
    is_eventbridge_dlq_message,
)
from evctl.core.moving.queue_sink import MAX_BATCH_BYTES
from evctl.core.queues import QueueRef, Received
from evctl.errors import NotFoundError

ACCOUNT = "123456789012"


def ref(name: str) -> QueueRef:
    return QueueRef(
        url=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}",
        arn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}",
        name=name,
        account=ACCOUNT,
        region="us-east-1",
        fifo=name.endswith(".fifo"),
    )


ATTRS = {
    "plan": {"DataType": "String", "StringValue": "pro"},
    "count": {"DataType": "Number", "StringValue": "42"},
    "ratio": {"DataType": "Number.float", "StringValue": "0.5"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
    "gz": {"DataType": "Binary.gzip", "BinaryValue": b"\x1f\x8b"},
    "tenant": {"DataType": "String.tenant-id", "StringValue": "t-1"},
}


def received(mid: str, body: str = "{}", group: str | None = None, **attributes: str) -> Received:
    attrs = dict(attributes)
    if group:
        attrs["MessageGroupId"] = group
        attrs.setdefault("MessageDeduplicationId", f"orig-{mid}")
    return Received(mid, f"rh-{mid}", body, attrs, {}, None, ref("dlq"))


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_every_attribute_type_trace_header_and_body_are_sent(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    message = Received(
        "m1", "rh", '{"a":1}', {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"}, ATTRS, None
    )
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "new-1", "MD5OfMessageBody": "x"}], "Failed": []},
        {
            "QueueUrl": ref("signup").url,
            "Entries": [
                {
                    "Id": "0",
                    "MessageBody": '{"a":1}',
                    "MessageAttributes": ATTRS,
                    "MessageSystemAttributes": {
                        "AWSTraceHeader": {
                            "DataType": "String",
                            "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793",
                        }
                    },
                }
            ],
        },
    )
    sink = QueueSink(client, ref("signup"))
    result = sink.accept([message])
    assert result.taken == ["m1"] and result.failed == []
    assert sink.sent_ids == {"m1": "new-1"}


def test_only_acknowledged_entries_are_taken(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    batch = [received("a"), received("b"), received("c")]
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}],
            "Failed": [
                {"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"},
                {"Id": "2", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad char"},
            ],
        },
        {"QueueUrl": ref("signup").url, "Entries": ANY},
    )
    result = QueueSink(client, ref("signup")).accept(batch)
    assert result.taken == ["a"]
    by_id = {f.message_id: f for f in result.failed}
    assert by_id["b"].retryable and by_id["b"].code == "InternalError"
    assert not by_id["c"].retryable and by_id["c"].code == "InvalidMessageContents"


def test_an_entry_missing_from_the_answer_is_not_taken(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": ref("signup").url, "Entries": ANY},
    )
    result = QueueSink(client, ref("signup")).accept([received("a"), received("b")])
    assert result.taken == ["a"]
    assert [(f.message_id, f.code, f.retryable) for f in result.failed] == [("b", "NoOutcome", True)]


def test_fifo_sends_one_message_per_group_per_call_with_derived_dedup_ids(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    batch = [received("a1", group="A"), received("a2", group="A"), received("b1", group="B")]
    dest = ref("orders.fifo")

    def entry(i: int, mid: str, body: str, group: str) -> dict[str, Any]:
        return {
            "Id": str(i),
            "MessageBody": body,
            "MessageGroupId": group,
            "MessageDeduplicationId": f"evctl-redrive-{mid}",
        }

    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [
                {"Id": "0", "MessageId": "x", "MD5OfMessageBody": "x"},
                {"Id": "1", "MessageId": "y", "MD5OfMessageBody": "y"},
            ],
            "Failed": [],
        },
        {"QueueUrl": dest.url, "Entries": [entry(0, "a1", "{}", "A"), entry(1, "b1", "{}", "B")]},
    )
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "z", "MD5OfMessageBody": "z"}], "Failed": []},
        {"QueueUrl": dest.url, "Entries": [entry(0, "a2", "{}", "A")]},
    )
    result = QueueSink(client, dest).accept(batch)
    assert sorted(result.taken) == ["a1", "a2", "b1"]


def test_fifo_failure_holds_back_the_rest_of_its_group(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    batch = [received("a1", group="A"), received("a2", group="A"), received("b1", group="B"), received("b2", group="B")]
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "1", "MessageId": "y", "MD5OfMessageBody": "y"}],
            "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "later"}],
        },
        {"QueueUrl": ref("o.fifo").url, "Entries": ANY},
    )
    stubber.add_response(  # only b2 goes next: a2 must not overtake a1
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "z", "MD5OfMessageBody": "z"}], "Failed": []},
        {
            "QueueUrl": ref("o.fifo").url,
            "Entries": [
                {"Id": "0", "MessageBody": "{}", "MessageGroupId": "B", "MessageDeduplicationId": "evctl-redrive-b2"}
            ],
        },
    )
    result = QueueSink(client, ref("o.fifo")).accept(batch)
    assert sorted(result.taken) == ["b1", "b2"]
    codes = {f.message_id: (f.code, f.retryable) for f in result.failed}
    assert codes == {"a1": ("InternalError", True), "a2": ("WaitingForGroup", True)}


def test_a_refused_fifo_message_blocks_its_group_for_the_run(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    sink = QueueSink(client, ref("o.fifo"))
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [],
            "Failed": [{"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "x"}],
        },
        {"QueueUrl": ref("o.fifo").url, "Entries": ANY},
    )
    first = sink.accept([received("a1", group="A")])
    assert not first.failed[0].retryable
    later = sink.accept([received("a2", group="A")])  # no call stubbed: nothing may be sent
    assert [(f.code, f.retryable) for f in later.failed] == [("GroupBlocked", False)]


def test_standard_to_fifo_uses_the_given_group(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "y", "MD5OfMessageBody": "y"}], "Failed": []},
        {
            "QueueUrl": ref("o.fifo").url,
            "Entries": [
                {"Id": "0", "MessageBody": "{}", "MessageGroupId": "g1", "MessageDeduplicationId": "evctl-redrive-s1"}
            ],
        },
    )
    assert QueueSink(client, ref("o.fifo"), group_id="g1").accept([received("s1")]).taken == ["s1"]


def test_fifo_to_standard_drops_group_and_dedup(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "y", "MD5OfMessageBody": "y"}], "Failed": []},
        {"QueueUrl": ref("plain").url, "Entries": [{"Id": "0", "MessageBody": "{}"}]},
    )
    assert QueueSink(client, ref("plain")).accept([received("f1", group="A")]).taken == ["f1"]


def test_calls_stay_within_the_batch_size_cap(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    big = "x" * (MAX_BATCH_BYTES // 2 + 10)
    batch = [received("a", big), received("b", big), received("c", "small")]
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "1", "MD5OfMessageBody": "1"}], "Failed": []},
        {"QueueUrl": ref("q").url, "Entries": [{"Id": "0", "MessageBody": big}]},
    )
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [
                {"Id": "0", "MessageId": "2", "MD5OfMessageBody": "2"},
                {"Id": "1", "MessageId": "3", "MD5OfMessageBody": "3"},
            ],
            "Failed": [],
        },
        {"QueueUrl": ref("q").url, "Entries": [{"Id": "0", "MessageBody": big}, {"Id": "1", "MessageBody": "small"}]},
    )
    assert sorted(QueueSink(client, ref("q")).accept(batch).taken) == ["a", "b", "c"]


def test_a_deleted_destination_stops_with_a_hint(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_message_batch", service_error_code="AWS.SimpleQueueService.NonExistentQueue")
    with pytest.raises(NotFoundError) as err:
        QueueSink(client, ref("gone")).accept([received("a")])
    assert "deleted" in str(err.value.hint)


def test_dedup_id_is_new_and_bounded() -> None:
    message = received("0f6b1d9c-5b7f-4d0e-9b8e-2b7d3c1a9e55", group="A")
    assert dedup_id_for(message) == "evctl-redrive-0f6b1d9c-5b7f-4d0e-9b8e-2b7d3c1a9e55"
    assert dedup_id_for(message) != message.dedup_id
    assert len(dedup_id_for(received("x" * 200))) == 128


def test_pacer_spaces_calls_to_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pacer.take(10)  # 10 messages at 10/s: one second each
    assert slept == [1.0, 1.0]
    Pacer(None, sleep=lambda s: pytest.fail("no rate, no sleep")).take(10)


# ---- FIFO dedup on a real (moto) FIFO queue -------------------------------------------------------------------


def test_fifo_redrive_to_the_original_queue_is_not_swallowed_by_the_original_dedup_id() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="order", MessageGroupId="A", MessageDeduplicationId="d-1")
        first = sqs.receive_message(QueueUrl=url)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # consumed; it "failed" into the DLQ
        dlq_copy = Received(
            first["MessageId"], "rh", "order", {"MessageGroupId": "A", "MessageDeduplicationId": "d-1"}, {}, None
        )
        destination = QueueRef(
            url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders.fifo", "orders.fifo", ACCOUNT, "us-east-1", True
        )
        sink = QueueSink(sqs, destination)
        assert sink.accept([dlq_copy]).taken == [first["MessageId"]]
        again = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"]).get("Messages", [])
        assert [m["Body"] for m in again] == ["order"]  # with the original id "d-1" it would have vanished
        assert again[0]["Attributes"]["MessageGroupId"] == "A"


# ---- journal ---------------------------------------------------------------------------------------------------


class _Taker:
    def __init__(self, take: set[str]) -> None:
        self.take = take

    def accept(self, batch: Any) -> Any:
        from evctl.core.moving import SinkFailure, SinkResult

        return SinkResult(
            taken=[m.message_id for m in batch if m.message_id in self.take],
            failed=[SinkFailure(m.message_id, "X", "x", True) for m in batch if m.message_id not in self.take],
        )


def test_journal_records_only_what_moved(tmp_path: Path) -> None:
    path = tmp_path / "moved.jsonl"
    with open(path, "ab") as stream:
        sink = JournalSink(_Taker({"a"}), FileSink(stream, name=str(path)))
        result = sink.accept([received("a", '{"x":1}'), received("b")])
    assert result.taken == ["a"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["messageId"], line["body"]) for line in lines] == [("a", '{"x":1}')]


def test_an_unwritable_journal_takes_nothing(tmp_path: Path) -> None:
    class Broken(FileSink):
        def _write(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

    with open(tmp_path / "j", "ab") as stream:
        sink = JournalSink(_Taker({"a"}), Broken(stream, name="j"))
        with pytest.raises(Exception, match="No space left"):
            sink.accept([received("a")])


# ---- the bus -----------------------------------------------------------------------------------------------------

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "UserSignup",
    "source": "com.example.users",
    "account": ACCOUNT,
    "time": "2026-11-27T10:15:06Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"email": "ann@example.com"},
}
EB_ATTRS = {
    "ERROR_CODE": {"DataType": "String", "StringValue": "NO_PERMISSIONS"},
    "ERROR_MESSAGE": {"DataType": "String", "StringValue": "denied"},
    "RULE_ARN": {"DataType": "String", "StringValue": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/signup"},
    "TARGET_ARN": {"DataType": "String", "StringValue": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:h"},
}


def test_bus_sink_puts_the_event_back_on_the_bus() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="users")
        catch = sqs.create_queue(QueueName="catch")["QueueUrl"]
        catch_arn = sqs.get_queue_attributes(QueueUrl=catch, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="users", EventPattern=json.dumps({"source": ["com.example.users"]}))
        events.put_targets(Rule="all", EventBusName="users", Targets=[{"Id": "q", "Arn": catch_arn}])
        assert check_bus(events, "users").endswith(":event-bus/users")
        good = Received("m1", "rh", json.dumps(EVENT), {}, EB_ATTRS, None)
        bad = Received("m2", "rh", "not json", {}, EB_ATTRS, None)
        assert is_eventbridge_dlq_message(good) and not is_eventbridge_dlq_message(received("x"))
        sink = BusSink(events, "users")
        result = sink.accept([good, bad])
        assert result.taken == ["m1"]
        assert [(f.message_id, f.code, f.retryable) for f in result.failed] == [("m2", "NotAnEvent", False)]
        delivered = sqs.receive_message(QueueUrl=catch, WaitTimeSeconds=1)["Messages"]
        event = json.loads(delivered[0]["Body"])
        assert (event["source"], event["detail-type"], event["detail"]) == (
            "com.example.users",
            "UserSignup",
            {"email": "ann@example.com"},
        )


def test_a_missing_bus_is_found_before_anything_moves() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        with pytest.raises(NotFoundError, match="event bus nope"):
            check_bus(events, "nope")


def test_bus_entry_level_failures_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"EventId": "e1"}, {"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}],
            },
        )
        sink = BusSink(client, "users")
        one = Received("m1", "rh", json.dumps(EVENT), {}, EB_ATTRS, None)
        two = Received("m2", "rh", json.dumps(EVENT), {}, EB_ATTRS, None)
        result = sink.accept([one, two])
    assert result.taken == ["m1"]
    assert [(f.code, f.retryable) for f in result.failed] == [("AccessDeniedException", False)]


def test_a_group_waits_behind_a_message_that_ran_out_of_retries(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    sink = QueueSink(client, ref("o.fifo"))
    stubber.add_response(
        "send_message_batch",
        {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "x"}]},
        {"QueueUrl": ref("o.fifo").url, "Entries": ANY},
    )
    first = sink.accept([received("a1", group="A"), received("a2", group="A")])
    assert [(f.message_id, f.code, f.retryable) for f in first.failed] == [
        ("a1", "InternalError", True),
        ("a2", "WaitingForGroup", True),
    ]
    # The mover gave up on a1 (it stays in the DLQ); a later message of group A must not overtake it.
    later = sink.accept([received("a3", group="A")])
    assert [(f.code, f.retryable) for f in later.failed] == [("GroupBlocked", False)]
    # Once a1 itself goes through, the group flows again.
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n1", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": ref("o.fifo").url, "Entries": ANY},
    )
    stubber.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n2", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": ref("o.fifo").url, "Entries": ANY},
    )
    assert sink.accept([received("a1", group="A"), received("a3", group="A")]).taken == ["a1", "a3"]
