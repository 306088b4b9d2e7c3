"""Metric evidence checks (X-*): datapoints planted with put_metric_data (moto emits no service metrics)."""

from __future__ import annotations

import datetime as dt

from tests.core.doctor.seed import QUEUE, DoctorSeed


def put(
    seed: DoctorSeed, namespace: str, name: str, dimensions: dict[str, str], value: float, minutes_ago: float = 2
) -> None:
    seed.raw["cloudwatch"].put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago),
                "Value": value,
            }
        ],
    )


def test_an_old_backlog_is_found_and_the_fix_raises_the_retention(seed: DoctorSeed) -> None:
    put(seed, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "user-signup-queue"}, 3 * 86400.0)
    [finding] = seed.doctor(only={"X-AGE-1"}).findings
    assert finding.check == "X-AGE-1" and finding.resource == QUEUE
    assert (
        finding.evidence["ApproximateAgeOfOldestMessage_max"] == 3 * 86400
        and finding.evidence["MessageRetentionPeriod"] == 345600
    )
    seed.apply(finding.fix)
    assert seed.doctor(only={"X-AGE-1"}).findings == []


def test_no_age_datapoints_is_not_checked(seed: DoctorSeed) -> None:
    outcomes = [o for o in seed.doctor(only={"X-AGE-1"}).outcomes if o.resource == QUEUE]
    assert [(o.status, o.reason) for o in outcomes] == [
        ("not_checked", "no AWS/SQS ApproximateAgeOfOldestMessage datapoints in the last 15 minutes")
    ]


def test_flow_balance_names_the_first_hop_where_events_drop(seed: DoctorSeed) -> None:
    put(seed, "AWS/Events", "MatchedEvents", {"RuleName": "user-signup-rule"}, 10)
    put(seed, "AWS/Events", "Invocations", {"RuleName": "user-signup-rule"}, 10)
    put(seed, "AWS/Events", "FailedInvocations", {"RuleName": "user-signup-rule"}, 4)
    put(seed, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "user-signup-queue"}, 6)
    put(seed, "AWS/Lambda", "Invocations", {"FunctionName": "user-signup-handler"}, 1)
    [finding] = seed.doctor(only={"X-FLOW-1"}).findings
    assert finding.check == "X-FLOW-1" and finding.resource == QUEUE
    assert (
        finding.message
        == "events drop first at rule user-signup-rule: 4 failed deliveries to its targets (0 to its DLQ)"
    )
    rule_hop = finding.evidence["hops"][0]
    assert rule_hop["MatchedEvents"] == 10 and rule_hop["FailedInvocations"] == 4
    assert finding.evidence["hops"][1]["NumberOfMessagesSent"] == 6


def test_denied_metrics_are_not_checked(seed: DoctorSeed) -> None:
    def deny(**_: object) -> tuple[object, dict[str, object]]:
        class Http:
            status_code = 403

        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}}

    seed.raw["cloudwatch"].meta.events.register("before-call.monitoring.GetMetricData", deny)
    report = seed.doctor(only={"X-AGE-1", "X-FLOW-1", "E-PBR-2"})
    assert {(o.check, o.status, o.reason) for o in report.outcomes if o.resource == QUEUE or o.check == "E-PBR-2"} == {
        ("X-AGE-1", "not_checked", "cloudwatch:GetMetricData denied"),
        ("X-FLOW-1", "not_checked", "cloudwatch:GetMetricData denied"),
        ("E-PBR-2", "not_checked", "cloudwatch:GetMetricData denied"),
    }


def test_a_datapoint_of_this_minute_counts(seed: DoctorSeed) -> None:
    # The sandbox puts its metrics at once: a datapoint stamped now must be read, not cut off at the last whole minute.
    put(seed, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "user-signup-queue"}, 3 * 86400.0, 0)
    [finding] = seed.doctor(only={"X-AGE-1"}).findings
    assert finding.evidence["ApproximateAgeOfOldestMessage_max"] == 3 * 86400
