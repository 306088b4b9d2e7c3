"""The one builder of the record Lambda's SQS event source mapping hands a handler (evctl's drain lines are
these records, and the sandbox's local runner builds its events with them).

    lambda_record(received)        # {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                                   #  "md5OfBody", "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}
    sqs_event([received, ...])     # {"Records": [...]}

The shape is AWS's (the Lambda developer guide's sample SQS event): camelCase keys, system attributes as
strings, and each message attribute as {"stringValue" | "binaryValue" (base64), "stringListValues": [...],
"binaryListValues": [...], "dataType"}; the two list fields are always present (empty when unused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evctl.core.queues.messages import Received, b64_text

EVENT_SOURCE = "aws:sqs"


def lambda_message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """One SQS MessageAttributeValue (boto3's PascalCase) in Lambda's camelCase record shape."""
    out: dict[str, Any] = {
        "stringListValues": list(attribute.get("StringListValues") or []),
        "binaryListValues": [b64_text(v) for v in attribute.get("BinaryListValues") or []],
        "dataType": attribute.get("DataType", "String"),
    }
    if "StringValue" in attribute:
        out["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        out["binaryValue"] = b64_text(attribute["BinaryValue"])
    return out


def lambda_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """SQS MessageAttributes → the camelCase shape Lambda puts in a record."""
    return {name: lambda_message_attribute(attr) for name, attr in attributes.items()}


def lambda_record(
    message: Received, *, event_source_arn: str | None = None, aws_region: str | None = None
) -> dict[str, Any]:
    """The Lambda SQS record of a received message. The queue's ARN and region come from `message.queue`
    unless given; without either, those two keys are left out."""
    record: dict[str, Any] = {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": dict(message.attributes),
        "messageAttributes": lambda_message_attributes(message.message_attributes),
        "md5OfBody": message.md5_of_body,
        "eventSource": EVENT_SOURCE,
    }
    arn = event_source_arn or (message.queue.arn if message.queue is not None else None)
    region = aws_region or (message.queue.region if message.queue is not None else None)
    if arn is not None:
        record["eventSourceARN"] = arn
    if region is not None:
        record["awsRegion"] = region
    return record


def sqs_event(
    messages: Iterable[Received], *, event_source_arn: str | None = None, aws_region: str | None = None
) -> dict[str, Any]:
    """The event a Lambda SQS event source mapping passes to the handler: {"Records": [lambda_record, ...]}."""
    return {"Records": [lambda_record(m, event_source_arn=event_source_arn, aws_region=aws_region) for m in messages]}
