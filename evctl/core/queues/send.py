"""Sending to a queue: `prepare_send` builds and checks every message first (a body, @file or drained JSON
lines), then `send_messages` sends them in SendMessageBatch calls grouped by the one batching rule
(evctl.core.common.batches: <= 10 entries, <= 1 MiB in total), checks every entry in Successful[]/Failed[]
(`send_batch_once`), and retries what was not the sender's fault with the one backoff.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from evctl.core.common.backoff import backoff_delay
from evctl.core.common.batching import batches
from evctl.core.common.inputs import STDIN, read_bytes, read_text
from evctl.core.queues.attributes import QueueStats, stats_from_attributes
from evctl.core.queues.drain_file import read_records
from evctl.core.queues.messages import OutgoingMessage, message_size
from evctl.core.queues.ref import QueueRef
from evctl.errors import ConfigError, NotFoundError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def require_fifo_options(queue: QueueRef, options: Sequence[tuple[str, object]]) -> None:
    """FIFO-only options (group id, dedup id) on a standard queue are a usage error."""
    used = [name for name, value in options if value not in (None, False, "")]
    if used and not queue.fifo:
        raise UsageError(
            f"{', '.join(used)} {'only applies' if len(used) == 1 else 'only apply'} to FIFO queues, "
            f"and {queue.name} is a standard queue",
            "drop the option, or name a .fifo queue",
        )


# SendMessage's allowed characters: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def prepare_send(
    queue: QueueRef,
    attributes: dict[str, str],
    *,
    body: str | None,
    lines_from: str | None,
    stdin: IO[Any] | None,
    group_id: str | None = None,
    dedup_id: str | None = None,
    delay: int | None = None,
    message_attributes: Sequence[str] = (),
) -> list[OutgoingMessage]:
    """Build and check every message before anything is sent; any bad input is a UsageError naming where."""
    require_fifo_options(queue, [("--group-id", group_id), ("--dedup-id", dedup_id)])
    if delay is not None and queue.fifo:
        raise UsageError(f"--delay does not apply to FIFO queues ({queue.name})", "set DelaySeconds on the queue")
    if (body is None) == (lines_from is None):
        raise UsageError("give a BODY (or @FILE), or --from FILE|- with JSON lines", "not both")
    attrs = _parse_attributes(message_attributes)
    messages: list[OutgoingMessage]
    if body is not None:
        text = _read_body(body, stdin)
        messages = [OutgoingMessage(body=text, message_attributes=dict(attrs), origin="the message")]
    else:
        messages = _read_lines(lines_from or "-", stdin)
        for message in messages:
            message.message_attributes = {**message.message_attributes, **attrs}
    stats = stats_from_attributes(queue, attributes)
    for message in messages:
        _complete(message, queue, stats, group_id=group_id, dedup_id=dedup_id, delay=delay)
    shared = sum(1 for m in messages if dedup_id is not None and m.dedup_id == dedup_id)
    if shared > 1:
        raise UsageError(
            f"--dedup-id {dedup_id!r} would give {shared} messages the same deduplication id, and SQS keeps only "
            "the first of them (nothing was sent)",
            "drop --dedup-id (lines keep the ids they carry; or turn on content-based deduplication), "
            "or send one message",
        )
    if queue.fifo:
        _refuse_duplicates(messages, by_group=attributes.get("DeduplicationScope") == "messageGroup")
    return messages


def _refuse_duplicates(messages: Sequence[OutgoingMessage], *, by_group: bool) -> None:
    """FIFO: two messages of one send with the same deduplication id (given, or the body's hash under content-based
    deduplication) would be sent and acknowledged, yet SQS keeps only the first: the count would lie. Refuse."""
    import hashlib

    first: dict[tuple[str | None, str], str] = {}
    for message in messages:
        dedup = message.dedup_id or hashlib.sha256(message.body.encode("utf-8", "surrogatepass")).hexdigest()
        key = (message.group_id if by_group else None, dedup)
        if key in first:
            how = f"deduplication id {message.dedup_id!r}" if message.dedup_id else "body (content-based deduplication)"
            raise UsageError(
                f"{first[key]} and {message.origin} have the same {how}: SQS would keep only the first",
                "remove the repeated line, or give each line its own MessageDeduplicationId",
            )
        first[key] = message.origin


def _parse_attributes(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--attr {item!r} is not NAME=VALUE")
        out[name] = {"DataType": "String", "StringValue": value}
    if len(out) > 10:
        raise UsageError("at most 10 message attributes per message")
    return out


def _read_body(body: str, stdin: IO[Any] | None) -> str:
    """BODY as given: `-` is stdin, `@path` a file, anything else the body itself (common.inputs reads both)."""
    if body == STDIN:  # `echo hello | evctl queue send Q -` sends "hello": one final newline is dropped
        text = read_text(body, stdin, what="the body")
        return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not body.startswith("@"):
        return body
    path = body[1:]
    data = read_bytes(path, what="the body")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {exc.start}): SQS bodies are text",
            "base64-encode binary data first (e.g. `base64 -w0 FILE`)",
        ) from exc


def _read_lines(source: str, stdin: IO[Any] | None) -> list[OutgoingMessage]:
    messages = read_records(read_bytes(source, stdin, what="--from"))
    if not messages:
        raise UsageError("no messages in the input", "give JSON lines as `evctl queue drain` writes them")
    return messages


def _complete(
    message: OutgoingMessage,
    queue: QueueRef,
    stats: QueueStats,
    *,
    group_id: str | None,
    dedup_id: str | None,
    delay: int | None,
) -> None:
    where = message.origin
    if queue.fifo:
        message.group_id = message.group_id or group_id
        message.dedup_id = message.dedup_id or dedup_id
        if not message.group_id:
            raise UsageError(f"{where}: FIFO queue {queue.name} needs a message group", "pass --group-id")
        if not message.dedup_id and not stats.content_based_dedup:
            raise UsageError(
                f"{where}: FIFO queue {queue.name} needs a deduplication id (content-based deduplication is off)",
                "pass --dedup-id",
            )
    else:
        message.group_id = message.dedup_id = None  # FIFO ids from a drained FIFO queue do not apply here
        message.delay_seconds = delay
    if not message.body:
        raise UsageError(f"{where}: the body is empty", "SQS needs at least one character")
    bad = _INVALID_CHARS.search(message.body)
    if bad:
        raise UsageError(
            f"{where}: the body contains a character SQS does not allow (U+{ord(bad.group()):04X})",
            "SQS bodies are XML text; base64-encode binary data",
        )
    if len(message.message_attributes) > 10:
        raise UsageError(f"{where}: more than 10 message attributes")
    size = message_size(message)
    if size > stats.maximum_message_size:
        raise UsageError(
            f"{where}: the message is {size} bytes, over the {stats.maximum_message_size}-byte limit of {queue.name}",
            "put large payloads in S3 and send a reference",
        )


# ---- sending ---------------------------------------------------------------------------------

MAX_BATCH_ENTRIES = 10
MAX_REQUEST_BYTES = 1_048_576  # SendMessageBatch: the sum of all messages in one request


@dataclass
class SendOutcome:
    """Per message of a send: its MessageId, or why it failed (and whether a retry could help)."""

    message: OutgoingMessage
    message_id: str | None = None
    code: str = ""
    error: str = ""
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.message_id is not None


def send_batches(
    messages: Sequence[OutgoingMessage], *, max_entries: int = MAX_BATCH_ENTRIES, max_bytes: int = MAX_REQUEST_BYTES
) -> list[list[OutgoingMessage]]:
    """Group messages into SendMessageBatch requests by the one batching rule (evctl.core.common.batches): at most
    `max_entries` entries and `max_bytes` in total each; a message over `max_bytes` alone goes in a call of its own
    (prepare_send refuses those first; SQS judges any that reach it)."""
    return batches(messages, size_of=message_size, max_count=max_entries, max_bytes=max_bytes)


def send_batch_once(sqs_client: SQSClient, queue: QueueRef, batch: Sequence[OutgoingMessage]) -> list[SendOutcome]:
    """One SendMessageBatch; every entry's outcome from Successful[]/Failed[]. A whole-call failure (after
    botocore's retries) makes every entry a failure, retryable unless the error is the caller's."""
    entries = [message.entry(str(i)) for i, message in enumerate(batch)]
    outcomes = [SendOutcome(message) for message in batch]
    try:
        response = sqs_client.send_message_batch(QueueUrl=queue.url, Entries=entries)
    except Exception as exc:
        mapped = from_aws(exc, f"queue {queue.name}")
        if mapped is None:
            raise
        retryable = not isinstance(mapped, UsageError | NotFoundError | ConfigError)
        for outcome in outcomes:
            outcome.code, outcome.error, outcome.retryable = error_code(exc) or "Error", str(mapped), retryable
        return outcomes
    for ok in response.get("Successful", []):
        outcomes[int(ok["Id"])].message_id = ok["MessageId"]
    for failed in response.get("Failed", []):
        outcome = outcomes[int(failed["Id"])]
        outcome.code = str(failed.get("Code", ""))
        outcome.error = str(failed.get("Message") or outcome.code)
        outcome.retryable = not failed.get("SenderFault", False)
    for outcome in outcomes:
        if outcome.message_id is None and not outcome.code:
            outcome.code, outcome.error, outcome.retryable = (
                "NoOutcome",
                "SQS reported neither success nor failure",
                True,
            )
    return outcomes


def send_messages(
    sqs_client: SQSClient,
    queue: QueueRef,
    messages: Sequence[OutgoingMessage],
    *,
    attempts: int = 5,
    max_bytes: int = MAX_REQUEST_BYTES,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[list[SendOutcome]], None] | None = None,
) -> list[SendOutcome]:
    """Send everything in batches; retry the entries SQS says were not the sender's fault (with backoff)."""
    results: list[SendOutcome] = []
    for batch in send_batches(messages, max_bytes=max_bytes):
        pending = list(batch)
        final: dict[int, SendOutcome] = {}
        for attempt in range(max(1, attempts)):
            if attempt:
                sleep(backoff_delay(attempt))
            outcomes = send_batch_once(sqs_client, queue, pending)
            pending = []
            for outcome in outcomes:
                final[id(outcome.message)] = outcome
                if not outcome.ok and outcome.retryable:
                    pending.append(outcome.message)
            if not pending:
                break
        batch_outcomes = [final[id(m)] for m in batch]
        results.extend(batch_outcomes)
        if on_batch is not None:
            on_batch(batch_outcomes)
    return results
