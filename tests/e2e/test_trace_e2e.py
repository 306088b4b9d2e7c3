"""The installed `evctl trace` against a sandbox started in this process (moto's server, the seed pipeline, the local
runner, the sandbox's enforcement, ledgers and metrics): a healthy pipeline is every hop with a time and exit 0; each
planted mistake stops the trace at its hop and names the catalogue check that explains it, exit 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evctl.sandbox import lifecycle
from evctl.sandbox.provision import DEMO_SETTINGS, HandlerSpec
from tests.helpers import evctl_executable, restore_default_signals, run_evctl


@pytest.fixture
def sandbox() -> Iterator[Callable[..., lifecycle.Sandbox]]:
    """start(handler=...) → a running sandbox (runner polling); stopped after the test."""
    from evctl.cli.context import sandbox_clients

    started: list[tuple[lifecycle.Sandbox, threading.Event, threading.Thread]] = []

    def start(handler: HandlerSpec | None = None) -> lifecycle.Sandbox:
        box = lifecycle.start(
            sandbox_clients, port=0, record=False, wait_seconds=1, handler=handler, settings=DEMO_SETTINGS
        )
        stop = threading.Event()
        thread = threading.Thread(target=lifecycle.serve, args=(box, stop), daemon=True)
        thread.start()
        started.append((box, stop, thread))
        return box

    yield start
    for _, stop, thread in started:
        stop.set()
        thread.join(timeout=30)


def trace(box: lifecycle.Sandbox, *args: str, timeout: int = 30) -> tuple[int, dict[str, Any], str]:
    done = run_evctl(
        ["-o", "json", "trace", *args, "--timeout", str(timeout)], endpoint=box.server.endpoint, timeout=timeout + 60
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def hops(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {hop["hop"]: hop for hop in data["hops"]}


def test_a_healthy_pipeline_is_every_hop_with_a_time_and_exit_0(sandbox: Callable[..., lifecycle.Sandbox]) -> None:
    box = sandbox()
    code, data, err = trace(box, "signup", "--set", "email=ok@example.com")
    assert code == 0, (data, err)
    assert data["schema"] == "evctl.trace/1" and data["status"] == "processed" and data["stalled_at"] is None
    assert [h["hop"] for h in data["hops"]] == ["published", "matched", "delivered", "received", "processed"]
    assert all(h["status"] == "ok" and h["time"] and h["elapsed_seconds"] >= 0 for h in data["hops"]), data["hops"]
    elapsed = [h["elapsed_seconds"] for h in data["hops"]]
    assert elapsed == sorted(elapsed)
    found = hops(data)
    assert found["delivered"]["evidence"] == "ledger" and found["delivered"]["resource"] == box.pipeline.queue_arn
    assert found["processed"]["evidence"] == "ledger" and found["processed"]["exact"] is True
    assert data["rules"]["matched"] == ["user-signup-rule"] and data["likely_cause"] is None
    assert data["event_id"] == data["event"]["id"] and data["event"]["detail"]["email"] == "ok@example.com"


def test_a_pattern_that_never_matches_stops_at_matched_naming_r_pattern_1(
    sandbox: Callable[..., lifecycle.Sandbox],
) -> None:
    box = sandbox()
    cloudtrail = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"]}
    box.clients.events.put_rule(Name="user-signup-rule", EventPattern=json.dumps(cloudtrail))
    code, data, _ = trace(box, "signup")
    assert code == 1
    assert data["status"] == "stalled" and data["stalled_at"] == "matched"
    assert [h["hop"] for h in data["hops"]] == ["published", "matched"]
    [miss] = data["rules"]["near_misses"]
    assert miss["rule"] == "user-signup-rule"
    assert miss["why_not"][0] == 'source: wanted "aws.cloudtrail", got "my.webapp"'
    assert data["likely_cause"]["check"] == "R-PATTERN-1"
    assert data["likely_cause"]["resource"].endswith(":rule/user-signup-rule")


def test_a_handler_keyerror_fails_poisons_and_dead_letters_naming_f_shape_1(
    sandbox: Callable[..., lifecycle.Sandbox], tmp_path: Path
) -> None:
    handler = tmp_path / "seed_handler.py"
    handler.write_text(
        textwrap.dedent("""\
        import json

        def lambda_handler(event, context):
            for record in event['Records']:
                message_body = json.loads(record['body'])
                user_data = json.loads(message_body['Message'])  # the seed's SNS envelope
                print(f"Sending welcome email to: {user_data['email']}")
            return {'statusCode': 200}
        """)
    )
    box = sandbox(HandlerSpec(handler, "lambda_handler"))
    code, data, _ = trace(box, "signup")
    assert code == 1
    assert data["stalled_at"] == "processed"
    found = hops(data)
    assert found["delivered"]["status"] == "ok" and found["received"]["status"] == "ok"
    assert found["processed"]["status"] == "stalled" and "KeyError" in found["processed"]["detail"]
    assert found["dead_lettered"]["status"] == "ok" and found["dead_lettered"]["time"]
    assert found["dead_lettered"]["resource"] == box.pipeline.dlq_arn
    assert data["likely_cause"]["check"] == "F-SHAPE-1"
    # the peek released it: the DLQ still holds the message
    attributes = box.clients.sqs.get_queue_attributes(QueueUrl=box.pipeline.dlq_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_no_dlq_a_poison_event_cycles_and_the_trace_names_q_redrive_1(
    sandbox: Callable[..., lifecycle.Sandbox],
) -> None:
    box = sandbox()
    box.clients.sqs.set_queue_attributes(QueueUrl=box.pipeline.queue_url, Attributes={"RedrivePolicy": ""})
    code, data, _ = trace(box, "signup", "--set", "email=")  # no email: the seed's corrected handler raises
    assert code == 1
    assert data["stalled_at"] == "processed"
    processed = hops(data)["processed"]
    assert processed["status"] == "stalled" and "no DLQ" in processed["detail"]
    assert "dead_lettered" not in hops(data)
    assert data["likely_cause"]["check"] == "Q-REDRIVE-1"


def test_a_missing_queue_policy_is_refused_at_delivered_naming_q_policy_1(
    sandbox: Callable[..., lifecycle.Sandbox],
) -> None:
    box = sandbox()
    box.clients.sqs.set_queue_attributes(QueueUrl=box.pipeline.queue_url, Attributes={"Policy": ""})
    code, data, _ = trace(box, "signup")
    assert code == 1
    assert data["stalled_at"] == "delivered"
    delivered = hops(data)["delivered"]
    assert delivered["status"] == "stalled" and delivered["evidence"] == "ledger"
    assert "NO_PERMISSIONS" in delivered["detail"]
    assert [h["hop"] for h in data["hops"]] == ["published", "matched", "delivered"]
    assert data["likely_cause"]["check"] == "Q-POLICY-1"
    # the event never reached the queue
    attributes = box.clients.sqs.get_queue_attributes(QueueUrl=box.pipeline.queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_prints_what_is_known_so_far(
    sandbox: Callable[..., lifecycle.Sandbox], tmp_path: Path, signum: int
) -> None:
    handler = tmp_path / "slow_handler.py"  # times out every time: the trace waits at `processed`
    handler.write_text("import time\n\ndef lambda_handler(event, context):\n    time.sleep(60)\n")
    box = sandbox(HandlerSpec(handler, "lambda_handler"))
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [evctl_executable(), "-o", "json", "trace", "signup", "--timeout", "120"],
            stdout=stdout,
            stderr=stderr,
            env=dict(os.environ, AWS_ENDPOINT_URL=box.server.endpoint),
            start_new_session=True,
            preexec_fn=restore_default_signals,
        )
    try:
        deadline = time.monotonic() + 60
        while not box.runner.invocations and time.monotonic() < deadline:  # the event reached the handler
            assert proc.poll() is None, err.read_text()
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signum)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 128 + signum, err.read_text()
    assert "Traceback" not in err.read_text() and "internal error" not in err.read_text()
    data = json.loads(out.read_text())  # what is known so far, as one strict JSON document
    found = hops(data)
    assert found["published"]["status"] == "ok" and found["matched"]["status"] == "ok"
    assert found["delivered"]["status"] == "ok"
