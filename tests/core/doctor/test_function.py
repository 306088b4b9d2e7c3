"""Function checks (F-*): plant the mistake on the seed pipeline, find it, apply the printed fix."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from evctl.sandbox import provision as pv
from tests.core.doctor.seed import DLQ, FUNCTION, QUEUE, DoctorSeed

GROUP = "/aws/lambda/user-signup-handler"


def plant_logs(seed: DoctorSeed, *messages: str, stream: str = "2026/12/02/[$LATEST]abc") -> None:
    """Log lines in the function's group, timestamped now (after the function's LastModified)."""
    with contextlib.suppress(seed.logs.exceptions.ResourceAlreadyExistsException):
        seed.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    now = int(time.time() * 1000)
    seed.logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now - len(messages) + i, "message": message} for i, message in enumerate(messages)],
    )


def inject(seed: DoctorSeed, operation: str, fields: dict[str, Any]) -> None:
    """Add fields moto never returns (DeadLetterConfig, LoggingConfig, State...) to a Lambda answer."""

    def add(parsed: dict[str, Any], **_: object) -> None:
        parsed.update(fields)

    seed.lambda_.meta.events.register(f"after-call.lambda.{operation}", add)


def test_reserved_concurrency_zero_is_found_and_the_fix_removes_the_reservation(seed: DoctorSeed) -> None:
    seed.lambda_.put_function_concurrency(FunctionName="user-signup-handler", ReservedConcurrentExecutions=0)
    [finding] = seed.doctor(only={"F-RC-1"}).findings
    assert finding.check == "F-RC-1" and finding.resource == FUNCTION
    assert finding.evidence["ReservedConcurrentExecutions"] == 0
    assert finding.fix.command == "aws lambda delete-function-concurrency --function-name user-signup-handler"
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-RC-1", "F-RC-2"}).findings == []


def test_a_low_reservation_is_found_and_the_fix_reserves_five(seed: DoctorSeed) -> None:
    seed.lambda_.put_function_concurrency(FunctionName="user-signup-handler", ReservedConcurrentExecutions=2)
    [finding] = seed.doctor(only={"F-RC-2"}).findings
    assert finding.evidence["ReservedConcurrentExecutions"] == 2 and finding.fix.value == {
        "ReservedConcurrentExecutions": 5
    }
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-RC-2"}).findings == []


def test_timeouts_in_the_logs_are_found_and_raising_the_timeout_retires_them(seed: DoctorSeed) -> None:
    plant_logs(
        seed,
        "START RequestId: 5b0c Version: $LATEST",
        "2026-12-02T12:00:03.000Z 5b0c Task timed out after 3.00 seconds",
        "END RequestId: 5b0c",
    )
    [finding] = seed.doctor(only={"F-TIMEOUT-1"}).findings
    assert finding.check == "F-TIMEOUT-1" and finding.resource == FUNCTION
    assert finding.evidence["Timeout"] == 3 and finding.evidence["count"] == 1
    [line] = finding.evidence["lines"]
    assert "Task timed out after 3.00 seconds" in line["line"] and line["time"].endswith("Z")
    assert finding.evidence["log_group"] == GROUP and finding.related == (QUEUE,)
    assert (
        finding.fix.command
        == "aws lambda update-function-configuration --function-name user-signup-handler --timeout 6"
    )
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-TIMEOUT-1"}).findings == []


def test_no_timeout_lines_pass_and_a_missing_log_group_is_not_checked(seed: DoctorSeed) -> None:
    plant_logs(seed, "START RequestId: 1 Version: $LATEST", "END RequestId: 1")
    assert [o.status for o in seed.doctor(only={"F-TIMEOUT-1"}).outcomes] == ["pass"]
    seed.logs.delete_log_group(logGroupName=GROUP)
    [outcome] = seed.doctor(only={"F-TIMEOUT-1", "F-SHAPE-1"}).outcomes[:1]
    assert outcome.status == "not_checked" and "does not exist" in (outcome.reason or "")


def test_the_sns_envelope_keyerror_is_found_and_deploying_fixed_code_retires_it(
    seed: DoctorSeed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traceback = (
        "[ERROR] KeyError: 'Message'\rTraceback (most recent call last):\r"
        '  File "/var/task/lambda_function.py", line 7, in lambda_handler\r'
        "    message = json.loads(body['Message'])"
    )
    plant_logs(seed, "START RequestId: 7 Version: $LATEST", traceback, "END RequestId: 7")
    [finding] = seed.doctor(only={"F-SHAPE-1"}).findings
    assert finding.check == "F-SHAPE-1" and finding.resource == FUNCTION
    assert finding.evidence["keys"] == ["Message"] and finding.evidence["count"] == 1
    assert finding.evidence["lines"][0]["line"] == "[ERROR] KeyError: 'Message'"
    assert "SNS envelope" in finding.message
    assert finding.fix.value == "detail = json.loads(record['body'])['detail']"
    monkeypatch.chdir(tmp_path)  # the command deploys ./function.zip: the corrected handler
    package = pv.handler_zip(pv.DEFAULT_HANDLER)
    (tmp_path / "function.zip").write_bytes(package)
    seed.apply(finding.fix)  # the command runs against moto (proves its text) ...
    deployed = seed.lambda_.get_function(FunctionName="user-signup-handler")["Configuration"]["CodeSha256"]
    assert deployed == base64.b64encode(hashlib.sha256(package).digest()).decode()
    # ... but moto keeps LastModified on update-function-code, where AWS sets it to the deployment's time.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    inject(seed, "GetFunctionConfiguration", {"LastModified": stamp})
    assert seed.doctor(only={"F-SHAPE-1"}).findings == []


def test_a_dlq_on_the_function_with_no_redrive_on_the_queue_is_found_and_the_fix_moves_it(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"RedrivePolicy": ""})
    assert (
        "RedrivePolicy"
        not in seed.sqs.get_queue_attributes(QueueUrl=seed.queue_url, AttributeNames=["All"])["Attributes"]
    )
    inject(seed, "GetFunctionConfiguration", {"DeadLetterConfig": {"TargetArn": DLQ}})  # moto never returns it
    [finding] = seed.doctor(only={"F-DLQ-1"}).findings
    assert finding.evidence == {"DeadLetterConfig.TargetArn": DLQ, "queues_without_RedrivePolicy": [QUEUE]}
    assert json.loads(json.loads(shlex.split(finding.fix.command or "")[-1])["RedrivePolicy"]) == {
        "deadLetterTargetArn": DLQ,
        "maxReceiveCount": "5",
    }
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-DLQ-1"}).findings == []


@pytest.mark.parametrize(
    ("fields", "command"),
    [
        ({"State": "Inactive", "StateReasonCode": "Idle"}, True),
        ({"State": "Failed", "StateReasonCode": "InsufficientRolePermissions"}, False),
        ({"LastUpdateStatus": "Failed", "LastUpdateStatusReasonCode": "KMSKeyAccessDenied"}, True),
    ],
)
def test_a_function_that_is_not_invocable_is_found(seed: DoctorSeed, fields: dict[str, str], command: bool) -> None:
    inject(seed, "GetFunctionConfiguration", fields)
    [finding] = seed.doctor(only={"F-STATE-1"}).findings
    assert all(finding.evidence[k] == v for k, v in fields.items())
    assert (finding.fix.command or "").startswith("aws lambda update-function-configuration ") is command


def test_a_small_account_pool_is_found_from_get_account_settings(seed: DoctorSeed) -> None:
    inject(seed, "GetAccountSettings", {"AccountLimit": {"ConcurrentExecutions": 10,
                                                          "UnreservedConcurrentExecutions": 10}})  # fmt: skip

    def answer(**_: object) -> tuple[object, dict[str, object]]:  # moto: "not yet implemented"
        class Http:
            status_code = 200

        return Http(), {}

    seed.lambda_.meta.events.register("before-call.lambda.GetAccountSettings", answer)
    [finding] = seed.doctor(only={"F-ACCT-1"}).findings
    assert finding.evidence == {"UnreservedConcurrentExecutions": 10, "ConcurrentExecutions": 10}
    assert (finding.fix.command or "").startswith("aws service-quotas request-service-quota-increase ")


def _answer(seed: DoctorSeed, operation: str, parsed: dict[str, Any]) -> None:
    """Answer a call moto does not implement with AWS's response shape."""

    def reply(**_: object) -> tuple[object, dict[str, Any]]:
        class Http:
            status_code = 200

        return Http(), dict(parsed)

    seed.lambda_.meta.events.register(f"before-call.lambda.{operation}", reply)


