"""Rule → SQS delivery in the sandbox follows AWS (evctl/sandbox/delivery, docs/sandbox.md "What the sandbox
enforces"): on moto's server in this process with the delivery hook installed, each rule checked against what the
cited AWS documentation says, through the same APIs a user calls (boto3 against the sandbox)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from evctl.sandbox import delivery
from evctl.sandbox import provision as pv
from evctl.sandbox.delivery import retry
from evctl.sandbox.delivery.engine import Engine
from evctl.sandbox.delivery.scheduler import ManualScheduler
from evctl.sandbox.server import SandboxServer

OTHER_RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/some-other-rule"


@pytest.fixture
def enforcing() -> Iterator[None]:
    delivery.install("enforcing")
    try:
        yield
    finally:
        delivery.uninstall()


@pytest.fixture
def pipeline(clients: pv.SandboxClients, enforcing: None) -> pv.Pipeline:
    return pv.provision(clients, pv.DEFAULT_HANDLER, pv.PipelineSettings(timeout=1))


def publish(clients: pv.SandboxClients, detail: dict[str, Any] | None = None) -> str:
    response = clients.events.put_events(
        Entries=[{"Source": pv.SOURCE, "DetailType": pv.DETAIL_TYPE, "Detail": json.dumps(detail or {"n": 1})}]
    )
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])


def depth(clients: pv.SandboxClients, url: str) -> int:
    attributes = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def ledger(clients: pv.SandboxClients, event_id: str | None = None) -> list[dict[str, Any]]:
    try:
        events = clients.logs.filter_log_events(logGroupName=delivery.LEDGER_GROUP)["events"]
    except clients.logs.exceptions.ResourceNotFoundException:
        return []
    lines = [json.loads(event["message"]) for event in events]
    return [line for line in lines if event_id is None or line["event_id"] == event_id]


def outcomes(clients: pv.SandboxClients, event_id: str) -> list[str]:
    return [line["outcome"] for line in ledger(clients, event_id)]


def make_queue(clients: pv.SandboxClients, name: str) -> tuple[str, str]:
    url = clients.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def allow_rule(clients: pv.SandboxClients, url: str, arn: str, rule_arn: str) -> None:
    clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(pv.queue_policy(arn, rule_arn))})


def set_target(clients: pv.SandboxClients, arn: str, **extra: Any) -> None:
    target: Any = {"Id": "user-signup-queue", "Arn": arn, **extra}
    clients.events.put_targets(Rule=pv.RULE, EventBusName=pv.BUS, Targets=[target])


def target_dlq(clients: pv.SandboxClients, pipeline: pv.Pipeline, *, with_policy: bool = True) -> tuple[str, str]:
    url, arn = make_queue(clients, "signup-target-dlq")
    if with_policy:
        allow_rule(clients, url, arn, pipeline.rule_arn)
    return url, arn


def drop_policy(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    clients.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"Policy": ""})


# --- what AWS delivers -------------------------------------------------------------------------------------------


def test_the_seed_pipeline_delivers_and_the_ledger_says_so(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 1
    [line] = ledger(clients, event_id)
    assert tuple(line) == delivery.LEDGER_FIELDS
    assert line["outcome"] == "delivered" and line["attempt"] == 1 and line["mode"] == "enforcing"
    assert line["rule_arn"] == pipeline.rule_arn and line["target_arn"] == pipeline.queue_arn
    assert line["error_code"] is None and line["message_id"]
    assert dt.datetime.fromisoformat(line["time"].replace("Z", "+00:00")).tzinfo is not None
    body = json.loads(clients.sqs.receive_message(QueueUrl=pipeline.queue_url)["Messages"][0]["Body"])
    assert body["id"] == event_id and body["detail"] == {"n": 1}


def test_a_disabled_rule_delivers_nothing(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    # PutRule State: "DISABLED: The rule is disabled. EventBridge does not match any events against the rule."
    clients.events.disable_rule(Name=pv.RULE, EventBusName=pv.BUS)
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 0
    assert ledger(clients, event_id) == []
    clients.events.enable_rule(Name=pv.RULE, EventBusName=pv.BUS)
    publish(clients)
    assert depth(clients, pipeline.queue_url) == 1


def test_no_queue_policy_refuses_and_without_a_target_dlq_the_event_is_dropped(
    clients: pv.SandboxClients, pipeline: pv.Pipeline
) -> None:
    drop_policy(clients, pipeline)
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 0
    refused, dropped = ledger(clients, event_id)
    assert (refused["outcome"], dropped["outcome"]) == ("refused", "dropped")
    assert refused["error_code"] == dropped["error_code"] == "NO_PERMISSIONS"
    assert "no" in refused["error_message"] and pipeline.queue_arn in refused["error_message"]
    assert dropped["retry_attempts"] == 0 and dropped["dlq_arn"] is None


def test_a_queue_policy_for_another_rule_refuses(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    allow_rule(clients, pipeline.queue_url, pipeline.queue_arn, OTHER_RULE_ARN)
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 0
    assert outcomes(clients, event_id) == ["refused", "dropped"]
    assert ledger(clients, event_id)[0]["error_code"] == "NO_PERMISSIONS"


def test_a_policy_with_principal_star_and_the_right_source_arn_delivers(
    clients: pv.SandboxClients, pipeline: pv.Pipeline
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": pipeline.queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/*"}},
            }
        ],
    }
    clients.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"Policy": json.dumps(policy)})
    event_id = publish(clients)
    assert outcomes(clients, event_id) == ["delivered"]
    assert depth(clients, pipeline.queue_url) == 1


def test_a_queue_on_the_aws_managed_key_never_receives(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    clients.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 0
    line = ledger(clients, event_id)[0]
    assert line["error_code"] == "NO_PERMISSIONS" and "alias/aws/sqs" in line["error_message"]


def _key(clients: pv.SandboxClients, *, allow_events: bool) -> str:
    kms = boto3.client(
        "kms",
        endpoint_url=clients.sqs.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if allow_events:
        statements.append(
            {
                "Sid": "Events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
            }
        )
    return str(
        kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))["KeyMetadata"]["Arn"]
    )


@pytest.mark.parametrize("allow_events", [True, False])
def test_a_customer_managed_key_must_allow_eventbridge(
    clients: pv.SandboxClients, pipeline: pv.Pipeline, allow_events: bool
) -> None:
    key_arn = _key(clients, allow_events=allow_events)
    clients.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"KmsMasterKeyId": key_arn})
    event_id = publish(clients)
    if allow_events:
        assert outcomes(clients, event_id) == ["delivered"]
        assert depth(clients, pipeline.queue_url) == 1
    else:
        assert outcomes(clients, event_id) == ["refused", "dropped"]
        line = ledger(clients, event_id)[0]
        assert line["error_code"] == "NO_PERMISSIONS" and "kms:GenerateDataKey" in line["error_message"]
        assert depth(clients, pipeline.queue_url) == 0


def test_an_sse_sqs_queue_receives(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    clients.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"SqsManagedSseEnabled": "true"})
    assert outcomes(clients, publish(clients)) == ["delivered"]


# --- the target's DLQ ----------------------------------------------------------------------------------------------


def test_the_target_dlq_gets_the_event_with_awss_attributes(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    dlq_url, dlq_arn = target_dlq(clients, pipeline)
    set_target(clients, pipeline.queue_arn, DeadLetterConfig={"Arn": dlq_arn})
    drop_policy(clients, pipeline)
    event_id = publish(clients, {"email": "ada@example.com"})
    assert depth(clients, pipeline.queue_url) == 0
    [message] = clients.sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == pipeline.rule_arn
    assert attributes["TARGET_ARN"] == pipeline.queue_arn
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert pipeline.queue_arn in attributes["ERROR_MESSAGE"]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "0"  # permission errors are not retried
    body = json.loads(message["Body"])
    assert body["id"] == event_id and body["detail"] == {"email": "ada@example.com"}
    refused, sent = ledger(clients, event_id)
    assert (refused["outcome"], sent["outcome"]) == ("refused", "sent_to_dlq")
    assert sent["dlq_arn"] == dlq_arn and sent["message_id"] == message["MessageId"]


def test_a_target_dlq_that_does_not_allow_eventbridge_loses_the_event(
    clients: pv.SandboxClients, pipeline: pv.Pipeline
) -> None:
    dlq_url, dlq_arn = target_dlq(clients, pipeline, with_policy=False)
    set_target(clients, pipeline.queue_arn, DeadLetterConfig={"Arn": dlq_arn})
    drop_policy(clients, pipeline)
    event_id = publish(clients)
    assert depth(clients, dlq_url) == 0
    assert outcomes(clients, event_id) == ["refused", "dropped"]
    assert "target DLQ refused it too" in ledger(clients, event_id)[1]["notes"][-1]


def test_a_missing_queue_is_not_retried_and_put_events_still_succeeds(
    clients: pv.SandboxClients, pipeline: pv.Pipeline
) -> None:
    dlq_url, dlq_arn = target_dlq(clients, pipeline)
    set_target(clients, pipeline.queue_arn, DeadLetterConfig={"Arn": dlq_arn})
    clients.sqs.delete_queue(QueueUrl=pipeline.queue_url)
    event_id = publish(clients)  # moto alone fails the whole put_events here
    [message] = clients.sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_RESOURCE"
    assert message["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "0"
    assert outcomes(clients, event_id) == ["refused", "sent_to_dlq"]


# --- retries (a failure SQS would answer with 5xx, injected into moto's SQS: the environment, not the engine) ---


@pytest.fixture
def manual(pipeline: pv.Pipeline) -> Iterator[ManualScheduler]:
    scheduler = ManualScheduler()
    engine = Engine("enforcing", scheduler, clock=scheduler.clock, jitter=lambda: 1.0)
    delivery.install("enforcing", engine=engine)  # nested on the fixture's install: this engine, until uninstall
    try:
        yield scheduler
    finally:
        delivery.uninstall()


def failing_sends(monkeypatch: pytest.MonkeyPatch, queue_name: str, failures: int) -> list[int]:
    """moto's SQS fails SendMessage to `queue_name` with an internal error `failures` times."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.send_message
    calls = [0]

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        if (kwargs.get("queue_name") or args[0]) == queue_name:
            calls[0] += 1
            if calls[0] <= failures:
                raise RuntimeError("service unavailable")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "send_message", send_message)
    return calls


