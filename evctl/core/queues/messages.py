"""SQS messages: what was received, how its body decodes, and what is sent.

Shared by peek, drain/send, redrive and `tail bus`:
- `Received.from_sqs(raw, queue)`: one message from ReceiveMessage, with readable accessors.
- `decode_body(body)`: EventBridge envelope, SNS envelope, JSON, text or binary (base64), never raises.
- `decoded(received)`: the dict a --filter JMESPath expression sees and peek shows.
- `OutgoingMessage` + `message_size`: what SendMessage(Batch) takes, and how SQS counts its size.
(The Lambda record shape is in lambda_record, the drain line format in drain_file.)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from evctl.core.common.time import iso_utc
from evctl.core.queues.ref import QueueRef

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

BodyKind = Literal["eventbridge", "sns", "json", "text", "binary"]
EVENTBRIDGE_KEYS = frozenset({"id", "source", "detail-type", "detail"})
SNS_KEYS = frozenset({"Type", "MessageId", "Message"})
TIMESTAMP_ATTRIBUTES = ("SentTimestamp", "ApproximateFirstReceiveTimestamp")


@dataclass(frozen=True)
class Received:
    """One message as ReceiveMessage returned it (PascalCase boto3 shape kept in `raw`)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Any]
    md5_of_body: str | None
    queue: QueueRef | None = field(default=None, compare=False)

    @classmethod
    def from_sqs(cls, raw: Mapping[str, Any], queue: QueueRef | None = None) -> Received:
        return cls(
            message_id=str(raw["MessageId"]),
            receipt_handle=str(raw["ReceiptHandle"]),
            body=str(raw.get("Body", "")),
            attributes=dict(raw.get("Attributes") or {}),
            message_attributes=dict(raw.get("MessageAttributes") or {}),
            md5_of_body=raw.get("MD5OfBody"),
            queue=queue,
        )

    @property
    def receive_count(self) -> int:
        try:
            return int(self.attributes.get("ApproximateReceiveCount", "0"))
        except ValueError:
            return 0

    @property
    def group_id(self) -> str | None:
        return self.attributes.get("MessageGroupId")

    @property
    def dedup_id(self) -> str | None:
        return self.attributes.get("MessageDeduplicationId")


# ---- decoding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedBody:
    kind: BodyKind
    value: Any  # the parsed JSON, the text, or the base64 of binary bytes


def decode_body(body: str) -> DecodedBody:
    """Classify and parse a body. Never raises: anything unparseable is text (or binary if it is base64 of bytes)."""
    stripped = body.strip()
    if stripped[:1] in ("{", "[", '"') or stripped in ("true", "false", "null") or _looks_numeric(stripped):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = _NOT_JSON
        if value is not _NOT_JSON:
            if isinstance(value, dict) and value.keys() >= EVENTBRIDGE_KEYS:
                return DecodedBody("eventbridge", value)
            if isinstance(value, dict) and value.keys() >= SNS_KEYS:
                return DecodedBody("sns", _decode_sns(value))
            return DecodedBody("json", value)
    if _is_binary_base64(stripped):
        return DecodedBody("binary", stripped)
    return DecodedBody("text", body)


_NOT_JSON = object()


def _looks_numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit()))


def _decode_sns(envelope: dict[str, Any]) -> dict[str, Any]:
    """The SNS envelope with its Message parsed when it is JSON, and its attributes flattened to values."""
    result = dict(envelope)
    message = envelope.get("Message")
    if isinstance(message, str):
        with contextlib.suppress(ValueError):
            result["Message"] = json.loads(message)
    attrs = envelope.get("MessageAttributes")
    if isinstance(attrs, dict):
        result["MessageAttributes"] = {
            k: v.get("Value") if isinstance(v, dict) and "Value" in v else v for k, v in attrs.items()
        }
    return result


def _is_binary_base64(text: str) -> bool:
    """Base64 of bytes that are not UTF-8 text: how producers put binary into SQS's text-only bodies."""
    if len(text) < 8 or len(text) % 4 or any(c.isspace() for c in text):
        return False
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def iso_millis(value: str | int | None) -> str | None:
    """Epoch milliseconds (as SQS sends them, strings) → ISO-8601 UTC; anything else is returned as text."""
    if value is None:
        return None
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return str(value)
    return iso_utc(millis, precision="milliseconds")


