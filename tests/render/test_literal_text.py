"""User data is text, never markup, and never drives the terminal (issue 11).

A rule pattern, a target's Input, a template, a message body or a log line holding `[/]` used to crash the commands
that drew them with rich (MarkupError, exit 5); `[bold]x` was shown as `x`. Every table and human line now prints
them literally, and a terminal-control character (ESC) in the data is shown escaped, never sent raw."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.output import Output, Streams
from evctl.render.logs import LogFormatter
from evctl.render.rules import bus_event_line
from evctl.render.tables import printable, render_mapping, render_table
from tests.helpers import run_cli

REGION = "us-east-1"
NASTY = "a[/]b [bold]x \x1b[31mred\x9b2J"
LITERALS = ("[/]", "[bold]x")


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text(
        "[templates.nasty]\n"
        f"source = {json.dumps(NASTY)}\n"
        f"detail-type = {json.dumps(NASTY)}\n"
        f"detail = {{ note = {json.dumps(NASTY)} }}\n"
    )
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        logs = boto3.client("logs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        sqs.create_queue(QueueName="main", Attributes={"RedrivePolicy": policy})
        sqs.send_message(QueueUrl=dlq, MessageBody=NASTY)
        events.put_rule(Name="nasty", EventPattern=json.dumps({"source": [NASTY]}), Description=NASTY)
        events.put_targets(Rule="nasty", Targets=[{"Id": "q", "Arn": dlq_arn, "Input": json.dumps({"n": NASTY})}])
        logs.create_log_group(logGroupName="/nasty")
        logs.create_log_stream(logGroupName="/nasty", logStreamName="s")
        logs.put_log_events(
            logGroupName="/nasty",
            logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": NASTY}],
        )
        yield


EVENT = json.dumps({"source": NASTY, "detail-type": NASTY, "detail": {"n": NASTY}})
COMMANDS = [
    (["rules", "list"], 0),
    (["rules", "show", "nasty"], 0),
    (["rules", "test", "--pattern", json.dumps({"source": [NASTY + "!"]}), "--event", EVENT], 1),
    (["rules", "match", "--event", EVENT], 0),
    (["templates", "list"], 0),
    (["templates", "show", "nasty"], 0),
    (["redrive", "dlq", "dlq", "--dry-run", "--wait", "0"], 0),
    (["tail", "logs", "/nasty", "--since", "1h"], 0),
    (["tail", "logs", "/nasty", "--since", "1h", "--format", "raw"], 0),
    (["tail", "logs", "/nasty", "--since", "1h", "--format", "detailed"], 0),
    (["publish", "nasty", "--dry-run"], 0),
]


@pytest.mark.parametrize("mode", ["table", "text"])
@pytest.mark.parametrize(("args", "code"), COMMANDS, ids=[" ".join(a[:3]) for a, _ in COMMANDS])
def test_user_data_prints_literally(aws: None, args: list[str], code: int, mode: str) -> None:
    result = run_cli(["--color", "never", "-o", mode, *args], tty=True)
    assert result.exit_code == code, result.stderr
    shown = result.stdout + result.stderr
    assert "\x1b" not in shown and "\x9b" not in shown, shown  # no raw control character reaches the terminal
    if mode == "table":
        assert all(literal in result.stdout for literal in LITERALS), result.stdout  # markup-looking text kept
        assert "\\x1b[31m" in shown or "\\u001b[31m" in shown, shown  # ESC shown, escaped


def test_messages_and_progress_descriptions_are_text() -> None:
    stderr = io.StringIO()
    output = Output(color="always", streams=Streams(stderr=stderr, stderr_isatty=True, stdout_isatty=False))
    output.warn(f"rule {NASTY} skipped")
    output.info(NASTY)
    with output.progress(f"draining {NASTY}", total=2) as bar:
        bar.advance(1)
    written = stderr.getvalue()
    assert "[/]" in written and "[bold]x" in written
    assert "\\x1b[31mred\\x9b2J" in written
    assert "\x1b[31mred" not in written  # our own colours remain, the data's are escaped


def test_every_human_line_escapes_controls() -> None:
    event: dict[str, Any] = {"time": "t", "source": NASTY, "detail-type": NASTY, "detail": {"n": NASTY}}
    assert "\x1b" not in bus_event_line(event) and "[/]" in bus_event_line(event)
    log_event: Any = {"timestamp": 0, "message": NASTY, "group": "g\x1b", "stream": "s", "source": "g"}
    for fmt in ("short", "detailed", "raw"):
        line = LogFormatter(fmt, pretty=True).format(log_event.copy())
        assert "\x1b" not in line and "[bold]x" in line
    assert LogFormatter("raw", pretty=False).format(log_event.copy()) == NASTY  # raw to a pipe stays raw
    table = render_table([{NASTY: NASTY}], width=80, title=NASTY).lines
    mapping = render_mapping({NASTY: NASTY}, width=80, title=NASTY)
    assert not any("\x1b" in line or "\x9b" in line for line in table + mapping)
    assert printable("tab\there\r\n\x00\x7f") == "tab\\there\\r\n\\x00\\x7f"
