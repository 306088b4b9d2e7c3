"""Failure injection: botocore hooks on the real client make chosen entries (or whole calls) fail.

`EntryFaults` is a `before-call` hook: entries it picks are answered with an ErrorCode and never reach the
service; the others are forwarded, for real, to moto through a second, unhooked client, and the two
answers are spliced back in request order. So "delivered" is what really arrived in the SQS queue.
`CallFaults` is a `before-send` hook answering chosen HTTP attempts with a 500 (before anything is sent).
"""

from __future__ import annotations

import json
import random
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from evctl.aws import AwsSettings, ClientFactory
from evctl.core import events as ev
from evctl.errors import error_code

RULE_PATTERN = {"source": ["evctl.test"]}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


class EntryFaults:
    """Fail entries by their Detail's `n`: `plan(n, attempt)` returns an ErrorCode, or None to deliver."""

    def __init__(self, forward_to: Any, plan: Callable[[int, int], str | None]) -> None:
        self.forward_to = forward_to
        self.plan = plan
        self.attempts: Counter[int] = Counter()
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    def install(self, client: Any) -> None:
        client.meta.events.register("before-call.eventbridge.PutEvents", self)

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        entries = json.loads(params["body"])["Entries"]
        decisions = []
        with self.lock:
            for entry in entries:
                n = json.loads(entry["Detail"])["n"]
                self.attempts[n] += 1
                code = self.plan(n, self.attempts[n])
                decisions.append(code)
                if code:
                    self.injected[code] += 1
        forward = [e for e, code in zip(entries, decisions, strict=True) if code is None]
        answers = iter(self.forward_to.put_events(Entries=forward)["Entries"] if forward else [])
        results = [
            {"ErrorCode": code, "ErrorMessage": f"injected {code}"} if code else next(answers) for code in decisions
        ]
        parsed = {
            "FailedEntryCount": sum(1 for c in decisions if c),
            "Entries": results,
            "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0},
        }
        return AWSResponse("https://events.invalid", 200, {}, _Raw(b"")), parsed


