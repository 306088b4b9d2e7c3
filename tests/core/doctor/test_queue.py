"""Queue configuration checks (Q-VIS-2, Q-REDRIVE-1/2, Q-RET-1, Q-SIZE-1, Q-DELAY-1, Q-CONSUMER-1): plant the
mistake on the seed, see the finding with its evidence, apply the printed fix and see it gone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from evctl.core.doctor import Report, Sample
from tests.core.doctor.seed import DLQ, FUNCTION, QUEUE, RULE, SIGNUP, DoctorSeed

QUEUE_CHECKS = {"Q-VIS-2", "Q-REDRIVE-1", "Q-REDRIVE-2", "Q-RET-1", "Q-SIZE-1", "Q-DELAY-1", "Q-CONSUMER-1"}


def _set(seed: DoctorSeed, url: str | None = None, **attributes: str) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=url or seed.queue_url, Attributes=attributes)


def _statuses(report: Report, check: str, resource: str = QUEUE) -> list[tuple[str, str | None]]:
    return [(o.status, o.reason) for o in report.outcomes if o.check == check and o.resource == resource]


def test_the_seed_queue_has_only_its_low_max_receive_count(seed: DoctorSeed) -> None:
    """The sandbox provisions maxReceiveCount 3 (medium, Q-REDRIVE-2); nothing else of these checks fails."""
    report = seed.doctor(only=QUEUE_CHECKS)
    assert [(f.check, f.resource) for f in report.findings] == [("Q-REDRIVE-2", QUEUE)]
    assert {o.status for o in report.outcomes} == {"pass", "fail"}


def test_visibility_below_six_times_the_timeout_is_q_vis_2(seed: DoctorSeed) -> None:
    seed.lambda_.update_function_configuration(FunctionName="user-signup-handler", Timeout=10)
    _set(seed, VisibilityTimeout="30")
    [finding] = seed.doctor(only={"Q-VIS-1", "Q-VIS-2"}).findings
    assert finding.check == "Q-VIS-2" and finding.evidence["VisibilityTimeout"] == 30
    assert finding.evidence["Timeout"] == 10 and finding.evidence["wanted"] == 60 and finding.related[0] == FUNCTION
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-VIS-1", "Q-VIS-2"}).findings == []


def test_no_redrive_policy_is_q_redrive_1_and_the_fix_points_at_the_dlq(seed: DoctorSeed) -> None:
    _set(seed, RedrivePolicy="")
    report = seed.doctor(only={"Q-REDRIVE-1"})
    [finding] = report.findings
    assert finding.resource == QUEUE and finding.evidence == {"RedrivePolicy": None, "MessageRetentionPeriod": 345600}
    assert finding.related == (DLQ,) and "aws sqs create-queue --queue-name user-signup-dlq" in finding.fix.summary
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-REDRIVE-1", "Q-REDRIVE-2"}).findings == []
    assert _statuses(seed.doctor(only={"Q-REDRIVE-1"}), "Q-REDRIVE-1", DLQ) == [("pass", None)]


def test_max_receive_count_1_is_q_redrive_2(seed: DoctorSeed) -> None:
    _set(seed, RedrivePolicy=json.dumps({"deadLetterTargetArn": DLQ, "maxReceiveCount": 1}))
    [finding] = seed.doctor(only={"Q-REDRIVE-2"}).findings
    assert finding.evidence["maxReceiveCount"] == 1 and finding.evidence["RedrivePolicy"]["deadLetterTargetArn"] == DLQ
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-REDRIVE-2"}).findings == []


def test_retention_shorter_than_the_retry_horizon_is_q_ret_1(seed: DoctorSeed) -> None:
    _set(seed, MessageRetentionPeriod="60", VisibilityTimeout="30")
    [finding] = seed.doctor(only={"Q-RET-1"}).findings
    assert finding.evidence["MessageRetentionPeriod"] == 60 and finding.evidence["retry_horizon"] == 3 * 30
    assert finding.fix.value == {"MessageRetentionPeriod": "345600"}
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-RET-1"}).findings == []


def test_a_horizon_beyond_14_days_lowers_max_receive_count_too(seed: DoctorSeed) -> None:
    _set(seed, VisibilityTimeout="43200", RedrivePolicy=json.dumps({"deadLetterTargetArn": DLQ, "maxReceiveCount": 40}))
    [finding] = seed.doctor(only={"Q-RET-1"}).findings
    assert json.loads(finding.fix.value["RedrivePolicy"])["maxReceiveCount"] == 28
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-RET-1"}).findings == []


def test_events_larger_than_maximum_message_size_are_q_size_1(seed: DoctorSeed) -> None:
    big: dict[str, Any] = json.loads(json.dumps(SIGNUP))
    big["detail"]["bio"] = "x" * 3000
    samples = [Sample(SIGNUP, "default", "template signup"), Sample(big, "default", "signups.jsonl:2")]
    _set(seed, MaximumMessageSize="1024")
    [finding] = seed.doctor(only={"Q-SIZE-1"}, samples=samples).findings
    assert finding.evidence["MaximumMessageSize"] == 1024 and finding.evidence["body_bytes"] > 3000
    assert finding.evidence["sample"] == "signups.jsonl:2" and finding.related == (RULE,)
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-SIZE-1"}, samples=samples).findings == []


def test_q_size_1_without_samples_is_not_checked(seed: DoctorSeed) -> None:
    assert _statuses(seed.doctor(only={"Q-SIZE-1"}, samples=[]), "Q-SIZE-1") == [
        ("not_checked", "no sample events (pass --sample or name the producer's templates)")
    ]


def test_a_delivery_delay_is_q_delay_1(seed: DoctorSeed) -> None:
    _set(seed, DelaySeconds="120")
    [finding] = seed.doctor(only={"Q-DELAY-1"}).findings
    assert finding.evidence == {"DelaySeconds": 120}
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-DELAY-1"}).findings == []


def test_a_queue_without_its_mapping_is_q_consumer_1(seed: DoctorSeed) -> None:
    [mapping] = seed.lambda_.list_event_source_mappings(EventSourceArn=QUEUE)["EventSourceMappings"]
    seed.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
    report = seed.doctor(only={"Q-CONSUMER-1"})
    [finding] = report.findings
    assert finding.resource == QUEUE and finding.evidence["rules"] == [RULE]
    assert finding.evidence["NumberOfMessagesDeleted (24 h)"] == "no datapoints"
    assert _statuses(report, "Q-CONSUMER-1", DLQ) == [("pass", None)]  # a DLQ is not expected to have a consumer
    assert finding.fix.command
    seed.apply(
        type(finding.fix)(
            finding.fix.summary, finding.fix.value, finding.fix.command.replace("FUNCTION_NAME", "user-signup-handler")
        )
    )
    assert seed.doctor(only={"Q-CONSUMER-1"}).findings == []


def test_a_queue_whose_messages_something_deletes_is_not_q_consumer_1(seed: DoctorSeed) -> None:
    """No mapping, but SQS counted deletes in the last day: a consumer evctl does not see (a container, ...)."""
    [mapping] = seed.lambda_.list_event_source_mappings(EventSourceArn=QUEUE)["EventSourceMappings"]
    seed.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
    seed.raw["cloudwatch"].put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "NumberOfMessagesDeleted",
                "Value": 12.0,
                "Dimensions": [{"Name": "QueueName", "Value": "user-signup-queue"}],
            }
        ],
    )
    assert seed.doctor(only={"Q-CONSUMER-1"}).findings == []


def test_a_day_of_deletes_is_one_datapoint_a_query_and_counts_deletes_hours_ago(seed: DoctorSeed) -> None:
    """The day-long question is read with a one-day period (a day per minute costs 1440 periods a query, which an
    emulator answers slowly), and a delete 20 hours ago still counts."""
    [mapping] = seed.lambda_.list_event_source_mappings(EventSourceArn=QUEUE)["EventSourceMappings"]
    seed.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
    cloudwatch = seed.raw["cloudwatch"]
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[{
            "MetricName": "NumberOfMessagesDeleted", "Value": 12.0,
            "Dimensions": [{"Name": "QueueName", "Value": "user-signup-queue"}],
            "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(hours=20),
        }],
    )  # fmt: skip
    reads: list[tuple[float, int]] = []  # (span of the read, period of each query)
    cloudwatch.meta.events.register(
        "before-parameter-build.monitoring.GetMetricData",
        lambda params, **_: reads.extend(
            ((params["EndTime"] - params["StartTime"]).total_seconds(), q["MetricStat"]["Period"])
            for q in params["MetricDataQueries"]
        ),
    )
    assert seed.doctor(only={"Q-CONSUMER-1"}).findings == []
    day = [period for span, period in reads if span >= 86_400]
    assert day and set(day) == {86_400}


def test_an_unknown_dlq_role_is_not_checked_never_a_false_consumer_alarm(seed: DoctorSeed) -> None:
    class Http:
        status_code = 400

    def deny(**_: object) -> tuple[Http, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}

    seed.sqs.meta.events.register("before-call.sqs.ListDeadLetterSourceQueues", deny)
    report = seed.doctor(("user-signup-dlq",), only={"Q-CONSUMER-1", "Q-REDRIVE-1"})
    reason = "whether the queue is a DLQ is unknown (not read: sqs:ListDeadLetterSourceQueues denied)"
    assert report.findings == []
    assert _statuses(report, "Q-CONSUMER-1", DLQ) == [("not_checked", reason)]
    assert _statuses(report, "Q-REDRIVE-1", DLQ) == [("not_checked", reason)]