def test_a_service_error_is_retried_until_it_succeeds(
    clients: pv.SandboxClients, pipeline: pv.Pipeline, manual: ManualScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_sends(monkeypatch, pv.QUEUE, failures=2)
    event_id = publish(clients)
    assert outcomes(clients, event_id) == ["retrying"]
    assert manual.run_all() == 2
    assert outcomes(clients, event_id) == ["retrying", "retrying", "delivered"]
    assert [line["attempt"] for line in ledger(clients, event_id)] == [1, 2, 3]
    assert ledger(clients, event_id)[0]["error_code"] == "INTERNAL_ERROR"
    assert depth(clients, pipeline.queue_url) == 1
    # exponential backoff (jitter pinned to its maximum): 1 s then 2 s, on the compressed clock
    assert manual.delays == pytest.approx([1 * retry.TIME_SCALE, 2 * retry.TIME_SCALE])


def test_retries_stop_at_maximum_retry_attempts_then_the_dlq(
    clients: pv.SandboxClients, pipeline: pv.Pipeline, manual: ManualScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq_url, dlq_arn = target_dlq(clients, pipeline)
    set_target(clients, pipeline.queue_arn, DeadLetterConfig={"Arn": dlq_arn}, RetryPolicy={"MaximumRetryAttempts": 2})
    failing_sends(monkeypatch, pv.QUEUE, failures=100)
    event_id = publish(clients)
    manual.run_all()
    assert outcomes(clients, event_id) == ["retrying", "retrying", "refused", "sent_to_dlq"]
    [message] = clients.sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["ERROR_CODE"] == "INTERNAL_ERROR"


def test_retries_stop_at_maximum_event_age(
    clients: pv.SandboxClients, pipeline: pv.Pipeline, manual: ManualScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_target(
        clients,
        pipeline.queue_arn,
        RetryPolicy={"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60},
    )
    failing_sends(monkeypatch, pv.QUEUE, failures=1000)
    event_id = publish(clients)
    manual.run_all()
    lines = ledger(clients, event_id)
    assert lines[-1]["outcome"] == "dropped"
    assert lines[-1]["exhausted_retry_condition"] == "MaximumEventAgeInSeconds"
    # 1+2+4+8+16 = 31 simulated s; the next retry (32 s later) would pass 60 s: five retries were made
    assert lines[-1]["retry_attempts"] == 5
    assert sum(manual.delays) / retry.TIME_SCALE == pytest.approx(31)


def test_the_retry_decision() -> None:
    policy = retry.RetryPolicy(max_attempts=3, max_age_seconds=3600)
    assert retry.next_step(policy, "NO_PERMISSIONS", 0, 0.0) == retry.GiveUp("MaximumRetryAttempts")
    assert retry.next_step(policy, "NO_RESOURCE", 0, 0.0) == retry.GiveUp("MaximumRetryAttempts")
    assert retry.next_step(policy, "THROTTLING", 0, 0.0, jitter=lambda: 0.0) == retry.Retry(0.5)
    assert retry.next_step(policy, "THROTTLING", 3, 0.0) == retry.GiveUp("MaximumRetryAttempts")
    assert retry.next_step(policy, "THROTTLING", 1, 3599.0) == retry.GiveUp("MaximumEventAgeInSeconds")
    assert retry.backoff(40, jitter=lambda: 1.0) == retry.BACKOFF_CAP_SECONDS
    assert retry.RetryPolicy.of_target({}) == retry.RetryPolicy(185, 86_400)
    assert retry.RetryPolicy.of_target({"RetryPolicy": {"MaximumRetryAttempts": 0}}).max_attempts == 0


# --- metrics -------------------------------------------------------------------------------------------------------


def test_awsevents_metrics_appear_in_cloudwatch(
    clients: pv.SandboxClients, pipeline: pv.Pipeline, sandbox_server: SandboxServer
) -> None:
    from evctl.sandbox import metrics

    emitter = metrics.start_for_sandbox(pipeline.region, flush_seconds=60)
    try:
        publish(clients)  # delivered
        _, dlq_arn = target_dlq(clients, pipeline)
        set_target(clients, pipeline.queue_arn, DeadLetterConfig={"Arn": dlq_arn})
        drop_policy(clients, pipeline)
        publish(clients)  # refused → target DLQ
    finally:
        emitter.stop()  # flushes
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=sandbox_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    names = ["MatchedEvents", "Invocations", "FailedInvocations", "InvocationsSentToDlq"]
    now = dt.datetime.now(dt.UTC)
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Events",
                        "MetricName": name,
                        "Dimensions": [{"Name": "RuleName", "Value": pv.RULE}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for index, name in enumerate(names)
        ],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
    )
    sums = {names[int(result["Id"][1:])]: sum(result["Values"]) for result in response["MetricDataResults"]}
    assert sums == {"MatchedEvents": 2, "Invocations": 2, "FailedInvocations": 1, "InvocationsSentToDlq": 1}


# --- permissive, and leaving moto as it was -----------------------------------------------------------------------


def test_permissive_restores_motos_delivery(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> None:
    delivery.install("permissive")
    try:
        assert delivery.current_mode() == "permissive"
        drop_policy(clients, pipeline)
        clients.events.disable_rule(Name=pv.RULE, EventBusName=pv.BUS)
        event_id = publish(clients)
        assert depth(clients, pipeline.queue_url) == 1  # moto: no policy, disabled rule, delivered all the same
        [line] = ledger(clients, event_id)
        assert (line["outcome"], line["mode"]) == ("delivered", "permissive")
    finally:
        delivery.uninstall()
    assert delivery.current_mode() == "enforcing"
    event_id = publish(clients)
    assert depth(clients, pipeline.queue_url) == 1 and ledger(clients, event_id) == []  # disabled again


def test_the_last_uninstall_puts_motos_own_delivery_back(sandbox_server: SandboxServer) -> None:
    from moto.events.models import Rule

    before = Rule.send_to_targets
    delivery.install("enforcing")
    delivery.install("permissive")
    assert Rule.send_to_targets is not before
    delivery.uninstall()
    assert Rule.send_to_targets is not before and delivery.current_mode() == "enforcing"
    delivery.uninstall()
    assert Rule.send_to_targets is before and delivery.current_mode() is None
    delivery.uninstall()  # one too many: harmless
    assert Rule.send_to_targets is before


@pytest.mark.parametrize("permissive", [False, True])
def test_a_started_sandbox_records_its_delivery_mode_and_puts_moto_back_on_stop(permissive: bool) -> None:
    from moto.events.models import Rule

    from evctl.cli.context import sandbox_clients
    from evctl.sandbox import lifecycle
    from evctl.sandbox import state as state_file

    before = Rule.send_to_targets
    sandbox = lifecycle.start(sandbox_clients, port=0, permissive=permissive, wait_seconds=0)
    try:
        expected = "permissive" if permissive else "enforcing"
        assert delivery.current_mode() == expected
        recorded = state_file.read()
        assert recorded is not None and recorded.delivery == expected
    finally:
        sandbox.stop()
    assert delivery.current_mode() is None and Rule.send_to_targets is before
