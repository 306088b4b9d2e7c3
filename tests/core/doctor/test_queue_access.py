"""Queue access checks (Q-POLICY-1/2/3, Q-KMS-1/2/3): plant the mistake on the seed, see the finding with its
evidence, apply the printed fix (against the same moto) and see it gone."""

from __future__ import annotations

import json
import shlex
from typing import Any

from evctl.core.doctor import Report
from tests.core.doctor.seed import ACCOUNT, QUEUE, REGION, RULE, DoctorSeed


def _policy(seed: DoctorSeed, *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"Policy": json.dumps(document)})


def _statuses(report: Report, check: str) -> list[tuple[str, str | None]]:
    return [(o.status, o.reason) for o in report.outcomes if o.check == check and o.resource == QUEUE]


SEND = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": QUEUE,
}


def test_the_seed_queue_policy_allows_its_rule(seed: DoctorSeed) -> None:
    report = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3", "Q-KMS-1", "Q-KMS-2", "Q-KMS-3"})
    assert report.findings == []
    assert _statuses(report, "Q-POLICY-1") == [("pass", None)]


def test_no_queue_policy_is_q_policy_1_and_the_fix_adds_the_rule_statement(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"Policy": ""})
    [finding] = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"}).findings
    assert finding.check == "Q-POLICY-1" and finding.resource == QUEUE and finding.related == (RULE,)
    assert finding.evidence["rule"] == RULE and finding.evidence["Policy"] is None
    assert finding.evidence["FailedInvocations (24 h)"] == "no datapoints"  # moto emits no service metrics
    assert finding.evidence["decision"] == "implicit_deny"
    assert finding.fix.value["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE}}
    assert finding.fix.command and finding.fix.command.startswith("aws sqs set-queue-attributes --queue-url ")
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"}).findings == []


def test_a_policy_for_another_service_only_is_q_policy_1_and_the_fix_keeps_its_statements(seed: DoctorSeed) -> None:
    seed.raw["cloudwatch"].put_metric_data(
        Namespace="AWS/Events",
        MetricData=[
            {
                "MetricName": "FailedInvocations",
                "Value": 7.0,
                "Dimensions": [{"Name": "RuleName", "Value": "user-signup-rule"}],
            }
        ],
    )
    other = {
        "Sid": "Sns",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
    }
    _policy(seed, other)
    [finding] = seed.doctor(only={"Q-POLICY-1"}).findings
    assert finding.evidence["Policy"]["Statement"] == [other]
    assert finding.evidence["FailedInvocations (24 h)"] == 7.0
    seed.apply(finding.fix)
    stored = json.loads(
        seed.sqs.get_queue_attributes(QueueUrl=seed.queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert stored["Statement"][0] == other and len(stored["Statement"]) == 2
    assert seed.doctor(only={"Q-POLICY-1"}).findings == []


def test_a_source_arn_of_another_rule_is_q_policy_2_with_the_near_miss_as_evidence(seed: DoctorSeed) -> None:
    stale = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/user-signup-rule-old"
    _policy(seed, {**SEND, "Sid": "AllowUserSignupRule", "Condition": {"ArnEquals": {"aws:SourceArn": stale}}})
    report = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"})
    [finding] = report.findings
    assert finding.check == "Q-POLICY-2" and finding.evidence["rule"] == RULE
    [near] = finding.evidence["near_misses"]
    assert near["statement"]["Condition"] == {"ArnEquals": {"aws:SourceArn": stale}}
    assert _statuses(report, "Q-POLICY-1") == [("pass", None)]
    assert finding.fix.value["Sid"] == "AllowEventBridgeUserSignupRule"
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"}).findings == []


def test_a_near_miss_after_a_deny_is_named_by_its_own_statement_number(seed: DoctorSeed) -> None:
    guard = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": QUEUE,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    near = {**SEND, "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}}}
    _policy(seed, guard, near)
    [finding] = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"}).findings
    assert finding.check == "Q-POLICY-2"
    assert finding.evidence["near_misses"][0]["statement"] == near
    assert finding.evidence["near_misses"][0]["label"] == "statement #1"
    assert "aws:SourceAccount 210987654321 (request: 123456789012)" in finding.message
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"}).findings == []


