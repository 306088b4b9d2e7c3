"""Source queue DLQ checks (D-EXISTS-1, D-TYPE-1, D-RET-1, D-ALLOW-1, D-WATCH-1, D-DRAIN-1): plant the mistake on
the seed, see the finding with its evidence, apply the printed fix and see it gone (or, where moto lacks the field,
answer with AWS's shape and check the command)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from evctl.core.doctor import Report
from tests.core.doctor.seed import ACCOUNT, DLQ, FUNCTION, QUEUE, REGION, DoctorSeed

DLQ_CHECKS = {"D-EXISTS-1", "D-TYPE-1", "D-RET-1", "D-ALLOW-1", "D-WATCH-1", "D-DRAIN-1"}


def _statuses(report: Report, check: str, resource: str) -> list[tuple[str, str | None]]:
    return [(o.status, o.reason) for o in report.outcomes if o.check == check and o.resource == resource]


def _watch(seed: DoctorSeed) -> None:
    seed.raw["cloudwatch"].put_metric_alarm(
        AlarmName="dlq",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "user-signup-dlq"}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


def test_the_seed_dlq_passes_but_for_its_missing_alarm(seed: DoctorSeed) -> None:
    report = seed.doctor(only=DLQ_CHECKS)
    assert [(f.check, f.resource) for f in report.findings] == [("D-WATCH-1", DLQ)]
    _watch(seed)
    report = seed.doctor(only=DLQ_CHECKS)
    assert report.findings == [] and {o.status for o in report.outcomes} == {"pass"}


def test_a_deleted_dlq_is_d_exists_1_and_the_fix_recreates_it(seed: DoctorSeed) -> None:
    seed.sqs.delete_queue(QueueUrl=seed.dlq_url)
    [finding] = seed.doctor(only={"D-EXISTS-1"}).findings
    assert finding.resource == QUEUE and finding.evidence["deadLetterTargetArn"] == DLQ
    assert finding.evidence["maxReceiveCount"] == 3 and finding.related == (DLQ,)
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-EXISTS-1"}).findings == []


def test_a_fifo_dlq_for_a_standard_queue_is_d_type_1(seed: DoctorSeed) -> None:
    fifo = seed.sqs.create_queue(QueueName="user-signup-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo_arn = seed.sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": fifo_arn, "maxReceiveCount": 5})
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"RedrivePolicy": redrive})
    [finding] = seed.doctor(only={"D-TYPE-1"}).findings
    assert finding.evidence["problems"] == ["a standard queue with a FIFO DLQ"]
    assert json.loads(finding.fix.value["RedrivePolicy"]) == {"deadLetterTargetArn": DLQ, "maxReceiveCount": 5}
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-TYPE-1"}).findings == []


def test_a_dlq_in_another_region_is_d_type_1(seed: DoctorSeed) -> None:
    """AWS refuses this at set time; moto's validation differs, so the attribute is answered as AWS would store it."""
    elsewhere = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:user-signup-dlq"

    def after(parsed: dict[str, Any], **_: object) -> None:
        if "RedrivePolicy" in parsed.get("Attributes", {}):
            parsed["Attributes"]["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": elsewhere, "maxReceiveCount": 5})

    seed.sqs.meta.events.register("after-call.sqs.GetQueueAttributes", after)
    [finding] = [f for f in seed.doctor(only={"D-TYPE-1"}).findings if f.resource == QUEUE]
    assert finding.evidence["problems"] == [f"the DLQ is in eu-west-1, not {REGION}"]
    assert finding.fix.command == (
        f"aws sqs set-queue-attributes --queue-url {seed.queue_url} --attributes "
        + shlex.quote(
            json.dumps(
                {
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": DLQ, "maxReceiveCount": 5}, separators=(",", ":")
                    )
                },
                separators=(",", ":"),
            )
        )
    )


def test_dlq_retention_not_longer_than_the_source_is_d_ret_1(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.dlq_url, Attributes={"MessageRetentionPeriod": "345600"})
    [finding] = seed.doctor(only={"D-RET-1"}).findings
    assert finding.resource == DLQ and finding.related == (QUEUE,)
    assert finding.evidence == {
        "MessageRetentionPeriod": 345600,
        "source": QUEUE,
        "source_MessageRetentionPeriod": 345600,
    }
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-RET-1"}).findings == []


def test_a_source_at_14_days_gets_its_own_retention_lowered(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"MessageRetentionPeriod": "1209600"})
    [finding] = seed.doctor(only={"D-RET-1"}).findings
    assert finding.fix.command and seed.queue_url in finding.fix.command
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-RET-1"}).findings == []


