"""evctl.core.doctor.apply: a fix's aws CLI line made into the same call the aws CLI makes, applied through boto3.

Every parse is compared with what the real aws CLI (awscli, a test dependency) hands botocore for the same line;
the checks' real fix commands are applied on the seed pipeline and the finding goes away.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import shlex
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evctl.core.doctor.apply import AwsCall, CommandError, apply_command, parse_command
from evctl.errors import ExitCode
from evctl.sandbox import moto_lambda
from evctl.sandbox import provision as pv
from tests.core.doctor.seed import REGION, DoctorSeed


class _Stop(Exception):
    pass


def awscli_call(command: str, cwd: Path | None = None) -> AwsCall:
    """The operation and parameters the aws CLI itself builds from `command` (stopped before any request)."""
    import awscli
    from awscli.clidriver import create_clidriver

    os.environ["AWS_DATA_PATH"] = os.path.join(os.path.dirname(awscli.__file__), "data")
    driver = create_clidriver()
    got: dict[str, Any] = {}

    def grab(params: dict[str, Any], model: Any, **_: object) -> None:
        got["service"], got["operation"] = model.service_model.service_name, model.name
        got["params"] = copy.deepcopy(params)
        raise _Stop

    driver.session.register("provide-client-params", grab)
    here = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        driver.main([*shlex.split(command)[1:], "--region", REGION])
    finally:
        os.chdir(here)
    assert got, f"the aws CLI did not build a call for {command}"
    return AwsCall(got["service"], got["operation"], got["params"])


def same_as_awscli(command: str, cwd: Path | None = None) -> AwsCall:
    mine = parse_command(command, cwd=cwd)
    assert mine == awscli_call(command, cwd), command
    return mine


def zip_of(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


# ---- the value forms, each as the aws CLI reads it --------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "aws sqs set-queue-attributes --queue-url https://q/1/q --attributes VisibilityTimeout=18",  # map shorthand
        "aws sqs set-queue-attributes --queue-url https://q/1/q --attributes "  # map as JSON, a JSON text value
        + shlex.quote(json.dumps({"RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn", "maxReceiveCount": 5})})),
        "aws lambda update-function-configuration --function-name f --timeout 6",  # integer
        "aws lambda update-event-source-mapping --uuid u --no-enabled",  # boolean off
        "aws lambda update-event-source-mapping --uuid u --enabled --batch-size 10",  # boolean on
        "aws lambda update-event-source-mapping --uuid u --function-response-types ReportBatchItemFailures",  # words
        "aws lambda update-event-source-mapping --uuid u --function-response-types '[]'",  # list as JSON
        "aws lambda update-event-source-mapping --uuid u --metrics-config Metrics=EventCount",  # struct, list member
        "aws lambda update-event-source-mapping --uuid u --filter-criteria '{\"Filters\":[]}'",  # struct as JSON
        "aws lambda update-function-configuration --function-name f --logging-config LogFormat=Text,LogGroup=/a/b",
        "aws cloudwatch put-metric-alarm --alarm-name a --namespace AWS/SQS --metric-name M "  # list of structs
        "--dimensions Name=QueueName,Value=q --statistic Maximum --period 300 --evaluation-periods 1 --threshold 0 "
        "--comparison-operator GreaterThanThreshold --treat-missing-data notBreaching",
        "aws events put-targets --rule r --event-bus-name default --targets '[{\"Id\":\"a\",\"Arn\":\"arn\"}]'",
        "aws events put-rule --name r --event-pattern '{\"source\":[\"my.webapp\"]}' --state ENABLED "
        "--description 'it'\"'\"'s quoted'",  # a string that is JSON text stays text
        "aws iam put-role-policy --role-name r --policy-name p --policy-document '{\"Version\":\"2012-10-17\"}'",
        "aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-1 --desired-value 1000",
        "aws logs filter-log-events --log-group-name g --start-time 5 --filter-pattern ERROR",
    ],
)
def test_each_value_form_parses_as_the_aws_cli_parses_it(command: str) -> None:
    same_as_awscli(command)


def test_file_and_fileb_are_read_relative_to_cwd(tmp_path: Path) -> None:
    (tmp_path / "function.zip").write_bytes(zip_of("x = 1\n"))
    (tmp_path / "policy.json").write_text('{"Version":"2012-10-17"}', encoding="utf-8")
    call = same_as_awscli("aws lambda update-function-code --function-name f --zip-file fileb://function.zip", tmp_path)
    assert call.params["ZipFile"] == (tmp_path / "function.zip").read_bytes()
    call = same_as_awscli(
        "aws iam put-role-policy --role-name r --policy-name p --policy-document file://policy.json", tmp_path
    )
    assert call.params["PolicyDocument"] == '{"Version":"2012-10-17"}'


@pytest.mark.parametrize(
    ("command", "what"),
    [
        ("sqs list-queues", "not an `aws <service> <operation> ...` command"),
        ("aws sqs", "not an `aws <service> <operation> ...` command"),
        ("aws nosuchservice do-it", "unknown AWS service 'nosuchservice'"),
        ("aws sqs send-everything", "sqs has no operation 'send-everything'"),
        ("aws sqs list-queues --region us-east-1", "sqs list-queues has no option --region evctl can apply"),
        ("aws sqs purge-queue", "sqs purge-queue needs --queue-url"),
        ("aws sqs purge-queue --queue-url a --queue-url b", "--queue-url is given twice"),
        ("aws sqs purge-queue --queue-url", "--queue-url needs a value"),
        ("aws sqs purge-queue --queue-url a b", "--queue-url takes one value, got 2: quote it"),
        ("aws sqs purge-queue queue-url", "unexpected word 'queue-url' (expected an --option)"),
        ("aws lambda update-function-configuration --function-name f --timeout six", "--timeout: 'six' is not a number"),
        ("aws sqs set-queue-attributes --queue-url u --attributes '{bad'", "--attributes is not valid JSON"),
        ("aws sqs set-queue-attributes --queue-url u --attributes Policy", "--attributes: 'Policy' is not Key=Value"),
        ("aws lambda update-event-source-mapping --uuid u --scaling-config MaximumConcurrency={a=1}",
         "--scaling-config: nested shorthand is not supported: give it as JSON"),
        ("aws lambda update-event-source-mapping --uuid u --metrics-config Nope=1",
         "--metrics-config: no member 'Nope' (members: Metrics)"),
        ("aws sqs set-queue-attributes --queue-url u --attributes 'A=[1'", "--attributes: unbalanced '[' in 'A=[1'"),
        ("aws sqs purge-queue --queue-url 'unclosed", "not a shell command line (No closing quotation)"),
        ("aws lambda update-function-code --function-name f --zip-file fileb://missing.zip", "cannot read"),
    ],
)  # fmt: skip
def test_what_it_cannot_apply_is_refused_naming_why(command: str, what: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(command, cwd=tmp_path)
    assert what in caught.value.what
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint == "apply it with the aws CLI, or make the change by hand"


# ---- the real fix commands of the checks `evctl demo mistakes` applies, on the seed pipeline ----------------------


def apply(seed: DoctorSeed, command: str, cwd: Path | None = None) -> dict[str, Any]:
    same_as_awscli(command, cwd)
    return apply_command(lambda service: seed.raw[service], command, cwd=cwd)


def only(seed: DoctorSeed, check: str) -> list[Any]:
    return [f for f in seed.doctor(only={check}).findings if f.check == check]


def test_q_policy_1_fix_applied_through_boto3(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"Policy": ""})
    [finding] = only(seed, "Q-POLICY-1")
    apply(seed, str(finding.fix.command))
    assert only(seed, "Q-POLICY-1") == []


def test_i_sqs_1_fix_applied_through_boto3(seed: DoctorSeed) -> None:
    logs_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
    seed.iam.put_role_policy(RoleName=pv.ROLE, PolicyName="user-signup-handler", PolicyDocument=json.dumps(logs_only))
    [finding] = only(seed, "I-SQS-1")
    apply(seed, str(finding.fix.command))
    assert only(seed, "I-SQS-1") == []


def test_q_redrive_1_fix_applied_through_boto3(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"RedrivePolicy": ""})
    [finding] = only(seed, "Q-REDRIVE-1")
    apply(seed, str(finding.fix.command))
    assert only(seed, "Q-REDRIVE-1") == []
    policy = seed.sqs.get_queue_attributes(QueueUrl=seed.queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].endswith(":user-signup-dlq")


def test_r_pattern_1_fix_applied_through_boto3(seed: DoctorSeed) -> None:
    cloudtrail = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"]}
    seed.events.put_rule(Name=pv.RULE, EventBusName="default", EventPattern=json.dumps(cloudtrail))
    [finding] = only(seed, "R-PATTERN-1")
    apply(seed, str(finding.fix.command))
    assert only(seed, "R-PATTERN-1") == []


def test_q_vis_1_shorthand_fix_applied_through_boto3(seed: DoctorSeed) -> None:
    seed.lambda_.update_function_configuration(FunctionName=pv.FUNCTION, Timeout=30)
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"VisibilityTimeout": "10"})
    [finding] = only(seed, "Q-VIS-1")
    assert "--attributes VisibilityTimeout=180" in str(finding.fix.command)  # the aws CLI's shorthand
    apply(seed, str(finding.fix.command))
    assert only(seed, "Q-VIS-1") == []


def test_f_shape_1_fix_deploys_the_zip_it_names(seed: DoctorSeed, tmp_path: Path) -> None:
    """The command names fileb://function.zip (the user builds it); applied, Lambda runs that code, and with the
    sandbox's LastModified (moto_lambda: set by updates, as on AWS) the old KeyError lines no longer count."""
    moto_lambda.apply()
    try:
        group = "/aws/lambda/user-signup-handler"
        seed.logs.create_log_stream(logGroupName=group, logStreamName="s")
        seed.logs.put_log_events(
            logGroupName=group, logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "[ERROR] KeyError: 'Message'"}],
        )  # fmt: skip
        [finding] = only(seed, "F-SHAPE-1")
        archive = zip_of(pv.DEFAULT_HANDLER_FILE.read_text(encoding="utf-8"))
        (tmp_path / "function.zip").write_bytes(archive)
        time.sleep(0.01)  # the update is after the logged error
        apply(seed, str(finding.fix.command), cwd=tmp_path)
        config = seed.lambda_.get_function_configuration(FunctionName=pv.FUNCTION)
        assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(archive).digest()).decode()
        assert only(seed, "F-SHAPE-1") == []
    finally:
        moto_lambda.restore()


def test_moto_lambda_restore_puts_moto_back(seed: DoctorSeed) -> None:
    created = seed.lambda_.get_function_configuration(FunctionName=pv.FUNCTION)["LastModified"]
    moto_lambda.apply()
    moto_lambda.restore()
    time.sleep(0.01)
    seed.lambda_.update_function_configuration(FunctionName=pv.FUNCTION, Timeout=5)
    assert seed.lambda_.get_function_configuration(FunctionName=pv.FUNCTION)["LastModified"] == created