def readable_attributes(attributes: Mapping[str, str]) -> dict[str, Any]:
    """System attributes for people: timestamps as ISO times, counts as numbers."""
    result: dict[str, Any] = {}
    for key, value in attributes.items():
        if key in TIMESTAMP_ATTRIBUTES:
            result[key] = iso_millis(value)
        elif key == "ApproximateReceiveCount":
            result[key] = int(value) if value.isdigit() else value
        else:
            result[key] = value
    return result


def attribute_value(attribute: Mapping[str, Any]) -> Any:
    """One message attribute's value, whatever its type: String/Number as text, Binary as base64, lists as lists."""
    if "StringValue" in attribute:
        return attribute["StringValue"]
    if "BinaryValue" in attribute:
        return b64_text(attribute["BinaryValue"])
    if attribute.get("StringListValues"):
        return list(attribute["StringListValues"])
    if attribute.get("BinaryListValues"):
        return [b64_text(v) for v in attribute["BinaryListValues"]]
    return None


def readable_message_attributes(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: attribute_value(attr) for name, attr in message_attributes.items()}


def b64_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def decoded(message: Received) -> dict[str, Any]:
    """The message as --filter sees it and peek shows it: {messageId, kind, body, attributes, messageAttributes}.

    body is the parsed JSON (the whole EventBridge event, or the SNS envelope with Message parsed), the text,
    or the base64 of a binary body. attributes are readable (ISO times); messageAttributes map name → value.
    """
    body = decode_body(message.body)
    result: dict[str, Any] = {
        "messageId": message.message_id,
        "kind": body.kind,
        "body": body.value,
        "attributes": readable_attributes(message.attributes),
        "messageAttributes": readable_message_attributes(message.message_attributes),
    }
    if body.kind == "eventbridge":
        event = body.value
        result["event"] = {k: event.get(k) for k in ("id", "source", "detail-type", "time", "detail")}
    return result


# ---- sending ---------------------------------------------------------------------------------


@dataclass
class OutgoingMessage:
    """What SendMessage(Batch) takes for one message."""

    body: str
    message_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None
    delay_seconds: int | None = None
    trace_header: str | None = None
    origin: str = ""  # where it came from, for error messages ("line 3", "message <id>")

    def entry(self, entry_id: str) -> SendMessageBatchRequestEntryTypeDef:
        """A SendMessageBatch entry."""
        entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": self.body}
        if self.message_attributes:
            entry["MessageAttributes"] = cast("dict[str, MessageAttributeValueTypeDef]", self.message_attributes)
        if self.group_id:
            entry["MessageGroupId"] = self.group_id
        if self.dedup_id:
            entry["MessageDeduplicationId"] = self.dedup_id
        if self.delay_seconds is not None:
            entry["DelaySeconds"] = self.delay_seconds
        if self.trace_header:
            entry["MessageSystemAttributes"] = {
                "AWSTraceHeader": {"DataType": "String", "StringValue": self.trace_header}
            }
        return entry


def message_size(message: OutgoingMessage) -> int:
    """SQS's size of a message: the body's UTF-8 bytes plus each attribute's name, type and value bytes."""
    size = len(message.body.encode("utf-8", "surrogatepass"))
    for name, attr in message.message_attributes.items():
        size += len(name.encode("utf-8")) + len(str(attr.get("DataType", "")).encode("utf-8"))
        if "StringValue" in attr:
            size += len(str(attr["StringValue"]).encode("utf-8", "surrogatepass"))
        if "BinaryValue" in attr:
            size += len(attr["BinaryValue"])
    return size


def outgoing_from_received(message: Received) -> OutgoingMessage:
    """The message to send elsewhere: body, message attributes, FIFO group/dedup ids, trace header."""
    return OutgoingMessage(
        body=message.body,
        message_attributes={k: dict(v) for k, v in message.message_attributes.items()},
        group_id=message.group_id,
        dedup_id=message.dedup_id,
        trace_header=message.attributes.get("AWSTraceHeader"),
        origin=f"message {message.message_id}",
    )
