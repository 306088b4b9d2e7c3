"""Rule and pattern checks (R-*): plant the mistake on the seed pipeline, find it, apply the printed fix, see it gone."""

from __future__ import annotations

import json

import pytest

from evctl.core.doctor import Sample
from tests.core.doctor.seed import BUS, QUEUE, RULE, SIGNUP, DoctorSeed

CLOUDTRAIL = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"]}
SEED_PATTERN = {"source": ["my.webapp"], "detail-type": ["UserSignup"]}


def _only(seed: DoctorSeed, check: str, **kwargs: object) -> list:  # type: ignore[type-arg]
    return [f for f in seed.doctor(only={check}, **kwargs).findings if f.check == check]  # type: ignore[arg-type]


def test_a_disabled_rule_is_found_and_enable_rule_fixes_it(seed: DoctorSeed) -> None:
    seed.events.disable_rule(Name="user-signup-rule", EventBusName="default")
    [finding] = _only(seed, "R-STATE-1")
    assert finding.resource == RULE and finding.evidence["State"] == "DISABLED"
    assert finding.fix.command == "aws events enable-rule --name user-signup-rule --event-bus-name default"
    seed.apply(finding.fix)
    assert _only(seed, "R-STATE-1") == []


def test_the_tutorials_cloudtrail_pattern_matches_no_sample_and_put_rule_fixes_it(seed: DoctorSeed) -> None:
    seed.events.put_rule(Name="user-signup-rule", EventBusName="default", EventPattern=json.dumps(CLOUDTRAIL))
    [finding] = _only(seed, "R-PATTERN-1")
    assert finding.resource == RULE
    assert finding.evidence["EventPattern"] == CLOUDTRAIL and finding.evidence["matched"] == 0
    assert finding.evidence["sample"]["event"]["source"] == "my.webapp"
    assert any("source" in line and "my.webapp" in line for line in finding.evidence["why_not"])
    assert finding.fix.value == SEED_PATTERN
    seed.apply(finding.fix)
    assert _only(seed, "R-PATTERN-1") == []
    rule = seed.events.describe_rule(Name="user-signup-rule", EventBusName="default")
    assert json.loads(rule["EventPattern"]) == SEED_PATTERN and rule["State"] == "ENABLED"


def test_pattern_checks_without_samples_are_not_checked(seed: DoctorSeed) -> None:
    outcomes = [o for o in seed.doctor(only={"R-PATTERN-1"}, samples=[]).outcomes if o.resource == RULE]
    assert [(o.status, o.reason) for o in outcomes] == [("not_checked", "no sample events: pass --sample")]


def test_a_pattern_without_source_is_too_broad_and_the_fix_adds_the_samples_source(seed: DoctorSeed) -> None:
    seed.events.put_rule(
        Name="user-signup-rule", EventBusName="default", EventPattern=json.dumps({"detail-type": ["UserSignup"]})
    )
    [finding] = _only(seed, "R-PATTERN-2")
    assert finding.resource == RULE and "no source filter" in finding.evidence["why"]
    assert finding.fix.value == {"detail-type": ["UserSignup"], "source": ["my.webapp"]}
    seed.apply(finding.fix)
    assert _only(seed, "R-PATTERN-2") == []
    assert _only(seed, "R-PATTERN-1") == []


def test_a_rule_without_targets_is_found_and_put_targets_fixes_it(seed: DoctorSeed) -> None:
    seed.events.remove_targets(Rule="user-signup-rule", EventBusName="default", Ids=["user-signup-queue"])
    [finding] = _only(seed, "R-TARGETS-1", targets=("default", "user-signup-queue"))
    assert finding.resource == RULE and finding.evidence["candidate_queues"] == [QUEUE]
    assert finding.fix.command and "put-targets" in finding.fix.command
    seed.apply(finding.fix)
    assert _only(seed, "R-TARGETS-1", targets=("default", "user-signup-queue")) == []
    [target] = seed.events.list_targets_by_rule(Rule="user-signup-rule")["Targets"]
    assert target["Arn"] == QUEUE