class CallFaults:
    """Answer the first `failures` HTTP attempts of PutEvents with a 500, before anything is sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent = 0

    def install(self, client: Any) -> None:
        client.meta.events.register_first("before-send.eventbridge.PutEvents", self)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.sent += 1
        if self.sent > self.failures:
            return None
        body = b'{"__type":"InternalException","message":"injected 500"}'
        return AWSResponse(request.url, 500, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))


def make_pipeline(endpoint: str | None = None) -> str:
    """A rule on the default bus routing source evctl.test to a fresh queue; returns the queue URL."""
    if endpoint:  # moto server state is per process: start clean (see tests/e2e/test_publish_e2e.reset_moto)
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    sqs, events = boto3.client("sqs", endpoint_url=endpoint), boto3.client("events", endpoint_url=endpoint)
    name = f"faults-{uuid.uuid4().hex[:8]}"  # moto server state outlives one server in this process
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(RULE_PATTERN))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def delivered(url: str, endpoint: str | None = None) -> Counter[int]:
    """How many times each `n` arrived in the queue."""
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    seen: Counter[int] = Counter()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not messages:
            return seen
        for message in messages:
            seen[json.loads(message["Body"])["detail"]["n"]] += 1


def numbered(count: int) -> list[dict[str, Any]]:
    return [{"Source": "evctl.test", "DetailType": "Fault", "Detail": json.dumps({"n": n})} for n in range(count)]


def evctl_client(concurrency: int = 4, max_attempts: int = 5, endpoint: str | None = None) -> Any:
    """The client evctl itself would build (standard retry mode, pool sized for the concurrency)."""
    settings = AwsSettings(max_attempts=max_attempts, endpoint_url=endpoint)
    return ClientFactory(settings).client("events", pool=concurrency)


def mixed_plan(n: int, attempt: int) -> str | None:
    """0: InternalFailure twice · 1: Throttling once · 2: AccessDenied always · 3: InternalFailure always."""
    kind = n % 10
    if kind == 0 and attempt <= 2:
        return "InternalFailure"
    if kind == 1 and attempt == 1:
        return "ThrottlingException"
    if kind == 2:
        return "AccessDeniedException"
    if kind == 3:
        return "InternalFailure"
    return None


@mock_aws
def test_retryable_entries_are_delivered_exactly_once_and_the_rest_reported() -> None:
    url = make_pipeline()
    client = evctl_client()
    faults = EntryFaults(boto3.client("events"), mixed_plan)
    faults.install(client)
    sleeps: list[float] = []

    report = ev.publish(client, numbered(100), concurrency=4, max_attempts=4, sleep=sleeps.append, rand=lambda: 1.0)

    arrived = delivered(url)
    for n, result in enumerate(report.results):
        assert result.index == n
        if n % 10 in (2, 3):
            assert (result.status, result.event_id, arrived[n]) == ("failed", None, 0)
        else:
            assert result.status == "ok" and result.event_id and arrived[n] == 1, (n, result, arrived[n])
    codes = Counter(r.error_code for r in report.failed)
    assert codes == {"AccessDeniedException": 10, "InternalFailure": 10}
    assert {r.attempts for r in report.failed if r.error_code == "AccessDeniedException"} == {1}
    assert {r.attempts for r in report.failed if r.error_code == "InternalFailure"} == {4}
    assert {report.results[n].attempts for n in range(0, 100, 10)} == {3}
    assert sum(arrived.values()) == report.succeeded == 80
    # re-sends: kind 0 twice, kind 1 once, kind 3 three times; 10 of each kind
    assert report.retried_entries == 10 * (2 + 1 + 3)
    assert report.api_calls == 10 + len(sleeps)
    assert sleeps and set(sleeps) <= {0.1, 0.2, 0.4}  # 0.1 * 2**(attempt-1), full jitter at its maximum
    assert report.fatal is None and not report.interrupted


# Against a real moto server a before-send answer replaces the HTTP request: the 500 happens before
# EventBridge sees anything. (In-process mock_aws still runs the request: see the at-least-once test.)


def test_a_500_is_retried_by_botocore_and_delivers_once(moto_server: str) -> None:
    url = make_pipeline(moto_server)
    client = evctl_client(max_attempts=5, endpoint=moto_server)
    faults = CallFaults(failures=2)
    faults.install(client)

    report = ev.publish(client, numbered(15), concurrency=1, sleep=lambda _: None)

    assert report.succeeded == 15 and report.api_calls == 2  # two PutEvents calls (10 + 5)
    assert faults.sent == 4  # 2 injected 500s, then the two calls
    assert delivered(url, moto_server) == Counter(range(15))


def test_a_500_that_outlasts_botocore_retries_stops_the_run_and_loses_nothing(moto_server: str) -> None:
    url = make_pipeline(moto_server)
    client = evctl_client(max_attempts=2, endpoint=moto_server)
    CallFaults(failures=2).install(client)

    report = ev.publish(client, numbered(30), concurrency=1, sleep=lambda _: None)

    assert report.fatal is not None and error_code(report.fatal) == "InternalException"
    statuses = [r.status for r in report.results]
    assert statuses == ["failed"] * 10 + ["not_sent"] * 20
    assert report.results[0].error_code == "InternalException"
    assert delivered(url, moto_server) == Counter()


@mock_aws
def test_a_500_after_eventbridge_accepted_the_call_duplicates_at_least_once() -> None:
    """The documented caveat: in-process moto handles the request, then the hook's 500 replaces the answer."""
    url = make_pipeline()
    client = evctl_client(max_attempts=3)
    CallFaults(failures=1).install(client)

    report = ev.publish(client, numbered(5), concurrency=1, sleep=lambda _: None)

    assert report.succeeded == 5
    assert delivered(url) == Counter({n: 2 for n in range(5)})


@pytest.mark.slow
@mock_aws
def test_random_faults_at_scale_every_event_accounted_for() -> None:
    url = make_pipeline()
    client = evctl_client(concurrency=8)
    rng = random.Random(7)
    codes = ["InternalFailure", "ThrottlingException", "InternalFailure", "MalformedDetail"]
    doomed: set[int] = set()

    def plan(n: int, attempt: int) -> str | None:
        if n in doomed:
            return "MalformedDetail"
        if rng.random() < 0.3:
            code = rng.choice(codes)
            if code == "MalformedDetail":
                doomed.add(n)
            return code
        return None

    faults = EntryFaults(boto3.client("events"), plan)
    faults.install(client)
    report = ev.publish(client, numbered(600), concurrency=8, max_attempts=10, sleep=lambda _: None)

    arrived = delivered(url)
    assert max(arrived.values()) == 1
    ok = {r.index for r in report.results if r.ok}
    assert set(arrived) == ok
    assert {r.index for r in report.failed} == set(range(600)) - ok
    assert all(r.error_code in ("MalformedDetail", "InternalFailure", "ThrottlingException") for r in report.failed)
    assert doomed <= {r.index for r in report.failed}
