"""The installed `evctl publish` against a moto server process; the aws CLI reads what arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3

from tests.helpers import run_evctl


def aws_cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The aws CLI from the same venv, with fake credentials and region, as an independent client."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    aws = str(Path(sys.executable).with_name("aws"))
    return subprocess.run([aws, *args, "--endpoint-url", endpoint], capture_output=True, text=True, env=env, timeout=60)


def reset_moto(endpoint: str) -> None:
    """moto's state is per process and outlives one ThreadedMotoServer: other tests' rules (say, one whose target
    queue is gone, which fails every put_events in moto) must not leak in."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)


def signup_pipeline(endpoint: str) -> str:
    reset_moto(endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    events = boto3.client("events", endpoint_url=endpoint)
    # moto's state outlives one ThreadedMotoServer in this process: fresh names per test
    suffix = uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=f"user-signup-queue-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["my.webapp"], "detail-type": ["UserSignup"]}
    events.put_rule(Name=f"user-signup-rule-{suffix}", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"user-signup-rule-{suffix}", Targets=[{"Id": "signup-queue", "Arn": arn}])
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


def test_sigint_mid_run_loses_nothing(moto_server: str, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) while publishing: exit 130; published + --failed-to = every event; the queue agrees."""
    import signal

    from tests.helpers import evctl_executable, restore_default_signals

    url = signup_pipeline(moto_server)
    events = tmp_path / "events.jsonl"
    total = 600
    events.write_text(
        "".join(
            json.dumps({"Source": "my.webapp", "DetailType": "UserSignup", "Detail": {"user_id": str(n)}}) + "\n"
            for n in range(total)
        )
    )
    failed = tmp_path / "failed.jsonl"
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_server)
    proc = subprocess.Popen(
        [evctl_executable(), "publish", "--file", str(events), "--concurrency", "2", "--failed-to", str(failed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=restore_default_signals,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(50)]  # some events are through
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    records = [json.loads(line) for line in lines + rest.splitlines() if line.strip()]

    assert proc.returncode == 130, err
    assert err.splitlines()[-1].startswith("evctl: error: interrupted: published ")
    assert "Traceback" not in err
    assert sorted(r["index"] for r in records) == list(range(total))  # every event reported once
    published = {r["index"] for r in records if r["status"] == "ok"}
    kept = [json.loads(json.loads(line)["Detail"])["user_id"] for line in failed.read_text().splitlines()]
    assert sorted(published | {int(k) for k in kept}) == list(range(total)) and not published & {int(k) for k in kept}
    in_queue = boto3.client("sqs", endpoint_url=moto_server).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert int(in_queue) == len(published) < total


def test_piping_into_head_stops_printing_not_publishing(moto_server: str, tmp_path: Path) -> None:
    from tests.helpers import evctl_executable

    url = signup_pipeline(moto_server)
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"source": "my.webapp", "detail-type": "UserSignup", "detail": {"n": n}}) + "\n"
            for n in range(30)
        )
    )
    done = subprocess.run(
        f'"{evctl_executable()}" publish --file "{events}" | head -1; exit "${{PIPESTATUS[0]}}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=dict(os.environ, AWS_ENDPOINT_URL=moto_server),
        timeout=60,
    )
    # publish moves data: a closed pipe is reported, exit 1, after publishing everything (docs/output.md)
    assert done.returncode == 1, done.stderr
    assert "cannot write to standard output: the pipe was closed" in done.stderr
    assert len(done.stdout.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "published 30 of 30 events" in done.stderr
    in_queue = boto3.client("sqs", endpoint_url=moto_server).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert int(in_queue) == 30
