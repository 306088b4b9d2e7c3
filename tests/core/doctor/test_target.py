"""Target delivery checks (T-*): plant the mistake on the seed's target, find it, apply the printed fix, see it gone."""

from __future__ import annotations

import json
from typing import Any

from evctl.core.doctor import Finding
from tests.core.doctor.seed import ACCOUNT, QUEUE, REGION, RULE, SIGNUP, DoctorSeed

SEED_TARGET = {"Id": "user-signup-queue", "Arn": QUEUE}


def _only(seed: DoctorSeed, check: str, targets: tuple[str, ...] = ("user-signup-queue",)) -> list[Finding]:
    return [f for f in seed.doctor(targets, only={check}).findings if f.check == check]


def _set_target(seed: DoctorSeed, **changes: Any) -> None:
    seed.events.put_targets(Rule="user-signup-rule", EventBusName="default", Targets=[{**SEED_TARGET, **changes}])


def _target(seed: DoctorSeed) -> dict[str, Any]:
    targets = seed.events.list_targets_by_rule(Rule="user-signup-rule")["Targets"]
    return next(t for t in targets if t["Id"] == "user-signup-queue")


def test_the_seed_target_has_no_dlq_a_medium_finding_and_the_fix_creates_and_sets_one(seed: DoctorSeed) -> None:
    [finding] = _only(seed, "T-RETRY-1")
    assert finding.resource == RULE and finding.severity == "medium"
    assert finding.evidence["DeadLetterConfig"] is None and finding.evidence["target"]["Arn"] == QUEUE
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-rule-target-dlq"
    assert finding.fix.value["DeadLetterConfig"] == {"Arn": dlq}
    seed.apply(finding.fix)
    assert _only(seed, "T-RETRY-1") == []
    assert _target(seed)["DeadLetterConfig"] == {"Arn": dlq}
    # the DLQ the fix created lets EventBridge send for this rule (TD-POLICY-1)
    assert [f for f in seed.doctor(only={"TD-POLICY-1"}).findings] == []


def test_failed_invocations_make_a_missing_target_dlq_high(seed: DoctorSeed) -> None:
    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_data(
        Namespace="AWS/Events",
        MetricData=[{"MetricName": "FailedInvocations", "Dimensions": [{"Name": "RuleName", "Value": "user-signup-rule"}],
                     "Value": 4.0}],
    )  # fmt: skip
    [finding] = _only(seed, "T-RETRY-1")
    assert finding.severity == "high" and finding.evidence["FailedInvocations"] == 4.0