def test_an_org_guard_deny_is_q_policy_3_and_the_fix_exempts_aws_services(seed: DoctorSeed) -> None:
    guard = {
        "Sid": "OrgOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": QUEUE,
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    _policy(seed, {**SEND, "Sid": "Send", "Condition": {"ArnEquals": {"aws:SourceArn": RULE}}}, guard)
    report = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"})
    [finding] = report.findings
    assert finding.check == "Q-POLICY-3" and finding.evidence["deny_statements"] == [guard]
    assert finding.evidence["decision"] == "explicit_deny"
    [changed] = finding.fix.value
    assert changed["Condition"]["BoolIfExists"] == {"aws:PrincipalIsAWSService": "false"}
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"}).findings == []


def test_a_condition_on_an_unknown_key_is_not_checked_naming_the_key(seed: DoctorSeed) -> None:
    _policy(seed, {**SEND, "Condition": {"StringEquals": {"aws:ResourceTag/team": "signup"}}})
    report = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"})
    assert report.findings == []
    [(status, reason)] = _statuses(report, "Q-POLICY-1")
    assert status == "not_checked" and reason and "aws:resourcetag/team" in reason.lower()


def test_the_fix_command_splits_into_valid_json(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"Policy": ""})
    [finding] = seed.doctor(only={"Q-POLICY-1"}).findings
    assert finding.fix.command
    words = shlex.split(finding.fix.command)
    attributes = json.loads(words[words.index("--attributes") + 1])
    assert json.loads(attributes["Policy"])["Statement"] == [finding.fix.value]


# ---- KMS ------------------------------------------------------------------------------------------------------------
def _encrypt(seed: DoctorSeed, key_id: str) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"KmsMasterKeyId": key_id})


def test_alias_aws_sqs_is_q_kms_1_and_the_fix_switches_to_sse_sqs(seed: DoctorSeed) -> None:
    _encrypt(seed, "alias/aws/sqs")
    report = seed.doctor(only={"Q-KMS-1", "Q-KMS-2", "Q-KMS-3"})
    [finding] = report.findings
    assert finding.check == "Q-KMS-1" and finding.evidence == {"KmsMasterKeyId": "alias/aws/sqs"}
    assert finding.related == (RULE,)
    seed.apply(finding.fix)
    attributes = seed.sqs.get_queue_attributes(QueueUrl=seed.queue_url, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes and attributes["SqsManagedSseEnabled"] == "true"
    assert seed.doctor(only={"Q-KMS-1"}).findings == []


def test_an_aws_managed_key_by_arn_is_q_kms_1_from_describe_key(seed: DoctorSeed) -> None:
    """moto has no AWS managed keys: DescribeKey answers with AWS's shape for one (KeyManager AWS)."""
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f2ba1c3-7d4e-4b53-9d1a-3c2f0e6d7a11"
    _encrypt(seed, key_arn)

    class Http:
        status_code = 200

    def describe(**_: object) -> tuple[Http, dict[str, Any]]:
        return Http(), {
            "KeyMetadata": {
                "AWSAccountId": ACCOUNT,
                "KeyId": key_arn.rsplit("/", 1)[1],
                "Arn": key_arn,
                "Enabled": True,
                "KeyState": "Enabled",
                "KeyManager": "AWS",
                "Description": "Default key that protects my SQS messages when no other key is defined",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "Origin": "AWS_KMS",
            }
        }

    seed.raw["kms"].meta.events.register("before-call.kms.DescribeKey", describe)
    [finding] = seed.doctor(only={"Q-KMS-1"}).findings
    assert finding.evidence == {"KmsMasterKeyId": key_arn, "KeyArn": key_arn, "KeyManager": "AWS"}
    assert finding.fix.command == (
        f"aws sqs set-queue-attributes --queue-url {seed.queue_url} "
        """--attributes '{"KmsMasterKeyId":"","SqsManagedSseEnabled":"true"}'"""
    )


def test_a_customer_key_without_eventbridge_is_q_kms_2_and_the_fix_adds_the_statement(seed: DoctorSeed) -> None:
    kms = seed.raw["kms"]
    key_arn = kms.create_key(Description="signup")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/signup", TargetKeyId=key_arn)
    _encrypt(seed, "alias/signup")
    report = seed.doctor(only={"Q-KMS-1", "Q-KMS-2", "Q-KMS-3"})
    [finding] = report.findings
    assert finding.check == "Q-KMS-2" and finding.evidence["KeyArn"] == key_arn
    assert set(finding.evidence["decisions"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert finding.evidence["key_policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert finding.fix.value["Principal"] == {"Service": "events.amazonaws.com"}
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-KMS-2"}).findings == []


def test_a_key_policy_that_lets_eventbridge_in_only_through_sqs_is_no_finding(seed: DoctorSeed) -> None:
    # EventBridge's KMS calls for an SSE-KMS queue come through SQS: kms:ViaService and the queue's encryption
    # context are present (as the sandbox's delivery asks it), so a statement narrowed to them allows
    kms = seed.raw["kms"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "EventBridgeThroughSqs", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com",
                                        "kms:EncryptionContext:aws:sqs:arn": QUEUE}}},
    ]}  # fmt: skip
    key_arn = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    _encrypt(seed, key_arn)
    report = seed.doctor(only={"Q-KMS-2"})
    assert report.findings == [] and {o.status for o in report.outcomes if o.resource == QUEUE} == {"pass"}


