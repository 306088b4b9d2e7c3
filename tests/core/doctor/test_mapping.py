"""Event source mapping checks (E-*): plant the mistake on the seed pipeline, find it, apply the printed fix."""

from __future__ import annotations

import datetime as dt
import json
import shlex

from evctl.core.doctor import Finding, Report
from evctl.sandbox import provision as pv
from tests.core.doctor.seed import ACCOUNT, FUNCTION, QUEUE, REGION, DoctorSeed


def only(report: Report, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def esm(seed: DoctorSeed) -> str:
    return str(seed.pipeline.esm_uuid)


def test_a_disabled_mapping_is_found_and_enabling_it_removes_the_finding(seed: DoctorSeed) -> None:
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), Enabled=False)
    [finding] = seed.doctor(only={"E-STATE-1"}).findings
    assert finding.check == "E-STATE-1" and finding.resource.endswith(esm(seed))
    assert finding.evidence["State"] == "Disabled" and finding.evidence["EventSourceArn"] == QUEUE
    assert finding.fix.command == f"aws lambda update-event-source-mapping --uuid {esm(seed)} --enabled"
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-STATE-1"}).findings == []


def test_a_filter_without_body_keys_deletes_every_message_even_without_samples(seed: DoctorSeed) -> None:
    pattern = json.dumps({"detail-type": ["UserSignup"]})  # the rule's keys, not under "body"
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), FilterCriteria={"Filters": [{"Pattern": pattern}]})
    [finding] = seed.doctor(only={"E-FILTER-1"}, samples=[]).findings
    assert finding.check == "E-FILTER-1" and finding.resource.endswith(esm(seed))
    assert finding.evidence["Filters"] == [pattern]
    assert finding.evidence["fields_not_in_an_sqs_record"] == [["detail-type"]]
    assert shlex.split(finding.fix.command or "")[-2:] == ["--filter-criteria", '{"Filters": []}']
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-FILTER-1"}).findings == []


def test_a_body_filter_the_samples_fail_deletes_them_and_removing_it_fixes_that(seed: DoctorSeed) -> None:
    pattern = json.dumps({"body": {"detail": {"plan": ["pro"]}}})
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), FilterCriteria={"Filters": [{"Pattern": pattern}]})
    [finding] = seed.doctor(only={"E-FILTER-1"}).findings
    [deleted] = finding.evidence["deleted"]
    assert deleted["sample"] == "template signup" and deleted["event"]["detail"]["plan"] == "free"
    assert any("body.detail.plan" in why for why in deleted["why_not"]), deleted["why_not"]
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-FILTER-1"}).findings == []


def test_a_filter_on_the_body_keeps_the_samples(seed: DoctorSeed) -> None:
    pattern = json.dumps({"body": {"detail-type": ["UserSignup"], "detail": {"plan": ["free"]}}})
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), FilterCriteria={"Filters": [{"Pattern": pattern}]})
    outcomes = [o for o in seed.doctor(only={"E-FILTER-1"}).outcomes]
    assert [o.status for o in outcomes] == ["pass"]
    assert [o.status for o in seed.doctor(only={"E-FILTER-1"}, samples=[]).outcomes] == ["not_checked"]


def test_batches_without_partial_batch_response_are_found_and_the_fix_turns_it_on(seed: DoctorSeed) -> None:
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), FunctionResponseTypes=[])
    [finding] = seed.doctor(only={"E-PBR-1"}).findings
    assert finding.check == "E-PBR-1" and finding.evidence == {"BatchSize": 10, "FunctionResponseTypes": []}
    assert (finding.fix.command or "").endswith("--function-response-types ReportBatchItemFailures")
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-PBR-1"}).findings == []


def test_report_batch_item_failures_unproven_without_code_or_metrics_is_not_checked(seed: DoctorSeed) -> None:
    [outcome] = seed.doctor(only={"E-PBR-2"}).outcomes
    assert outcome.status == "not_checked" and "code" in (outcome.reason or "")


def test_nothing_deleted_while_the_function_succeeds_is_e_pbr_2_from_metrics(seed: DoctorSeed) -> None:
    cloudwatch = seed.raw["cloudwatch"]
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    for namespace, metric, dimension, value in (
        ("AWS/Lambda", "Invocations", ("FunctionName", "user-signup-handler"), 6.0),
        ("AWS/Lambda", "Errors", ("FunctionName", "user-signup-handler"), 0.0),
        ("AWS/SQS", "NumberOfMessagesReceived", ("QueueName", "user-signup-queue"), 12.0),
        ("AWS/SQS", "NumberOfMessagesDeleted", ("QueueName", "user-signup-queue"), 0.0),
    ):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{
            "MetricName": metric, "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
            "Timestamp": now, "Value": value}])  # fmt: skip
    [finding] = seed.doctor(only={"E-PBR-2"}).findings
    assert finding.check == "E-PBR-2" and finding.evidence["AWS/SQS NumberOfMessagesDeleted"] == 0
    assert finding.evidence["AWS/Lambda Invocations"] == 6 and finding.evidence["AWS/Lambda Errors"] == 0
    seed.apply(finding.fix)  # ReportBatchItemFailures off: the handler's response no longer decides
    assert seed.doctor(only={"E-PBR-2"}).findings == []