def _redrive_allow(seed: DoctorSeed, policy: dict[str, Any]) -> None:
    """moto accepts RedriveAllowPolicy but never returns it (§5): answer GetQueueAttributes with it, as AWS does."""

    def after(parsed: dict[str, Any], **_: object) -> None:
        attributes = parsed.get("Attributes", {})
        if attributes.get("QueueArn") == DLQ:
            attributes["RedriveAllowPolicy"] = json.dumps(policy)

    seed.sqs.meta.events.register("after-call.sqs.GetQueueAttributes", after)


def test_a_redrive_allow_policy_without_the_source_is_d_allow_1(seed: DoctorSeed) -> None:
    other = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-queue"
    _redrive_allow(seed, {"redrivePermission": "byQueue", "sourceQueueArns": [other]})
    [finding] = seed.doctor(only={"D-ALLOW-1"}).findings
    assert finding.resource == DLQ and finding.evidence["sources"] == [QUEUE]
    assert json.loads(finding.fix.value["RedriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [other, QUEUE],
    }
    assert finding.fix.command
    words = shlex.split(finding.fix.command)
    assert words[:5] == ["aws", "sqs", "set-queue-attributes", "--queue-url", seed.dlq_url]
    assert json.loads(words[words.index("--attributes") + 1]) == finding.fix.value


def test_deny_all_is_d_allow_1(seed: DoctorSeed) -> None:
    _redrive_allow(seed, {"redrivePermission": "denyAll"})
    [finding] = seed.doctor(only={"D-ALLOW-1"}).findings
    assert json.loads(finding.fix.value["RedriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [QUEUE],
    }


def test_an_unwatched_dlq_is_d_watch_1_and_the_alarm_fixes_it(seed: DoctorSeed) -> None:
    [finding] = seed.doctor(only={"D-WATCH-1"}).findings
    assert finding.resource == DLQ and finding.evidence["ApproximateNumberOfMessages"] == 0
    assert _statuses(seed.doctor(only={"D-WATCH-1"}), "D-WATCH-1", QUEUE) == [("pass", None)]
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-WATCH-1"}).findings == []


def test_the_dlq_drained_by_the_same_function_is_d_drain_1(seed: DoctorSeed) -> None:
    uuid = seed.lambda_.create_event_source_mapping(EventSourceArn=DLQ, FunctionName=FUNCTION, BatchSize=1)["UUID"]
    [finding] = seed.doctor(only={"D-DRAIN-1"}).findings
    assert finding.resource == DLQ and finding.evidence["function"] == FUNCTION
    assert finding.fix.command == f"aws lambda update-event-source-mapping --uuid {uuid} --no-enabled"
    seed.apply(finding.fix)
    assert seed.doctor(only={"D-DRAIN-1"}).findings == []


def test_allow_all_passes_d_allow_1(seed: DoctorSeed) -> None:
    _redrive_allow(seed, {"redrivePermission": "allowAll"})
    assert _statuses(seed.doctor(only={"D-ALLOW-1"}), "D-ALLOW-1", DLQ) == [("pass", None)]


def test_denied_alarm_reads_are_not_checked_never_a_pass(seed: DoctorSeed) -> None:
    class Http:
        status_code = 400

    def deny(**_: object) -> tuple[Http, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}

    seed.raw["cloudwatch"].meta.events.register("before-call.monitoring.DescribeAlarms", deny)
    report = seed.doctor(only={"D-WATCH-1"})
    assert _statuses(report, "D-WATCH-1", DLQ) == [("not_checked", "cloudwatch:DescribeAlarms denied")]


def test_an_alarm_on_the_oldest_message_age_alone_watches_the_dlq(seed: DoctorSeed) -> None:
    seed.raw["cloudwatch"].put_metric_alarm(
        AlarmName="dlq-age", Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": "user-signup-dlq"}], Statistic="Maximum", Period=300,
        EvaluationPeriods=1, Threshold=3600, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    assert _statuses(seed.doctor(only={"D-WATCH-1"}), "D-WATCH-1", DLQ) == [("pass", None)]


def test_unread_dlq_sources_make_the_dlq_checks_not_checked(seed: DoctorSeed) -> None:
    class Http:
        status_code = 400

    def deny(**_: object) -> tuple[Http, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}

    seed.sqs.meta.events.register("before-call.sqs.ListDeadLetterSourceQueues", deny)
    report = seed.doctor(("user-signup-dlq",), only={"D-RET-1", "D-ALLOW-1", "D-WATCH-1", "D-DRAIN-1"})
    reason = "the queue's DLQ sources were not read (not read: sqs:ListDeadLetterSourceQueues denied)"
    assert {o.check: (o.status, o.reason) for o in report.outcomes if o.resource == DLQ} == {
        check: ("not_checked", reason) for check in ("D-RET-1", "D-ALLOW-1", "D-WATCH-1", "D-DRAIN-1")
    }