def test_a_disabled_key_is_q_kms_3_and_enable_key_fixes_it(seed: DoctorSeed) -> None:
    kms = seed.raw["kms"]
    key = kms.create_key()["KeyMetadata"]
    key_arn = key["Arn"]
    _encrypt(seed, key_arn)
    kms.disable_key(KeyId=key["KeyId"])
    [finding] = seed.doctor(only={"Q-KMS-3"}).findings
    assert (
        finding.evidence["KeyState"] == "Disabled"
        and finding.fix.command == f"aws kms enable-key --key-id {key['KeyId']}"
    )
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-KMS-3"}).findings == []


def test_a_key_pending_deletion_is_q_kms_3_cancel_then_enable(seed: DoctorSeed) -> None:
    kms = seed.raw["kms"]
    key = kms.create_key()["KeyMetadata"]
    key_arn = key["Arn"]
    _encrypt(seed, key_arn)
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    [finding] = seed.doctor(only={"Q-KMS-3"}).findings
    assert finding.evidence["KeyState"] == "PendingDeletion" and "DeletionDate" in finding.evidence
    seed.apply(finding.fix)
    [then] = seed.doctor(only={"Q-KMS-3"}).findings
    assert then.evidence["KeyState"] == "Disabled"
    seed.apply(then.fix)
    assert seed.doctor(only={"Q-KMS-3"}).findings == []


def test_alias_aws_sqs_is_not_checked_by_q_kms_2_and_3_never_passed(seed: DoctorSeed) -> None:
    _encrypt(seed, "alias/aws/sqs")
    report = seed.doctor(only={"Q-KMS-2", "Q-KMS-3"})
    assert [o.status for o in report.outcomes if o.resource == QUEUE] == ["not_checked", "not_checked"]


def _deny(client: Any, operation: str) -> None:
    class Http:
        status_code = 400

    def deny(**_: object) -> tuple[Http, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}

    client.meta.events.register(f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}", deny)


def test_a_denied_describe_key_or_key_policy_is_not_checked_never_a_pass(seed: DoctorSeed) -> None:
    kms = seed.raw["kms"]
    _encrypt(seed, kms.create_key()["KeyMetadata"]["Arn"])
    _deny(kms, "GetKeyPolicy")
    report = seed.doctor(only={"Q-KMS-1", "Q-KMS-2", "Q-KMS-3"})
    assert _statuses(report, "Q-KMS-2") == [("not_checked", "kms:GetKeyPolicy denied")]
    _deny(kms, "DescribeKey")
    report = seed.doctor(only={"Q-KMS-1", "Q-KMS-2", "Q-KMS-3"})
    assert {check: _statuses(report, check) for check in ("Q-KMS-1", "Q-KMS-2", "Q-KMS-3")} == {
        check: [("not_checked", "kms:DescribeKey denied")] for check in ("Q-KMS-1", "Q-KMS-2", "Q-KMS-3")
    }


def test_a_custom_bus_rule_under_the_default_bus_arn_form_is_q_policy_2(seed: DoctorSeed) -> None:
    """The rule ARN is DescribeRule's (rule/<bus>/<rule> on a custom bus), never built from the name."""
    seed.events.create_event_bus(Name="signups")
    custom = seed.events.put_rule(
        Name="vip-signup-rule", EventBusName="signups", EventPattern=json.dumps({"source": ["my.webapp"]})
    )["RuleArn"]
    assert custom == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/signups/vip-signup-rule"
    seed.events.put_targets(Rule="vip-signup-rule", EventBusName="signups", Targets=[{"Id": "q", "Arn": QUEUE}])
    guessed = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/vip-signup-rule"
    _policy(
        seed,
        {**SEND, "Sid": "AllowUserSignupRule", "Condition": {"ArnEquals": {"aws:SourceArn": RULE}}},
        {**SEND, "Sid": "AllowVip", "Condition": {"ArnEquals": {"aws:SourceArn": guessed}}},
    )
    [finding] = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"}).findings
    assert finding.check == "Q-POLICY-2" and finding.evidence["rule"] == custom
    assert [n["label"] for n in finding.evidence["near_misses"]] == ["Sid 'AllowUserSignupRule'", "Sid 'AllowVip'"]
    assert finding.fix.value["Condition"] == {"ArnEquals": {"aws:SourceArn": custom}}
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2"}).findings == []


def test_rules_not_all_read_make_the_access_checks_not_checked_never_a_pass(seed: DoctorSeed) -> None:
    _deny(seed.events, "ListRuleNamesByTarget")
    report = seed.doctor(only={"Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3"})
    reason = "the rules that target the queue were not all read (not read: events:ListRuleNamesByTarget denied)"
    assert {check: _statuses(report, check) for check in ("Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3")} == {
        check: [("not_checked", reason)] for check in ("Q-POLICY-1", "Q-POLICY-2", "Q-POLICY-3")
    }
