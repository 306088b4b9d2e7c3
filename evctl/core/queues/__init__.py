"""queues: SQS queues as the user names them, what is in them, and moving messages in and out of them by hand.

    ref = resolve_queue(sqs, "orders-dlq")             # QueueRef (name, URL or ARN; one GetQueueUrl)
    stats = queue_stats(sqs, ref, with_dlq=True)       # QueueStats: data only (evctl.render.queues shows it)
    result = peek_messages(sqs, ref, count=5, memory=default_peek_memory())   # PeekResult of Received
    view = decoded(result.messages[0])                 # what a --filter sees
    line = record_line(result.messages[0])             # a drain line: the Lambda SQS record (lambda_record)
    outcomes = send_messages(sqs, ref, prepare_send(ref, queue_attributes(sqs, ref), body="hi", ...))

Modules: ref (QueueRef, parsing and resolution; a leaf), attributes (RedrivePolicy, QueueStats, listing, DLQ
sources, purge), messages (Received, decode_body, decoded views, OutgoingMessage), lambda_record (the one Lambda
SQS record builder), drain_file (the drain line format), peek and peek_memory, send (prepare and batch-send),
policy (the EventBridge → SQS queue policy). Nothing here prints.
"""

from __future__ import annotations

from .attributes import (
    QueueStats,
    RedrivePolicy,
    dead_letter_sources,
    list_queues,
    parse_redrive_policy,
    purge_queue,
    queue_attributes,
    queue_stats,
    stats_from_attributes,
)
from .drain_file import from_record, read_records, record_line, to_record
from .lambda_record import lambda_message_attributes, lambda_record, sqs_event
from .messages import DecodedBody, OutgoingMessage, Received, decode_body, decoded, message_size, outgoing_from_received
from .peek import PeekResult, StopSignal, peek_messages, release_messages, stop_check
from .peek_memory import PeekMemory, default_peek_memory, memory_key
from .policy import eventbridge_send_policy
from .ref import QueueRef, client_region, partition_of, ref_from_url, resolve_queue
from .send import SendOutcome, prepare_send, require_fifo_options, send_batch_once, send_messages

__all__ = [
    "DecodedBody",
    "OutgoingMessage",
    "PeekMemory",
    "PeekResult",
    "QueueRef",
    "QueueStats",
    "Received",
    "RedrivePolicy",
    "SendOutcome",
    "StopSignal",
    "client_region",
    "dead_letter_sources",
    "decode_body",
    "decoded",
    "default_peek_memory",
    "eventbridge_send_policy",
    "from_record",
    "lambda_message_attributes",
    "lambda_record",
    "list_queues",
    "memory_key",
    "message_size",
    "outgoing_from_received",
    "parse_redrive_policy",
    "partition_of",
    "peek_messages",
    "prepare_send",
    "purge_queue",
    "queue_attributes",
    "queue_stats",
    "read_records",
    "record_line",
    "ref_from_url",
    "release_messages",
    "require_fifo_options",
    "resolve_queue",
    "send_batch_once",
    "send_messages",
    "sqs_event",
    "stats_from_attributes",
    "stop_check",
    "to_record",
]
