"""SIGTERM and SIGHUP stop every long-running command the way Ctrl-C does (evctl/cli/stopping.py, docs/output.md).

Each command runs as the installed `evctl` against a moto server, is signalled once it is busy, and must exit with
128 + the signal's number (143, 129), print its summary on stderr, lose nothing (every message is counted: written,
moved, or back in its queue, none left held) and leave its files complete (--failed-to written, no .tmp).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import evctl_executable, restore_default_signals, strict_json_lines

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGHUP, id="SIGHUP")]
WORDS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


@pytest.fixture(autouse=True)
def fast_moto() -> Iterator[None]:
    """Keep moto's SQS cost flat with many messages (same answers; see evctl/sandbox/moto_speed.py)."""
    from evctl.sandbox import moto_speed

    note = moto_speed.apply()
    yield
    if note is None:
        moto_speed.restore()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)  # type: ignore[call-overload]


def _queue(sqs: Any, name: str, messages: int, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for first in range(0, messages, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(first, min(messages, first + 10))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return url


def _depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


class Run:
    """The installed evctl, started in its own session with default signal handling, stdout and stderr to files."""

    def __init__(self, args: list[str], endpoint: str, tmp: Path, stdin: str | None = None) -> None:
        self.out, self.err = tmp / "stdout", tmp / "stderr"
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [evctl_executable(), *args],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
                preexec_fn=restore_default_signals,
            )
        if stdin is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin.encode())
            self.proc.stdin.close()

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.proc.poll() is None, f"evctl ended before {what}: {self.stderr}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.stderr}"
            time.sleep(0.05)

    def stop(self, signum: int, timeout: float = 60) -> int:
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _assert_stopped(run: Run, signum: int, code: int) -> None:
    assert code == 128 + signum, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert f"evctl: error: {WORDS[signum]}" in run.stderr or WORDS[signum] in run.stderr


@pytest.mark.parametrize("signum", SIGNALS)
def test_drain_stops_cleanly(moto_server: str, tmp_path: Path, signum: int) -> None:
    sqs, total = _client("sqs", moto_server), 1500
    url = _queue(sqs, "busy", total)
    target = tmp_path / "drained.jsonl"
    run = Run(["queue", "drain", "busy", "--to", str(target), "--yes", "--wait", "0"], moto_server, tmp_path)
    run.wait_until(lambda: len(_lines(target)) >= 20, "the first lines")
    code = run.stop(signum)
    assert code == 128 + signum, run.stderr
    assert "drain stopped" in run.stderr and WORDS[signum] in run.stderr and "Traceback" not in run.stderr
    written = [json.loads(line)["body"] for line in _lines(target)]
    visible, in_flight = _depth(sqs, url)
    assert in_flight == 0  # every held message released
    assert len(set(written)) == len(written) and len(written) + visible == total  # nothing lost, nothing twice
    assert 0 < len(written) < total


@pytest.mark.parametrize("signum", SIGNALS)
def test_manual_redrive_stops_cleanly(moto_server: str, tmp_path: Path, signum: int) -> None:
    sqs, total = _client("sqs", moto_server), 400
    dlq = _queue(sqs, "dead", total)
    dst = _queue(sqs, "work", 0)
    args = ["redrive", "dlq", "dead", "--to", "work", "--mode", "manual", "--rate", "40", "--yes", "--wait", "0"]
    run = Run(args, moto_server, tmp_path)
    run.wait_until(lambda: _depth(sqs, dst)[0] >= 10, "the first moved messages")
    code = run.stop(signum)
    assert code == 128 + signum, run.stderr
    assert "redrive stopped" in run.stderr and "Traceback" not in run.stderr
    summary = json.loads(run.stdout)
    left, held = _depth(sqs, dlq)
    moved, _ = _depth(sqs, dst)
    assert held == 0 and moved + left == total and summary["moved"] == moved  # nothing lost, nothing held


