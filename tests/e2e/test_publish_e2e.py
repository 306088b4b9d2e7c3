"""The installed `evctl publish` against a moto server process; the aws CLI reads what arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

from tests.helpers import run_evctl


def aws_cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The aws CLI from the same venv, with fake credentials and region, as an independent client."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    aws = str(Path(sys.executable).with_name("aws"))
    return subprocess.run([aws, *args, "--endpoint-url", endpoint], capture_output=True, text=True, env=env, timeout=60)


def signup_pipeline(endpoint: str) -> str:
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    events = boto3.client("events", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName="user-signup-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["my.webapp"], "detail-type": ["UserSignup"]}
    events.put_rule(Name="user-signup-rule", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "signup-queue", "Arn": arn}])
    return url


def test_publish_signup_reaches_the_queue_and_the_aws_cli_reads_it(moto_server: str) -> None:
    url = signup_pipeline(moto_server)

    done = run_evctl(["publish", "signup", "--set", "email=ann@example.com", "--set", "name=Ann"], endpoint=moto_server)

    assert done.returncode == 0, done.stderr
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["status"] == "ok"
    read = aws_cli(moto_server, "sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10")
    assert read.returncode == 0, read.stderr
    [message] = json.loads(read.stdout)["Messages"]
    event = json.loads(message["Body"])
    assert event["id"] == record["event_id"]
    assert (event["source"], event["detail-type"]) == ("my.webapp", "UserSignup")
    assert event["detail"]["email"] == "ann@example.com" and event["detail"]["name"] == "Ann"


def test_publish_file_from_stdin_then_unknown_bus(moto_server: str) -> None:
    url = signup_pipeline(moto_server)
    lines = "".join(
        json.dumps({"source": "my.webapp", "detail-type": "UserSignup", "detail": {"user_id": str(n)}}) + "\n"
        for n in range(23)
    )
    done = run_evctl(["publish", "--file", "-"], endpoint=moto_server, input=lines)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 23
    assert (
        int(
            boto3.client("sqs", endpoint_url=moto_server).get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        == 23
    )

    missing = run_evctl(["publish", "signup", "--bus", "nope"], endpoint=moto_server)
    assert missing.returncode == 3
    assert missing.stderr.splitlines()[-1].startswith("evctl: error: event bus 'nope' not found")
    assert "Traceback" not in missing.stderr
