"""The mover against moto (in-process): what is deleted is exactly what the sink confirmed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.moving import FileSink, SinkFailure, SinkResult, SinkWriteError, move, open_file_sink
from evctl.core.queues import QueueRef, Received, resolve_queue
from evctl.errors import UsageError


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queue(sqs: Any, name: str = "q", n: int = 0, **attributes: str) -> QueueRef:
    sqs.create_queue(QueueName=name, Attributes=attributes)
    ref = resolve_queue(sqs, name)
    for start in range(0, n, 10):
        sqs.send_message_batch(
            QueueUrl=ref.url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"i": i}), **({"MessageGroupId": "g"} if ref.fifo else {})}
                | ({"MessageDeduplicationId": f"d{i}"} if ref.fifo else {})
                for i in range(start, min(n, start + 10))
            ],
        )
    return ref


def queue_ids(sqs: Any, ref: QueueRef) -> list[str]:
    """Every message id still in the queue (received with a long visibility, then released)."""
    ids: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=ref.url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        new = [m for m in got if m["MessageId"] not in ids]
        if not new:
            break
        ids.update((m["MessageId"], m["ReceiptHandle"]) for m in new)
    for _mid, handle in ids.items():
        sqs.change_message_visibility(QueueUrl=ref.url, ReceiptHandle=handle, VisibilityTimeout=0)
    return sorted(ids)


def file_ids(path: Path) -> list[str]:
    return [json.loads(line)["messageId"] for line in path.read_text().splitlines()]


class ListSink:
    def __init__(self, fail: dict[str, SinkFailure] | None = None, delay: float = 0.0) -> None:
        self.got: list[Received] = []
        self.fail = fail or {}
        self.delay = delay
        self.calls = 0

    def accept(self, batch: Sequence[Received]) -> SinkResult:
        self.calls += 1
        time.sleep(self.delay)
        result = SinkResult()
        for m in batch:
            failure = self.fail.get(m.message_id)
            if failure is not None:
                result.failed.append(failure)
            else:
                self.got.append(m)
                result.taken.append(m.message_id)
        return result


def test_move_all_to_a_file_deletes_exactly_what_was_written(sqs: Any, tmp_path: Path) -> None:
    ref = make_queue(sqs, n=25)
    before = queue_ids(sqs, ref)
    sink = open_file_sink(str(tmp_path / "out.jsonl"))
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=1)
    sink.close()
    assert sorted(file_ids(tmp_path / "out.jsonl")) == before
    assert queue_ids(sqs, ref) == []
    assert (report.received, report.accepted, report.deleted, report.undeleted) == (25, 25, 25, 0)
    assert report.stopped_by == "empty"
    # 3 receives with messages + 1 empty, 3 delete batches: 7 calls for 25 messages.
    assert report.api_calls["receive_message"] == 4
    assert report.api_calls["delete_message_batch"] == 3
    line = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert (
        line["eventSourceARN"] == ref.arn and line["attributes"]["ApproximateReceiveCount"] == "2"
    )  # queue_ids received once


def test_max_stops_after_n_taken_and_leaves_the_rest(sqs: Any) -> None:
    ref = make_queue(sqs, n=25)
    sink = ListSink()
    report = move(sqs, ref, sink, max_messages=13, wait_seconds=0)
    assert report.accepted == 13 and report.deleted == 13 and report.stopped_by == "max"
    assert len(queue_ids(sqs, ref)) == 12


def test_filtered_out_messages_are_released_not_deleted(sqs: Any) -> None:
    ref = make_queue(sqs, n=20)
    sink = ListSink()
    report = move(sqs, ref, sink, filter="body.i >= `15`", wait_seconds=0, empty_polls_to_stop=1)
    assert sorted(json.loads(m.body)["i"] for m in sink.got) == [15, 16, 17, 18, 19]
    assert report.filtered == 15 and report.released == 15 and report.deleted == 5
    assert len(queue_ids(sqs, ref)) == 15  # visible again at once


def test_invalid_filter_is_a_usage_error_before_any_receive(sqs: Any) -> None:
    ref = make_queue(sqs, n=3)
    with pytest.raises(UsageError, match="JMESPath"):
        move(sqs, ref, ListSink(), filter="body.[", wait_seconds=0)
    assert len(queue_ids(sqs, ref)) == 3


def test_retryable_sink_failures_are_retried_then_left_in_the_queue(sqs: Any) -> None:
    ref = make_queue(sqs, n=5)
    ids = queue_ids(sqs, ref)
    stuck = SinkFailure(ids[0], "InternalError", "try again", True)
    refused = SinkFailure(ids[1], "InvalidMessageContents", "no", False)
    sink = ListSink(fail={ids[0]: stuck, ids[1]: refused})
    sleeps: list[float] = []
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=1, sink_attempts=3, sleep=sleeps.append)
    assert report.accepted == 3 and report.deleted == 3 and report.failed == 2
    assert sink.calls == 3 and sleeps == [0.2, 0.4]  # the stuck one offered 3 times, with backoff
    assert sorted(queue_ids(sqs, ref)) == sorted(ids[:2])  # both still there, released at the end
    assert {f.code for f in report.failures} == {"InternalError", "InvalidMessageContents"}


def test_a_sink_that_names_no_outcome_counts_as_a_retryable_failure(sqs: Any) -> None:
    ref = make_queue(sqs, n=2)

    class Silent:
        def accept(self, batch: Sequence[Received]) -> SinkResult:
            return SinkResult()

    report = move(sqs, ref, Silent(), wait_seconds=0, empty_polls_to_stop=1, sink_attempts=2, sleep=lambda s: None)
    assert report.failed == 2 and report.deleted == 0 and report.failures[0].code == "NoOutcome"
    assert len(queue_ids(sqs, ref)) == 2


def test_sink_error_stops_the_move_and_deletes_nothing_unwritten(sqs: Any, tmp_path: Path) -> None:
    ref = make_queue(sqs, n=30)
    path = tmp_path / "out.jsonl"
    sink = open_file_sink(str(path))
    calls = {"n": 0}
    real_write = sink._write

    def write(data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            import errno

            sink._stream.write(data[: len(data) // 2])  # half a batch reached the file before the disk filled
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(data)

    sink._write = write  # type: ignore[method-assign]
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=1)
    sink.close()
    assert isinstance(report.error, SinkWriteError) and "No space left on device" in str(report.error)
    assert report.stopped_by == "error"
    written = file_ids(path)  # the half batch was cut: whole lines only
    assert len(written) == 10 and report.deleted == 10
    remaining = queue_ids(sqs, ref)
    assert len(remaining) == 20 and not set(remaining) & set(written)


def test_should_stop_finishes_the_batch_in_hand_and_releases(sqs: Any) -> None:
    ref = make_queue(sqs, n=30)
    stop = threading.Event()
    sink = ListSink()

    def progress(report: Any) -> None:
        stop.set()

    report = move(sqs, ref, sink, wait_seconds=0, should_stop=stop, on_progress=progress)
    assert report.stopped_by == "stop" and report.deleted == 10 and len(sink.got) == 10
    assert len(queue_ids(sqs, ref)) == 20


def test_slow_sink_gets_its_visibility_extended(sqs: Any) -> None:
    ref = make_queue(sqs, n=3)
    other_consumer: list[Any] = []

    class Slow:
        def accept(self, batch: Sequence[Received]) -> SinkResult:
            deadline = time.monotonic() + 2.5  # longer than the 1 s visibility timeout
            while time.monotonic() < deadline:
                other_consumer.extend(sqs.receive_message(QueueUrl=ref.url, MaxNumberOfMessages=10).get("Messages", []))
                time.sleep(0.2)
            return SinkResult(taken=[m.message_id for m in batch])

    report = move(sqs, ref, Slow(), wait_seconds=0, empty_polls_to_stop=1, visibility_timeout=1, keeper_interval=0.1)
    assert other_consumer == []  # never visible to anyone else while the sink held it
    assert report.extended >= 3 and report.deleted == 3


def test_concurrency_moves_everything_once(sqs: Any) -> None:
    ref = make_queue(sqs, n=60)
    sink = ListSink()
    lock = threading.Lock()
    real = sink.accept

    def accept(batch: Sequence[Received]) -> SinkResult:
        with lock:
            return real(batch)

    sink.accept = accept  # type: ignore[method-assign]
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=2, concurrency=3)
    assert len({m.message_id for m in sink.got}) == 60
    assert queue_ids(sqs, ref) == []
    # moto's SQS is not thread-safe: two concurrent receives can now and then hand out the same message (as a
    # standard queue may on AWS). Each delivery is deleted, so `deleted` counts deliveries, never fewer than 60.
    assert 60 <= report.deleted <= report.received
    assert report.failed == report.undeleted == 0


def test_fifo_queue_move_keeps_group_and_dedup_in_the_line(sqs: Any, tmp_path: Path) -> None:
    ref = make_queue(sqs, "jobs.fifo", n=4, FifoQueue="true")
    path = tmp_path / "f.jsonl"
    sink = open_file_sink(str(path))
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=1)
    sink.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert report.deleted == 4 and [x["attributes"]["MessageGroupId"] for x in lines] == ["g"] * 4
    assert [x["attributes"]["MessageDeduplicationId"] for x in lines] == ["d0", "d1", "d2", "d3"]


def test_argument_checks(sqs: Any) -> None:
    ref = make_queue(sqs, n=1)
    for kwargs in ({"max_messages": 0}, {"wait_seconds": 21}, {"visibility_timeout": 0}, {"concurrency": 0}):
        with pytest.raises(UsageError):
            move(sqs, ref, ListSink(), **kwargs)  # type: ignore[arg-type]
    assert len(queue_ids(sqs, ref)) == 1


def test_file_sink_to_a_pipe_is_not_durable_but_works(tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    sink = FileSink(buffer, name="buffer", owns=False)
    assert sink.durable is False
    raw = {"MessageId": "m1", "ReceiptHandle": "h", "Body": "x\ud800y", "Attributes": {}, "MessageAttributes": {}}
    sink.accept([Received.from_sqs(raw)])
    line = buffer.getvalue().decode("utf-8")
    assert json.loads(line)["body"] == "x\ud800y"  # a lone surrogate survives, escaped


def test_filter_follows_jmespath_truthiness(sqs: Any) -> None:
    ref = make_queue(sqs, n=3)  # bodies {"i": 0}, {"i": 1}, {"i": 2}
    sink = ListSink()
    report = move(sqs, ref, sink, filter="body.i", wait_seconds=0, empty_polls_to_stop=1)
    assert report.accepted == 3  # 0 is true in JMESPath (only null, false and empty values are false)
    ref2 = make_queue(sqs, "q2", n=3)
    report = move(sqs, ref2, ListSink(), filter="body.missing", wait_seconds=0, empty_polls_to_stop=1)
    assert report.accepted == 0 and report.filtered == 3


class FailingDeletes:
    """An SQS client whose DeleteMessageBatch reports chosen entries as failed without deleting them, the way
    AWS answers a stale receipt handle (SenderFault=true) or an internal error (false)."""

    def __init__(self, sqs: Any, fail_ids: set[str], *, sender_fault: bool, times: int) -> None:
        self._sqs, self.fail_ids, self.sender_fault, self.times = sqs, fail_ids, sender_fault, times
        self.handles: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._sqs.receive_message(**kwargs)
        self.handles.update((m["ReceiptHandle"], m["MessageId"]) for m in response.get("Messages", []))
        return response

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        failing = [e for e in Entries if self.handles[e["ReceiptHandle"]] in self.fail_ids and self.times > 0]
        if failing:
            self.times -= 1
        passing = [e for e in Entries if e not in failing]
        response = self._sqs.delete_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else {"Successful": []}
        response["Failed"] = [
            {"Id": e["Id"], "SenderFault": self.sender_fault, "Code": "ReceiptHandleIsInvalid", "Message": "x"}
            for e in failing
        ]
        return response


def test_a_delete_refused_as_the_senders_fault_is_tried_once_more_at_the_end(sqs: Any) -> None:
    ref = make_queue(sqs, n=3)
    first = queue_ids(sqs, ref)[0]
    client = FailingDeletes(sqs, {first}, sender_fault=True, times=1)
    report = move(client, ref, ListSink(), wait_seconds=0, empty_polls_to_stop=1)
    assert report.deleted == 3 and report.undeleted == 0 and queue_ids(sqs, ref) == []


def test_a_delete_that_keeps_failing_is_counted_as_a_possible_duplicate(sqs: Any, tmp_path: Path) -> None:
    ref = make_queue(sqs, n=3)
    first = queue_ids(sqs, ref)[0]
    client = FailingDeletes(sqs, {first}, sender_fault=False, times=99)
    sink = open_file_sink(str(tmp_path / "o.jsonl"))
    report = move(client, ref, sink, wait_seconds=0, empty_polls_to_stop=1, delete_attempts=3, sleep=lambda s: None)
    sink.close()
    assert report.deleted == 2 and report.undeleted == 1 and report.duplicates_possible == 1 and not report.ok
    assert first in file_ids(tmp_path / "o.jsonl") and queue_ids(sqs, ref) == [first]  # in both: a duplicate


def test_fifo_queue_drains_every_group_without_a_false_empty_poll(sqs: Any) -> None:
    """On FIFO a group is blocked while its messages are in flight: the next receive must come after the delete,
    or it comes back empty and ends the move early."""
    ref = make_queue(sqs, "many.fifo", n=0, FifoQueue="true")
    for i in range(35):
        sqs.send_message(
            QueueUrl=ref.url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 2}", MessageDeduplicationId=f"d{i}"
        )
    sink = ListSink()
    report = move(sqs, ref, sink, wait_seconds=0, empty_polls_to_stop=1)
    assert report.deleted == 35 and [m.body for m in sink.got if m.group_id == "g0"] == [
        f"m{i}" for i in range(0, 35, 2)
    ]


@pytest.mark.parametrize("expression", ["body", "body.a > `1`", "contains(body, 'x')", "messageAttributes.k"])
def test_the_engine_selects_exactly_what_message_filter_matches(sqs: Any, expression: str) -> None:
    """The mover's selection is MessageFilter.matches, the one every dry run uses (issue 10: a body of 0 is a
    match in JMESPath, and a type error inside the expression is no match rather than a crash)."""
    from evctl.core.common.filters import compile_filter
    from evctl.core.queues import decoded

    ref = make_queue(sqs)
    bodies = ["0", "false", '""', "[]", "{}", '{"a": 2}', '{"a": "two"}', "text x", "null", "1"]
    for body in bodies:
        sqs.send_message(
            QueueUrl=ref.url,
            MessageBody=body,
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}} if body == "1" else {},
        )
    message_filter = compile_filter(expression)
    assert message_filter is not None
    sink = ListSink()
    peek = ListSink()
    move(sqs, ref, peek, filter=None, wait_seconds=0, empty_polls_to_stop=1, max_messages=len(bodies))
    expected = sorted(m.body for m in peek.got if message_filter.matches(decoded(m)))
    for body in bodies:  # put them back: the first move took them all
        sqs.send_message(
            QueueUrl=ref.url,
            MessageBody=body,
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}} if body == "1" else {},
        )
    report = move(sqs, ref, sink, filter=expression, wait_seconds=0, empty_polls_to_stop=1)
    assert sorted(m.body for m in sink.got) == expected
    assert report.filtered == len(bodies) - len(expected)
    if expression == "body":
        assert "0" in expected and "false" not in expected  # 0 is truthy in JMESPath