def test_maximum_concurrency_above_the_reservation_is_found_and_the_fix_reserves_enough(seed: DoctorSeed) -> None:
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), ScalingConfig={"MaximumConcurrency": 10})
    seed.lambda_.put_function_concurrency(FunctionName="user-signup-handler", ReservedConcurrentExecutions=5)
    [finding] = seed.doctor(only={"E-CONC-1"}).findings
    assert finding.evidence["MaximumConcurrency"] == 10 and finding.evidence["ReservedConcurrentExecutions"] == 5
    assert finding.related == (FUNCTION,)
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-CONC-1", "F-RC-2"}).findings == []


def test_a_batching_window_is_found_and_the_fix_sets_it_to_zero(seed: DoctorSeed) -> None:
    seed.lambda_.update_event_source_mapping(UUID=esm(seed), MaximumBatchingWindowInSeconds=20)
    [finding] = seed.doctor(only={"E-WINDOW-1"}).findings
    assert finding.evidence["MaximumBatchingWindowInSeconds"] == 20
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-WINDOW-1"}).findings == []


def test_a_mapping_of_a_deleted_function_is_found_and_the_fix_deletes_it(seed: DoctorSeed) -> None:
    seed.lambda_.delete_function(FunctionName="user-signup-handler")
    [finding] = seed.doctor(only={"E-ORPHAN-1"}).findings
    assert finding.evidence["FunctionArn"] == FUNCTION and finding.evidence["function_exists"] is False
    assert finding.fix.command == f"aws lambda delete-event-source-mapping --uuid {esm(seed)}"
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-ORPHAN-1"}).findings == []


def test_metrics_off_is_info_and_the_fix_turns_them_on(seed: DoctorSeed) -> None:
    [finding] = seed.doctor(only={"E-METRICS-1"}).findings
    assert finding.check == "E-METRICS-1" and (finding.fix.command or "").endswith(
        "--metrics-config Metrics=EventCount"
    )
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-METRICS-1"}).findings == []


def test_two_functions_reading_one_queue_are_found_and_the_fix_removes_the_other(seed: DoctorSeed) -> None:
    seed.lambda_.create_function(
        FunctionName="audit-handler", Runtime="python3.12", Role=seed.pipeline.role_arn, Handler="x.handler",
        Code={"ZipFile": pv.handler_zip(pv.DEFAULT_HANDLER)},
    )  # fmt: skip
    other = seed.lambda_.create_event_source_mapping(EventSourceArn=QUEUE, FunctionName="audit-handler")["UUID"]
    findings = only(seed.doctor(only={"E-COMPETE-1"}), "E-COMPETE-1")
    mine = [f for f in findings if f.resource.endswith(esm(seed))]
    assert len(mine) == 1 and mine[0].evidence["others"][0]["mapping"] == other
    assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit-handler" in mine[0].related
    seed.apply(mine[0].fix)
    assert seed.doctor(only={"E-COMPETE-1"}).findings == []


def test_a_mapping_on_the_dlq_instead_of_the_rules_queue_is_found_and_the_fix_maps_the_right_one(
    seed: DoctorSeed,
) -> None:
    seed.lambda_.delete_event_source_mapping(UUID=esm(seed))
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-dlq"
    wrong = seed.lambda_.create_event_source_mapping(EventSourceArn=dlq, FunctionName="user-signup-handler")["UUID"]
    targets = ("user-signup-queue", "user-signup-handler")
    [finding] = seed.doctor(targets, only={"E-SOURCE-1"}).findings
    assert finding.resource.endswith(wrong) and finding.evidence["EventSourceArn"] == dlq
    assert finding.evidence["rule_target_queues_without_consumer"] == [QUEUE]
    assert finding.evidence["rules"] == ["user-signup-rule"] and "the DLQ of user-signup-queue" in finding.message
    seed.apply(finding.fix)
    assert seed.doctor(targets, only={"E-SOURCE-1"}).findings == []


def test_a_mapping_pinned_to_an_old_version_is_found_and_the_fix_unpins_it(seed: DoctorSeed) -> None:
    old = seed.lambda_.publish_version(FunctionName="user-signup-handler")["Version"]
    seed.lambda_.update_function_configuration(FunctionName="user-signup-handler", Timeout=4)
    seed.lambda_.publish_version(FunctionName="user-signup-handler")
    seed.lambda_.delete_event_source_mapping(UUID=esm(seed))
    pinned = seed.lambda_.create_event_source_mapping(
        EventSourceArn=QUEUE, FunctionName=f"user-signup-handler:{old}", BatchSize=10
    )["UUID"]
    [finding] = seed.doctor(only={"E-ORPHAN-1"}).findings
    assert finding.resource.endswith(pinned)
    assert finding.evidence == {"FunctionArn": f"{FUNCTION}:{old}", "pinned_version": 1, "newest_version": 2}
    seed.apply(finding.fix)
    assert seed.doctor(only={"E-ORPHAN-1"}).findings == []
