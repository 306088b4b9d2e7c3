"""The local runner enforces what Lambda does with the mapping and the execution role (docs/sandbox.md, "The local
Lambda runner"): each test plants one setting through the normal APIs of the sandbox and watches the runner."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from evctl.aws import AwsSettings, ClientFactory
from evctl.sandbox import mapping_state
from evctl.sandbox import metrics as sandbox_metrics
from evctl.sandbox import provision as pv
from evctl.sandbox.enforcement import Enforcement, for_sandbox
from evctl.sandbox.filters import compile_filters, filter_record, split
from evctl.sandbox.ledger import LEDGER_GROUP, Ledger
from evctl.sandbox.runner import LocalRunner
from evctl.sandbox.state import CREDENTIALS
from tests.sandbox.conftest import log_messages, send_signups

MakePipeline = Callable[..., pv.Pipeline]
MakeRunner = Callable[..., LocalRunner]
HandlerFile = Callable[..., pv.HandlerSpec]

ECHO = """
import json
def handler(event, context):
    for record in event["Records"]:
        print("BODY " + record["body"])
"""
RECEIVE_PROBLEM = "PROBLEM: The function execution role does not have permissions to call ReceiveMessage on SQS"
SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
LOGS_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Enforced:
    runner: LocalRunner
    enforcement: Enforcement
    clock: Clock
    pipeline: pv.Pipeline


@pytest.fixture
def enforced(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> Iterator[Callable[..., Enforced]]:
    made: list[Enforcement] = []

    def make(source: str = ECHO, **settings: Any) -> Enforced:
        pipeline = make_pipeline(handler_file(source), **settings)
        endpoint = clients.sqs.meta.endpoint_url
        enforcement = for_sandbox(
            clients,
            function_name=pv.FUNCTION,
            queue_arn=pipeline.queue_arn,
            queue_url=pipeline.queue_url,
            log_group=pipeline.log_group,
            endpoint=endpoint,
        )
        clock = Clock()
        enforcement.clock = clock
        made.append(enforcement)
        runner = make_runner(pipeline)
        runner.enforcement = enforcement
        runner.ledger = Ledger(clients.logs, pv.FUNCTION)
        return Enforced(runner, enforcement, clock, pipeline)

    yield make
    for enforcement in made:
        enforcement.close()


def set_role(clients: pv.SandboxClients, *statements: dict[str, Any]) -> None:
    """Replace the role's one inline policy (the seed's) with these statements."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    clients.iam.put_role_policy(RoleName=pv.ROLE, PolicyName="user-signup-handler", PolicyDocument=json.dumps(document))


def allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def depth(clients: pv.SandboxClients, url: str) -> dict[str, int]:
    return pv.queue_depths(clients.sqs, url)


def mapping(clients: pv.SandboxClients, pipeline: pv.Pipeline) -> dict[str, Any]:
    return dict(clients.lambda_.get_event_source_mapping(UUID=pipeline.esm_uuid))


def ledger_lines(clients: pv.SandboxClients) -> list[dict[str, Any]]:
    return [json.loads(e["message"]) for e in log_messages(clients, LEDGER_GROUP)]


def bodies(clients: pv.SandboxClients) -> list[str]:
    return [e["message"][5:] for e in log_messages(clients) if e["message"].startswith("BODY ")]


