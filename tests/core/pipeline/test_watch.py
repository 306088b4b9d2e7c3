"""core/watch on moto's seed pipeline with an injected clock: API calls per minute (31 GetQueueAttributes + 1
GetMetricData at the default interval, counted with botocore event hooks), no burst after a slow call, DLQ growth
marked, failed reads as gaps and notes, CloudWatch minutes, the doctor's cadence."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.core.pipeline import PipelineClients, discover
from evctl.core.watch import (
    DLQ_EVERY,
    HISTORY_SECONDS,
    Alert,
    Hop,
    MetricSpec,
    Snapshot,
    WatchClients,
    Watcher,
    plan_hops,
)
from evctl.sandbox import provision as pv

REGION = "us-east-1"
T0 = 1_796_040_000.0  # a whole minute


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class Seed:
    def __init__(self) -> None:
        names = ("events", "sqs", "lambda", "iam", "logs")
        self.raw: dict[str, Any] = {name: boto3.client(name, region_name=REGION) for name in names}  # type: ignore[call-overload]
        self.raw["cloudwatch"] = boto3.client("cloudwatch", region_name=REGION)
        self.pipeline = pv.provision(pv.SandboxClients(*(self.raw[name] for name in names)))
        raw = self.raw
        self.graph = discover(
            PipelineClients(raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["cloudwatch"]),
            ["user-signup-queue"],
        )
        self.hops = plan_hops(self.graph)

    def url(self, name: str) -> str:
        return str(self.raw["sqs"].get_queue_url(QueueName=name)["QueueUrl"])

    def count(self, clock: Clock) -> Counter[tuple[int, str, str]]:
        """(minute of the watch, operation, queue or '') of every call the watch's clients make."""
        calls: Counter[tuple[int, str, str]] = Counter()
        for service in ("sqs", "cloudwatch"):

            def hook(model: Any, params: Any, **_: Any) -> None:
                body = params.get("body")
                queue = str(body.get("QueueUrl", "")).rsplit("/", 1)[-1] if isinstance(body, dict) else ""
                if isinstance(body, bytes | str):
                    queue = json.loads(body or "{}").get("QueueUrl", "").rsplit("/", 1)[-1] if body else ""
                calls[(int((clock.now - T0) // 60), model.name, queue)] += 1

            self.raw[service].meta.events.register("before-call.*.*", hook)
        return calls

    def watcher(self, clock: Clock, **kwargs: Any) -> Watcher:
        clients = WatchClients(self.raw["sqs"], kwargs.pop("cloudwatch", self.raw["cloudwatch"]))
        return Watcher(self.hops, clients, targets=["user-signup-queue"], clock=clock, **kwargs)


@pytest.fixture
def seed() -> Iterator[Seed]:
    with mock_aws():
        yield Seed()


class Enough(Exception):
    pass


def run_for(watcher: Watcher, clock: Clock, seconds: float) -> list[Snapshot]:
    snapshots: list[Snapshot] = []
    end = clock.now + seconds

    def sleep(wait: float) -> None:
        if clock.now + wait >= end:
            raise Enough
        clock.sleep(wait)

    with pytest.raises(Enough):
        watcher.run(snapshots.append, sleep=sleep)
    return snapshots


def test_the_roles_and_numbers_of_each_hop(seed: Seed) -> None:
    assert [(h.role, h.name) for h in seed.hops] == [
        ("rule", "user-signup-rule"),
        ("queue", "user-signup-queue"),
        ("dlq", "user-signup-dlq"),
        ("function", "user-signup-handler"),
    ]
    queue, dlq = seed.hops[1], seed.hops[2]
    assert queue.related == ("user-signup-dlq",) and dlq.related == ("user-signup-queue",)
    assert [m.name for h in seed.hops for m in h.metrics] == [
        "matched", "failed", "oldest_age_seconds", "oldest_age_seconds",
        "invocations", "errors", "throttles", "duration_p95_ms",
    ]  # fmt: skip
    assert seed.hops[0].metrics[0].query == ("AWS/Events", "MatchedEvents", {"RuleName": "user-signup-rule"}, "Sum")


def test_calls_per_minute_at_the_default_interval(seed: Seed) -> None:
    clock = Clock()
    calls = seed.count(clock)
    watcher = seed.watcher(clock)
    run_for(watcher, clock, 180)
    for minute in range(3):
        assert calls[(minute, "GetQueueAttributes", "user-signup-queue")] == 30
        assert calls[(minute, "GetQueueAttributes", "user-signup-dlq")] == 1
        assert calls[(minute, "GetMetricData", "")] == 1
        assert sum(n for (m, _, _), n in calls.items() if m == minute) == 32
    assert watcher.calls == {"GetQueueAttributes": 93, "GetMetricData": 3}


def test_a_slow_call_skips_what_it_missed_instead_of_bursting(seed: Seed) -> None:
    clock = Clock()
    calls = seed.count(clock)
    slow = {"left": 1}

    def slow_once(**_: Any) -> None:
        if slow["left"] and clock.now >= T0 + 10:
            slow["left"] = 0
            clock.now += 7.5  # this call took 7.5 s: the reads due at +12, +14 and +16 are gone

    seed.raw["sqs"].meta.events.register("before-call.sqs.GetQueueAttributes", slow_once)
    watcher = seed.watcher(clock)
    run_for(watcher, clock, 60)
    visible = [t - T0 for t, _ in watcher.history.points((seed.hops[1].id, "visible"))]
    # due at +12 when the +10 call ended at +17.5: read once, late, then back on the 2 s grid (+14, +16 skipped)
    assert visible[:8] == [0, 2, 4, 6, 8, 10, 17.5, 18]
    assert visible[8:] == list(range(20, 60, 2))
    assert calls[(0, "GetQueueAttributes", "user-signup-queue")] == 28


def test_queue_numbers_follow_the_queue_and_the_history_is_bounded(seed: Seed) -> None:
    clock = Clock()
    watcher = seed.watcher(clock, interval=30.0)
    seed.raw["sqs"].send_message(QueueUrl=seed.url("user-signup-queue"), MessageBody="a")
    first = watcher.tick()
    assert first.hops[1].value("visible") == 1 and first.hops[1].value("in_flight") == 0
    run_for(watcher, clock, HISTORY_SECONDS * 2)
    points = watcher.history.points((seed.hops[1].id, "visible"))
    assert len(points) == HISTORY_SECONDS // 30  # a ring: the newest 15 minutes only


def test_dlq_growth_is_marked_then_cleared(seed: Seed) -> None:
    clock = Clock()
    watcher = seed.watcher(clock)
    dlq_url = seed.url("user-signup-dlq")
    start = watcher.tick()
    assert start.hops[2].grew_by is None and start.hops[2].added == 0
    for body in ("x", "y"):
        seed.raw["sqs"].send_message(QueueUrl=dlq_url, MessageBody=body)
    snapshots = run_for(watcher, clock, DLQ_EVERY + 1)
    assert snapshots[-1].hops[2].value("depth") == 2
    assert snapshots[-1].hops[2].grew_by == 2 and snapshots[-1].hops[2].added == 2
    assert all(s.hops[2].value("depth") == 0 for s in snapshots if s.at < T0 + DLQ_EVERY)  # read once a minute
    later = run_for(watcher, clock, DLQ_EVERY + 1)[-1]
    assert later.hops[2].grew_by is None and later.hops[2].added == 2  # not growing now; still up since the start
    document = later.as_dict()["hops"][2]
    assert (document["depth"], document["growing"], document["grew_by"], document["added_since_start"]) == (
        2, False, 0, 2,
    )  # fmt: skip


def test_a_failed_read_is_a_gap_and_a_note_and_the_watch_goes_on(seed: Seed) -> None:
    clock = Clock()
    denied = {"on": True}

    class Http:
        status_code = 400

    def deny(**_: Any) -> Any:
        if denied["on"]:
            return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {}}
        return None

    seed.raw["sqs"].meta.events.register("before-call.sqs.GetQueueAttributes", deny)
    seed.raw["cloudwatch"].meta.events.register("before-call.cloudwatch.GetMetricData", deny)
    watcher = seed.watcher(clock)
    first = watcher.tick()
    queue = first.hops[1]
    assert queue.value("visible") is None
    assert queue.notes == ("not read: sqs:GetQueueAttributes denied",)
    assert first.metrics_note == "not read: cloudwatch:GetMetricData denied" and first.metrics_at is None
    denied["on"] = False
    clock.sleep(2)
    again = watcher.tick()
    assert again.hops[1].value("visible") == 0 and again.hops[1].notes == ()
    assert [v for _, v in watcher.history.points((seed.hops[1].id, "visible"))] == [None, 0.0]


def test_cloudwatch_minutes_fill_the_metric_series(seed: Seed) -> None:
    clock = Clock()
    cloudwatch = seed.raw["cloudwatch"]
    for minutes_ago, value in ((3, 7.0), (1, 12.0)):
        cloudwatch.put_metric_data(
            Namespace="AWS/Events",
            MetricData=[{"MetricName": "MatchedEvents", "Dimensions": [{"Name": "RuleName", "Value": "user-signup-rule"}],
                         "Timestamp": dt.datetime.fromtimestamp(T0 - 60 * minutes_ago + 5, dt.UTC), "Value": value}],
        )  # fmt: skip
    snapshot = seed.watcher(clock).tick()
    rule = snapshot.hops[0]
    matched = next(s for s in rule.series if s.name == "matched")
    assert matched.points == ((T0 - 180, 7.0), (T0 - 60, 12.0)) and matched.current == 12.0
    assert rule.value("failed") is None  # no datapoints: unknown, not 0
    assert snapshot.metrics_at == T0 and snapshot.metrics_note is None


def test_an_endpoint_that_fails_percentiles_is_asked_without_them_from_then_on(seed: Seed) -> None:
    """moto cannot answer a p95 query once the metric has datapoints (its server fails the whole call)."""
    clock = Clock()
    asked: list[list[str]] = []

    class Http:
        status_code = 500

    def note(params: Any, **_: Any) -> None:
        asked.append([q["MetricStat"]["Stat"] for q in params["MetricDataQueries"]])

    def fail_percentiles(**_: Any) -> Any:
        if "p95" in asked[-1]:
            return Http(), {"Error": {"Code": "InternalFailure", "Message": "boom"}, "ResponseMetadata": {}}
        return None

    events = seed.raw["cloudwatch"].meta.events
    events.register("before-parameter-build.cloudwatch.GetMetricData", note)
    events.register("before-call.cloudwatch.GetMetricData", fail_percentiles)
    watcher = seed.watcher(clock)
    first = watcher.tick()
    assert [("p95" in stats) for stats in asked] == [True, False]  # the failed call, then the same without p95
    assert first.metrics_at == T0 and first.metrics_note == "p95 duration not available from this endpoint"
    run_for(watcher, clock, 61)
    assert [("p95" in stats) for stats in asked] == [True, False, False]  # one call a minute again
    assert watcher.calls["GetMetricData"] == 3


def test_a_percentile_answered_as_aws_answers_it() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    stub = Stubber(cloudwatch)
    stamp = dt.datetime.fromtimestamp(T0 - 60, dt.UTC)
    stub.add_response("get_metric_data", {"MetricDataResults": [
        {"Id": "m0", "Label": "Duration", "Timestamps": [stamp], "Values": [812.5], "StatusCode": "Complete"},
    ], "Messages": []})  # fmt: skip
    function = Hop("arn:aws:lambda:us-east-1:123456789012:function:f", "function", "f",
                   metrics=(MetricSpec("duration_p95_ms", ("AWS/Lambda", "Duration", {"FunctionName": "f"}, "p95")),))  # fmt: skip
    with stub:
        snapshot = Watcher([function], WatchClients(boto3.client("sqs", region_name=REGION), cloudwatch),
                           clock=Clock()).tick()  # fmt: skip
    assert snapshot.hops[0].value("duration_p95_ms") == 812.5
    assert snapshot.as_dict()["hops"][0]["duration_p95_ms"] == 812.5


def test_the_doctor_runs_at_start_then_every_few_minutes_and_a_failure_keeps_the_findings(seed: Seed) -> None:
    clock = Clock()
    alert = Alert("Q-VIS-1", "critical", seed.hops[1].id, "user-signup-queue", "visibility too short")
    answers: list[Any] = [(alert,), RuntimeError("boom")]

    def doctor() -> tuple[Alert, ...]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return tuple(answer)

    watcher = seed.watcher(clock, doctor=doctor, doctor_every=120.0, start=lambda job: job())
    first = watcher.tick()
    assert first.doctor is not None and first.doctor.alerts == (alert,) and first.doctor.ran_at == T0
    assert first.doctor.next_at == T0 + 120
    snapshots = run_for(watcher, clock, 121)
    last = snapshots[-1].doctor
    assert last is not None and last.alerts == (alert,) and last.ran_at == T0  # kept
    assert last.error == "doctor failed: RuntimeError"
    assert watcher.calls["doctor runs"] == 2


def test_a_doctor_run_still_going_is_not_started_again(seed: Seed) -> None:
    clock = Clock()
    started: list[Any] = []
    watcher = seed.watcher(clock, doctor=lambda: (), doctor_every=60.0, start=started.append)
    run_for(watcher, clock, 200)
    assert len(started) == 1 and watcher.calls["doctor runs"] == 1
    snapshot = watcher.snapshot()
    assert snapshot.doctor is not None and snapshot.doctor.running and snapshot.doctor.ran_at is None
    started[0]()
    assert watcher.snapshot().doctor == type(snapshot.doctor)(T0, (), None, False, snapshot.doctor.next_at)


def test_once_waits_for_the_doctor_and_the_document_is_strict_json(seed: Seed) -> None:
    clock = Clock()
    snapshots: list[Snapshot] = []
    watcher = seed.watcher(clock, doctor=lambda: (), start=lambda job: None)  # a thread that would never run it
    watcher.run(snapshots.append, sleep=clock.sleep, once=True)
    [snapshot] = snapshots
    document = snapshot.as_dict()
    json.dumps(document, allow_nan=False)
    assert document["doctor"]["ran_at"] == "2026-11-30T12:00:00Z" and document["doctor"]["findings"] == []
    assert document["schema"] == "evctl.watch/1" and document["at"] == "2026-11-30T12:00:00Z"
    assert [h["role"] for h in document["hops"]] == ["rule", "queue", "dlq", "function"]
    assert document["calls"] == {"GetMetricData": 1, "GetQueueAttributes": 2, "doctor runs": 1}
