"""A disk that fills up (ENOSPC) or a file size limit (EFBIG) after N bytes, injected at the OS boundary (os.write,
the one call every evctl file write goes through: evctl.core.common.files.write_all), under `queue drain --to`,
`redrive dlq --journal` and `publish --failed-to`, for several N. Each run's file and summary are checked against
the queues' real contents (moto): the file holds exactly the lines counted as written, every message is counted
as moved, written, released or possibly duplicated (named), the file is accepted by `queue send --from`, and the
error names the cause, the option and the file, with exit 1."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from tests.helpers import run_cli


class FullDisk:
    """os.write on files under `folder` succeeds for the first `budget` bytes in all (a short write takes what is
    left), then fails with `error`; other descriptors (sockets, pipes, other files) are untouched."""

    def __init__(self, folder: Path, budget: int, error: int) -> None:
        self.folder, self.budget, self.error = str(folder.resolve()), budget, error
        self.real_write = os.write
        self.failures = 0

    def _watched(self, fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(self.folder + os.sep)
        except OSError:
            return False

    def write(self, fd: int, data: Any) -> int:
        if not self._watched(fd):
            return self.real_write(fd, data)
        if self.budget <= 0:
            self.failures += 1
            raise OSError(self.error, os.strerror(self.error))
        chunk = bytes(data)[: self.budget]
        written = self.real_write(fd, chunk)
        self.budget -= written
        return written


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def all_messages(sqs: Any, url: str) -> dict[str, str]:
    """Every message in the queue, {MessageId: body} (received with a long hold, so each is seen once)."""
    found: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not got:
            return found
        found.update({m["MessageId"]: m["Body"] for m in got})


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(lines) == 1, stderr
    assert "internal error" not in lines[0] and "Traceback" not in stderr
    return lines[0]


BODIES = [json.dumps({"n": n, "pad": "x" * (n * 7 % 40)}) for n in range(25)]
ERRORS = [(errno.ENOSPC, "disk full"), (errno.EFBIG, "file size limit reached")]
# 0: the first write fails; 1: a byte of a line; ~1.5 lines; ~1 batch and a half; more than a whole drain.
BUDGETS = [0, 1, 700, 6000, 10**7]


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize(("error", "cause"), ERRORS)
def test_drain_on_a_full_disk(sqs: Any, tmp_path: Path, budget: int, error: int, cause: str) -> None:
    url = sqs.create_queue(QueueName="full")["QueueUrl"]
    for body in BODIES:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    out = tmp_path / "disk" / "drained.jsonl"
    out.parent.mkdir()
    disk = FullDisk(out.parent, budget, error)
    with mock.patch("os.write", disk.write):
        result = run_cli(["queue", "drain", "full", "--to", str(out), "--yes", "--wait", "0"])

    summary = json.loads(result.stdout)
    lines = out.read_bytes().split(b"\n") if out.exists() else [b""]
    assert lines[-1] == b""  # whole lines only: no fragment
    written = [json.loads(line)["body"] for line in lines[:-1]]
    left = all_messages(sqs, url)
    assert summary["written"] == summary["deleted"] == len(written)  # the file holds exactly what was counted
    assert summary["duplicates_possible"] == 0
    assert sorted(written + list(left.values())) == sorted(BODIES) and not set(written) & set(left.values())
    if disk.failures:
        assert result.exit_code == 1
        line = error_line(result.stderr)
        assert f"{cause} writing --to {out}" in line and "nothing that was not written was deleted" in line
    else:
        assert result.exit_code == 0 and len(written) == 25
    if written:  # the file goes back into a queue as it is
        sqs.create_queue(QueueName="back")
        again = run_cli(["queue", "send", "back", "--from", str(out)])
        assert again.exit_code == 0, again.stderr
        assert json.loads(again.stdout)["sent"] == len(written)


@pytest.mark.parametrize("budget", [0, 1, 700, 2500, 6000, 10**7])
@pytest.mark.parametrize(("error", "cause"), ERRORS)
@pytest.mark.parametrize("concurrency", ["1", "2"])
def test_redrive_with_a_journal_on_a_full_disk(
    sqs: Any, tmp_path: Path, budget: int, error: int, cause: str, concurrency: str
) -> None:
    """The batch whose journal write fails was already sent: it stays in the DLQ too, and the summary counts and
    names it (moved + sent_not_deleted = what reached the destination; moved = the journal's lines)."""
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dst = sqs.create_queue(QueueName="orders")["QueueUrl"]
    for body in BODIES:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    journal = tmp_path / "disk" / "journal.jsonl"
    journal.parent.mkdir()
    disk = FullDisk(journal.parent, budget, error)
    with mock.patch("os.write", disk.write):
        result = run_cli(
            ["redrive", "dlq", "orders-dlq", "--to", "orders", "--journal", str(journal), "--yes", "--wait", "0",
             "--concurrency", concurrency]
        )  # fmt: skip

    summary = json.loads(result.stdout)
    data = journal.read_bytes() if journal.exists() else b""
    assert data == b"" or data.endswith(b"\n")
    journaled = [json.loads(line)["body"] for line in data.splitlines()]
    in_dlq = all_messages(sqs, dlq)
    in_dst = list(all_messages(sqs, dst).values())
    duplicates = summary["duplicate_ids"]
    assert summary["moved"] == len(journaled)
    assert summary["sent_not_deleted"] == summary["duplicates_possible"] == len(duplicates)
    assert set(duplicates) <= set(in_dlq)  # named: each is still in the DLQ ...
    assert sorted(in_dst) == sorted(journaled + [in_dlq[d] for d in duplicates])  # ... and in the destination
    assert sorted(journaled + list(in_dlq.values())) == sorted(BODIES)  # nothing lost
    if disk.failures:
        assert result.exit_code == 1
        line = error_line(result.stderr)
        assert f"{cause} writing --journal {journal}" in line and "not journaled and stay in the source" in line
        if duplicates:
            assert f"{len(duplicates)} message(s) are in orders and still in orders-dlq" in result.stderr
    else:
        assert result.exit_code == 0 and len(journaled) == 25 and not duplicates


@pytest.mark.parametrize("budget", [0, 1, 300, 10**7])
@pytest.mark.parametrize(("error", "cause"), ERRORS)
def test_publish_failed_to_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int, error: int, cause: str
) -> None:
    """--failed-to is replaced whole or left as it was; no temporary file stays; exit 1 naming --failed-to."""
    from evctl.aws import ClientFactory
    from tests.core.test_events_faults import EntryFaults, mixed_plan

    with mock_aws():
        injector = EntryFaults(boto3.client("events", region_name="us-east-1"), mixed_plan)
        original = ClientFactory.client

        def build(self: ClientFactory, service: str, *args: Any, **kwargs: Any) -> Any:
            client = original(self, service, *args, **kwargs)
            if service == "events":
                injector.install(client)
            return client

        monkeypatch.setattr(ClientFactory, "client", build)
        failed = tmp_path / "disk" / "failed.jsonl"
        failed.parent.mkdir()
        failed.write_text("previous run\n")
        events = "".join(
            json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": json.dumps({"n": n})}) + "\n"
            for n in range(20)
        )
        disk = FullDisk(failed.parent, budget, error)
        with mock.patch("os.write", disk.write):
            result = run_cli(
                ["publish", "--file", "-", "--max-attempts", "3", "--failed-to", str(failed)], input=events
            )
    assert result.exit_code == 1
    assert [p.name for p in failed.parent.iterdir()] == ["failed.jsonl"]  # no temporary file left
    if disk.failures:
        assert f"{cause} writing --failed-to {failed}" in error_line(result.stderr)
        assert failed.read_text() == "previous run\n"
    else:
        kept = [json.loads(line) for line in failed.read_text().splitlines()]
        assert sorted(json.loads(k["Detail"])["n"] for k in kept) == [2, 3, 12, 13]


