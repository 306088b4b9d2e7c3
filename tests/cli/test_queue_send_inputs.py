"""`queue send`: `-` is stdin (as everywhere: common/inputs), a closed stdin is exit 2 "no standard input" for every
`-` input (queue send BODY and --from, publish --detail and --file), one JSON shape for one message or many, and a
FIFO send whose messages share a deduplication id is refused (SQS would keep one and the count would lie)."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.common.inputs import open_lines, read_bytes, read_text
from evctl.errors import UsageError
from tests.helpers import evctl_executable, run_cli


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def bodies(sqs: Any, url: str) -> list[str]:
    found: list[str] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        found += [m["Body"] for m in got]
    return sorted(found)


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(lines) == 1 and "internal error" not in lines[0], stderr
    return lines[0]


@pytest.mark.parametrize(("stdin", "body"), [("hello\n", "hello"), ("hello", "hello"), ("a\nb\r\n", "a\nb")])
def test_dash_is_stdin_for_the_body(sqs: Any, stdin: str, body: str) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    result = run_cli(["queue", "send", "q", "-"], input=stdin)
    assert result.exit_code == 0, result.stderr
    assert bodies(sqs, url) == [body]


@pytest.mark.parametrize("lines", [1, 3])
def test_one_json_shape_for_one_message_or_many(sqs: Any, lines: int) -> None:
    sqs.create_queue(QueueName="q")
    data = "".join(json.dumps({"body": f"m{n}"}) + "\n" for n in range(lines))
    for args, given in ((["--from", "-"], data), (["one"], None)):
        result = run_cli(["-o", "json", "queue", "send", "q", *args], input=given)
        assert result.exit_code == 0, result.stderr
        out = json.loads(result.stdout)
        count = lines if given else 1
        assert sorted(out) == ["failed", "message_ids", "queue", "sent"]
        assert (out["queue"], out["sent"], out["failed"], len(out["message_ids"])) == ("q", count, 0, count)


# ---- FIFO deduplication: the summary equals what SQS kept ---------------------------------------------------------


def fifo(sqs: Any, content_based: bool = False) -> str:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true" if content_based else "false"}
    url: str = sqs.create_queue(QueueName="x.fifo", Attributes=attributes)["QueueUrl"]
    return url


def test_one_dedup_id_for_several_lines_is_refused(sqs: Any) -> None:
    url = fifo(sqs)
    lines = "".join(json.dumps({"body": f"m{n}"}) + "\n" for n in range(3))
    result = run_cli(["queue", "send", "x.fifo", "--from", "-", "--group-id", "g", "--dedup-id", "same"], input=lines)
    assert result.exit_code == 2
    assert "--dedup-id 'same' would give 3 messages the same deduplication id" in error_line(result.stderr)
    assert bodies(sqs, url) == []


@pytest.mark.parametrize(
    ("content_based", "records", "fragment"),
    [
        (False, [{"body": "a", "attributes": {"MessageDeduplicationId": "d"}}] * 2, "same deduplication id 'd'"),
        (True, [{"body": "same"}, {"body": "other"}, {"body": "same"}], "line 1 and line 3 have the same body"),
    ],
)
def test_lines_sqs_would_deduplicate_are_refused(
    sqs: Any, content_based: bool, records: list[dict[str, Any]], fragment: str
) -> None:
    url = fifo(sqs, content_based)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    result = run_cli(["queue", "send", "x.fifo", "--from", "-", "--group-id", "g"], input=lines)
    assert result.exit_code == 2 and fragment in error_line(result.stderr)
    assert bodies(sqs, url) == []


def test_distinct_lines_are_all_sent_and_kept(sqs: Any) -> None:
    url = fifo(sqs, content_based=True)
    lines = "".join(json.dumps({"body": f"m{n}"}) + "\n" for n in range(3))
    result = run_cli(["queue", "send", "x.fifo", "--from", "-", "--group-id", "g"], input=lines)
    assert result.exit_code == 0 and json.loads(result.stdout)["sent"] == 3 == len(bodies(sqs, url))
    single = run_cli(["queue", "send", "x.fifo", "one", "--group-id", "g", "--dedup-id", "only"])
    assert single.exit_code == 0 and json.loads(single.stdout)["sent"] == 1


# ---- a closed or missing stdin ------------------------------------------------------------------------------------


class Closed(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError(9, "Bad file descriptor")


@pytest.mark.parametrize("stdin", [None, Closed(), io.BytesIO()])
def test_inputs_refuse_a_closed_stdin(stdin: Any) -> None:
    if isinstance(stdin, io.BytesIO):
        stdin.close()

    def lines() -> list[bytes]:
        with open_lines("-", stdin) as got:
            return list(got)

    for read in (lambda: read_text("-", stdin, what="--detail"), lambda: read_bytes("-", stdin, what="--from"), lines):
        with pytest.raises(UsageError, match="no standard input") as info:
            read()
        assert info.value.exit_code == 2


STDIN_ARGS = [
    ["queue", "send", "q", "-"],
    ["queue", "send", "q", "--from", "-"],
    ["publish", "--source", "s", "--detail-type", "t", "--detail", "-"],
    ["publish", "--file", "-"],
]


@pytest.mark.parametrize("args", STDIN_ARGS, ids=lambda a: " ".join(a))
def test_every_dash_with_stdin_closed_is_exit_2(moto_server: str, args: list[str]) -> None:
    boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server).create_queue(QueueName="q")
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_server)
    done = subprocess.run(
        [evctl_executable(), *args], env=env, capture_output=True, stdin=None, preexec_fn=lambda: os.close(0),
        timeout=60, text=True,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no standard input" in error_line(done.stderr) and done.stdout == ""
