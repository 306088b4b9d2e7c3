"""moving: the one engine that moves messages out of an SQS queue (receive → sink → delete what the sink took),
and its sinks, named by destination.

    sink = open_file_sink("out.jsonl")                         # or QueueSink(sqs, dest), BusSink(events, bus)
    report = move(sqs, source_ref, sink, max_messages=100, filter="body.detail.plan == 'pro'")
    report.summary()                                           # MoveReport: received, deleted, failed, ...

Modules: engine (move: at least once, never lost; see its doc), source (the source-queue side: receive, delete,
visibility), report (MoveReport), protocol (Sink, SinkResult, SinkFailure; a leaf), file_sink, queue_sink,
bus_sink, journal_sink. Nothing here prints.
"""

from __future__ import annotations

from .bus_sink import BusSink, bus_entry, check_bus, is_eventbridge_dlq_message
from .engine import move
from .file_sink import FileSink, SinkWriteError, check_file_target, open_file_sink
from .journal_sink import JournalSink
from .protocol import Sink, SinkFailure, SinkInterrupted, SinkResult
from .queue_sink import QueueSink, dedup_id_for
from .report import MoveReport

__all__ = [
    "BusSink",
    "FileSink",
    "JournalSink",
    "MoveReport",
    "QueueSink",
    "Sink",
    "SinkFailure",
    "SinkInterrupted",
    "SinkResult",
    "SinkWriteError",
    "bus_entry",
    "check_bus",
    "check_file_target",
    "dedup_id_for",
    "is_eventbridge_dlq_message",
    "move",
    "open_file_sink",
]