@pytest.mark.parametrize("setting", ["Terminate", "Allow"])
def test_a_function_allowed_to_feed_its_own_queue_is_found_when_loops_are_stopped(
    seed: DoctorSeed, setting: str
) -> None:
    seed.iam.put_role_policy(
        RoleName=pv.ROLE,
        PolicyName="requeue",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}],
            }
        ),
    )
    _answer(seed, "GetFunctionRecursionConfig", {"RecursiveLoop": setting})  # moto: not yet implemented
    findings = seed.doctor(only={"F-RECUR-1"}).findings
    if setting == "Allow":
        assert findings == []
        return
    [finding] = findings
    assert finding.check == "F-RECUR-1" and finding.evidence["queue"] == QUEUE
    assert finding.evidence["sqs:SendMessage"]["decision"] == "allow"
    assert finding.fix.command == (
        "aws lambda put-function-recursion-config --function-name user-signup-handler --recursive-loop Allow"
    )


def test_without_send_permission_f_recur_1_passes_without_reading_the_recursion_config(seed: DoctorSeed) -> None:
    assert [o.status for o in seed.doctor(only={"F-RECUR-1"}).outcomes] == ["pass"]


def test_a_handler_that_never_decodes_the_body_is_f_shape_1_too(seed: DoctorSeed) -> None:
    plant_logs(
        seed,
        "[ERROR] TypeError: string indices must be integers, not 'str'\rTraceback (most recent call last):",
        "[ERROR] JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    )
    [finding] = seed.doctor(only={"F-SHAPE-1"}).findings
    assert finding.evidence["signatures"] == {"envelope_key": 0, "json_decode": 1, "string_indices": 1}
    assert finding.evidence["keys"] == [] and finding.evidence["count"] == 2
    assert "TypeError: string indices" in finding.message and "JSONDecodeError" in finding.message


def test_an_on_failure_destination_is_the_same_false_comfort(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"RedrivePolicy": ""})
    seed.lambda_.put_function_event_invoke_config(
        FunctionName="user-signup-handler", DestinationConfig={"OnFailure": {"Destination": DLQ}}
    )
    [finding] = seed.doctor(only={"F-DLQ-1"}).findings
    assert (
        finding.evidence["DestinationConfig.OnFailure.Destination"] == DLQ and "failure destination" in finding.message
    )
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-DLQ-1"}).findings == []


def test_durations_near_the_timeout_are_f_timeout_1_from_metrics(seed: DoctorSeed) -> None:
    seed.raw["cloudwatch"].put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{"MetricName": "Duration", "Dimensions": [{"Name": "FunctionName", "Value": "user-signup-handler"}],
                     "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2), "Value": 2950.0}],
    )  # fmt: skip
    [finding] = seed.doctor(only={"F-TIMEOUT-1"}).findings
    assert finding.evidence["AWS/Lambda Duration Maximum (ms)"] == 2950 and finding.evidence["Timeout"] == 3
    assert "ran up to 2950 ms" in finding.message
    seed.apply(finding.fix)
    assert seed.doctor(only={"F-TIMEOUT-1"}).findings == []
