"""`evctl rules list|show|test|match`: stdout, stderr and exit code, in JSON (piped) and table (TTY) modes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.helpers import run_cli

SIGNUP = {"source": "app.users", "detail-type": "UserSignup", "detail": {"email": "ann@example.com", "plan": "pro"}}
WELCOME_TEMPLATE = '{"to": <email>, "text": "Welcome <email>, team <team>"}'


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """A default bus with a signup rule (transformer target with DLQ and retry policy), a disabled rule, a
    scheduled rule; and an empty custom bus. Built once: every `rules` command is read-only."""
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="welcome")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="signups", EventPattern=json.dumps({"source": ["app.users"], "detail-type": ["UserSignup"]})
        )
        events.put_targets(
            Rule="signups",
            Targets=[
                {
                    "Id": "welcome",
                    "Arn": arn,
                    "InputTransformer": {
                        "InputPathsMap": {"email": "$.detail.email", "team": "$.detail.team"},
                        "InputTemplate": WELCOME_TEMPLATE,
                    },
                    "DeadLetterConfig": {"Arn": arn},
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
                },
                {"Id": "audit", "Arn": arn, "InputPath": "$.detail"},
            ],
        )
        events.put_rule(Name="paused", EventPattern=json.dumps({"source": ["app.users"]}), State="DISABLED")
        events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
        events.create_event_bus(Name="empty")
        yield events


def one_line_error(stderr: str, start: str) -> None:
    assert stderr.startswith(f"evctl: error: {start}"), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


# ---- rules list ----------------------------------------------------------------------------------------
def test_list_json(aws: Any) -> None:
    result = run_cli(["rules", "list"])
    assert (result.exit_code, result.stderr) == (0, "")
    listed = {rule["name"]: rule for rule in json.loads(result.stdout)}
    assert sorted(listed) == ["nightly", "paused", "signups"]
    assert listed["signups"]["pattern"] == {"source": ["app.users"], "detail-type": ["UserSignup"]}
    assert [t["Id"] for t in listed["signups"]["targets"]] == ["welcome", "audit"]
    assert listed["nightly"]["schedule"] == "rate(1 day)"
    assert listed["paused"]["state"] == "DISABLED"


def test_list_table(aws: Any) -> None:
    result = run_cli(["--color", "never", "rules", "list", "--prefix", "sign"], tty=True)
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "PATTERN", "SCHEDULE", "TARGETS"]
    assert lines[1].split()[:3] == ["signups", "ENABLED", 'source=["app.users"]']
    assert "sqs:welcome, sqs:welcome" in result.stdout
    assert "nightly" not in result.stdout


def test_list_empty_bus_by_arn(aws: Any) -> None:
    result = run_cli(
        ["--color", "never", "rules", "list", "--bus", "arn:aws:events:us-east-1:123456789012:event-bus/empty"],
        tty=True,
    )
    assert (result.exit_code, result.stdout.strip(), result.stderr) == (0, "(none)", "")


def test_list_missing_bus(aws: Any) -> None:
    result = run_cli(["rules", "list", "--bus", "nope"])
    assert (result.exit_code, result.stdout) == (3, "")
    one_line_error(result.stderr, "event bus 'nope' not found")


# ---- rules show ----------------------------------------------------------------------------------------
def test_show_table(aws: Any) -> None:
    result = run_cli(["rules", "show", "signups"], tty=True)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[:4] == [
        "name         signups",
        "arn          arn:aws:events:us-east-1:123456789012:rule/signups",
        "bus          default",
        "state        ENABLED",
    ]
    assert '  {\n    "source": [\n      "app.users"\n    ],' in result.stdout  # the pattern, pretty
    assert "    InputTransformer:\n" in result.stdout
    assert '      InputPathsMap: {"email": "$.detail.email", "team": "$.detail.team"}\n' in result.stdout
    assert f"      InputTemplate: {WELCOME_TEMPLATE}\n" in result.stdout
    assert "    DeadLetterConfig: arn:aws:sqs:us-east-1:123456789012:welcome\n" in result.stdout
    assert "    RetryPolicy: MaximumRetryAttempts=3, MaximumEventAgeInSeconds=600\n" in result.stdout
    assert "    InputPath: $.detail\n" in result.stdout


def test_show_json(aws: Any) -> None:
    result = run_cli(["rules", "show", "arn:aws:events:us-east-1:123456789012:rule/signups"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["targets"][0]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}


def test_show_unknown_rule(aws: Any) -> None:
    result = run_cli(["rules", "show", "nope"])
    assert (result.exit_code, result.stdout) == (3, "")
    one_line_error(result.stderr, "rule 'nope' on bus 'default' not found")


# ---- rules test ----------------------------------------------------------------------------------------
def test_test_match_exits_0() -> None:
    result = run_cli(["rules", "test", "--pattern", '{"source": ["app.users"]}', "--event", json.dumps(SIGNUP)])
    assert (result.exit_code, result.stderr) == (0, "")
    record = json.loads(result.stdout)
    assert record["event"] == 1 and record["match"] is True
    assert "id" in record["filled"] and "why" not in record


def test_test_many_events_from_stdin_one_miss_exits_1(tmp_path: Path) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text('{"detail": {"plan": ["pro"]}}')
    lines = "\n".join(json.dumps({**SIGNUP, "detail": {"plan": plan}}) for plan in ("pro", "free", "pro"))
    result = run_cli(["rules", "test", "--pattern", f"@{pattern}", "--event", "-"], input=lines + "\n")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["match"] for r in records] == [True, False, True]
    assert records[1]["why"] == ['detail.plan: wanted "pro", got "free"']
    assert result.stderr == "1 of 3 event(s) did not match\n"


def test_test_table_shows_why() -> None:
    pattern = '{"source": ["app.users"], "detail": {"team": [{"exists": true}]}}'
    result = run_cli(["rules", "test", "--pattern", pattern, "--event", json.dumps(SIGNUP)], tty=True)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "no match",
        "  detail.team: wanted to exist, but the event has no such field",
    ]


def test_test_with_a_rule_from_aws(aws: Any) -> None:
    result = run_cli(["rules", "test", "--rule", "signups", "--event", json.dumps({**SIGNUP, "source": "x"})])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["why"] == ['source: wanted "app.users", got "x"']


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--pattern", "{nope", "--event", "{}"], 2, "invalid event pattern at $: not valid JSON"),
        (
            ["--pattern", '["source"]', "--event", "{}"],
            2,
            "invalid event pattern at $: an event pattern must be a JSON object",
        ),
        (["--pattern", '{"source": "x"}', "--event", "{}"], 2, "invalid event pattern at $.source"),
        (["--pattern", '{"source": ["x"]}', "--event", "{nope"], 2, "invalid event: not valid JSON"),
        (
            ["--pattern", '{"source": ["x"]}', "--event", "[1]"],
            2,
            "invalid event: event 1 of the array must be a JSON object",
        ),
        (
            ["--pattern", '{"source": ["x"]}', "--event", '"text"'],
            2,
            "invalid event: an event must be a JSON object, not a string",
        ),
        (["--pattern", '{"source": ["x"]}', "--event", "@/no/such/file"], 2, "cannot read the event file"),
        (["--event", "{}"], 2, "give exactly one of --pattern and --rule"),
        (["--pattern", "{}", "--rule", "r", "--event", "{}"], 2, "give exactly one of --pattern and --rule"),
        (["--rule", "nope", "--event", "{}"], 3, "rule 'nope' on bus 'default' not found"),
        (["--rule", "signups", "--bus", "nope", "--event", "{}"], 3, "event bus 'nope' not found"),
        (["--rule", "nightly", "--event", "{}"], 2, "rule 'nightly' has no event pattern"),
    ],
)
def test_test_bad_input(aws: Any, args: list[str], code: int, message: str) -> None:
    result = run_cli(["rules", "test", *args])
    assert (result.exit_code, result.stdout) == (code, "")
    one_line_error(result.stderr, message)


def test_a_bad_event_line_stops_before_any_output() -> None:
    lines = json.dumps(SIGNUP) + "\n[]\n"
    result = run_cli(["rules", "test", "--pattern", '{"source": ["app.users"]}', "--event", "-"], input=lines)
    assert (result.exit_code, result.stdout) == (2, "")
    one_line_error(result.stderr, "invalid event: line 2: an event must be a JSON object, not an array")


@pytest.fixture
def remote_events(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The events client the CLI gets is a Stubber-backed one (moto's TestEventPattern returns no Result)."""
    client = boto3.client("events", region_name="us-east-1")
    monkeypatch.setattr("evctl.cli.context.AppContext.client", lambda self, service, pool=10: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_test_remote_shows_both_answers(remote_events: Stubber) -> None:
    remote_events.add_response("test_event_pattern", {"Result": True})
    result = run_cli(
        ["rules", "test", "--remote", "--pattern", '{"source": ["app.users"]}', "--event", json.dumps(SIGNUP)], tty=True
    )
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == "match (AWS: match)"


def test_test_remote_disagreement_is_reported(remote_events: Stubber) -> None:
    remote_events.add_response("test_event_pattern", {"Result": False})
    result = run_cli(
        ["rules", "test", "--remote", "--pattern", '{"source": ["app.users"]}', "--event", json.dumps(SIGNUP)]
    )
    assert result.exit_code == 0  # evctl's answer decides the exit code; the disagreement is shouted
    record = json.loads(result.stdout)
    assert (record["match"], record["remote"]) == (True, False)
    assert result.stderr.startswith("evctl: warning: event 1: evctl says match, AWS says no match")


def test_test_remote_invalid_pattern_per_aws(remote_events: Stubber) -> None:
    remote_events.add_client_error(
        "test_event_pattern", "InvalidEventPatternException", "Event pattern is not valid.", 400
    )
    result = run_cli(["rules", "test", "--remote", "--pattern", '{"source": ["app.users"]}', "--event", "{}"])
    assert (result.exit_code, result.stdout) == (2, "")
    one_line_error(result.stderr, "Event pattern is not valid.")


# ---- rules match ---------------------------------------------------------------------------------------
def test_match_json_renders_targets_and_warns_about_a_missing_path(aws: Any) -> None:
    result = run_cli(["rules", "match", "--event", json.dumps(SIGNUP)])
    assert result.exit_code == 0
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    hits = {hit["rule"]: hit for hit in record["rules"]}
    assert sorted(hits) == ["paused", "signups"]
    assert hits["paused"]["delivers"] is False and hits["paused"]["targets"] == []
    welcome, audit = hits["signups"]["targets"]
    assert welcome["kind"] == "input-transformer"
    assert welcome["receives"] == {"to": "ann@example.com", "text": "Welcome ann@example.com, team "}
    assert welcome["missing"] == ["team"]
    assert audit == {
        "id": "audit",
        "arn": "arn:aws:sqs:us-east-1:123456789012:welcome",
        "kind": "input-path",
        "receives": SIGNUP["detail"],
    }
    assert result.stderr == (
        "evctl: warning: event 1, rule signups, target welcome: not in the event, rendered empty: <team> ($.detail.team)\n"
    )


def test_match_table(aws: Any) -> None:
    entry = {
        "Source": "app.users",
        "DetailType": "UserSignup",
        "Detail": json.dumps({"email": "bo@example.com", "team": "x"}),
    }
    result = run_cli(["rules", "match", "--event", json.dumps(entry)], tty=True)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[:4] == [
        "2 rule(s) match",
        "  paused (DISABLED: not delivered)",
        "  signups (ENABLED)",
        "    → welcome arn:aws:sqs:us-east-1:123456789012:welcome receives (input-transformer):",
    ]
    assert '"text": "Welcome bo@example.com, team x"' in result.stdout


def test_match_no_rule_exits_1(aws: Any) -> None:
    result = run_cli(["rules", "match", "--event", json.dumps({**SIGNUP, "source": "billing"})])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rules"] == []
    assert result.stderr == "1 of 1 event(s) match no enabled rule on bus default\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--event", "{nope"], 2, "invalid event: not valid JSON"),
        (["--event", "42"], 2, "invalid event: an event must be a JSON object, not a number"),
        (["--event", "{}", "--bus", "nope"], 3, "event bus 'nope' not found"),
    ],
)
def test_match_bad_input(aws: Any, args: list[str], code: int, message: str) -> None:
    result = run_cli(["rules", "match", *args])
    assert (result.exit_code, result.stdout) == (code, "")
    one_line_error(result.stderr, message)


# ---- no events is bad input, never a vacuous match (issue 11) ----------------------------------------------
@pytest.mark.parametrize("command", [["test", "--pattern", '{"source": ["x"]}'], ["match"]], ids=["test", "match"])
@pytest.mark.parametrize(
    ("event", "stdin", "message"),
    [
        ("[]", None, "invalid event: no events: the array is empty"),
        (" [ ]\n", None, "invalid event: no events: the array is empty"),
        ("-", "", "invalid event: no event given"),
        ("-", "\n  \n\n", "invalid event: no event given"),
        ("@EMPTY", None, "invalid event: no event given"),
    ],
)
def test_no_events_exit_2(
    aws: Any, tmp_path: Path, command: list[str], event: str, stdin: str | None, message: str
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    event = event.replace("EMPTY", str(empty))
    result = run_cli(["rules", *command, "--event", event], input=stdin)
    assert (result.exit_code, result.stdout) == (2, "")
    one_line_error(result.stderr, message)
