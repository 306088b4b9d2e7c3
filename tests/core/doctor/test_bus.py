"""Bus checks (B-*): plant the mistake on the seed pipeline, find it, apply the printed fix, see it gone."""

from __future__ import annotations

import json

import boto3
import pytest

from evctl.core.doctor import Finding, Sample
from tests.core.doctor.seed import ACCOUNT, BUS, QUEUE, REGION, RULE, SIGNUP, DoctorSeed


def _only(seed: DoctorSeed, check: str, targets: tuple[str, ...] = ("user-signup-queue",),
          samples: list[Sample] | None = None) -> list[Finding]:  # fmt: skip
    return [f for f in seed.doctor(targets, only={check}, samples=samples).findings if f.check == check]


@pytest.mark.parametrize("exists", [True, False], ids=["bus-exists", "bus-missing"])
def test_a_producer_on_another_bus_is_found_and_forwarding_fixes_it(seed: DoctorSeed, exists: bool) -> None:
    if exists:
        seed.events.create_event_bus(Name="webapp-bus")
    samples = [Sample(SIGNUP, "webapp-bus", "template signup")]
    [finding] = _only(seed, "B-BUS-1", samples=samples)
    assert finding.resource == RULE
    assert finding.evidence["rule_bus"] == "default" and finding.evidence["sample_bus"] == "webapp-bus"
    assert finding.evidence["sample_bus_exists"] is exists and finding.evidence["rule_matches_sample"] is True
    assert finding.fix.value["EventBusName"] == BUS
    seed.apply(finding.fix)
    assert _only(seed, "B-BUS-1", samples=samples) == []
    # publishing to the rule's bus (the other fix) is no finding either
    assert _only(seed, "B-BUS-1") == []


def test_the_tutorials_rule_on_default_and_events_on_a_custom_bus_is_found_with_the_pattern_wrong_too(
    seed: DoctorSeed,
) -> None:
    cloudtrail = {"detail-type": ["AWS API Call via CloudTrail"]}
    seed.events.put_rule(Name="user-signup-rule", EventBusName="default", EventPattern=json.dumps(cloudtrail))
    [finding] = _only(seed, "B-BUS-1", samples=[Sample(SIGNUP, "my-event-bus", "template signup")])
    assert finding.evidence["rule_matches_sample"] is False and finding.evidence["why_not"]


def test_a_rule_for_aws_events_on_a_custom_bus_is_found_and_a_default_bus_forwarder_fixes_it(
    seed: DoctorSeed,
) -> None:
    seed.events.create_event_bus(Name="ops")
    seed.events.put_rule(Name="s3-uploads", EventBusName="ops", EventPattern=json.dumps({"source": ["aws.s3"]}))
    seed.events.put_targets(Rule="s3-uploads", EventBusName="ops", Targets=[{"Id": "q", "Arn": QUEUE}])
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ops/s3-uploads"
    [finding] = _only(seed, "B-AWSSRC-1")
    assert finding.resource == rule_arn and finding.evidence["aws_sources"] == ["aws.s3"]
    seed.apply(finding.fix)
    assert _only(seed, "B-AWSSRC-1") == []
    [name] = seed.events.list_rule_names_by_target(
        TargetArn=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/ops", EventBusName="default"
    )["RuleNames"]
    assert name == "s3-uploads-forward"


def _webapp_bus(seed: DoctorSeed) -> str:
    arn = seed.events.create_event_bus(Name="webapp-bus")["EventBusArn"]
    seed.events.put_rule(Name="signups", EventBusName="webapp-bus", EventPattern=json.dumps({"source": ["my.webapp"]}))
    seed.events.put_targets(Rule="signups", EventBusName="webapp-bus", Targets=[{"Id": "q", "Arn": QUEUE}])
    return str(arn)


def test_a_producer_in_another_account_refused_by_the_bus_policy_is_found_and_put_permission_fixes_it(
    seed: DoctorSeed,
) -> None:
    bus = _webapp_bus(seed)
    samples = [Sample({**SIGNUP, "account": "111122223333"}, "webapp-bus", "partner signup")]
    [finding] = _only(seed, "B-POLICY-1", ("webapp-bus",), samples)
    assert finding.resource == bus and finding.evidence["producer_account"] == "111122223333"
    assert finding.evidence["decision"] == "implicit_deny"
    seed.apply(finding.fix)
    assert _only(seed, "B-POLICY-1", ("webapp-bus",), samples) == []


def test_an_unknown_producer_account_is_not_checked_and_the_same_account_passes(seed: DoctorSeed) -> None:
    bus = _webapp_bus(seed)
    event = {k: v for k, v in SIGNUP.items() if k != "account"}
    report = seed.doctor(("webapp-bus",), only={"B-POLICY-1"}, samples=[Sample(event, "webapp-bus", "signup")])
    [outcome] = [o for o in report.outcomes if o.resource == bus]
    assert outcome.status == "not_checked" and "producer's account is unknown" in (outcome.reason or "")
    report = seed.doctor(("webapp-bus",), only={"B-POLICY-1"}, samples=[Sample(SIGNUP, "webapp-bus", "signup")])
    assert [o.status for o in report.outcomes if o.resource == bus] == ["pass"]


def test_a_bus_key_disabled_then_closed_to_eventbridge_is_found_and_both_fixes_apply(seed: DoctorSeed) -> None:
    kms = boto3.client("kms", region_name=REGION)
    created = kms.create_key()["KeyMetadata"]
    key = created["Arn"]
    kms.disable_key(KeyId=created["KeyId"])
    bus = seed.events.create_event_bus(Name="secure-bus", KmsKeyIdentifier=key)["EventBusArn"]
    [finding] = _only(seed, "B-KMS-1", ("secure-bus",))
    assert finding.resource == bus and finding.evidence["KeyState"] == "Disabled"
    seed.apply(finding.fix)
    [finding] = _only(seed, "B-KMS-1", ("secure-bus",))
    assert set(finding.evidence["decisions"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    seed.apply(finding.fix)
    assert _only(seed, "B-KMS-1", ("secure-bus",)) == []


def test_a_bus_without_archive_is_an_info_finding_and_create_archive_fixes_it(seed: DoctorSeed) -> None:
    [finding] = _only(seed, "B-ARCHIVE-1")
    assert finding.resource == BUS and finding.evidence["archives"] == []
    seed.apply(finding.fix)
    assert _only(seed, "B-ARCHIVE-1") == []
