"""The sandbox's service metrics: AWS/SQS counts and gauges from moto's SQS, AWS/Lambda and AWS/Events through the
emitter's API, written into the sandbox's CloudWatch and read back over HTTP with GetMetricData, as on AWS."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from evctl.cli.context import sandbox_clients
from evctl.sandbox import lifecycle
from evctl.sandbox import metrics as sm
from evctl.sandbox.metrics import reads, sqs
from evctl.sandbox.server import SandboxServer
from evctl.sandbox.state import REGION


@pytest.fixture
def server(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def aws(server: SandboxServer) -> dict[str, Any]:
    from evctl.aws import AwsSettings, ClientFactory
    from evctl.sandbox.state import CREDENTIALS

    factory = ClientFactory(AwsSettings(region=REGION, endpoint_url=server.endpoint, sandbox_credentials=CREDENTIALS))
    return {"sqs": factory.client("sqs"), "cloudwatch": factory.client("cloudwatch")}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emitter(server: SandboxServer) -> Iterator[sm.SandboxMetrics]:
    """An emitter with the hooks installed and current(), no writer thread: tests flush and sample themselves."""
    made = sm.SandboxMetrics(sm.MotoCloudWatch(), region=REGION, flush_seconds=3600, sample_seconds=3600)
    made.add_sampler(sqs.sample_queues)
    sqs.install()
    reads.install()
    sm.emitter._push(made)
    try:
        yield made
    finally:
        sm.emitter._pop(made)
        reads.uninstall()
        sqs.uninstall()


def read(
    cloudwatch: Any,
    namespace: str,
    metric: str,
    dimensions: dict[str, str] | list[tuple[str, str]],
    stat: str = "Sum",
    minutes: int = 30,
) -> list[float]:
    """GetMetricData over the last `minutes` (and the next), one minute per value, oldest first."""
    pairs = list(dimensions.items()) if isinstance(dimensions, dict) else dimensions
    end = dt.datetime.fromtimestamp((time.time() // 60 + 2) * 60, dt.UTC)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in pairs],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=end - dt.timedelta(minutes=minutes + 2),
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    return [float(v) for v in answer["MetricDataResults"][0]["Values"]]


def test_sent_received_deleted_count_what_happened(aws: dict[str, Any], emitter: sm.SandboxMetrics) -> None:
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    for n in range(3):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=str(n))
    aws["sqs"].send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}]
    )
    got = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert len(got) == 5
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    aws["sqs"].delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "ReceiptHandle": got[1]["ReceiptHandle"]},
            {"Id": "2", "ReceiptHandle": got[2]["ReceiptHandle"]},
            {"Id": "3", "ReceiptHandle": "not-a-handle"},  # refused: not a deletion
        ],
    )
    emitter.flush()

    cw = aws["cloudwatch"]
    queue = {"QueueName": "orders"}
    assert sum(read(cw, "AWS/SQS", "NumberOfMessagesSent", queue)) == 5
    assert sum(read(cw, "AWS/SQS", "NumberOfMessagesReceived", queue)) == 5
    assert sum(read(cw, "AWS/SQS", "NumberOfMessagesDeleted", queue)) == 3
    assert sum(read(cw, "AWS/SQS", "NumberOfEmptyReceives", queue)) == 1


def test_a_message_moved_to_the_dlq_by_redrive_is_not_a_send_of_the_dlq(
    aws: dict[str, Any], emitter: sm.SandboxMetrics
) -> None:
    dlq_url = aws["sqs"].create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = aws["sqs"].get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = aws["sqs"].create_queue(QueueName="orders", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody="poison")
    assert len(aws["sqs"].receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=url)  # moved to the DLQ by this receive
    emitter.sample()
    emitter.flush()

    cw = aws["cloudwatch"]
    assert sum(read(cw, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "orders"})) == 1
    assert read(cw, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "orders-dlq"}) == [0.0]  # active: 0, not absent
    assert read(cw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "orders-dlq"}, "Maximum") == [1.0]
    assert read(cw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "orders"}, "Maximum") == [0.0]


def test_gauges_are_the_queue_levels_at_the_sample(
    aws: dict[str, Any], emitter: sm.SandboxMetrics, server: SandboxServer
) -> None:
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    for n in range(4):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=str(n))
    aws["sqs"].send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
    from moto.sqs.models import sqs_backends

    oldest = sqs_backends["123456789012"][REGION].queues["orders"]._messages[0]
    setattr(oldest, sqs.ENQUEUED, getattr(oldest, sqs.ENQUEUED) - 600_000)  # sent ten minutes ago
    emitter.clock = Clock(time.time())
    emitter.sample()
    emitter.flush()

    cw = aws["cloudwatch"]
    queue = {"QueueName": "orders"}
    assert read(cw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum") == [3.0]
    assert read(cw, "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", queue, "Maximum") == [1.0]
    assert read(cw, "AWS/SQS", "ApproximateNumberOfMessagesDelayed", queue, "Maximum") == [1.0]
    (age,) = read(cw, "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum", minutes=30)
    assert 600 <= age <= 602


def test_age_leaves_out_a_poison_message_and_counts_a_dlq_from_the_move(
    aws: dict[str, Any], emitter: sm.SandboxMetrics
) -> None:
    from moto.sqs.models import sqs_backends

    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(3):
        aws["sqs"].receive_message(QueueUrl=url, VisibilityTimeout=0)
    aws["sqs"].send_message(QueueUrl=url, MessageBody="fresh")
    queue = sqs_backends["123456789012"][REGION].queues["orders"]
    poison, fresh = queue._messages  # moto's Message objects (typed loosely: Any)
    poison = cast(Any, poison)
    poison.sent_timestamp -= 3_600_000  # an hour old, received 3 times: not the oldest for the metric
    setattr(poison, sqs.ENQUEUED, poison.sent_timestamp)
    fresh_ms = getattr(fresh, sqs.ENQUEUED)
    levels = sqs.queue_levels(queue, fresh_ms + 42_000)
    assert levels["ApproximateAgeOfOldestMessage"] == 42
    assert levels["ApproximateNumberOfMessagesVisible"] == 2

    dlq = aws["sqs"].create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = aws["sqs"].create_queue(
        QueueName="src", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})}
    )["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=src, MessageBody="x")
    backend = sqs_backends["123456789012"][REGION]
    cast(Any, backend.queues["src"]._messages[0]).sent_timestamp -= 86_400_000  # sent a day ago
    aws["sqs"].receive_message(QueueUrl=src, VisibilityTimeout=0)
    aws["sqs"].receive_message(QueueUrl=src)  # moved now
    moved = backend.queues["orders-dlq"]._messages[0]
    assert (
        sqs.queue_levels(backend.queues["orders-dlq"], getattr(moved, sqs.ENQUEUED) + 5_000)[
            "ApproximateAgeOfOldestMessage"
        ]
        == 5
    )


def test_lambda_and_events_metrics_land_with_their_dimensions(aws: dict[str, Any], emitter: sm.SandboxMetrics) -> None:
    base = (time.time() // 60 - 5) * 60 + 10  # 10 s into a whole minute, 5 minutes ago
    current = sm.current()
    assert current is emitter
    current.lambda_invocation("welcome", 120.0, error=True, at=base)
    current.lambda_invocation("welcome", 80.0, at=base + 20)
    current.lambda_invocation("welcome", 40.0, at=base + 60)  # the next minute
    current.lambda_throttle("welcome", at=base + 61)
    current.rule_metric("signup", "MatchedEvents", at=base)
    current.rule_metric("signup", "Invocations", at=base)
    current.rule_metric("signup", "FailedInvocations", bus_name="orders", at=base)
    current.count("AWS/Events", "InvocationsSentToDlq", sm.rule_dimensions("signup", "orders"), at=base)
    emitter.flush()

    cw = aws["cloudwatch"]
    fn = {"FunctionName": "welcome"}
    assert read(cw, "AWS/Lambda", "Invocations", fn) == [2.0, 1.0]
    assert read(cw, "AWS/Lambda", "Errors", fn) == [1.0, 0.0]
    assert read(cw, "AWS/Lambda", "Throttles", fn) == [1.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "Maximum") == [120.0, 40.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "Average") == [100.0, 40.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "SampleCount") == [2.0, 1.0]
    assert read(cw, "AWS/Events", "Invocations", {"RuleName": "signup"}) == [1.0]
    assert read(cw, "AWS/Events", "MatchedEvents", {"RuleName": "signup"}) == [1.0]
    # a custom bus's rule: RuleName + EventBusName, in either order; RuleName alone is the default bus's series
    custom = [("RuleName", "signup"), ("EventBusName", "orders")]
    assert read(cw, "AWS/Events", "FailedInvocations", custom) == [1.0]
    assert read(cw, "AWS/Events", "FailedInvocations", list(reversed(custom))) == [1.0]
    assert read(cw, "AWS/Events", "InvocationsSentToDlq", custom) == [1.0]
    assert read(cw, "AWS/Events", "FailedInvocations", {"RuleName": "signup"}) == []


def test_a_series_minute_is_one_datapoint_updated_in_place(
    aws: dict[str, Any], emitter: sm.SandboxMetrics, server: SandboxServer
) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    at = (time.time() // 60 - 3) * 60 + 1
    for n in range(5):
        emitter.count("AWS/Events", "Invocations", {"RuleName": "r"}, at=at + n)
        emitter.flush()
    emitter.gauge("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"}, 7, at=at)
    emitter.flush()
    emitter.gauge("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"}, 3, at=at + 30)
    emitter.flush()
    stored = cloudwatch_backends["123456789012"][REGION].metric_data
    assert len(stored) == 2
    assert read(aws["cloudwatch"], "AWS/Events", "Invocations", {"RuleName": "r"}) == [5.0]
    # a gauge's minute is its latest sample, one sample (AWS/SQS publishes one a minute)
    assert read(aws["cloudwatch"], "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"}, "Sum") == [3.0]
    assert stored[0].timestamp == dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None)  # the first event's time

    server.reset()  # `evctl sandbox reset`: a new CloudWatch; the next minute written is a new datapoint there
    emitter.count("AWS/Events", "Invocations", {"RuleName": "r"}, at=at)
    emitter.flush()
    assert read(aws["cloudwatch"], "AWS/Events", "Invocations", {"RuleName": "r"}) == [1.0]


def test_a_zero_fill_gives_way_to_the_first_real_count(aws: dict[str, Any], emitter: sm.SandboxMetrics) -> None:
    at = (time.time() // 60 - 2) * 60 + 1
    queue = {"QueueName": "q"}
    emitter.zero("AWS/SQS", "NumberOfMessagesSent", queue, at=at)
    emitter.flush()
    assert read(aws["cloudwatch"], "AWS/SQS", "NumberOfMessagesSent", queue, "SampleCount") == [1.0]
    emitter.count("AWS/SQS", "NumberOfMessagesSent", queue, 4, at=at + 1)
    emitter.zero("AWS/SQS", "NumberOfMessagesSent", queue, at=at + 2)
    emitter.flush()
    assert read(aws["cloudwatch"], "AWS/SQS", "NumberOfMessagesSent", queue, "Sum") == [4.0]
    assert read(aws["cloudwatch"], "AWS/SQS", "NumberOfMessagesSent", queue, "SampleCount") == [1.0]


def test_nothing_is_emitted_without_a_running_sandbox_emitter(aws: dict[str, Any]) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    assert sm.current() is sm.NO_METRICS
    assert not sm.current().active
    sm.current().lambda_invocation("welcome", 10.0, error=True)
    sm.current().count("AWS/Events", "Invocations", {"RuleName": "r"})
    assert not sqs.is_installed()
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody="x")
    assert cloudwatch_backends["123456789012"][REGION].metric_data == []


def test_start_and_stop_hook_write_and_unhook(aws: dict[str, Any]) -> None:
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    emitter = sm.start_for_sandbox(REGION, flush_seconds=3600, sample_seconds=3600)
    try:
        assert sm.current() is emitter
        assert sqs.is_installed()
        thread = emitter._thread
        assert thread is not None and thread.is_alive()
        aws["sqs"].send_message(QueueUrl=url, MessageBody="x")
    finally:
        emitter.stop()
    assert not thread.is_alive()
    assert sm.current() is sm.NO_METRICS
    assert not sqs.is_installed()
    # written by stop's flush (the interval is an hour), and the queue sampled at stop
    assert read(aws["cloudwatch"], "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "orders"}) == [1.0]
    visible = read(
        aws["cloudwatch"], "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "orders"}, "Maximum"
    )
    assert visible == [1.0]
    emitter.stop()  # idempotent


def test_the_writer_thread_flushes_on_its_own(aws: dict[str, Any]) -> None:
    emitter = sm.start_for_sandbox(REGION, flush_seconds=0.05, sample_seconds=3600)
    try:
        emitter.count("AWS/Events", "Invocations", {"RuleName": "r"})
        deadline = time.monotonic() + 10
        while not read(aws["cloudwatch"], "AWS/Events", "Invocations", {"RuleName": "r"}):
            assert time.monotonic() < deadline, "the writer thread never flushed"
            time.sleep(0.05)
    finally:
        emitter.stop()
    assert emitter.errors == []


def test_the_in_process_sandbox_of_demo_runs_the_emitter_and_stops_it() -> None:
    sandbox = lifecycle.start(sandbox_clients, port=0, record=False, wait_seconds=0)
    try:
        assert sandbox.metrics is not None and sm.current() is sandbox.metrics
        assert sqs.is_installed()
    finally:
        sandbox.stop()
    assert sm.current() is sm.NO_METRICS
    assert not sqs.is_installed()


def test_percentiles_of_durations_are_read_as_cloudwatch_computes_them(
    aws: dict[str, Any], emitter: sm.SandboxMetrics
) -> None:
    at = (time.time() // 60 - 4) * 60 + 1
    for n in range(1, 101):  # 1 .. 100 ms in one minute, over several flushes
        emitter.lambda_invocation("welcome", float(n), at=at + n * 0.1)
        if n % 30 == 0:
            emitter.flush()
    emitter.flush()
    fn = {"FunctionName": "welcome"}
    cw = aws["cloudwatch"]
    assert read(cw, "AWS/Lambda", "Duration", fn, "p95") == [95.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "p50") == [50.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "p99.9") == [100.0]
    assert read(cw, "AWS/Lambda", "Duration", fn, "Average") == [50.5]
    assert reads.percentile([3.0, 1.0, 2.0], 1) == 1.0


class FlakySink:
    """A sink that fails with the errors queued in `failures` (then succeeds)."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)

    def write(self, minutes: list[Any]) -> None:
        if self.failures:
            raise self.failures.pop(0)


def test_emitter_failures_are_warned_once_per_kind_and_counted_in_the_state_file() -> None:
    from types import SimpleNamespace

    from evctl.sandbox import state as state_file

    sink = FlakySink(OSError("disk"), OSError("disk again"), ValueError("bad"))
    emitter = sm.SandboxMetrics(sink, region=REGION, flush_seconds=3600, sample_seconds=3600)
    record = state_file.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=1)
    sandbox = SimpleNamespace(metrics=emitter, state=record)
    warned: list[str] = []
    watch = lifecycle.MetricsWatch(warned.append)
    for _ in range(4):
        emitter.count("AWS/Events", "Invocations", {"RuleName": "r"})
        emitter.flush()
        watch.check(cast(Any, sandbox))
    assert emitter.error_count == 3
    assert warned == ["writing metrics failed: OSError('disk')", "writing metrics failed: ValueError('bad')"]
    current = state_file.read()
    assert current is not None and current.metric_errors == 3
    watch.check(cast(Any, sandbox))  # nothing new: nothing said
    assert len(warned) == 2
