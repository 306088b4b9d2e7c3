"""`evctl queue ...` in-process against moto: stdout, stderr and exit code checked apart, in the output modes
that matter; every bad input leaves the queue as it was."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.helpers import run_cli


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make(sqs: Any, name: str, bodies: list[str] = (), **attributes: str) -> str:  # type: ignore[assignment]
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for i, body in enumerate(bodies):
        extra = {"MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"} if name.endswith(".fifo") else {}
        sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
    return url


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def depth(sqs: Any, url: str) -> tuple[int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def receive_counts(sqs: Any, url: str) -> list[int]:
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    return sorted(int(m["Attributes"]["ApproximateReceiveCount"]) - 1 for m in got)  # minus this look


def one_error_line(stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evctl: error: ") and fragment in lines[0], stderr
    assert "Traceback" not in stderr


# ---- list / stats ----------------------------------------------------------------------------


def test_list_json_when_piped_and_table_on_a_tty(sqs: Any) -> None:
    dlq = make(sqs, "orders-dlq")
    make(
        sqs,
        "orders",
        ["a", "b"],
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 4}),
    )
    make(sqs, "other")
    result = run_cli(["queue", "list", "orders"])
    assert result.exit_code == 0 and result.stderr == ""
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["orders", "orders-dlq"]
    assert rows[0] | {"url": "", "arn": ""} == {
        "name": "orders", "type": "standard", "visible": 2, "in_flight": 0, "delayed": 0, "dlq": "orders-dlq",
        "max_receive_count": 4, "retention": "4d", "visibility_timeout": 30, "url": "", "arn": "",
    }  # fmt: skip
    table = run_cli(["queue", "list"], tty=True, env={"COLUMNS": "160"})
    assert table.exit_code == 0
    assert "QUEUE" in table.stdout and "orders-dlq" in table.stdout and "other" in table.stdout


def test_stats_shows_dead_letter_sources_and_dlq_depth(sqs: Any) -> None:
    dlq = make(sqs, "dlq", ["x", "y", "z"])
    make(sqs, "src", [], RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 3}))
    result = run_cli(["-o", "ndjson", "queue", "stats", "src", "dlq"])
    assert result.exit_code == 0, result.stderr
    src, dead = (json.loads(line) for line in result.stdout.splitlines())
    assert src["dlq"] == "dlq" and src["dlq_depth"] == 3 and src["dlq_sources"] == []
    assert dead["dlq_sources"] == ["src"] and dead["visible"] == 3


# ---- naming queues: name, URL, ARN, and the bad ones -------------------------------------------


def test_a_queue_by_url_and_by_arn(sqs: Any) -> None:
    url = make(sqs, "named", ["m"])
    for ref in (url, arn_of(sqs, url), "named"):
        result = run_cli(["queue", "stats", ref])
        assert result.exit_code == 0 and json.loads(result.stdout)[0]["name"] == "named"


BAD_REFS = [
    ("nope", 3, "queue nope not found in us-east-1"),
    ("arn:aws:sqs:eu-west-1:123456789012:named", 2, "is in region eu-west-1, but evctl is using us-east-1"),
    ("https://sqs.us-east-1.amazonaws.com/123456789012/namd", 3, "not found"),
    ("https://sqs.us-east-1.amazonaws.com/12345678901/named", 2, "is not a 12-digit account id"),
    ("https://sqs.us-east-1.amazonaws.com/named", 2, "is not a queue URL"),
    ("https://sqs.us-east-1.amazonaws.con/123456789012/named", 2, "unknown host"),
    ("https://sqs.eu-west-1.amazonaws.com/123456789012/named", 2, "is in region eu-west-1"),
    ("arn:aws:sns:us-east-1:123456789012:named", 2, "is not an SQS queue ARN"),
    ("my queue", 2, "is not a queue name, URL or ARN"),
]
COMMANDS = ["peek", "drain", "purge", "send"]


@pytest.mark.parametrize(
    ("ref", "code", "fragment", "command"),
    [(*bad, COMMANDS[i % len(COMMANDS)]) for i, bad in enumerate(BAD_REFS)]
    + [(*BAD_REFS[i], command) for i in (0, 1, 2) for command in ("drain", "purge")],
)
def test_bad_queue_references_consume_nothing(
    sqs: Any, tmp_path: Path, ref: str, code: int, fragment: str, command: str
) -> None:
    url = make(sqs, "named", ["m1", "m2"])
    extra = {"drain": ["--to", str(tmp_path / "out.jsonl"), "--yes"], "purge": ["--yes"], "send": ["m3"]}.get(
        command, []
    )
    result = run_cli(["queue", command, ref, *extra])
    assert result.exit_code == code
    one_error_line(result.stderr, fragment)
    assert result.stdout == ""
    assert depth(sqs, url) == (2, 0) and receive_counts(sqs, url) == [0, 0]
    assert not (tmp_path / "out.jsonl").exists()


def test_another_accounts_queue_by_arn_is_looked_up_in_that_account(sqs: Any) -> None:
    result = run_cli(["queue", "stats", "arn:aws:sqs:us-east-1:999999999999:theirs"])
    assert result.exit_code == 3
    one_error_line(result.stderr, "queue arn:aws:sqs:us-east-1:999999999999:theirs not found")


# ---- peek -------------------------------------------------------------------------------------


EVENT = {
    "version": "0", "id": "ev-1", "detail-type": "UserSignup", "source": "app.users",
    "time": "2026-11-27T10:00:00Z", "region": "us-east-1", "resources": [], "detail": {"user": "ann"},
}  # fmt: skip


def test_peek_shows_decoded_messages_and_consumes_nothing(sqs: Any) -> None:
    url = make(
        sqs,
        "peekme",
        [json.dumps(EVENT), "plain text", '{"Type":"Notification","MessageId":"s1","Message":"{\\"k\\":1}"}'],
    )
    sqs.send_message(
        QueueUrl=url, MessageBody="with attributes",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}, "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"}},
    )  # fmt: skip
    result = run_cli(["queue", "peek", "--wait", "0", "peekme"])
    assert result.exit_code == 0, result.stderr
    records = {r["kind"] + ":" + str(r["body"])[:15]: r for r in map(json.loads, result.stdout.splitlines())}
    assert len(records) == 4
    event = next(r for r in records.values() if r["kind"] == "eventbridge")
    assert event["event"] == {k: EVENT[k] for k in ("id", "source", "detail-type", "time", "detail")}
    assert event["attributes"]["SentTimestamp"].endswith("Z") and event["attributes"]["ApproximateReceiveCount"] == 1
    sns = next(r for r in records.values() if r["kind"] == "sns")
    assert sns["body"]["Message"] == {"k": 1}
    attrs = next(r for r in records.values() if r["messageAttributes"])
    assert attrs["messageAttributes"] == {"n": "7", "b": "/wA="}
    assert "4 message(s) from peekme" in result.stderr and "none deleted" in result.stderr
    assert depth(sqs, url) == (4, 0)  # all released, none deleted
    assert receive_counts(sqs, url) == [1, 1, 1, 1]  # one receive each


def test_peek_raw_prints_bodies_untouched(sqs: Any) -> None:
    make(sqs, "raw", ['{"a":  1}'])
    result = run_cli(["queue", "peek", "--wait", "0", "raw", "--raw"])
    assert result.exit_code == 0 and result.stdout == '{"a":  1}\n'


def test_peek_table_on_a_tty(sqs: Any) -> None:
    make(sqs, "tty", [json.dumps(EVENT)])
    result = run_cli(["queue", "peek", "--wait", "0", "tty"], tty=True)
    assert result.exit_code == 0
    assert "app.users / UserSignup" in result.stdout and '"user": "ann"' in result.stdout
    assert "received 1" in result.stdout


def test_peek_refuses_when_every_receive_would_push_to_the_dlq(sqs: Any) -> None:
    dlq = make(sqs, "d1")
    url = make(
        sqs, "fragile", ["m"], RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    )
    result = run_cli(["queue", "peek", "--wait", "0", "fragile"])
    assert result.exit_code == 2 and result.stdout == ""
    one_error_line(result.stderr, "its maxReceiveCount is 1")
    assert receive_counts(sqs, url) == [0]


def test_peek_stops_short_of_the_dlq_and_remembers(sqs: Any) -> None:
    dlq = make(sqs, "d3")
    url = make(
        sqs, "edge", ["m"], RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 3})
    )
    assert run_cli(["queue", "peek", "--wait", "0", "edge"]).exit_code == 0  # count 1
    assert run_cli(["queue", "peek", "--wait", "0", "edge"]).exit_code == 0  # count 2: one more would reach 3
    refused = run_cli(["queue", "peek", "--wait", "0", "edge"])
    assert refused.exit_code == 2 and refused.stdout == ""
    one_error_line(refused.stderr, "could push 1 message(s) to its dead-letter queue")
    assert depth(sqs, dlq) == (0, 0) and depth(sqs, url) == (1, 0)
    forced = run_cli(["queue", "peek", "--wait", "0", "edge", "--force"])
    assert forced.exit_code == 0 and "reached maxReceiveCount 3" in forced.stderr


def test_peek_on_fifo_explains_group_holding(sqs: Any) -> None:
    make(sqs, "jobs.fifo", ["a", "b"], FifoQueue="true")
    result = run_cli(["queue", "peek", "--wait", "0", "jobs.fifo"])
    assert result.exit_code == 0 and "holds each message group" in result.stderr


# ---- drain ------------------------------------------------------------------------------------


def test_drain_to_a_file_with_summary(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "work", [f"m{i}" for i in range(12)])
    out = tmp_path / "out.jsonl"
    result = run_cli(["queue", "drain", "work", "--to", str(out), "--yes", "--wait", "0", "--empty-polls", "1"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["received"], summary["written"], summary["deleted"], summary["failed"]) == (12, 12, 12, 0)
    assert "work: received 12, written 12, deleted 12" in result.stderr
    assert sorted(json.loads(x)["body"] for x in out.read_text().splitlines()) == sorted(f"m{i}" for i in range(12))
    assert depth(sqs, url) == (0, 0)


def test_drain_to_stdout_keeps_stdout_for_lines(sqs: Any) -> None:
    make(sqs, "out", ["a", "b"])
    result = run_cli(["queue", "drain", "out", "--to", "-", "--yes", "--wait", "0", "--empty-polls", "1"])
    assert result.exit_code == 0
    assert sorted(json.loads(x)["body"] for x in result.stdout.splitlines()) == ["a", "b"]
    assert "deleted 2" in result.stderr


def test_drain_max_and_filter(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "mixed", [json.dumps({"n": i}) for i in range(10)])
    out = tmp_path / "sel.jsonl"
    args = ["queue", "drain", "mixed", "--to", str(out), "--yes", "--wait", "0", "--empty-polls", "1"]
    result = run_cli([*args, "--filter", "body.n > `6`"])
    assert result.exit_code == 0 and json.loads(result.stdout)["filtered_out"] == 7
    assert sorted(json.loads(json.loads(x)["body"])["n"] for x in out.read_text().splitlines()) == [7, 8, 9]
    assert depth(sqs, url) == (7, 0)
    result = run_cli([*args, "--max", "2"])
    assert result.exit_code == 0 and json.loads(result.stdout)["deleted"] == 2 and depth(sqs, url) == (5, 0)


def test_drain_confirms_on_a_tty(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "ask", ["a"])
    out = tmp_path / "o.jsonl"
    no = run_cli(["queue", "drain", "ask", "--to", str(out)], tty=True, input="n\n")
    assert no.exit_code == 2 and "not confirmed" in no.stderr and depth(sqs, url) == (1, 0) and not out.exists()
    yes = run_cli(
        ["queue", "drain", "ask", "--to", str(out), "--wait", "0", "--empty-polls", "1"], tty=True, input="y\n"
    )
    assert yes.exit_code == 0 and depth(sqs, url) == (0, 0)
    assert "draining ask" in yes.stderr and "1/1" in yes.stderr and "msg/s" in yes.stderr  # the progress bar


def unwritable(tmp_path: Path) -> str:
    if os.geteuid() == 0:  # root writes anywhere a mode allows: sysfs refuses new files even to root
        return "/sys/evctl-drain-test.jsonl"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return str(locked / "out.jsonl")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ([], "refusing to drain bad into"),
        (["--yes", "--to-dir"], "is a directory"),
        (["--yes", "--to-missing"], "does not exist"),
        (["--yes", "--to-unwritable"], "ermission denied"),
        (["--yes", "--filter", "body.["], "--filter is not a valid JMESPath expression"),
    ],
)
def test_drain_bad_input_consumes_nothing(sqs: Any, tmp_path: Path, extra: list[str], fragment: str) -> None:
    url = make(sqs, "bad", ["a", "b"])
    to = str(tmp_path / "out.jsonl")
    if "--to-dir" in extra:
        to = str(tmp_path)
    if "--to-missing" in extra:
        to = str(tmp_path / "missing" / "out.jsonl")
    if "--to-unwritable" in extra:
        to = unwritable(tmp_path)
    extra = [e for e in extra if not e.startswith("--to-")]
    result = run_cli(["queue", "drain", "bad", "--to", to, *extra, "--wait", "0"])
    assert result.exit_code == 2 and result.stdout == ""
    one_error_line(result.stderr, fragment)
    assert depth(sqs, url) == (2, 0) and receive_counts(sqs, url) == [0, 0]


def test_drain_on_a_full_disk_deletes_nothing_unwritten(
    sqs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up at the second batch: fsync fails with ENOSPC (as the kernel reports a full disk at
    writeback). That batch is cut from the file and not deleted; the drain stops, exit 1, one line."""
    url = make(sqs, "full", [f"m{i}" for i in range(25)])
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "o.jsonl"
    result = run_cli(["queue", "drain", "full", "--to", str(out), "--yes", "--wait", "0"])
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(error_lines) == 1 and f"disk full writing --to {out}" in error_lines[0]  # the cause, option, file
    assert "No space left on device" in error_lines[0] and "nothing that was not written was deleted" in error_lines[0]
    assert json.loads(result.stdout)["deleted"] == 10
    written = [json.loads(x)["body"] for x in out.read_text().splitlines()]
    assert len(written) == 10 and depth(sqs, url) == (15, 0)  # the 15 unwritten are all back


