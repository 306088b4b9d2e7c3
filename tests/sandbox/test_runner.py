"""The local Lambda runner against the sandbox: event and context shapes, batching, settlement, faults."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from evctl.core.queues import lambda_message_attributes
from evctl.sandbox import provision as pv
from evctl.sandbox.runner import LocalRunner, settle, sqs_event
from tests.sandbox.conftest import drain_with, log_messages, send_signups

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

MakePipeline = Callable[..., pv.Pipeline]
MakeRunner = Callable[..., LocalRunner]
HandlerFile = Callable[..., pv.HandlerSpec]

ECHO = """
import json, logging
def handler(event, context):
    print("EVENT " + json.dumps(event))
    print("CONTEXT " + json.dumps({
        "function_name": context.function_name, "aws_request_id": context.aws_request_id,
        "memory_limit_in_mb": context.memory_limit_in_mb, "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name, "remaining": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn}))
    logging.getLogger().setLevel(logging.INFO)
    logging.info("logged through logging")
"""


# ---- pure parts ------------------------------------------------------------------------------
def test_settle_follows_lambdas_rules() -> None:
    ids = ["a", "b", "c"]
    assert settle(True, None, ids, True) == (ids, [], None)
    assert settle(True, {"batchItemFailures": []}, ids, True) == (ids, [], None)
    assert settle(True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, ids, True) == (["a", "c"], ["b"], None)
    # without ReportBatchItemFailures the response is ignored
    assert settle(True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, ids, False) == (ids, [], None)
    # an unknown or missing identifier fails the whole batch
    delete, keep, problem = settle(True, {"batchItemFailures": [{"itemIdentifier": "zz"}]}, ids, True)
    assert (delete, keep) == ([], ids) and "invalid itemIdentifier 'zz'" in (problem or "")
    assert settle(True, {"batchItemFailures": [{}]}, ids, True)[:2] == ([], ids)
    assert settle(False, None, ids, True) == ([], ids, None)


def test_message_attributes_take_lambdas_camel_case_shape() -> None:
    converted = lambda_message_attributes(
        {"kind": {"StringValue": "x", "DataType": "String"}, "raw": {"BinaryValue": b"\x01\x02", "DataType": "Binary"}}
    )
    assert converted == {
        "kind": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "raw": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    event = sqs_event(
        [{"MessageId": "m", "ReceiptHandle": "r", "Body": "b", "MD5OfBody": "5", "Attributes": {}}],
        "arn:q",
        "us-east-1",
    )
    assert event == {
        "Records": [
            {
                "messageId": "m",
                "receiptHandle": "r",
                "body": "b",
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "5",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:q",
                "awsRegion": "us-east-1",
            }
        ]
    }


# ---- against the sandbox ---------------------------------------------------------------------
def _lines(clients: pv.SandboxClients, prefix: str) -> list[str]:
    return [e["message"][len(prefix) :] for e in log_messages(clients) if e["message"].startswith(prefix)]


def test_the_handler_gets_lambdas_event_and_context(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file(ECHO))
    clients.sqs.send_message(
        QueueUrl=pipeline.queue_url,
        MessageBody='{"detail": {}}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "signup"}},
    )
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "success" and len(invocation.deleted) == 1

    (event,) = [json.loads(line) for line in _lines(clients, "EVENT ")]
    (record,) = event["Records"]
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert record["body"] == '{"detail": {}}'
    assert record["md5OfBody"] == hashlib.md5(b'{"detail": {}}').hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == pipeline.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"]["stringValue"] == "signup"

    (context,) = [json.loads(line) for line in _lines(clients, "CONTEXT ")]
    assert context["function_name"] == "user-signup-handler"
    assert context["aws_request_id"] == invocation.request_id
    assert context["memory_limit_in_mb"] == 128
    assert context["log_group_name"] == "/aws/lambda/user-signup-handler"
    assert context["log_stream_name"] == invocation.log_stream
    assert context["arn"] == pipeline.function_arn
    assert 0 < context["remaining"] <= 1000


def test_the_handlers_aws_calls_reach_the_sandbox_never_the_users_account(
    clients: pv.SandboxClients,
    make_pipeline: MakePipeline,
    make_runner: MakeRunner,
    handler_file: HandlerFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    spec = handler_file(
        """
        import os, boto3
        def handler(event, context):
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_NAME"):
                print("ENV", name, os.environ.get(name))
            urls = boto3.client("sqs").list_queues()["QueueUrls"]
            print("QUEUES", " ".join(sorted(u.rsplit("/", 1)[1] for u in urls)))
        """
    )
    pipeline = make_pipeline(spec, timeout=5)
    send_signups(clients, [{"email": "x@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "success", invocation and invocation.log_lines
    assert _lines(clients, "ENV ") == [
        "AWS_PROFILE None",
        "AWS_SESSION_TOKEN None",
        "AWS_ACCESS_KEY_ID evctl-sandbox",
        "AWS_LAMBDA_FUNCTION_NAME user-signup-handler",
    ]
    assert _lines(clients, "QUEUES ") == ["user-signup-dlq user-signup-queue"]


def test_logs_go_to_a_lambda_named_stream_between_start_end_report(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file(ECHO))
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None
    events = log_messages(clients)
    assert {e["logStreamName"] for e in events} == {invocation.log_stream}
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", invocation.log_stream)
    messages = [e["message"] for e in events]
    rid = invocation.request_id
    assert messages[0] == f"START RequestId: {rid} Version: $LATEST"
    assert messages[-2] == f"END RequestId: {rid}"
    assert re.fullmatch(
        rf"REPORT RequestId: {rid}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB"
        r"\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms",
        messages[-1],
    )
    assert re.fullmatch(
        rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\tlogged through logging", messages[3]
    )


def test_batch_size_splits_the_queue_into_batches(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file("def handler(event, context):\n    pass\n"), batch_size=5)
    send_signups(clients, [{"n": i} for i in range(12)])
    invocations = drain_with(make_runner(pipeline))
    assert sorted(len(i.message_ids) for i in invocations) == [2, 5, 5]
    assert sum(len(i.deleted) for i in invocations) == 12


@pytest.mark.slow
def test_the_batching_window_gathers_several_receives_into_one_batch(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file("def handler(event, context):\n    pass\n"), batch_size=20, batching_window=1)
    send_signups(clients, [{"n": i} for i in range(15)])
    invocations = drain_with(make_runner(pipeline))
    assert [len(i.message_ids) for i in invocations] == [15]  # 10 + 5 from two receives, one invocation


def test_report_batch_item_failures_keeps_only_the_reported_messages(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    spec = handler_file(
        """
        import json
        def handler(event, context):
            failed = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["detail"].get("bad")]
            for r in event["Records"]:
                print("seen", r["messageId"], r["attributes"]["ApproximateReceiveCount"])
            return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
        """
    )
    pipeline = make_pipeline(spec)
    send_signups(clients, [{"bad": i in (2, 5, 7)} for i in range(8)])
    runner = make_runner(pipeline)
    first = runner.poll_once()
    assert first is not None and first.outcome == "partial"
    assert (len(first.deleted), len(first.kept)) == (5, 3)
    assert pv.queue_depths(clients.sqs, pipeline.queue_url) == {"visible": 0, "in_flight": 3}
    time.sleep(1.2)  # the visibility timeout (1 s) passes; only the three come back
    second = runner.poll_once()
    assert second is not None and sorted(second.message_ids) == sorted(first.kept)
    counts = [line.split() for line in _lines(clients, "seen ")]
    assert sorted(c for i, c in counts if i in first.kept) == ["1", "1", "1", "2", "2", "2"]


def test_after_max_receive_count_failures_sqs_moves_the_message_to_the_dlq(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    spec = handler_file("def handler(event, context):\n    raise RuntimeError('always')\n")
    pipeline = make_pipeline(spec, max_receive_count=2)
    send_signups(clients, [{"email": "x@example.com"}])
    runner = make_runner(pipeline)
    failures = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pv.queue_depths(clients.sqs, pipeline.dlq_url)["visible"] == 0:
        invocation = runner.poll_once()
        if invocation is None:
            time.sleep(0.1)
        else:
            failures.append(invocation)
    assert [f.outcome for f in failures] == ["error", "error"]
    assert failures[0].error == "RuntimeError: always"
    assert pv.queue_depths(clients.sqs, pipeline.dlq_url)["visible"] == 1
    assert pv.queue_depths(clients.sqs, pipeline.queue_url) == {"visible": 0, "in_flight": 0}


# ---- faults: each leaves the message in the queue, logs like Lambda, and the runner carries on --------
FAULTS: list[tuple[str, str | None, str, str]] = [
    # (name, handler source or None = file missing, expected outcome, expected log fragment)
    ("missing file", None, "error", "[ERROR] Runtime.ImportModuleError: Unable to import module 'handler'"),
    ("syntax error", "def handler(event, context)\n    pass\n", "error", "[ERROR] Runtime.UserCodeSyntaxError"),
    ("no function", "def other(event, context):\n    pass\n", "error",
     "[ERROR] Runtime.HandlerNotFound: Handler 'handler' missing on module 'handler'"),
    ("raising", "def handler(event, context):\n    raise KeyError('email')\n", "error",
     "[ERROR] KeyError: 'email'\rTraceback (most recent call last):"),
    ("hanging", "import time\ndef handler(event, context):\n    print('start', flush=True)\n    time.sleep(60)\n",
     "timeout", "Task timed out after 1.00 seconds"),
    ("crashing", "import os\ndef handler(event, context):\n    os._exit(3)\n", "error",
     "Error: Runtime exited with error: exit status 3"),
]  # fmt: skip


# In every run: raising and hanging; the rest run with `-m slow` (a missing, broken or incomplete handler file is
# also refused up front by `sandbox up`, tested in tests/cli/test_sandbox.py).
DEFAULT_FAULTS = {"raising", "hanging"}


@pytest.mark.parametrize(
    ("name", "source", "outcome", "fragment"),
    [pytest.param(*f, marks=() if f[0] in DEFAULT_FAULTS else pytest.mark.slow, id=f[0]) for f in FAULTS],
)
def test_handler_faults_are_contained(
    clients: pv.SandboxClients,
    make_pipeline: MakePipeline,
    make_runner: MakeRunner,
    handler_file: HandlerFile,
    name: str,
    source: str | None,
    outcome: str,
    fragment: str,
) -> None:
    spec = handler_file("def handler(event, context):\n    pass\n")
    pipeline = make_pipeline(spec)
    if source is None:
        spec.file.unlink()
    else:
        spec.file.write_text(source)
    send_signups(clients, [{"email": "x@example.com"}])
    runner = make_runner(pipeline)
    started = time.monotonic()
    invocation = runner.poll_once()
    assert invocation is not None
    assert invocation.outcome == outcome
    assert invocation.deleted == [] and len(invocation.kept) == 1
    assert time.monotonic() - started < 5  # a hang is cut at the timeout (1 s), not waited out
    depth = pv.queue_depths(clients.sqs, pipeline.queue_url)
    assert depth["visible"] + depth["in_flight"] == 1  # still there (visible again once the 1 s visibility passed)
    messages = [e["message"] for e in log_messages(clients)]
    assert any(fragment in m for m in messages), messages
    assert messages[0].startswith("START RequestId:") and messages[-1].startswith("REPORT RequestId:")
    if outcome == "timeout":
        assert messages[-1].endswith("\tStatus: timeout")
        assert "start" in messages
    # the runner is still usable: the next (good) handler succeeds once the message is visible again
    spec.file.write_text("def handler(event, context):\n    pass\n")
    time.sleep(1.1)
    assert (runner.poll_once() or invocation).outcome == "success"


def test_non_utf8_output_is_logged_with_replacement_characters(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    spec = handler_file(
        """
        import sys
        def handler(event, context):
            sys.stdout.buffer.write(b"caf\\xe9 \\xff\\xfe end\\n")
            sys.stdout.flush()
            print("after")
        """
    )
    pipeline = make_pipeline(spec)
    send_signups(clients, [{"email": "x@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "success"
    messages = [e["message"] for e in log_messages(clients)]
    assert "caf\ufffd \ufffd\ufffd end" in messages
    assert "after" in messages


@pytest.mark.slow
def test_a_hanging_handlers_children_are_killed_too(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    import os

    spec = handler_file(
        """
        import subprocess, sys, time
        def handler(event, context):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            print("child", child.pid, flush=True)
            time.sleep(60)
        """
    )
    pipeline = make_pipeline(spec)
    send_signups(clients, [{"email": "x@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "timeout"
    (pid,) = [int(line.split()[1]) for line in invocation.log_lines if line.startswith("child ")]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the handler's child {pid} outlived the timeout")


@pytest.mark.slow
def test_the_timeout_counts_from_the_handlers_start_not_from_init(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    spec = handler_file(
        "import time\ntime.sleep(1.5)  # slow import: Lambda's init phase\ndef handler(e, c):\n    pass\n"
    )
    pipeline = make_pipeline(spec)  # timeout 1 s
    send_signups(clients, [{"email": "x@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "success"
    init = float(re.search(r"Init Duration: ([\d.]+) ms", invocation.log_lines[-1]).group(1))  # type: ignore[union-attr]
    assert init >= 1500
    assert invocation.duration_ms < 1000


def test_a_message_that_comes_back_inside_the_batching_window_is_in_the_batch_once(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file("def handler(event, context):\n    pass\n"), batch_size=20, batching_window=1)
    send_signups(clients, [{"n": i} for i in range(3)])
    runner = make_runner(pipeline)
    real_receive = runner._receive
    calls = {"n": 0}

    def receive_then_redeliver(count: int, wait: int) -> list[MessageTypeDef]:
        calls["n"] += 1
        got = real_receive(count, wait)
        if calls["n"] == 1:
            # The visibility timeout lapses: the same messages are received again with new receipt handles.
            clients.sqs.change_message_visibility_batch(
                QueueUrl=pipeline.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(got)
                ],
            )
        return got

    runner._receive = receive_then_redeliver  # type: ignore[method-assign]
    batch = runner.receive_batch()
    assert sorted(m["MessageId"] for m in batch) == sorted({m["MessageId"] for m in batch})
    assert len(batch) == 3
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in batch} == {"2"}  # the newer copies were kept