@pytest.mark.parametrize("signum", SIGNALS)
def test_publish_stops_cleanly_and_writes_failed_to(moto_server: str, tmp_path: Path, signum: int) -> None:
    total = 3000
    events = "".join(
        json.dumps({"Source": "t.stop", "DetailType": "T", "Detail": json.dumps({"n": i})}) + "\n" for i in range(total)
    )
    failed = tmp_path / "failed.jsonl"
    failed.write_text("left over from the previous run\n")
    args = ["publish", "--file", "-", "--failed-to", str(failed), "--concurrency", "1"]
    run = Run(args, moto_server, tmp_path, stdin=events)
    run.wait_until(lambda: run.stdout.count("\n") >= 20, "the first published events")
    code = run.stop(signum)
    assert code == 128 + signum, run.stderr
    assert "published" in run.stderr and "Traceback" not in run.stderr
    records = strict_json_lines(run.stdout)
    ok = sum(1 for r in records if r["status"] == "ok")
    kept = _lines(failed)
    assert "left over from the previous run" not in kept and 0 < ok < total
    assert ok + len(kept) == total  # every event published or kept for a retry
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_load_run_stops_with_a_summary_equal_to_what_happened(moto_server: str, tmp_path: Path, signum: int) -> None:
    """`publish --rate` (open loop) stopped mid-run: exit 128 + the signal; its JSON summary counts exactly the events
    the bus delivered (a rule routes each to a queue), and published + failed + not sent = requested."""
    sqs, events = _client("sqs", moto_server), _client("events", moto_server)
    url = sqs.create_queue(QueueName="landed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["t.load"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    failed = tmp_path / "failed.jsonl"
    args = ["publish", "--source", "t.load", "--detail-type", "T", "--detail", '{"n":"{seq}"}', "--rate", "40/s",
            "--count", "100000", "--failed-to", str(failed)]  # fmt: skip
    run = Run(args, moto_server, tmp_path)
    time.sleep(2.5)  # about 80 events in: well inside the run (it would last 40 minutes)
    code = run.stop(signum)
    _assert_stopped(run, signum, code)
    summary = json.loads(run.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert summary["stopped"] is True and summary["requested"] == 100000
    assert summary["published"] + summary["failed"] + summary["not_sent"] == summary["requested"]
    landed = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])  # fmt: skip
    assert 0 < summary["published"] == landed, (summary, landed)
    assert len(_lines(failed)) == summary["failed"]
    assert f"published {summary['published']:,} of 100,000" in run.stderr, run.stderr
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("signum", SIGNALS)
def test_demo_mistakes_stops_with_its_sandbox(tmp_path: Path, signum: int) -> None:
    run = Run(["-o", "json", "demo", "mistakes", "-m", "1"], "http://127.0.0.1:9", tmp_path)  # no endpoint used
    run.wait_until(lambda: run.stdout.count("\n") >= 1, "the first step")
    code = run.stop(signum)
    _assert_stopped(run, signum, code)
    assert f"demo mistakes {WORDS[signum]}; " in run.stderr and "its sandbox is stopped" in run.stderr, run.stderr
    steps = strict_json_lines(run.stdout)
    verified = int(run.stderr.split(f"demo mistakes {WORDS[signum]}; ")[1].split(" step(s)")[0])
    assert verified == sum(1 for step in steps if step["ok"])  # the summary counts what was shown


@pytest.mark.parametrize("signum", SIGNALS)
def test_peek_releases_what_it_holds(moto_server: str, tmp_path: Path, signum: int) -> None:
    sqs = _client("sqs", moto_server)
    url = _queue(sqs, "peeked", 3)
    run = Run(["queue", "peek", "peeked", "-n", "50", "--wait", "2"], moto_server, tmp_path)
    run.wait_until(lambda: _depth(sqs, url)[1] > 0 or run.proc.poll() is not None, "messages held")
    code = run.stop(signum)
    assert code in (0, 128 + signum), run.stderr  # 0: it had already finished
    assert "Traceback" not in run.stderr
    assert _depth(sqs, url) == (3, 0)  # all released


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["queue", "stats", "watched", "--watch", "1"], id="stats-watch"),
        pytest.param(["tail", "logs", "grp", "--follow", "--interval", "30s"], id="tail-logs"),
    ],
)
def test_watching_commands_stop_with_a_summary(moto_server: str, tmp_path: Path, signum: int, args: list[str]) -> None:
    _queue(_client("sqs", moto_server), "watched", 1)
    _client("logs", moto_server).create_log_group(logGroupName="grp")
    run = Run(args, moto_server, tmp_path)
    if args[0] == "queue":
        run.wait_until(lambda: run.stdout.count("\n") >= 2, "two refreshes")
    else:  # an empty group prints nothing: give it time to be inside its follow loop
        time.sleep(1.5)
    code = run.stop(signum)
    _assert_stopped(run, signum, code)
    if args[0] == "queue":  # piped: one compact document per refresh, each the list `queue stats` prints
        refreshes = strict_json_lines(run.stdout)
        assert len(refreshes) >= 2 and all(r[0]["name"] == "watched" and r[0]["visible"] == 1 for r in refreshes)


