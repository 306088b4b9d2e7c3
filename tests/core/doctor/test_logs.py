"""Log checks (L-*) and the log scan: plant the mistake, find it, apply the printed fix."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from evctl.core.doctor import DoctorClients, DoctorContext
from evctl.core.doctor.logscan import scan_logs
from evctl.core.pipeline import DescribeCache, Graph
from evctl.sandbox import provision as pv
from tests.core.doctor.seed import ACCOUNT, FUNCTION, REGION, DoctorSeed
from tests.core.doctor.test_function import GROUP, inject, plant_logs

GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"


@pytest.mark.parametrize("can_create", [True, False])
def test_a_missing_log_group_is_found_and_the_fix_creates_it(seed: DoctorSeed, can_create: bool) -> None:
    seed.logs.delete_log_group(logGroupName=GROUP)
    if not can_create:
        seed.iam.put_role_policy(
            RoleName=pv.ROLE,
            PolicyName="user-signup-handler",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}
                    ],
                }
            ),
        )
    [finding] = seed.doctor(only={"L-GROUP-1"}).findings
    assert finding.check == "L-GROUP-1" and finding.resource == FUNCTION
    assert finding.severity == ("info" if can_create else "high")
    assert finding.evidence["logs:CreateLogGroup"]["decision"] == ("allow" if can_create else "implicit_deny")
    assert finding.evidence["log_group"] == GROUP and finding.evidence["exists"] is False
    assert finding.fix.command == f"aws logs create-log-group --log-group-name {GROUP}"
    seed.apply(finding.fix)
    assert seed.doctor(only={"L-GROUP-1"}).findings == []


def test_never_expiring_logs_are_info_and_the_fix_sets_a_retention(seed: DoctorSeed) -> None:
    [finding] = seed.doctor(only={"L-RET-1"}).findings
    assert finding.check == "L-RET-1" and finding.severity == "info" and finding.evidence["retentionInDays"] is None
    assert finding.fix.command == f"aws logs put-retention-policy --log-group-name {GROUP} --retention-in-days 30"
    seed.apply(finding.fix)
    assert seed.doctor(only={"L-RET-1"}).findings == []


def test_logs_kept_shorter_than_the_dlq_keeps_messages_are_medium(seed: DoctorSeed) -> None:
    seed.logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
    seed.sqs.set_queue_attributes(QueueUrl=seed.dlq_url, Attributes={"MessageRetentionPeriod": "1209600"})
    [finding] = seed.doctor(only={"L-RET-1"}).findings
    assert finding.severity == "medium" and finding.evidence["retentionInDays"] == 1
    assert finding.evidence["dlqs"][0]["MessageRetentionPeriod"] == 1209600
    assert finding.fix.value == {"retentionInDays": 14}
    seed.apply(finding.fix)
    assert seed.doctor(only={"L-RET-1"}).findings == []


def test_a_custom_log_group_is_info_with_the_logging_config_fix(seed: DoctorSeed) -> None:
    # moto never returns LoggingConfig: add it to the answer, as AWS gives it.
    inject(seed, "GetFunctionConfiguration", {"LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/custom/signups"}})
    [finding] = seed.doctor(only={"L-CUSTOM-1"}).findings
    assert finding.check == "L-CUSTOM-1" and finding.evidence["LoggingConfig"]["LogGroup"] == "/custom/signups"
    assert finding.fix.command == (
        "aws lambda update-function-configuration --function-name user-signup-handler "
        f"--logging-config LogFormat=JSON,LogGroup={GROUP}"
    )


def test_error_signatures_are_counted_with_their_first_lines(seed: DoctorSeed) -> None:
    plant_logs(
        seed,
        "START RequestId: a1 Version: $LATEST",
        "[ERROR] KeyError: 'Message'\rTraceback (most recent call last):\r  File ...",
        "2026-12-02T12:00:03.000Z a1 Task timed out after 3.00 seconds",
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function'",
        "END RequestId: a1",
    )
    [finding] = seed.doctor(only={"L-ERR-1"}).findings
    assert finding.check == "L-ERR-1" and finding.resource == GROUP_ARN
    assert finding.evidence["signatures"] == {"timeout": 1, "envelope_key": 1, "runtime": 1}
    assert finding.evidence["see"] == ["F-SHAPE-1", "F-STATE-1", "F-TIMEOUT-1"]
    assert finding.evidence["examples"]["envelope_key"][0]["line"] == "[ERROR] KeyError: 'Message'"
    assert finding.evidence["lines_read"] == 5 and finding.evidence["truncated"] is False
    assert (finding.fix.command or "").startswith(f"aws logs filter-log-events --log-group-name {GROUP} ")


def test_the_scan_reads_at_most_log_max_events_once_per_run(seed: DoctorSeed) -> None:
    plant_logs(seed, *[f"line {i}" for i in range(30)])
    calls: list[Any] = []
    seed.logs.meta.events.register("before-call.logs.FilterLogEvents", lambda **kw: calls.append(kw))
    cache = DescribeCache()
    clients = DoctorClients(
        events=seed.events, sqs=seed.sqs, lambda_=seed.lambda_,
        logs=cache.wrap(seed.logs, "logs"),  # type: ignore[arg-type]
    )  # fmt: skip
    ctx = DoctorContext(Graph(), clients, cache, log_max_events=10, now=time.time)
    scan = scan_logs(ctx, GROUP)
    assert scan.read == 10 and scan.truncated is True
    assert scan_logs(ctx, GROUP) is scan and len(calls) == 1
    early = DoctorContext(Graph(), clients, DescribeCache(), log_window_seconds=60, now=lambda: 1_000_000.0)
    assert scan_logs(early, GROUP).read == 0  # a window that ends before the lines were written reads none


def test_denied_log_reads_are_not_checked(seed: DoctorSeed) -> None:
    def deny(**_: object) -> tuple[object, dict[str, object]]:
        class Http:
            status_code = 400

        return Http(), {"Error": {"Code": "AccessDeniedException", "Message": "no"}}

    seed.logs.meta.events.register("before-call.logs.FilterLogEvents", deny)
    report = seed.doctor(only={"L-ERR-1", "F-TIMEOUT-1", "F-SHAPE-1"})
    assert {(o.check, o.status, o.reason) for o in report.outcomes} == {
        ("L-ERR-1", "not_checked", "logs:FilterLogEvents denied"),
        ("F-SHAPE-1", "not_checked", "logs:FilterLogEvents denied"),
        # F-TIMEOUT-1 also looks at the metrics, which hold nothing here
        ("F-TIMEOUT-1", "not_checked", "logs: logs:FilterLogEvents denied; metrics: no AWS/Lambda Duration datapoints"),
    }


def test_lambda_json_log_format_lines_carry_the_same_signatures(seed: DoctorSeed) -> None:
    key_error = {"timestamp": "2026-12-02T12:00:00Z", "level": "ERROR", "requestId": "r1",
                 "errorMessage": "'Message'", "errorType": "KeyError", "stackTrace": ["..."]}  # fmt: skip
    report = {"time": "2026-12-02T12:00:03Z", "type": "platform.report",
              "record": {"requestId": "r2", "status": "timeout", "metrics": {"durationMs": 3000}}}  # fmt: skip
    done = {"time": "2026-12-02T12:00:03Z", "type": "platform.runtimeDone",
            "record": {"requestId": "r2", "status": "timeout"}}  # fmt: skip
    plant_logs(seed, json.dumps(key_error), json.dumps(done), json.dumps(report))
    [finding] = seed.doctor(only={"L-ERR-1"}).findings
    assert finding.evidence["signatures"] == {"timeout": 1, "envelope_key": 1}
    assert finding.evidence["examples"]["envelope_key"][0]["line"] == "KeyError: 'Message'"
    assert finding.evidence["filter_pattern"].startswith("?ERROR ")
    [shape] = seed.doctor(only={"F-SHAPE-1"}).findings
    assert shape.evidence["keys"] == ["Message"]
