"""core.trace's AwsSources against moto: the metrics path (no ledger) and the DLQ peek that releases."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evctl.core.trace import AwsSources
from evctl.core.trace.sources import MetricQuery

REGION = "us-east-1"


@pytest.fixture
def clients() -> Iterator[dict[str, object]]:
    with mock_aws():
        yield {name: boto3.client(name, region_name=REGION) for name in ("logs", "sqs", "cloudwatch")}  # type: ignore[call-overload]


def _sources(clients: dict[str, object]) -> AwsSources:
    return AwsSources(
        logs=clients["logs"], sqs=clients["sqs"], cloudwatch=clients["cloudwatch"],  # type: ignore[arg-type]
        region=REGION, ledgers=False,
    )  # fmt: skip


def test_metric_sums_add_the_datapoints_since_the_publish_and_say_none_where_there_are_none(
    clients: dict[str, object],
) -> None:
    now = time.time()
    cloudwatch = clients["cloudwatch"]
    for value, seconds_ago in ((2.0, 30), (1.0, 0), (7.0, 3600)):  # the last one is before the publish
        cloudwatch.put_metric_data(  # type: ignore[attr-defined]
            Namespace="AWS/Events",
            MetricData=[{
                "MetricName": "Invocations", "Dimensions": [{"Name": "RuleName", "Value": "r"}],
                "Timestamp": dt.datetime.fromtimestamp(now - seconds_ago, dt.UTC), "Value": value,
            }],
        )  # fmt: skip
    queries = [
        MetricQuery("invocations", "AWS/Events", "Invocations", (("RuleName", "r"),)),
        MetricQuery("failed", "AWS/Events", "FailedInvocations", (("RuleName", "r"),)),
    ]
    sources = _sources(clients)
    sums = sources.metric_sums(queries, int((now - 120) * 1000), int(now * 1000))
    assert sums == {"invocations": 3.0, "failed": None}
    assert sources.notes == []


def test_no_ledger_means_unknown_and_a_dlq_peek_finds_the_event_and_leaves_it(clients: dict[str, object]) -> None:
    sources = _sources(clients)
    assert sources.deliveries("e-1", 0) is None and sources.invocations("e-1", 0) is None
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]  # type: ignore[attr-defined]
    event = {
        "version": "0", "id": "e-1", "detail-type": "UserSignup", "source": "my.webapp", "account": "123456789012",
        "time": "2026-12-03T00:00:00Z", "region": REGION, "resources": [], "detail": {"user_id": "u-1"},
    }  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))  # type: ignore[attr-defined]
    found = sources.find_in_queue(url, "e-1")
    assert found is not None
    # released, not deleted: visible again at once for the consumer or a redrive
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]  # type: ignore[attr-defined]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("1", "0")
    assert sources.find_in_queue(url, "e-2") is None


UUID = "6a1c6a8f-0f8e-4c4b-9d4e-2b7f3c0e5a11"


def _lambda_stubbed(answer: dict[str, object] | None, error: str | None = None) -> tuple[object, object]:
    from botocore.stub import Stubber

    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    if error:
        stubber.add_client_error("get_event_source_mapping", service_error_code=error, http_status_code=404)
    else:
        stubber.add_response("get_event_source_mapping", answer, {"UUID": UUID})
    stubber.activate()
    return client, stubber


def test_mapping_state_reads_lambdas_own_answer_a_problem_in_last_processing_result() -> None:
    # GetEventSourceMapping as AWS answers for an SQS mapping whose role cannot receive (moto has no such field)
    answer = {
        "UUID": UUID,
        "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:user-signup-queue",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:user-signup-handler",
        "State": "Enabled",
        "StateTransitionReason": "USER_INITIATED",
        "LastProcessingResult": "PROBLEM: The function execution role does not have permissions to call "
        "ReceiveMessage on SQS",
        "BatchSize": 10,
    }
    client, stubber = _lambda_stubbed(answer)
    sources = AwsSources(logs=None, sqs=None, cloudwatch=None, region=REGION, ledgers=False, lambda_=client)  # type: ignore[arg-type]
    state = sources.mapping_state(UUID)
    stubber.assert_no_pending_responses()  # type: ignore[attr-defined]
    assert state is not None and state.state == "Enabled"
    assert state.problem == f"LastProcessingResult {answer['LastProcessingResult']}"
    assert dict(state.raw) == {k: answer[k] for k in ("State", "StateTransitionReason", "LastProcessingResult")}


def test_mapping_state_ok_disabled_and_unreadable() -> None:
    client, _ = _lambda_stubbed({"UUID": UUID, "State": "Enabled", "LastProcessingResult": "OK"})
    sources = AwsSources(logs=None, sqs=None, cloudwatch=None, region=REGION, ledgers=False, lambda_=client)  # type: ignore[arg-type]
    state = sources.mapping_state(UUID)
    assert state is not None and state.problem is None
    client, _ = _lambda_stubbed({"UUID": UUID, "State": "Disabled", "StateTransitionReason": "USER_INITIATED"})
    sources = AwsSources(logs=None, sqs=None, cloudwatch=None, region=REGION, ledgers=False, lambda_=client)  # type: ignore[arg-type]
    state = sources.mapping_state(UUID)
    assert state is not None and state.problem == "State Disabled (USER_INITIATED)"
    client, _ = _lambda_stubbed(None, error="ResourceNotFoundException")
    sources = AwsSources(logs=None, sqs=None, cloudwatch=None, region=REGION, ledgers=False, lambda_=client)  # type: ignore[arg-type]
    assert sources.mapping_state(UUID) is None
    assert sources.notes == [f"event source mapping {UUID} could not be read (ResourceNotFoundException)"]