# ---- the role cannot poll ---------------------------------------------------------------------
def test_a_role_that_cannot_receive_stops_polling_and_the_mapping_shows_the_problem_until_it_is_fixed(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    set_role(clients, allow(["sqs:DeleteMessage", "sqs:GetQueueAttributes"]), allow(LOGS_ACTIONS))
    send_signups(clients, [{"email": "a@example.com"}])

    assert sandbox.runner.poll_once() is None
    assert sandbox.runner.paused == RECEIVE_PROBLEM[len("PROBLEM: ") :]
    assert depth(clients, sandbox.pipeline.queue_url) == {"visible": 1, "in_flight": 0}  # never received
    shown = mapping(clients, sandbox.pipeline)
    assert shown["State"] == "Enabled"
    assert shown["LastProcessingResult"] == RECEIVE_PROBLEM
    (listed,) = clients.lambda_.list_event_source_mappings(FunctionName=pv.FUNCTION)["EventSourceMappings"]
    assert listed["LastProcessingResult"] == RECEIVE_PROBLEM

    set_role(clients, allow(SQS_ACTIONS, sandbox.pipeline.queue_arn), allow(LOGS_ACTIONS))
    assert sandbox.runner.poll_once() is None  # the fix is seen at the next re-check, not at once
    sandbox.clock.now += sandbox.enforcement.interval
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success" and len(invocation.deleted) == 1
    assert sandbox.runner.paused is None
    assert "LastProcessingResult" not in mapping(clients, sandbox.pipeline)  # null for SQS, as AWS documents
    assert depth(clients, sandbox.pipeline.queue_url) == {"visible": 0, "in_flight": 0}


@pytest.mark.parametrize("missing", ["sqs:DeleteMessage", "sqs:GetQueueAttributes"])
def test_each_action_lambda_needs_on_the_queue_is_checked(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced], missing: str
) -> None:
    sandbox = enforced()
    set_role(clients, allow([a for a in SQS_ACTIONS if a != missing]), allow(LOGS_ACTIONS))
    send_signups(clients, [{"email": "a@example.com"}])
    assert sandbox.runner.poll_once() is None
    action = missing.split(":")[1]
    expected = f"PROBLEM: The function execution role does not have permissions to call {action} on SQS"
    assert mapping(clients, sandbox.pipeline)["LastProcessingResult"] == expected
    assert depth(clients, sandbox.pipeline.queue_url)["visible"] == 1


def test_an_explicit_deny_in_the_queue_policy_stops_polling_too(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    attributes = clients.sqs.get_queue_attributes(QueueUrl=sandbox.pipeline.queue_url, AttributeNames=["Policy"])
    policy = json.loads(attributes["Attributes"]["Policy"])
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"AWS": sandbox.pipeline.role_arn},
            "Action": "sqs:ReceiveMessage",
            "Resource": "*",
        }
    )
    clients.sqs.set_queue_attributes(QueueUrl=sandbox.pipeline.queue_url, Attributes={"Policy": json.dumps(policy)})
    send_signups(clients, [{"email": "a@example.com"}])
    assert sandbox.runner.poll_once() is None
    assert mapping(clients, sandbox.pipeline)["LastProcessingResult"] == RECEIVE_PROBLEM


