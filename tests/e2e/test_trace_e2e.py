"""The installed `evctl trace` against a sandbox started in this process (moto's server, the seed pipeline, the local
runner, the sandbox's enforcement, ledgers and metrics): a healthy pipeline is every hop with a time and exit 0; each
planted mistake stops the trace at its hop and names the catalogue check that explains it, exit 1."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evctl.sandbox import lifecycle
from evctl.sandbox.mistakes.catalogue import PLANTED_TIMEOUT
from evctl.sandbox.mistakes.handlers import SLOW_HANDLER
from evctl.sandbox.mistakes.permissions import BASIC_EXECUTION, ROLE_POLICY
from evctl.sandbox.provision import DEMO_SETTINGS, FUNCTION, ROLE, HandlerSpec, queue_policy
from tests.helpers import evctl_executable, restore_default_signals, run_evctl


@pytest.fixture
def sandbox() -> Iterator[Callable[..., lifecycle.Sandbox]]:
    """start(handler=..., pollers=N) → a running sandbox (runner polling; N > 1: copies of the runner poll the same
    queue at once, as Lambda's pollers for one mapping do); stopped after the test."""
    from evctl.cli.context import sandbox_clients

    started: list[tuple[lifecycle.Sandbox, threading.Event, list[threading.Thread]]] = []

    def start(handler: HandlerSpec | None = None, *, pollers: int = 1, timeout: int | None = None) -> lifecycle.Sandbox:
        box = lifecycle.start(
            sandbox_clients, port=0, record=False, wait_seconds=1, handler=handler, settings=DEMO_SETTINGS
        )
        if timeout is not None:  # the function's Timeout, as Lambda has it and as the runner enforces it
            box.clients.lambda_.update_function_configuration(FunctionName=FUNCTION, Timeout=timeout)
            box.runner.function = replace(box.runner.function, timeout=float(timeout))
        stop = threading.Event()
        threads = [threading.Thread(target=lifecycle.serve, args=(box, stop), daemon=True)]
        for _ in range(pollers - 1):
            twin = copy.copy(box.runner)  # its own execution environment: its own invocations and log stream
            twin.invocations, twin.log_stream = [], ""
            threads.append(threading.Thread(target=twin.run, args=(stop,), daemon=True))
        for thread in threads:
            thread.start()
        started.append((box, stop, threads))
        return box

    yield start
    for _, stop, threads in started:
        stop.set()
        for thread in threads:
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


def test_a_role_that_cannot_read_the_queue_stalls_at_received_at_once_naming_i_sqs_1(
    sandbox: Callable[..., lifecycle.Sandbox],
) -> None:
    box = sandbox()
    # mistake 1's second half: the console's "basic Lambda permissions" (logs only) instead of the seed's policy
    box.clients.iam.put_role_policy(RoleName=ROLE, PolicyName=ROLE_POLICY, PolicyDocument=json.dumps(BASIC_EXECUTION))
    deadline = time.monotonic() + 30  # the runner re-checks the role every few seconds (as Lambda, after a delay)
    while not _last_result(box).startswith("PROBLEM") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _last_result(box).startswith("PROBLEM"), _last_result(box)
    code, data, _ = trace(box, "signup", timeout=60)
    assert code == 1
    assert data["status"] == "stalled" and data["stalled_at"] == "received"
    found = hops(data)
    assert found["delivered"]["status"] == "ok" and found["delivered"]["evidence"] == "ledger"
    received = found["received"]
    assert received["status"] == "stalled" and received["evidence"] == "mapping"
    assert "cannot poll" in received["detail"] and "ReceiveMessage" in received["detail"]
    assert received["data"]["mappings"][0]["uuid"] == box.pipeline.esm_uuid
    assert found["processed"]["status"] == "skipped"
    assert not data["timed_out"] and data["waited_seconds"] < 15  # decided from the mapping, not at --timeout
    assert data["likely_cause"]["check"] == "I-SQS-1"
    assert data["likely_cause"]["resource"].endswith(f":role/{ROLE}")
    # the event is still in the queue, unreceived
    attributes = box.clients.sqs.get_queue_attributes(QueueUrl=box.pipeline.queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def _last_result(box: lifecycle.Sandbox) -> str:
    mapping: dict[str, Any] = dict(box.clients.lambda_.get_event_source_mapping(UUID=box.pipeline.esm_uuid))
    return str(mapping.get("LastProcessingResult") or "")


def test_a_timeout_longer_than_the_visibility_timeout_processes_twice_naming_q_vis_1(
    sandbox: Callable[..., lifecycle.Sandbox], tmp_path: Path
) -> None:
    handler = tmp_path / "slow_handler.py"  # mistake 5: each signup takes 1.6 s; visibility 1 s; timeout 3 s
    handler.write_text(SLOW_HANDLER)
    box = sandbox(HandlerSpec(handler, "lambda_handler"), pollers=2, timeout=PLANTED_TIMEOUT)
    code, data, _ = trace(box, "signup", "--set", "email=twice@example.com")
    assert code == 1
    assert data["status"] == "duplicated" and data["stalled_at"] is None
    processed = hops(data)["processed"]
    assert processed["status"] == "duplicated" and processed["evidence"] == "ledger"
    runs = processed["data"]["processed_by"]
    assert len(runs) == 2 and runs[0]["request_id"] != runs[1]["request_id"]
    assert all(r["request_id"] in processed["detail"] for r in runs)
    assert runs[1]["start"] < runs[0]["end"]  # the second began while the first still held the message
    assert data["routes"][0]["status"] == "duplicated"
    assert data["likely_cause"]["check"] == "Q-VIS-1"
    assert data["likely_cause"]["resource"] == box.pipeline.queue_arn
    assert "Q-VIS-1" in data["checks"] and not data["timed_out"]
    # the user got two welcome emails: each invocation logged one
    found = box.clients.logs.filter_log_events(logGroupName=box.pipeline.log_group, filterPattern='"twice@example.com"')
    welcomes = [e for e in found["events"] if "Sending welcome email to: twice@example.com" in e["message"]]
    assert len(welcomes) == 2, found["events"]


def test_two_queues_targeted_by_one_rule_each_get_their_own_route(sandbox: Callable[..., lifecycle.Sandbox]) -> None:
    box = sandbox()
    sqs, events = box.clients.sqs, box.clients.events
    audit_url = sqs.create_queue(QueueName="audit-queue")["QueueUrl"]
    audit_arn = sqs.get_queue_attributes(QueueUrl=audit_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=audit_url, Attributes={"Policy": json.dumps(queue_policy(audit_arn, box.pipeline.rule_arn))}
    )
    events.put_targets(Rule="user-signup-rule", Targets=[{"Id": "audit", "Arn": audit_arn}])
    code, data, _ = trace(box, "signup")
    assert code == 1  # nothing reads the audit queue
    assert [r["id"] for r in data["routes"]] == ["user-signup-rule/audit", "user-signup-rule/user-signup-queue"]
    by_route: dict[str, list[tuple[str, str]]] = {}
    for hop in data["hops"][2:]:
        by_route.setdefault(hop["route"], []).append((hop["hop"], hop["status"]))
    assert [h["route"] for h in data["hops"][:2]] == [None, None]
    seed = next(r for r in data["routes"] if r["queue"] == "user-signup-queue")
    audit = next(r for r in data["routes"] if r["queue"] == "audit-queue")
    assert by_route[seed["id"]] == [("delivered", "ok"), ("received", "ok"), ("processed", "ok")]
    assert by_route[audit["id"]] == [("delivered", "ok"), ("received", "stalled"), ("processed", "skipped")]
    assert (seed["status"], audit["status"]) == ("processed", "stalled")
    assert data["stalled_at"] == "received"
    # the timeline a person reads: each route under its own line
    done = run_evctl(["-o", "table", "trace", "signup", "--timeout", "30"], endpoint=box.server.endpoint, timeout=90)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    headers = [n for n, line in enumerate(lines) if line.startswith("  route ")]
    assert len(headers) == 2, done.stdout
    assert any("→ audit-queue (target audit): stalled" in lines[n] for n in headers), done.stdout


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
