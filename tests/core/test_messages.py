"""Decoding bodies and attributes, and the drain line format round trip."""

from __future__ import annotations

import base64
import json

import pytest

from evctl.core.queues.drain_file import from_record, record_line, to_record
from evctl.core.queues.messages import (
    OutgoingMessage,
    Received,
    attribute_value,
    decode_body,
    decoded,
    iso_millis,
    message_size,
    outgoing_from_received,
    readable_attributes,
)
from evctl.errors import UsageError

EVENT = {"version": "0", "id": "e1", "detail-type": "T", "source": "s", "time": "t", "detail": {"a": 1}}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (json.dumps(EVENT), "eventbridge"),
        (json.dumps({"Type": "Notification", "MessageId": "m", "Message": "plain"}), "sns"),
        ('{"a": 1}', "json"),
        ("[1, 2]", "json"),
        ("42", "json"),
        ('"quoted"', "json"),
        ("{not json", "text"),
        ("hello world", "text"),
        (base64.b64encode(bytes(range(250, 256)) * 3).decode(), "binary"),
        (base64.b64encode(b"just some text").decode(), "text"),  # base64 of text is left as the text it is
        ("", "text"),
    ],
)
def test_decode_body_kinds(body: str, kind: str) -> None:
    assert decode_body(body).kind == kind


def test_sns_envelope_message_and_attributes_are_decoded() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "m",
        "Message": json.dumps(EVENT),
        "MessageAttributes": {"k": {"Type": "String", "Value": "v"}},
    }
    value = decode_body(json.dumps(envelope)).value
    assert value["Message"] == EVENT and value["MessageAttributes"] == {"k": "v"}


def test_readable_attributes_and_every_message_attribute_type() -> None:
    attrs = readable_attributes(
        {"SentTimestamp": "1795777611806", "ApproximateReceiveCount": "3", "MessageGroupId": "g"}
    )
    assert attrs == {"SentTimestamp": "2026-11-27T11:06:51.806Z", "ApproximateReceiveCount": 3, "MessageGroupId": "g"}
    assert iso_millis("junk") == "junk" and iso_millis(None) is None
    assert attribute_value({"DataType": "String", "StringValue": "s"}) == "s"
    assert attribute_value({"DataType": "Number.int", "StringValue": "5"}) == "5"
    assert attribute_value({"DataType": "Binary", "BinaryValue": b"\xff\x00"}) == "/wA="
    assert attribute_value({"DataType": "String", "StringListValues": ["a", "b"]}) == ["a", "b"]
    assert attribute_value({"DataType": "Binary", "BinaryListValues": [b"\x01"]}) == ["AQ=="]


def raw_message(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "MessageId": "id-1",
        "ReceiptHandle": "rh",
        "Body": json.dumps(EVENT),
        "MD5OfBody": "x",
        "Attributes": {
            "ApproximateReceiveCount": "2",
            "MessageGroupId": "g",
            "MessageDeduplicationId": "d",
            "AWSTraceHeader": "Root=1",
        },
        "MessageAttributes": {
            "s": {"DataType": "String", "StringValue": "v"},
            "b": {"DataType": "Binary.custom", "BinaryValue": b"\x00\xff"},
        },
    }
    raw.update(overrides)
    return raw


def test_decoded_is_what_filters_see() -> None:
    view = decoded(Received.from_sqs(raw_message()))
    assert view["kind"] == "eventbridge" and view["body"]["detail"] == {"a": 1}
    assert view["event"]["detail-type"] == "T" and view["attributes"]["ApproximateReceiveCount"] == 2
    assert view["messageAttributes"] == {"s": "v", "b": "AP8="}


def test_record_round_trip_keeps_body_attributes_and_fifo_ids() -> None:
    message = Received.from_sqs(raw_message())
    line = record_line(message)
    record = json.loads(line)
    # The Lambda record shape (issue 10: it was built twice with different output): the list fields are always there.
    assert record["messageAttributes"]["b"] == {
        "dataType": "Binary.custom",
        "binaryValue": "AP8=",
        "stringListValues": [],
        "binaryListValues": [],
    }
    back = from_record(record, "line 1")
    direct = outgoing_from_received(message)
    for restored in (back, direct):
        assert restored.body == message.body and (restored.group_id, restored.dedup_id) == ("g", "d")
        assert restored.trace_header == "Root=1"
        assert restored.message_attributes["b"] == {"DataType": "Binary.custom", "BinaryValue": b"\x00\xff"}
        assert restored.message_attributes["s"] == {"DataType": "String", "StringValue": "v"}
    assert to_record(message)["eventSource"] == "aws:sqs"


def test_record_line_escapes_lone_surrogates() -> None:
    message = Received.from_sqs(raw_message(Body="a\udc80b"))
    line = record_line(message)
    line.decode("utf-8")  # valid UTF-8
    assert json.loads(line)["body"] == "a\udc80b"


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ([], "expected a JSON object"),
        ({"body": 3}, '"body" is missing or not a string'),
        ({"body": "x", "attributes": "g"}, "must be objects"),
        ({"body": "x", "messageAttributes": {"a": "v"}}, "must be an object"),
        ({"body": "x", "messageAttributes": {"a": {"stringValue": "v"}}}, "has no dataType"),
        ({"body": "x", "messageAttributes": {"a": {"dataType": "String"}}}, "neither stringValue nor binaryValue"),
    ],
)
def test_from_record_errors_name_the_line(record: object, fragment: str) -> None:
    with pytest.raises(UsageError, match="line 7") as info:
        from_record(record, "line 7")
    assert fragment in str(info.value)


def test_message_size_counts_body_and_attributes_in_bytes() -> None:
    message = OutgoingMessage(
        body="é" * 10,
        message_attributes={
            "ab": {"DataType": "String", "StringValue": "xyz"},
            "c": {"DataType": "Binary", "BinaryValue": b"12"},
        },
    )
    assert message_size(message) == 20 + (2 + 6 + 3) + (1 + 6 + 2)
    entry = message.entry("0")
    assert entry["MessageBody"] == "é" * 10 and "MessageGroupId" not in entry


def test_drain_lines_and_the_sandbox_runner_build_the_same_lambda_record() -> None:
    """One builder for the Lambda SQS record: a drain line is exactly the record the local runner hands a
    handler (issue 10: the two used to differ in receiptHandle and the message attributes' list fields)."""
    from evctl.core.queues import QueueRef, lambda_record
    from evctl.sandbox.runner import sqs_event

    queue = QueueRef(
        url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
        arn="arn:aws:sqs:us-east-1:123456789012:q",
        name="q",
        account="123456789012",
        region="us-east-1",
        fifo=False,
    )
    raw = raw_message()
    drained = json.loads(record_line(Received.from_sqs(raw, queue)))
    (handed,) = sqs_event([raw], queue.arn, queue.region)["Records"]
    assert drained == handed
    assert drained == lambda_record(Received.from_sqs(raw, queue))
    assert set(drained) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert drained["receiptHandle"] == "rh"
    assert drained["messageAttributes"]["s"] == {
        "dataType": "String",
        "stringValue": "v",
        "stringListValues": [],
        "binaryListValues": [],
    }