@pytest.mark.parametrize("signum", SIGNALS)
def test_tail_bus_removes_its_rule_and_queue(moto_server: str, tmp_path: Path, signum: int) -> None:
    sqs, events = _client("sqs", moto_server), _client("events", moto_server)
    run = Run(["tail", "bus"], moto_server, tmp_path)
    run.wait_until(lambda: "tailing bus" in run.stderr, "the temporary rule and queue")
    code = run.stop(signum)
    _assert_stopped(run, signum, code)
    assert "temporary rule and queue removed" in run.stderr
    assert not sqs.list_queues().get("QueueUrls") and not events.list_rules()["Rules"]


def test_a_closed_pipe_ends_tail_logs_follow_on_a_quiet_group(moto_server: str, tmp_path: Path) -> None:
    """`tail logs -f | head -1`: the reader goes away after one line; evctl notices while idle and ends quietly."""
    logs = _client("logs", moto_server)
    logs.create_log_group(logGroupName="quiet")
    logs.create_log_stream(logGroupName="quiet", logStreamName="s")
    logs.put_log_events(
        logGroupName="quiet", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "one"}]
    )
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_server)
    proc = subprocess.Popen(
        [evctl_executable(), "tail", "logs", "quiet", "--follow", "--interval", "30s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=restore_default_signals,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip().endswith(b"one")
        proc.stdout.close()  # `head -1` exits
        code = proc.wait(timeout=20)  # never, before: it slept between polls and wrote nothing more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    assert code == 0 and stderr == "", stderr


@pytest.mark.parametrize("signum", SIGNALS)
def test_the_live_watch_on_a_20_column_terminal_fits_and_stops(moto_server: str, signum: int) -> None:
    """`pipeline watch` on a terminal (a pty) 20 columns wide: every line of the redrawn dashboard fits, a label and
    its value on one line (a 40-column dashboard wrapped by the terminal split them); a stop signal ends it with its
    summary, exit 128 + the signal."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    from evctl.render.tables import cell_width
    from evctl.sandbox import provision as pv

    names = ("events", "sqs", "lambda", "iam", "logs")
    pv.provision(pv.SandboxClients(*(_client(name, moto_server) for name in names)))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 20, 0, 0))
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_server, COLUMNS="20", LINES="24")
    proc = subprocess.Popen(
        [evctl_executable(), "pipeline", "watch", "--no-doctor", "--interval", "1", "user-signup-queue"],
        stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True,
        preexec_fn=restore_default_signals,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while seen.count(b"visible") < 2 and time.monotonic() < deadline:  # two frames drawn
            seen += _read_pty(leader)
        proc.send_signal(signum)
        code = proc.wait(timeout=60)
        seen += _read_pty(leader, until_eof=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))
    assert code == 128 + signum, text
    assert f"stopped watching ({WORDS[signum]})" in text and "Traceback" not in text
    frame = [line for line in re.split(r"\r?\n|\r", text) if line and "evctl: error" not in line
             and "watched for" not in line]  # fmt: skip
    assert any(re.match(r"^  visible +\d", line) for line in frame), frame
    assert all(cell_width(line) <= 20 for line in frame), [line for line in frame if cell_width(line) > 20]


def _read_pty(fd: int, until_eof: bool = False) -> bytes:
    import select

    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            if until_eof:
                continue
            return data
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return data
        if not chunk:
            return data
        data += chunk
        if not until_eof:
            return data