def test_the_same_queue_twice_on_one_rule_is_a_duplicate_and_remove_targets_fixes_it(seed: DoctorSeed) -> None:
    seed.events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "again", "Arn": QUEUE}])
    [finding] = _only(seed, "R-DUP-1")
    assert finding.resource == QUEUE and finding.evidence["target_ids"] == ["again", "user-signup-queue"]
    seed.apply(finding.fix)
    assert _only(seed, "R-DUP-1") == []


def test_two_rules_matching_one_event_and_targeting_the_queue_are_a_duplicate(seed: DoctorSeed) -> None:
    seed.events.put_rule(Name="signup-copy", EventBusName="default", EventPattern=json.dumps({"source": ["my.webapp"]}))
    seed.events.put_targets(Rule="signup-copy", Targets=[{"Id": "copy", "Arn": QUEUE}])
    [finding] = _only(seed, "R-DUP-1")
    assert finding.resource == QUEUE and len(finding.evidence["rules"]) == 2
    assert (
        finding.fix.command
        == "aws events remove-targets --rule user-signup-rule --event-bus-name default --ids user-signup-queue"
        or (finding.fix.command == "aws events remove-targets --rule signup-copy --event-bus-name default --ids copy")
    )
    seed.apply(finding.fix)
    assert _only(seed, "R-DUP-1") == []
    # An event only one of them matches is no duplicate.
    other = {**SIGNUP, "detail-type": "UserDeleted"}
    seed.events.put_targets(Rule="signup-copy", Targets=[{"Id": "copy", "Arn": QUEUE}])
    seed.events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "user-signup-queue", "Arn": QUEUE}])
    assert _only(seed, "R-DUP-1", samples=[Sample(other, "default", "other")]) == []


def test_a_consumer_that_may_put_events_and_a_pattern_without_source_is_a_loop(seed: DoctorSeed) -> None:
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}
    seed.iam.put_role_policy(RoleName="user-signup-handler-role", PolicyName="emit", PolicyDocument=json.dumps(allow))
    assert _only(seed, "R-LOOP-1") == []  # the seed's pattern selects the producer's source: not decidable, no finding
    seed.events.put_rule(
        Name="user-signup-rule", EventBusName="default", EventPattern=json.dumps({"detail-type": ["UserSignup"]})
    )
    [finding] = _only(seed, "R-LOOP-1")
    assert finding.resource == RULE and finding.evidence["events:PutEvents"]["decision"] == "allow"
    assert finding.evidence["role"].endswith(":role/user-signup-handler-role")
    seed.apply(finding.fix)
    report = seed.doctor(only={"R-LOOP-1"})
    assert report.findings == []
    [outcome] = [o for o in report.outcomes if o.resource == RULE]
    assert outcome.status == "not_checked" and "user-signup-handler may put events" in (outcome.reason or "")


def test_a_consumer_that_cannot_put_events_is_no_loop(seed: DoctorSeed) -> None:
    seed.events.put_rule(
        Name="user-signup-rule", EventBusName="default", EventPattern=json.dumps({"detail-type": ["X"]})
    )
    report = seed.doctor(only={"R-LOOP-1"})
    assert [o.status for o in report.outcomes if o.resource == RULE] == ["pass"]


def _deny(**_: object) -> tuple[object, dict[str, object]]:
    class Http:
        status_code = 403

    return Http(), {"Error": {"Code": "AccessDeniedException", "Message": "no"}}