def test_a_queue_encrypted_with_a_customer_managed_key_needs_kms_decrypt(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    kms = sandbox.enforcement.kms
    assert kms is not None
    key_arn = kms.create_key(Description="signups")["KeyMetadata"]["Arn"]  # default policy: delegates to IAM
    clients.sqs.set_queue_attributes(QueueUrl=sandbox.pipeline.queue_url, Attributes={"KmsMasterKeyId": key_arn})
    send_signups(clients, [{"email": "a@example.com"}])

    assert sandbox.runner.poll_once() is None
    result = mapping(clients, sandbox.pipeline)["LastProcessingResult"]
    assert (
        result == f"PROBLEM: The function execution role does not have permissions to call Decrypt on KMS key {key_arn}"
    )
    assert depth(clients, sandbox.pipeline.queue_url)["visible"] == 1

    set_role(clients, allow(SQS_ACTIONS), allow(LOGS_ACTIONS), allow(["kms:Decrypt"], key_arn))
    sandbox.clock.now += sandbox.enforcement.interval
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success"


def test_the_aws_managed_sqs_key_needs_nothing_from_the_role(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    clients.sqs.set_queue_attributes(
        QueueUrl=sandbox.pipeline.queue_url, Attributes={"KmsMasterKeyId": "alias/aws/sqs"}
    )
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success"


# ---- logs ---------------------------------------------------------------------------------------
def test_a_role_that_cannot_write_logs_runs_the_handler_and_leaves_no_lines(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    set_role(clients, allow(SQS_ACTIONS))
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success" and len(invocation.deleted) == 1
    assert any(line.startswith("BODY ") for line in invocation.log_lines)  # the handler ran and printed
    assert log_messages(clients) == []
    (line,) = ledger_lines(clients)
    assert line["logs_written"] is False and line["log_stream"] == ""


def test_a_missing_log_group_stays_missing_without_create_log_group(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    clients.logs.delete_log_group(logGroupName=pv.LOG_GROUP)
    set_role(clients, allow(SQS_ACTIONS), allow(["logs:CreateLogStream", "logs:PutLogEvents"]))
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success"
    assert clients.logs.describe_log_groups(logGroupNamePrefix=pv.LOG_GROUP)["logGroups"] == []

    set_role(clients, allow(SQS_ACTIONS), allow(LOGS_ACTIONS))
    sandbox.clock.now += sandbox.enforcement.interval
    send_signups(clients, [{"email": "b@example.com"}])
    assert sandbox.runner.poll_once() is not None
    assert bodies(clients) and "b@example.com" in bodies(clients)[0]


# ---- the mapping's own settings ----------------------------------------------------------------
def test_a_disabled_mapping_does_not_poll_and_resumes_when_enabled(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    clients.lambda_.update_event_source_mapping(UUID=sandbox.pipeline.esm_uuid, Enabled=False)
    send_signups(clients, [{"email": "a@example.com"}])
    assert sandbox.runner.poll_once() is None
    assert sandbox.runner.paused == f"event source mapping {sandbox.pipeline.esm_uuid} is Disabled"
    assert mapping(clients, sandbox.pipeline)["State"] == "Disabled"
    assert depth(clients, sandbox.pipeline.queue_url) == {"visible": 1, "in_flight": 0}

    clients.lambda_.update_event_source_mapping(UUID=sandbox.pipeline.esm_uuid, Enabled=True)
    sandbox.clock.now += sandbox.enforcement.interval
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "success"


def test_filter_criteria_delete_what_they_reject_without_invoking(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    pattern = {"body": {"detail": {"plan": ["pro"]}}}
    clients.lambda_.update_event_source_mapping(
        UUID=sandbox.pipeline.esm_uuid, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]}
    )
    send_signups(clients, [{"email": "pro@example.com", "plan": "pro"}, {"email": "free@example.com", "plan": "free"}])
    clients.sqs.send_message(QueueUrl=sandbox.pipeline.queue_url, MessageBody="plain text, not JSON")

    made = [sandbox.runner.poll_once() for _ in range(4)]
    invoked = [i for i in made if i is not None and i.outcome == "success"]
    filtered = [i for i in made if i is not None and i.outcome == "filtered"]
    assert len(invoked) == 1 and len(invoked[0].message_ids) == 1
    assert sum(len(i.filtered) for i in made if i is not None) == 2
    assert all(i.deleted == i.filtered for i in filtered)
    assert [json.loads(b)["detail"]["plan"] for b in bodies(clients)] == ["pro"]
    assert depth(clients, sandbox.pipeline.queue_url) == {"visible": 0, "in_flight": 0}  # deleted, not kept
    assert len(sandbox.runner.invocations) == 1  # a filtered batch is not an invocation
    lines = ledger_lines(clients)
    assert [line["outcome"] for line in lines].count("success") == 1
    dropped = [i for line in lines if line["outcome"] == "filtered" for i in line["deleted"]]
    assert len(dropped) == 2 and all(line["request_id"] is None for line in lines if line["outcome"] == "filtered")


def test_reserved_concurrency_zero_throttles_every_batch(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced(visibility_timeout=60)  # the throttled message stays in flight while the test looks
    clients.lambda_.put_function_concurrency(FunctionName=pv.FUNCTION, ReservedConcurrentExecutions=0)
    send_signups(clients, [{"email": "a@example.com"}])
    emitter = sandbox_metrics.start_for_sandbox(sandbox.pipeline.region, flush_seconds=60)
    try:
        throttled = sandbox.runner.poll_once()
    finally:
        emitter.stop()  # flushes into the sandbox's CloudWatch
    assert throttled is not None and throttled.outcome == "throttled" and throttled.kept == throttled.message_ids
    assert sandbox.runner.invocations == [] and log_messages(clients) == []  # the handler never ran
    assert depth(clients, sandbox.pipeline.queue_url) == {"visible": 0, "in_flight": 1}  # back after the timeout
    factory = ClientFactory(
        AwsSettings(region="us-east-1", endpoint_url=clients.sqs.meta.endpoint_url, sandbox_credentials=CREDENTIALS)
    )
    now = dt.datetime.now(dt.UTC)
    statistics = factory.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": pv.FUNCTION}],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in statistics["Datapoints"]) == 1
    (line,) = ledger_lines(clients)
    assert line["outcome"] == "throttled" and "ReservedFunctionConcurrentInvocationLimitExceeded" in line["error"]


def test_the_mappings_batch_size_and_report_batch_item_failures_are_read_live(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    clients.lambda_.update_event_source_mapping(UUID=sandbox.pipeline.esm_uuid, BatchSize=1)
    send_signups(clients, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    first = sandbox.runner.poll_once()
    assert first is not None and len(first.message_ids) == 1


# ---- the ledger -----------------------------------------------------------------------------------
def test_each_invocation_is_one_ledger_line_with_the_event_ids(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced()
    response = clients.events.put_events(
        Entries=[{"Source": pv.SOURCE, "DetailType": pv.DETAIL_TYPE, "Detail": json.dumps({"email": "a@x.io"})}]
    )
    event_id = response["Entries"][0]["EventId"]
    clients.sqs.send_message(QueueUrl=sandbox.pipeline.queue_url, MessageBody="not an event")
    made = [sandbox.runner.poll_once() for _ in range(2)]
    invocations = [i for i in made if i is not None]
    assert sum(len(i.message_ids) for i in invocations) == 2

    lines = ledger_lines(clients)
    assert len(lines) == len(invocations)
    line = next(line for line in lines if event_id in line["event_ids"])
    invocation = next(i for i in invocations if i.request_id == line["request_id"])
    assert set(line) >= {
        "request_id", "function_name", "mapping_uuid", "queue_arn", "message_ids", "event_ids", "outcome", "deleted",
        "kept", "error", "start", "end", "duration_ms", "log_group", "log_stream", "logs_written",
    }  # fmt: skip
    assert line["function_name"] == pv.FUNCTION and line["mapping_uuid"] == sandbox.pipeline.esm_uuid
    assert line["message_ids"] == invocation.message_ids and line["deleted"] == invocation.deleted
    assert len(line["event_ids"]) == len(line["message_ids"])
    assert line["outcome"] == "success" and line["logs_written"] is True
    assert line["log_stream"] == invocation.log_stream
    start, end = dt.datetime.fromisoformat(line["start"]), dt.datetime.fromisoformat(line["end"])
    assert line["start"].endswith("Z") and start <= end


def test_a_failed_invocation_is_an_error_line_that_keeps_the_batch(
    clients: pv.SandboxClients, enforced: Callable[..., Enforced]
) -> None:
    sandbox = enforced("def handler(event, context):\n    raise KeyError('Message')\n")
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = sandbox.runner.poll_once()
    assert invocation is not None and invocation.outcome == "error"
    (line,) = ledger_lines(clients)
    assert line["outcome"] == "error" and line["kept"] == invocation.message_ids and line["deleted"] == []
    assert "KeyError" in line["error"]


# ---- permissive: as before ----------------------------------------------------------------------
def test_without_enforcement_the_runner_polls_whatever_the_role_says(
    clients: pv.SandboxClients, make_pipeline: MakePipeline, make_runner: MakeRunner, handler_file: HandlerFile
) -> None:
    pipeline = make_pipeline(handler_file(ECHO))
    set_role(clients, allow(["s3:GetObject"]))  # a role that may do nothing the pipeline needs
    clients.lambda_.update_event_source_mapping(UUID=pipeline.esm_uuid, Enabled=False)
    clients.lambda_.put_function_concurrency(FunctionName=pv.FUNCTION, ReservedConcurrentExecutions=0)
    send_signups(clients, [{"email": "a@example.com"}])
    invocation = make_runner(pipeline).poll_once()
    assert invocation is not None and invocation.outcome == "success"
    assert bodies(clients)  # logs written, as moto lets anyone
    assert "LastProcessingResult" not in mapping(clients, pipeline)


def test_the_sandbox_enforces_by_default_and_permissive_turns_it_off() -> None:
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox import lifecycle

    for permissive in (False, True):
        sandbox = lifecycle.start(sandbox_clients, record=False, wait_seconds=0, permissive=permissive)
        try:
            assert (sandbox.runner.enforcement is None) is permissive
            assert sandbox.runner.ledger is not None
        finally:
            sandbox.stop()
    assert mapping_state.published("no-such-mapping") == {}


# ---- filters, pure -------------------------------------------------------------------------------
def test_a_json_object_body_is_filtered_as_json_and_anything_else_as_text() -> None:
    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": '{"detail": {"plan": "pro"}}', "Attributes": {}}
    assert filter_record(message, "arn:aws:sqs:us-east-1:1:q", "us-east-1")["body"] == {"detail": {"plan": "pro"}}
    text = {**message, "Body": "pro"}
    assert filter_record(text, "arn:aws:sqs:us-east-1:1:q", "us-east-1")["body"] == "pro"
    as_json = compile_filters({"Filters": [{"Pattern": '{"body": {"detail": {"plan": ["pro"]}}}'}]})
    as_text = compile_filters({"Filters": [{"Pattern": '{"body": ["pro"]}'}]})
    assert split(as_json, [message, text], "arn:aws:sqs:us-east-1:1:q", "us-east-1") == ([message], [text])
    assert split(as_text, [message, text], "arn:aws:sqs:us-east-1:1:q", "us-east-1") == ([text], [message])
    either = compile_filters({"Filters": [{"Pattern": '{"body": ["pro"]}'}, {"Pattern": '{"body": {"detail": {}}}'}]})
    assert either.active and split(compile_filters(None), [text], "a", "r") == ([text], [])
    broken = compile_filters({"Filters": [{"Pattern": "{not json"}]})
    assert broken.errors and split(broken, [message], "arn:aws:sqs:us-east-1:1:q", "us-east-1") == ([], [message])


# ---- CreateEventSourceMapping: Lambda's check of the role ------------------------------------------------------
def _create_mapping(clients: pv.SandboxClients, queue_arn: str) -> str:
    return str(clients.lambda_.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=pv.FUNCTION)["UUID"])


def _refusal(clients: pv.SandboxClients, queue_arn: str) -> tuple[str, str]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        _create_mapping(clients, queue_arn)
    error = refused.value.response.get("Error", {})
    return str(error.get("Code")), str(error.get("Message"))


def test_enforcing_refuses_a_mapping_whose_role_cannot_poll_the_queue_as_lambda_does() -> None:
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox import lifecycle

    sandbox = lifecycle.start(sandbox_clients, record=False, wait_seconds=0)  # the seed's own mapping passed
    try:
        clients, queue_arn = sandbox.clients, sandbox.pipeline.queue_arn
        clients.lambda_.delete_event_source_mapping(UUID=sandbox.pipeline.esm_uuid)
        set_role(clients, allow(LOGS_ACTIONS))  # "basic Lambda permissions" only
        assert _refusal(clients, queue_arn) == (
            "InvalidParameterValueException",
            "The function execution role does not have permissions to call ReceiveMessage on SQS",
        )
        set_role(clients, allow(LOGS_ACTIONS), allow(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], queue_arn))
        assert _refusal(clients, queue_arn)[1].endswith("call DeleteMessage on SQS")
        # the queue policy may grant what the role's own policies lack (same account)
        policy = {"Effect": "Allow", "Principal": {"AWS": sandbox.pipeline.role_arn}, "Action": SQS_ACTIONS}
        attributes = clients.sqs.get_queue_attributes(QueueUrl=sandbox.pipeline.queue_url, AttributeNames=["Policy"])
        document = json.loads(attributes["Attributes"]["Policy"])
        document["Statement"].append({**policy, "Resource": queue_arn})
        clients.sqs.set_queue_attributes(
            QueueUrl=sandbox.pipeline.queue_url, Attributes={"Policy": json.dumps(document)}
        )
        uuid = _create_mapping(clients, queue_arn)
        assert clients.lambda_.get_event_source_mapping(UUID=uuid)["EventSourceArn"] == queue_arn
    finally:
        sandbox.stop()


def test_permissive_creates_the_mapping_whatever_the_role_says_as_moto_does() -> None:
    from evctl.cli.context import sandbox_clients
    from evctl.sandbox import lifecycle

    sandbox = lifecycle.start(sandbox_clients, record=False, wait_seconds=0, permissive=True)
    try:
        clients = sandbox.clients
        clients.lambda_.delete_event_source_mapping(UUID=sandbox.pipeline.esm_uuid)
        set_role(clients, allow(LOGS_ACTIONS))
        assert _create_mapping(clients, sandbox.pipeline.queue_arn)
    finally:
        sandbox.stop()


def test_a_role_changed_after_the_mapping_exists_is_left_to_the_runners_gate(
    clients: pv.SandboxClients, make_pipeline: MakePipeline
) -> None:
    from evctl.sandbox import mapping_guard

    pipeline = make_pipeline()
    guard = mapping_guard.install(clients)
    try:
        set_role(clients, allow(LOGS_ACTIONS))
        clients.lambda_.update_event_source_mapping(UUID=pipeline.esm_uuid, BatchSize=5)  # not checked, as on AWS
        assert guard.refusal(pv.FUNCTION, pipeline.queue_arn) is not None
        pv.provision(clients, pv.DEFAULT_HANDLER, pipeline.settings)  # the seed's role first, then the mapping
        assert guard.refusal(pv.FUNCTION, pipeline.queue_arn) is None
    finally:
        mapping_guard.uninstall(guard)
    assert not mapping_guard.active()