# ---- the real OS: a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) on the installed executable ----------------


def _limited(limit: int) -> Any:
    def preexec() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def _run_limited(args: list[str], endpoint: str, limit: int) -> tuple[int, str, str]:
    import subprocess

    from tests.helpers import evctl_executable

    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [evctl_executable(), *args], env=env, capture_output=True, text=True, preexec_fn=_limited(limit), timeout=120
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("limit", [1, 900, 5000])
def test_drain_and_journal_under_a_real_file_size_limit(moto_server: str, tmp_path: Path, limit: int) -> None:
    """The file size limit cuts a write part way (the kernel writes up to the limit, then EFBIG): the drain file
    and the journal still hold exactly the lines counted, and the summaries equal the queues' contents."""
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server)
    src = sqs.create_queue(QueueName="big")["QueueUrl"]
    for body in BODIES:
        sqs.send_message(QueueUrl=src, MessageBody=body)
    out = tmp_path / "drained.jsonl"
    code, stdout, stderr = _run_limited(
        ["queue", "drain", "big", "--to", str(out), "--yes", "--wait", "0"], moto_server, limit
    )
    summary = json.loads(stdout)
    data = out.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    written = [json.loads(line)["body"] for line in data.splitlines()]
    left = all_messages(sqs, src)
    assert code == 1 and f"file size limit reached writing --to {out}" in error_line(stderr)
    assert summary["written"] == summary["deleted"] == len(written) < 25
    assert sorted(written + list(left.values())) == sorted(BODIES)

    dlq = sqs.create_queue(QueueName="big-dlq")["QueueUrl"]
    dst = sqs.create_queue(QueueName="big-again")["QueueUrl"]
    for body in BODIES:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    journal = tmp_path / "journal.jsonl"
    code, stdout, stderr = _run_limited(
        ["redrive", "dlq", "big-dlq", "--to", "big-again", "--journal", str(journal), "--yes", "--wait", "0"],
        moto_server,
        limit,
    )
    summary = json.loads(stdout)
    data = journal.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    journaled = [json.loads(line)["body"] for line in data.splitlines()]
    in_dlq = all_messages(sqs, dlq)
    in_dst = list(all_messages(sqs, dst).values())
    assert code == 1 and f"file size limit reached writing --journal {journal}" in error_line(stderr)
    assert summary["moved"] == len(journaled) and summary["duplicates_possible"] == len(summary["duplicate_ids"]) > 0
    assert sorted(in_dst) == sorted(journaled + [in_dlq[d] for d in summary["duplicate_ids"]])
    assert sorted(journaled + list(in_dlq.values())) == sorted(BODIES)


