"""The drain file: one JSON line per message, the Lambda SQS record shape (lambda_record), so a drained file
also serves as test events. `queue drain` and redrive journals write it; `queue send --from` reads it back.

    record_line(received)                    # b'{"messageId":...}\n' (UTF-8; lone surrogates escaped)
    from_record(json.loads(line), "line 3")  # OutgoingMessage: body, message attributes, FIFO ids, trace header
    read_records(data)                       # every line of a file's bytes → [OutgoingMessage]
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from evctl.core.queues.lambda_record import lambda_record
from evctl.core.queues.messages import OutgoingMessage, Received
from evctl.errors import UsageError

_HINT = "use the lines `evctl queue drain` writes"


def to_record(message: Received) -> dict[str, Any]:
    """The record one drain line holds: the message's Lambda SQS record."""
    return lambda_record(message)


def record_line(message: Received) -> bytes:
    """One drain line as UTF-8 bytes; lone surrogates (possible in SQS text) are escaped, not dropped."""
    record = to_record(message)
    try:
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def read_records(data: bytes) -> list[OutgoingMessage]:
    """Every non-blank line of `data` as an OutgoingMessage; a bad line is a UsageError naming its number."""
    messages = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"line {number} is not UTF-8 text", "JSON lines must be UTF-8") from exc
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"line {number} is not valid JSON: {exc}", _HINT) from exc
        messages.append(from_record(record, f"line {number}"))
    return messages


def from_record(record: Any, origin: str) -> OutgoingMessage:
    """Read back one drain line (already parsed). Raises UsageError naming `origin` ("line 3") when malformed."""
    if not isinstance(record, dict):
        raise UsageError(f'{origin}: expected a JSON object with a "body"', _HINT)
    body = record.get("body", record.get("Body"))
    if not isinstance(body, str):
        raise UsageError(f'{origin}: "body" is missing or not a string', _HINT)
    attributes = record.get("attributes") or {}
    raw_attrs = record.get("messageAttributes") or {}
    if not isinstance(attributes, dict) or not isinstance(raw_attrs, dict):
        raise UsageError(f'{origin}: "attributes" and "messageAttributes" must be objects')
    message_attributes: dict[str, dict[str, Any]] = {}
    for name, attr in raw_attrs.items():
        message_attributes[name] = _attribute_from_record(attr, f"{origin}: message attribute {name!r}")
    return OutgoingMessage(
        body=body,
        message_attributes=message_attributes,
        group_id=attributes.get("MessageGroupId"),
        dedup_id=attributes.get("MessageDeduplicationId"),
        trace_header=attributes.get("AWSTraceHeader"),
        origin=origin,
    )


def _attribute_from_record(attr: Any, origin: str) -> dict[str, Any]:
    if not isinstance(attr, dict):
        raise UsageError(f"{origin} must be an object with dataType and stringValue or binaryValue")
    data_type = attr.get("dataType", attr.get("DataType"))
    if not isinstance(data_type, str) or not data_type:
        raise UsageError(f"{origin} has no dataType")
    out: dict[str, Any] = {"DataType": data_type}
    string_value = attr.get("stringValue", attr.get("StringValue"))
    binary_value = attr.get("binaryValue", attr.get("BinaryValue"))
    if isinstance(string_value, str):
        out["StringValue"] = string_value
    elif isinstance(binary_value, str):
        try:
            out["BinaryValue"] = base64.b64decode(binary_value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UsageError(f"{origin}: binaryValue is not base64") from exc
    else:
        raise UsageError(f"{origin} has neither stringValue nor binaryValue")
    return out