def test_a_shortened_retry_policy_without_dlq_is_found_and_the_default_restored(seed: DoctorSeed) -> None:
    _set_target(seed, RetryPolicy={"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60})
    [finding] = _only(seed, "T-RETRY-2")
    assert finding.evidence["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    seed.apply(finding.fix)
    assert _only(seed, "T-RETRY-2") == []
    assert _target(seed)["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_an_input_path_sends_only_the_detail_and_removing_it_fixes_it(seed: DoctorSeed) -> None:
    _set_target(seed, InputPath="$.detail")
    [finding] = _only(seed, "T-INPUT-1")
    assert finding.resource == RULE and finding.evidence["target"]["InputPath"] == "$.detail"
    assert json.loads(finding.evidence["queue_receives"]) == SIGNUP["detail"]
    seed.apply(finding.fix)
    assert _only(seed, "T-INPUT-1") == []
    assert "InputPath" not in _target(seed)


def test_a_transformer_passing_the_whole_event_is_no_finding(seed: DoctorSeed) -> None:
    _set_target(seed, InputTransformer={"InputPathsMap": {"e": "$"}, "InputTemplate": "<e>"})
    assert _only(seed, "T-INPUT-1") == []


def test_a_template_with_a_path_not_in_the_events_is_found(seed: DoctorSeed) -> None:
    transformer = {"InputPathsMap": {"mail": "$.detail.mail"}, "InputTemplate": '{"email": <mail>}'}
    _set_target(seed, InputTransformer=transformer)
    [finding] = _only(seed, "T-INPUT-2")
    assert finding.evidence["missing"] == ["mail"] and "$.detail.mail" in finding.evidence["problem"]
    assert finding.evidence["queue_receives"] == '{"email":""}'
    seed.apply(finding.fix)
    assert _only(seed, "T-INPUT-2") == []


def test_a_constant_input_is_found_and_removed(seed: DoctorSeed) -> None:
    _set_target(seed, Input='{"hello": "world"}')
    [finding] = _only(seed, "T-INPUT-3")
    assert finding.evidence["Input"] == '{"hello": "world"}'
    seed.apply(finding.fix)
    assert _only(seed, "T-INPUT-3") == []


def _fifo(seed: DoctorSeed, dedup: bool, **target: Any) -> str:
    url = seed.sqs.create_queue(
        QueueName="signups.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true" if dedup else "false"},
    )["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:signups.fifo"
    seed.events.put_targets(
        Rule="user-signup-rule",
        Targets=[{"Id": "fifo", "Arn": arn, "SqsParameters": {"MessageGroupId": "signups"}, **target}],
    )
    return str(url)


def test_fifo_content_dedup_on_a_body_without_the_event_id_is_found(seed: DoctorSeed) -> None:
    _fifo(seed, True, InputPath="$.detail")
    [finding] = _only(seed, "T-FIFO-2")
    assert finding.evidence["sample"]["id"] == SIGNUP["id"]
    assert SIGNUP["id"] not in finding.evidence["queue_receives"]
    seed.apply(finding.fix)
    assert _only(seed, "T-FIFO-2") == []


def test_a_fifo_target_queue_without_content_dedup_is_found(seed: DoctorSeed) -> None:
    _fifo(seed, False)
    [finding] = _only(seed, "T-FIFO-1")
    assert finding.evidence["ContentBasedDeduplication"] == "false"
    seed.apply(finding.fix)
    assert _only(seed, "T-FIFO-1") == []


def test_a_target_role_without_send_permission_is_found_and_removing_it_fixes_it(seed: DoctorSeed) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = seed.iam.create_role(RoleName="eb-target", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    _set_target(seed, RoleArn=role)
    [finding] = _only(seed, "T-ROLE-1")
    assert finding.evidence["target"]["RoleArn"] == role
    assert finding.evidence["problems"][0]["decision"] == "implicit_deny"
    seed.apply(finding.fix)
    assert _only(seed, "T-ROLE-1") == []
    assert "RoleArn" not in _target(seed)


def test_a_queue_in_another_account_without_a_role_is_found_and_the_fix_adds_one(seed: DoctorSeed) -> None:
    partner = f"arn:aws:sqs:{REGION}:111122223333:partner-signups"
    seed.events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "partner", "Arn": partner}])
    [finding] = _only(seed, "T-XACCT-1")
    assert finding.evidence["queue_account"] == "111122223333" and finding.evidence["target"]["RoleArn"] is None
    assert finding.fix.value["queue_policy_statement"]["Principal"] == {"AWS": finding.fix.value["RoleArn"]}
    seed.apply(finding.fix)
    report = seed.doctor(only={"T-XACCT-1"})
    assert report.findings == []
    [outcome] = [o for o in report.outcomes if o.resource == RULE]
    assert outcome.status == "not_checked" and "queue policy in account 111122223333" in (outcome.reason or "")


def test_a_target_naming_a_missing_queue_is_found_and_pointed_at_the_real_one(seed: DoctorSeed) -> None:
    _set_target(seed, Arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-queu")
    [finding] = _only(seed, "T-ARN-1", targets=("default",))
    assert finding.evidence["exists"] is False and finding.evidence["closest_existing"] == ["user-signup-queue"]
    seed.apply(finding.fix)
    assert _only(seed, "T-ARN-1", targets=("default",)) == []
    assert _target(seed)["Arn"] == QUEUE


def test_a_constant_message_group_is_a_medium_finding_with_no_command(seed: DoctorSeed) -> None:
    _fifo(seed, True)
    [finding] = _only(seed, "T-FIFO-3")
    assert finding.evidence["SqsParameters"] == {"MessageGroupId": "signups"}
    assert finding.fix.command is None and "standard queue" in finding.fix.summary