@pytest.mark.parametrize(
    ("service", "operation", "checks"),
    [
        ("events", "ListRules", {"R-STATE-1", "R-PATTERN-1", "R-DUP-1", "B-BUS-1", "T-RETRY-1", "TD-TYPE-1"}),
        ("events", "ListTargetsByRule", {"R-TARGETS-1", "T-RETRY-1", "T-INPUT-1", "T-ARN-1", "TD-TYPE-1"}),
        ("events", "DescribeEventBus", {"B-POLICY-1", "B-KMS-1", "B-ARCHIVE-1", "R-LOOP-1"}),
        ("iam", "GetRole", {"R-LOOP-1"}),
    ],
)
def test_a_denied_read_makes_the_eventbridge_checks_not_checked_never_a_pass(
    seed: DoctorSeed, service: str, operation: str, checks: set[str]
) -> None:
    seed.raw[service].meta.events.register(
        f"before-call.{seed.raw[service].meta.service_model.service_id.hyphenize()}.{operation}", _deny
    )
    report = seed.doctor(("user-signup-queue",), only=checks)
    action = f"{service}:{operation}"
    outcomes = {(o.check, o.status, o.reason) for o in report.outcomes if o.resource in (RULE, QUEUE, BUS)}
    assert {c for c, _, _ in outcomes} == checks
    assert all(status == "not_checked" and reason == f"{action} denied" for _, status, reason in outcomes), outcomes


def test_the_tutorials_pipeline_gets_the_eventbridge_findings_section_7_predicts(seed: DoctorSeed) -> None:
    """Rule on default selecting CloudTrail, events published to a custom bus, an {"event": "$"} transform, no DLQ."""
    seed.events.put_rule(
        Name="user-signup-rule",
        EventBusName="default",
        EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}),
    )
    transformer = {"InputPathsMap": {"event": "$"}, "InputTemplate": '{"event": <event>}'}
    seed.events.put_targets(
        Rule="user-signup-rule", Targets=[{"Id": "user-signup-queue", "Arn": QUEUE, "InputTransformer": transformer}]
    )
    samples = [Sample(SIGNUP, "my-event-bus", "template signup")]
    report = seed.doctor(samples=samples, only={"R-PATTERN-1", "B-BUS-1", "T-INPUT-1", "T-RETRY-1", "R-STATE-1"})
    assert sorted(f.check for f in report.findings) == ["B-BUS-1", "R-PATTERN-1", "T-INPUT-1", "T-RETRY-1"]
    [t_input] = [f for f in report.findings if f.check == "T-INPUT-1"]
    assert json.loads(t_input.evidence["queue_receives"])["event"]["source"] == "my.webapp"


def test_a_rule_for_another_producer_is_not_checked_when_every_sample_is_taken_by_another_rule(
    seed: DoctorSeed,
) -> None:
    seed.events.put_rule(Name="orders", EventBusName="default", EventPattern=json.dumps({"source": ["my.shop"]}))
    seed.events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": QUEUE}])
    report = seed.doctor(only={"R-PATTERN-1"})
    assert report.findings == []
    [outcome] = [o for o in report.outcomes if o.resource.endswith(":rule/orders")]
    assert outcome.status == "not_checked" and "taken by another rule" in (outcome.reason or "")
    # a sample no rule takes fails both rules: it is someone's event
    lost = {**SIGNUP, "source": "my.webap"}
    findings = _only(seed, "R-PATTERN-1", samples=[Sample(lost, "default", "typo")])
    assert sorted(f.resource.rsplit("/", 1)[-1] for f in findings) == ["orders", "user-signup-rule"]


def test_a_rule_targeting_the_wrong_queue_is_found_and_the_fix_targets_the_consumed_one(seed: DoctorSeed) -> None:
    seed.sqs.create_queue(QueueName="user-signup-queue-old")
    old = QUEUE + "-old"
    seed.events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "user-signup-queue", "Arn": old}])
    [finding] = _only(seed, "R-TARGETS-1", targets=("default", "user-signup-queue"))
    assert finding.evidence["Targets"] == [old] and finding.evidence["candidate_queues"] == [QUEUE]
    assert "user-signup-handler reads" in finding.message
    seed.apply(finding.fix)
    assert _only(seed, "R-TARGETS-1", targets=("default", "user-signup-queue")) == []
