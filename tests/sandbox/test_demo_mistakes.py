"""`evctl demo mistakes`: each Common Mistake planted, its symptom seen, named by doctor by id, fixed by doctor's printed
command, and a welcome email at the end; a fix that does not fix makes the step fail and the command exit 1."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.sandbox import demo, state
from tests.helpers import evctl_executable, restore_default_signals, run_cli, run_evctl

EXPECTED = {1: ["Q-POLICY-1", "I-SQS-1"], 2: ["Q-REDRIVE-1"], 3: ["R-PATTERN-1"], 4: ["F-SHAPE-1"], 5: ["Q-VIS-1"]}
WELCOME = "Sending welcome email to: test@example.com"


def by_mistake(stdout: str) -> dict[int, list[dict[str, Any]]]:
    steps: dict[int, list[dict[str, Any]]] = {}
    for line in stdout.splitlines():
        step = json.loads(line)
        steps.setdefault(step["mistake"], []).append(step)
    return steps


def test_the_installed_command_verifies_all_five_mistakes_in_under_60_s() -> None:
    started = time.monotonic()
    result = run_evctl(["-o", "json", "demo", "mistakes"], timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    steps = by_mistake(result.stdout)
    assert sorted(steps) == [1, 2, 3, 4, 5]
    for number, checks in EXPECTED.items():
        _plant, publish, _symptom, doctor, fix, again, welcome = steps[number]
        assert all(step["ok"] for step in steps[number]), number
        assert all(step["checks"] == checks for step in steps[number])
        # doctor names the mistake by its catalogue id, with evidence and the command it prints
        assert [f["check"] for f in doctor["findings"]] == checks
        assert all(f["evidence"] and f["fix"]["command"].startswith("aws ") for f in doctor["findings"])
        # the printed commands are the ones applied
        assert fix["commands"] == [f["fix"]["command"] for f in doctor["findings"]]
        assert any(WELCOME in line for line in welcome["log_lines"]), number
        assert publish["event_id"] != again["event_id"]
    # each symptom as the user meets it
    assert steps[1][2]["FailedInvocations"] >= 1 and steps[1][2]["queue_depth"] == 0
    assert steps[1][2]["LastProcessingResult"].startswith("PROBLEM: ")
    assert steps[2][2]["receives"] >= 4  # more than the seed's maxReceiveCount 3, and still no DLQ
    assert steps[3][2]["matched_rules"] == []
    assert any("KeyError: 'Message'" in line for line in steps[4][2]["log_lines"])
    assert steps[5][2]["receives"] == 2 and steps[5][2]["welcome_emails"] == 2
    assert result.stderr.endswith("every step of 5 mistake(s) verified\n")
    assert elapsed < 60, f"demo mistakes took {elapsed:.1f} s"
    assert state.read() is None  # its sandbox was its own


@pytest.fixture
def broken_fix(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The applier is handed a wrong fix: R-PATTERN-1's pattern with a typo in the source (still matches nothing)."""
    from evctl.sandbox.mistakes import steps

    applied: list[str] = []
    real = steps.apply_command

    def typo(client_for: Any, command: str, **kwargs: Any) -> Any:
        applied.append(command)
        return real(client_for, command.replace('"my.webapp"', '"my.webap"'), **kwargs)

    monkeypatch.setattr(steps, "apply_command", typo)
    yield applied


def test_a_fix_that_does_not_fix_fails_its_step_exit_1_and_the_next_mistake_still_runs(broken_fix: list[str]) -> None:
    result = run_cli(["-o", "json", "demo", "mistakes", "--mistake", "3", "--mistake", "4"])
    assert result.exit_code == 1, result.stderr
    steps = by_mistake(result.stdout)
    assert [s["ok"] for s in steps[3]] == [True, True, True, True, False]  # stops at the failed step
    assert "doctor still reports R-PATTERN-1" in steps[3][4]["detail"]
    assert [s["ok"] for s in steps[4]] == [True] * 7  # each mistake starts from the seed again
    assert len(broken_fix) == 2
    assert "evctl: error: 1 mistake(s) not verified: step 3.5 (apply the printed fix; doctor --check R-PATTERN-1 " in (
        result.stderr
    )


def test_on_a_terminal_each_step_is_narrated() -> None:
    result = run_cli(["demo", "mistakes", "-m", "3"], tty=True)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("✓ 3.1. plant: the tutorial's CloudTrail pattern on user-signup-rule\n")
    assert "✓ 3.4. evctl doctor user-signup-queue --sample signup names R-PATTERN-1\n     R-PATTERN-1: " in result.stdout
    assert "     fix: aws events put-rule --name user-signup-rule " in result.stdout
    assert "✓ 3.7. the welcome email is sent" in result.stdout and WELCOME in result.stdout


@pytest.mark.parametrize("value", ["0", "6", "x"])
def test_an_unknown_mistake_number_is_a_usage_error(value: str) -> None:
    result = run_cli(["demo", "mistakes", "--mistake", value])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--mistake" in result.stderr


def test_evctl_demo_itself_is_unchanged_by_the_subcommand() -> None:
    result = run_cli(["demo", "--help"])
    assert result.exit_code == 0
    assert "Run the signup workflow locally" in result.stdout and "mistakes" in result.stdout


def test_ctrl_c_stops_it_with_its_sandbox() -> None:
    proc = subprocess.Popen(
        [evctl_executable(), "-o", "json", "demo", "mistakes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_default_signals,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["ok"] is True
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "evctl: error: demo mistakes interrupted; " in stderr and "its sandbox is stopped" in stderr
    assert "Traceback" not in stderr


def test_a_stop_during_a_publish_step_stops_the_demo_instead_of_failing_the_step() -> None:
    # publish() keeps Ctrl-C / SIGTERM for its own summary (report.interrupted); the demo's steps must stop on it
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")

        def interrupted(**_: object) -> None:
            raise KeyboardInterrupt

        events.meta.events.register("before-call.events.PutEvents", interrupted)
        ctx = demo.DemoContext(clients=SimpleNamespace(events=events), pipeline=None, runner=None)  # type: ignore[arg-type]
        with pytest.raises(KeyboardInterrupt):
            demo._publish(ctx, {"Source": "my.webapp", "DetailType": "UserSignup", "Detail": "{}"})
