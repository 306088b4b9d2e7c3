"""Execution role checks (I-*, by the offline IAM evaluator): plant the mistake, find it, apply the printed fix."""

from __future__ import annotations

import json
import shlex
from typing import Any

from evctl.sandbox import provision as pv
from tests.core.doctor.seed import ACCOUNT, FUNCTION, QUEUE, REGION, DoctorSeed

ROLE = f"arn:aws:iam::{ACCOUNT}:role/{pv.ROLE}"
LOGS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}
    ],
}  # fmt: skip


def role_policy(seed: DoctorSeed, document: dict[str, Any]) -> None:
    seed.iam.put_role_policy(RoleName=pv.ROLE, PolicyName="user-signup-handler", PolicyDocument=json.dumps(document))


def test_a_role_with_basic_permissions_only_cannot_poll_and_the_fix_allows_it(seed: DoctorSeed) -> None:
    role_policy(seed, LOGS_ONLY)  # the tutorial's "basic Lambda permissions" role
    [finding] = seed.doctor(only={"I-SQS-1"}).findings
    assert finding.check == "I-SQS-1" and finding.resource == ROLE and FUNCTION in finding.related
    assert finding.evidence["denied"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    assert finding.evidence["sqs:ReceiveMessage"]["decision"] == "implicit_deny"
    assert finding.fix.value["Statement"] == [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": QUEUE}
    ]  # fmt: skip
    assert (finding.fix.command or "").startswith(f"aws iam put-role-policy --role-name {pv.ROLE} ")
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-SQS-1"}).findings == []


def test_an_explicit_deny_on_delete_is_named_and_no_put_role_policy_is_offered(seed: DoctorSeed) -> None:
    seed.iam.put_role_policy(
        RoleName=pv.ROLE,
        PolicyName="no-delete",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "sqs:DeleteMessage", "Resource": "*"}]}),
    )  # fmt: skip
    [finding] = seed.doctor(only={"I-SQS-1"}).findings
    assert finding.evidence["denied"] == ["sqs:DeleteMessage"]
    assert finding.evidence["sqs:DeleteMessage"]["decision"] == "explicit_deny"
    assert "NoDelete" in finding.fix.summary and finding.fix.command is None


def test_a_condition_on_an_unknown_key_is_not_checked(seed: DoctorSeed) -> None:
    role_policy(seed, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE,
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "signup"}}}]})  # fmt: skip
    [outcome] = seed.doctor(only={"I-SQS-1"}).outcomes
    assert outcome.status == "not_checked" and "aws:ResourceTag/team" in (outcome.reason or "")


def test_a_role_without_log_permissions_is_found_and_the_fix_allows_writing(seed: DoctorSeed) -> None:
    permissions = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": QUEUE}]}  # fmt: skip
    role_policy(seed, permissions)
    [finding] = seed.doctor(only={"I-LOGS-1"}).findings
    assert finding.check == "I-LOGS-1" and finding.resource == ROLE
    assert finding.evidence["denied"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/user-signup-handler:*"
    assert finding.fix.value["Statement"][0]["Resource"] == group
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-LOGS-1"}).findings == []


def test_create_log_group_is_needed_while_the_group_is_missing(seed: DoctorSeed) -> None:
    seed.logs.delete_log_group(logGroupName="/aws/lambda/user-signup-handler")
    role_policy(seed, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]})  # fmt: skip
    [finding] = seed.doctor(only={"I-LOGS-1"}).findings
    assert finding.evidence["denied"] == ["logs:CreateLogGroup"] and finding.evidence["log_group_exists"] is False
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-LOGS-1"}).findings == []


def test_a_role_lambda_cannot_assume_is_found_and_the_fix_restores_the_trust(seed: DoctorSeed) -> None:
    seed.iam.update_assume_role_policy(RoleName=pv.ROLE, PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))  # fmt: skip
    [finding] = seed.doctor(only={"I-TRUST-1"}).findings
    assert finding.check == "I-TRUST-1" and finding.resource == ROLE
    assert finding.evidence["sts:AssumeRole"]["decision"] == "implicit_deny"
    assert finding.evidence["AssumeRolePolicyDocument"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert json.loads(shlex.split(finding.fix.command or "")[-1])["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-TRUST-1"}).findings == []


def _encrypt_queue(seed: DoctorSeed, policy: dict[str, Any] | None = None) -> str:
    kms = seed.raw["kms"]
    key = kms.create_key(**({"Policy": json.dumps(policy)} if policy else {}))["KeyMetadata"]
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"KmsMasterKeyId": key["KeyId"]})
    return str(key["Arn"])


def test_a_customer_managed_key_the_role_cannot_use_is_found_and_the_fix_allows_decrypt(seed: DoctorSeed) -> None:
    key_arn = _encrypt_queue(seed)  # moto's default key policy delegates to IAM (the root statement)
    [finding] = seed.doctor(only={"I-KMS-1"}).findings
    assert finding.check == "I-KMS-1" and finding.resource == ROLE and finding.evidence["key"] == key_arn
    assert finding.evidence["kms:Decrypt"]["decision"] == "implicit_deny"
    assert finding.fix.value["Statement"] == [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}]
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-KMS-1"}).findings == []


def test_a_key_policy_that_does_not_delegate_to_iam_gets_a_key_policy_fix(seed: DoctorSeed) -> None:
    admin = {"Version": "2012-10-17", "Statement": [{"Sid": "Admin", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"}, "Action": "kms:*", "Resource": "*"}]}  # fmt: skip
    _encrypt_queue(seed, admin)
    role_policy(seed, {**LOGS_ONLY, "Statement": [*LOGS_ONLY["Statement"],
                       {"Effect": "Allow", "Action": ["sqs:*", "kms:Decrypt"], "Resource": "*"}]})  # fmt: skip
    [finding] = seed.doctor(only={"I-KMS-1"}).findings
    assert "neither allows" in finding.evidence["kms:Decrypt"]["reason"]
    assert (finding.fix.command or "").startswith("aws kms put-key-policy --key-id ")
    statements = finding.fix.value["Statement"]
    assert statements[0]["Sid"] == "Admin" and statements[-1]["Principal"] == {"AWS": ROLE}
    seed.apply(finding.fix)
    assert seed.doctor(only={"I-KMS-1"}).findings == []


def _deny(seed: DoctorSeed, client: Any, operation: str) -> None:
    def deny(**_: object) -> tuple[object, dict[str, object]]:
        class Http:
            status_code = 403

        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}}

    client.meta.events.register(f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}", deny)


def test_a_denied_role_read_is_not_checked_for_every_role_check(seed: DoctorSeed) -> None:
    _deny(seed, seed.iam, "GetRole")
    report = seed.doctor(only={"I-TRUST-1", "I-SQS-1", "I-LOGS-1", "F-RECUR-1"})
    assert {(o.check, o.status, o.reason) for o in report.outcomes} == {
        (check, "not_checked", "iam:GetRole denied") for check in ("I-TRUST-1", "I-SQS-1", "I-LOGS-1", "F-RECUR-1")
    }


def test_a_denied_key_policy_read_is_not_checked(seed: DoctorSeed) -> None:
    _encrypt_queue(seed)
    _deny(seed, seed.raw["kms"], "GetKeyPolicy")
    [outcome] = seed.doctor(only={"I-KMS-1"}).outcomes
    assert (outcome.status, outcome.reason) == ("not_checked", "kms:GetKeyPolicy denied")
