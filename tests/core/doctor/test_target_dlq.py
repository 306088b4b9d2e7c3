"""EventBridge target DLQ checks (TD-*): plant the mistake on the seed's target DLQ, find it, apply the fix."""

from __future__ import annotations

import json

import boto3

from evctl.core.doctor import Finding
from tests.core.doctor.seed import ACCOUNT, QUEUE, REGION, RULE, DoctorSeed

DLQ_NAME = "signup-events-dlq"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ_NAME}"


def _only(seed: DoctorSeed, check: str) -> list[Finding]:
    return [f for f in seed.doctor(only={check}).findings if f.check == check]


def _with_dlq(seed: DoctorSeed, name: str = DLQ_NAME, **attributes: str) -> str:
    url = seed.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    seed.events.put_targets(
        Rule="user-signup-rule",
        Targets=[{"Id": "user-signup-queue", "Arn": QUEUE, "DeadLetterConfig": {"Arn": arn}}],
    )
    return str(url)


def _allow_rule(arn: str = DLQ_ARN) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "EventsToDLQ", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": RULE}}}]})  # fmt: skip


def test_a_target_dlq_without_a_policy_is_found_and_the_printed_policy_fixes_it(seed: DoctorSeed) -> None:
    _with_dlq(seed)
    [finding] = _only(seed, "TD-POLICY-1")
    assert finding.resource == DLQ_ARN and finding.evidence["Policy"] is None
    assert finding.evidence["decisions"][RULE]["decision"] == "implicit_deny"
    assert finding.fix.value["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE}}
    seed.apply(finding.fix)
    assert _only(seed, "TD-POLICY-1") == []


def test_a_deny_catching_eventbridge_on_the_target_dlq_is_removed_by_the_fix(seed: DoctorSeed) -> None:
    policy = json.loads(_allow_rule())
    policy["Statement"].append({"Sid": "OnlyOurAccount", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                                "Resource": DLQ_ARN, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}})  # fmt: skip
    _with_dlq(seed, Policy=json.dumps(policy))
    [finding] = _only(seed, "TD-POLICY-1")
    assert finding.evidence["decisions"][RULE]["decision"] == "explicit_deny"
    seed.apply(finding.fix)
    assert _only(seed, "TD-POLICY-1") == []


def test_the_seed_pipeline_plus_a_correct_target_dlq_passes(seed: DoctorSeed) -> None:
    _with_dlq(seed, Policy=_allow_rule(), MessageRetentionPeriod="1209600")
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="dlq", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": DLQ_NAME}], Statistic="Maximum", Period=300, EvaluationPeriods=1,
        Threshold=0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    report = seed.doctor(only={"TD-POLICY-1", "TD-TYPE-1", "TD-KMS-1", "TD-WATCH-1", "T-RETRY-1"})
    assert report.findings == []
    assert {(o.check, o.status) for o in report.outcomes if o.resource in (DLQ_ARN, RULE)} == {
        ("TD-POLICY-1", "pass"), ("TD-TYPE-1", "pass"), ("TD-KMS-1", "pass"), ("TD-WATCH-1", "pass"),
        ("T-RETRY-1", "pass"),
    }  # fmt: skip


def test_a_fifo_target_dlq_is_found_and_replaced_by_a_standard_queue(seed: DoctorSeed) -> None:
    _with_dlq(seed, "signup-events-dlq.fifo", FifoQueue="true")
    [finding] = _only(seed, "TD-TYPE-1")
    assert finding.resource == RULE and "FIFO" in finding.evidence["problems"][0]
    seed.apply(finding.fix)
    assert _only(seed, "TD-TYPE-1") == []
    assert _only(seed, "TD-POLICY-1") == []


def test_a_missing_target_dlq_is_found(seed: DoctorSeed) -> None:
    seed.events.put_targets(
        Rule="user-signup-rule",
        Targets=[{"Id": "user-signup-queue", "Arn": QUEUE, "DeadLetterConfig": {"Arn": DLQ_ARN}}],
    )
    [finding] = _only(seed, "TD-TYPE-1")
    assert finding.evidence["exists"] is False and finding.evidence["problems"] == ["it does not exist"]


def test_a_target_dlq_on_the_aws_managed_key_is_found_and_switched_to_sse_sqs(seed: DoctorSeed) -> None:
    _with_dlq(seed, Policy=_allow_rule(), KmsMasterKeyId="alias/aws/sqs")
    [finding] = _only(seed, "TD-KMS-1")
    assert finding.evidence["KmsMasterKeyId"] == "alias/aws/sqs"
    assert finding.fix.command and finding.fix.command.startswith("aws sqs set-queue-attributes")
    seed.apply(finding.fix)
    assert _only(seed, "TD-KMS-1") == []


def test_a_target_dlq_key_without_eventbridge_is_found_and_the_key_policy_fixed(seed: DoctorSeed) -> None:
    kms = boto3.client("kms", region_name=REGION)
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]}  # fmt: skip
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    _with_dlq(seed, Policy=_allow_rule(), KmsMasterKeyId=key)
    [finding] = _only(seed, "TD-KMS-1")
    assert finding.evidence["KeyArn"] == key and len(finding.evidence["decisions"]) == 2
    seed.apply(finding.fix)
    assert _only(seed, "TD-KMS-1") == []


def test_an_unwatched_target_dlq_with_default_retention_is_found_and_both_fixes_apply(seed: DoctorSeed) -> None:
    _with_dlq(seed, Policy=_allow_rule())
    findings = _only(seed, "TD-WATCH-1")
    assert sorted(f.fix.command.split()[2] for f in findings if f.fix.command) == [
        "put-metric-alarm",
        "set-queue-attributes",
    ]
    for finding in findings:
        seed.apply(finding.fix)
    assert _only(seed, "TD-WATCH-1") == []