@pytest.mark.parametrize("option", ["--to", "--journal"])
@pytest.mark.parametrize("tail", [b'{"messageId":"half', b"x", b'{"body":"no newline"}'])
def test_the_next_run_repairs_a_partial_tail(sqs: Any, tmp_path: Path, option: str, tail: bytes) -> None:
    """A file left with a partial last line (a kill mid-write, a failed cut): the next drain or journaled redrive
    cuts it, says so, appends whole lines, and `queue send --from` accepts the result."""
    url = sqs.create_queue(QueueName="src")["QueueUrl"]
    sqs.create_queue(QueueName="dst")
    for body in BODIES[:5]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    path = tmp_path / "f.jsonl"
    whole = json.dumps({"body": "earlier"}).encode() + b"\n"
    path.write_bytes(whole + tail)
    if option == "--to":
        args = ["queue", "drain", "src", "--to", str(path), "--yes", "--wait", "0"]
    else:
        args = ["redrive", "dlq", "src", "--to", "dst", "--journal", str(path), "--yes", "--wait", "0"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert f"cut a partial last line ({len(tail)} bytes)" in result.stderr
    data = path.read_bytes()
    assert data.startswith(whole) and data.endswith(b"\n") and len(data.splitlines()) == 6
    again = run_cli(["queue", "send", "dst", "--from", str(path)])
    assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == 6


TARGETS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "a directory": (lambda tmp: tmp, "is a directory"),
    "a missing directory": (lambda tmp: tmp / "missing" / "f.jsonl", "does not exist"),
    "under a file": (lambda tmp: tmp / "plain" / "f.jsonl", "is a file, not a directory"),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("option", ["--to", "--journal", "--failed-to"])
def test_an_unusable_target_names_its_option_before_anything_happens(
    sqs: Any, tmp_path: Path, option: str, target: str
) -> None:
    """Exit 2 naming the option that was given (never --to for --journal), the real reason (a directory is not
    "missing"), nothing received or sent, no file left behind."""
    (tmp_path / "plain").write_text("")
    url = sqs.create_queue(QueueName="src")["QueueUrl"]
    sqs.create_queue(QueueName="dst")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Source": "s", "DetailType": "t", "Detail": "{}"}))
    make, reason = TARGETS[target]
    path = str(make(tmp_path))
    args = {
        "--to": ["queue", "drain", "src", "--to", path, "--yes", "--wait", "0"],
        "--journal": ["redrive", "dlq", "src", "--to", "dst", "--journal", path, "--yes", "--wait", "0"],
        "--failed-to": ["publish", "--source", "s", "--detail-type", "t", "--failed-to", path],
    }[option]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run_cli(args)
    assert result.exit_code == 2, result.stderr
    line = error_line(result.stderr)
    assert option in line and reason in line
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"  # this receive: nothing received it before