def test_drain_writes_and_restores_non_utf8_safe_bodies(sqs: Any, tmp_path: Path) -> None:
    """SQS text may hold characters that are not valid UTF-8 on their own (lone surrogates arrive escaped in
    JSON): the line escapes them instead of failing, and send restores the exact body."""
    body = "caf\u00e9 \U0001f600"
    make(sqs, "utf", [body])
    out = tmp_path / "u.jsonl"
    assert (
        run_cli(["queue", "drain", "utf", "--to", str(out), "--yes", "--wait", "0", "--empty-polls", "1"]).exit_code
        == 0
    )
    make(sqs, "utf-back")
    assert run_cli(["queue", "send", "utf-back", "--from", str(out)]).exit_code == 0
    got = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="utf-back")["QueueUrl"])["Messages"][0]["Body"]
    assert got == body


# ---- send ---------------------------------------------------------------------------------------


def test_send_a_body_a_file_and_attributes(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "inbox")
    result = run_cli(["queue", "send", "inbox", "hello", "--attr", "kind=greeting"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["message_ids"]) == 1
    (tmp_path / "b.json").write_text('{"x": 1}')
    assert run_cli(["queue", "send", "inbox", f"@{tmp_path / 'b.json'}"]).exit_code == 0
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in got) == sorted(['{"x": 1}', "hello"])
    assert next(m for m in got if m["Body"] == "hello")["MessageAttributes"]["kind"]["StringValue"] == "greeting"


def test_drain_then_send_restores_bodies_attributes_and_fifo_ids(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "from.fifo", [], FifoQueue="true")
    for i in range(12):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 2}", MessageDeduplicationId=f"d{i}",
            MessageAttributes={"bin": {"DataType": "Binary", "BinaryValue": bytes([i, 255])}, "n": {"DataType": "Number", "StringValue": str(i)}},
        )  # fmt: skip
    out = tmp_path / "f.jsonl"
    assert (
        run_cli(
            ["queue", "drain", "from.fifo", "--to", str(out), "--yes", "--wait", "0", "--empty-polls", "2"]
        ).exit_code
        == 0
    )
    assert len(out.read_text().splitlines()) == 12
    back = make(sqs, "to.fifo", [], FifoQueue="true")
    result = run_cli(["queue", "send", "to.fifo", "--from", str(out)])
    summary = json.loads(result.stdout)
    assert result.exit_code == 0 and len(set(summary.pop("message_ids"))) == 12
    assert summary == {"queue": "to.fifo", "sent": 12, "failed": 0}
    got = []
    for _ in range(6):
        batch = sqs.receive_message(
            QueueUrl=back, MaxNumberOfMessages=10, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        for m in batch:
            sqs.delete_message(QueueUrl=back, ReceiptHandle=m["ReceiptHandle"])
        got += batch
    by_body = {m["Body"]: m for m in got}
    assert sorted(by_body) == sorted(f"m{i}" for i in range(12))
    m5 = by_body["m5"]
    assert m5["Attributes"]["MessageGroupId"] == "g1" and m5["Attributes"]["MessageDeduplicationId"] == "d5"
    assert m5["MessageAttributes"]["bin"]["BinaryValue"] == bytes([5, 255])
    assert m5["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "5"}


def test_send_json_lines_from_stdin(sqs: Any) -> None:
    url = make(sqs, "stdin")
    lines = "\n".join(json.dumps({"body": f"l{i}"}) for i in range(23)) + "\n"
    result = run_cli(["queue", "send", "stdin", "--from", "-"], input=lines)
    assert result.exit_code == 0 and json.loads(result.stdout)["sent"] == 23
    assert depth(sqs, url) == (23, 0)


@pytest.mark.parametrize(
    ("queue", "args", "stdin", "fragment"),
    [
        ("std", ["x", "--group-id", "g"], None, "--group-id only applies to FIFO queues, and std is a standard queue"),
        ("std", ["x", "--dedup-id", "d"], None, "--dedup-id only applies to FIFO queues"),
        ("q.fifo", ["x"], None, "FIFO queue q.fifo needs a message group"),
        ("q.fifo", ["x", "--group-id", "g"], None, "needs a deduplication id"),
        ("q.fifo", ["x", "--group-id", "g", "--dedup-id", "d", "--delay", "5"], None, "--delay does not apply to FIFO"),
        ("small", ["y" * 2000], None, "the message is 2000 bytes, over the 1024-byte limit of small"),
        ("std", ["--from", "-"], '{"body":"ok"}\n{"body": broken}\n', "line 2 is not valid JSON"),
        ("std", ["--from", "-"], '{"body":"ok"}\n\n[1]\n', "line 3: expected a JSON object"),
        ("std", ["--from", "-"], '{"nobody":1}\n', 'line 1: "body" is missing'),
        ("std", ["--from", "-"], "", "no messages in the input"),
        (
            "std",
            ["--from", "-"],
            '{"body":"a","messageAttributes":{"b":{"dataType":"Binary","binaryValue":"!!"}}}',
            "binaryValue is not base64",
        ),
        ("std", ["bad\x01char"], None, "a character SQS does not allow (U+0001)"),
        ("std", [], None, "give a BODY (or @FILE), or --from"),
        ("std", ["x", "--attr", "novalue"], None, "is not NAME=VALUE"),
    ],
)
def test_send_bad_input_sends_nothing(sqs: Any, queue: str, args: list[str], stdin: str | None, fragment: str) -> None:
    url = make(
        sqs,
        queue,
        [],
        **({"FifoQueue": "true"} if queue.endswith(".fifo") else {}),
        **({"MaximumMessageSize": "1024"} if queue == "small" else {}),
    )
    result = run_cli(["queue", "send", queue, *args], input=stdin)
    assert result.exit_code == 2, result.stderr
    one_error_line(result.stderr, fragment)
    assert result.stdout == "" and depth(sqs, url) == (0, 0)


def test_send_non_utf8_input_is_refused(sqs: Any, tmp_path: Path) -> None:
    url = make(sqs, "bin")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"ok\xff\xfe")
    result = run_cli(["queue", "send", "bin", f"@{blob}"])
    assert result.exit_code == 2
    one_error_line(result.stderr, "is not UTF-8 text (byte 2): SQS bodies are text")
    lines = tmp_path / "l.jsonl"
    lines.write_bytes(b'{"body":"fine"}\n{"body":"\xff"}\n')
    result = run_cli(["queue", "send", "bin", "--from", str(lines)])
    assert result.exit_code == 2
    one_error_line(result.stderr, "line 2 is not UTF-8 text")
    assert depth(sqs, url) == (0, 0)


# ---- purge --------------------------------------------------------------------------------------


def test_purge_needs_yes_off_a_tty_and_explains_purge_in_progress(sqs: Any) -> None:
    url = make(sqs, "trash", ["a", "b", "c"])
    refused = run_cli(["queue", "purge", "trash"])
    assert refused.exit_code == 2 and refused.stdout == ""
    one_error_line(refused.stderr, "refusing to purge trash")
    assert depth(sqs, url) == (3, 0)
    done = run_cli(["queue", "purge", "trash", "--yes"])
    assert done.exit_code == 0 and json.loads(done.stdout)["purged"] is True
    assert depth(sqs, url) == (0, 0)
    again = run_cli(["queue", "purge", "trash", "--yes"])
    assert again.exit_code == 5
    one_error_line(
        again.stderr, "a purge of trash is already in progress — AWS allows one purge per queue every 60 seconds"
    )


def test_help_for_every_queue_command() -> None:
    for command in ("list", "stats", "peek", "drain", "send", "purge"):
        result = run_cli(["queue", command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_stats_watch_redraws_until_ctrl_c(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = make(sqs, "watched", ["a"])
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:
            sqs.send_message(QueueUrl=url, MessageBody="b")  # the next refresh shows it
            return
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    result = run_cli(["queue", "stats", "watched", "--watch", "2"], tty=True, env={"COLUMNS": "200"})
    assert result.exit_code == 130 and naps == [2.0, 2.0]
    assert result.stdout.count("\x1b[H\x1b[2J") == 2  # redrawn in place each time
    frames = result.stdout.split("\x1b[H\x1b[2J")[1:]
    assert "watched" in frames[0] and frames[1] != frames[0]
    assert "evctl: error: stopped watching" in result.stderr


def test_send_reports_entries_sqs_refused_and_exits_1(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries SQS refuses as the sender's fault are not retried: reported one per line, exit 1; the rest sent."""
    from evctl.aws import ClientFactory
    from tests.core.sqs_faults import FaultInjector

    url = make(sqs, "picky")
    injectors: list[FaultInjector] = []
    build = ClientFactory._build

    def build_with_faults(self: ClientFactory, *args: Any, **kwargs: Any) -> Any:
        client = build(self, *args, **kwargs)
        injectors.append(FaultInjector(client, rate=0.3, seed=5, whole_call_ops=(), sender_fault=True))
        return client

    monkeypatch.setattr(ClientFactory, "_build", build_with_faults)
    lines = "\n".join(json.dumps({"body": f"m{i}"}) for i in range(30))
    result = run_cli(["queue", "send", "picky", "--from", "-"], input=lines)
    refused = injectors[0].entries_failed["SendMessageBatch"]
    assert result.exit_code == 1 and refused > 0
    summary = json.loads(result.stdout)
    assert len(set(summary.pop("message_ids"))) == 30 - refused
    assert summary == {"queue": "picky", "sent": 30 - refused, "failed": refused}
    assert f"evctl: error: {refused} of 30 messages were not sent" in result.stderr
    assert "line " in result.stderr and "InvalidParameterValue" in result.stderr
    assert depth(sqs, url) == (30 - refused, 0)  # exactly the ones reported sent


def test_peek_with_an_unwritable_state_home_warns_once(sqs: Any, tmp_path: Path) -> None:
    """The peek memory cannot be written: the peek goes on, and one warning says its protection is off."""
    make(sqs, "watched", ["a"])
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run_cli(["queue", "peek", "watched", "--wait", "0"], env={"XDG_STATE_HOME": str(blocker)})
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "peek memory" in line]
    assert len(warnings) == 1 and warnings[0].startswith("evctl: warning: cannot write the peek memory")
