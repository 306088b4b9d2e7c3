"""Hostile input for the commands of issue 14 (publish --count/--rate/--duration, pipeline watch, demo mistakes,
trace, doctor): each fault found by trying them as a hostile user, one test per class of fault.

- a load's --rate / --duration / --count: one line naming what is wrong (an exponent, a unit, a run longer than
  100 years or more events than --count takes), exit 2, nothing sent;
- a load's summary says what happened at any rate (0.0001/m is not "0.0 events/s");
- the watch's dashboard fits any terminal width (COLUMNS=20 cuts labels, never wraps a line);
- the watch's JSON says `"exists": false` for a queue deleted while it watches, and true again once it is back;
- a closed pipe keeps a checking command's verdict (doctor's finding: exit 1, quietly);
- `--failed-to` a device, a FIFO or a link is written in place, never replaced by a regular file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from evctl.cli.stopping import exit_for
from evctl.core.load import LoadReport, summarize
from evctl.core.load.stats import LoadStats
from evctl.core.pipeline import PipelineClients, discover
from evctl.core.watch import WatchClients, Watcher, plan_hops
from evctl.errors import PartialFailure
from evctl.output import Output, StdoutUnwritable, Streams
from evctl.render.load import summary_line, summary_rows
from evctl.render.tables import cell_width
from evctl.render.watch import dashboard_lines
from evctl.sandbox import provision as pv
from tests.helpers import run_cli
from tests.render.test_watch_render import snapshot

# --- bad load options: one line, exit 2, nothing sent ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rate", "1e12/s", "--count", "3"], "more than 1,000,000 events per second"),
        (["--rate", "1e3", "--count", "3"], "exponent"),
        (["--rate", "1e309", "--count", "3"], "not a finite number"),
        (["--rate", "10/h", "--count", "3"], "the unit /h is not /s or /m"),
        (["--rate", "10/", "--count", "3"], "no unit after /"),
        (["--rate", "-5/s", "--count", "3"], "not more than 0"),
        (["--rate", "0.0000001", "--count", "1000"], "would take 317 years"),
        (["--rate", "1000000", "--duration", "36500d"], "more than one run sends"),
        (["--rate", "5", "--duration", "PT5M"], "malformed duration 'PT5M'"),
        (["--rate", "5", "--duration", "5 m"], "malformed duration '5 m'"),
        (["--rate", "5", "--duration", "-1s"], "malformed duration '-1s'"),
        (["--rate", "5", "--duration", "0s"], "--duration must be more than 0"),
        (["--rate", "5", "--duration", "1e309s"], "malformed duration"),
        (["--count", "0"], "--count"),
        (["--count", "99999999999"], "--count"),
        (["--count", "3", "--concurrency", "0"], "--concurrency"),
        (["--count", "3", "--concurrency", "1000000000"], "--concurrency"),
    ],
)
def test_bad_load_options_are_one_line_before_anything_is_sent(args: list[str], expected: str) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        result = run_cli(["publish", "--source", "s", "--detail-type", "t", "--detail", "{}", *args])
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("evctl: error: "), result.stderr
    assert expected in result.stderr, result.stderr


def test_a_file_sent_once_at_a_rate_too_slow_for_it_is_refused(tmp_path: Any) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"Source":"s","DetailType":"t","Detail":"{}"}\n' * 3)
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        result = run_cli(["publish", "--file", str(events), "--rate", "0.0000000001"])
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    assert "would take 634 years" in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["pipeline", "watch", "q", "--interval", "0"], "--interval"),
        (["pipeline", "watch", "q", "--interval", "nan"], "--interval"),
        (["pipeline", "watch", "q", "--doctor-every", "10s"], "--doctor-every '10s' is out of range"),
        (["pipeline", "watch", "q", "--doctor-every", "PT5M"], "--doctor-every: malformed duration"),
        (["pipeline", "watch", "q", "--doctor-every", "1e9s"], "--doctor-every: malformed duration"),
        (["pipeline", "watch", "q", "--workers", "0"], "--workers"),
        (["demo", "mistakes", "-m", "0"], "--mistake"),
        (["demo", "mistakes", "-m", "6"], "--mistake"),
        (["demo", "mistakes", "-m", "x"], "--mistake"),
        (["trace", "signup", "--timeout", "0"], "--timeout"),
        (["trace", "signup", "--timeout", "inf"], "--timeout"),
        (["doctor", "q", "--log-window", "99999d"], "--log-window"),
    ],
)
def test_bad_options_of_the_new_commands_are_one_line(args: list[str], expected: str) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        result = run_cli(args)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


# --- the load's summary says what happened, at any rate --------------------------------------------------------


def _report(rate: float, published: int, seconds: float) -> LoadReport:
    stats = LoadStats(sent=published, published=published, first_sent=0.0, last_sent=seconds, last_finished=seconds)
    return LoadReport(published, rate, 1, 64, stats, started=0.0, ended=seconds)


@pytest.mark.parametrize("rate", [0.0001 / 60, 1e-10, 0.04, 2.5, 1_000_000.0])
def test_the_summary_never_rounds_a_rate_to_zero(rate: float) -> None:
    summary = summarize(_report(rate, 2, 1 / rate))
    assert summary["offered_rate"] > 0 and summary["achieved_rate"] > 0 and summary["throughput"] > 0
    assert abs(summary["offered_rate"] - rate) / rate < 0.01
    text = summary_line(summary) + " ".join(summary_rows(summary).values())
    assert " 0/s" not in text and "0.0 events/s" not in text and " 0.0/s" not in text, text


def test_invalid_lines_alone_are_not_called_failed_events() -> None:
    from evctl.core.load import load_error

    error = load_error(_report(10.0, 5, 0.5), invalid=2, failed_to=None, what="event bus")
    assert isinstance(error, PartialFailure)
    assert "0 of" not in str(error) and "2 invalid line(s) skipped" in str(error), str(error)


# --- the dashboard fits any width ----------------------------------------------------------------------------------

_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.parametrize("width", [1, 5, 12, 20, 27, 28, 39, 40, 41, 80])
@pytest.mark.parametrize("color", [False, True])
def test_every_dashboard_line_fits_the_terminal(width: int, color: bool) -> None:
    lines = dashboard_lines(snapshot(), width=width, color=color)
    too_wide = [line for line in lines if cell_width(_CSI.sub("", line)) > width]
    assert not too_wide, too_wide


def test_a_narrow_dashboard_keeps_every_value_whole() -> None:
    lines = dashboard_lines(snapshot(), width=20)
    assert "  visible          0" in lines and "  in flight       10" in lines
    assert any(line.endswith("3 ▲+2") for line in lines), lines
    assert any(line.endswith("12.5s") for line in lines), lines


# --- the watch's JSON follows a queue deleted under it -------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1_796_040_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seeded() -> Iterator[dict[str, Any]]:
    with mock_aws():
        names = ("events", "sqs", "lambda", "iam", "logs")
        raw: dict[str, Any] = {n: boto3.client(n, region_name="us-east-1") for n in (*names, "cloudwatch")}  # type: ignore[call-overload]
        pv.provision(pv.SandboxClients(*(raw[n] for n in names)))
        yield raw


def test_a_queue_deleted_while_watched_is_exists_false_until_it_is_back(seeded: dict[str, Any]) -> None:
    raw = seeded
    clients = PipelineClients(raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["cloudwatch"])
    hops = plan_hops(discover(clients, ["user-signup-queue"]))
    clock = _Clock()
    watcher = Watcher(hops, WatchClients(raw["sqs"], None), targets=["user-signup-queue"], clock=clock)

    def queue_hop() -> dict[str, Any]:
        document = watcher.tick().as_dict()
        [hop] = [h for h in document["hops"] if h["role"] == "queue"]
        return dict(hop)

    assert queue_hop()["exists"] is True
    url = raw["sqs"].get_queue_url(QueueName="user-signup-queue")["QueueUrl"]
    attributes = raw["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    raw["sqs"].delete_queue(QueueUrl=url)
    clock.now += 2
    gone = queue_hop()
    assert gone["exists"] is False and gone["visible"] is None
    assert gone["notes"] == ["does not exist (deleted since the watch started?)"]
    raw["sqs"].create_queue(QueueName="user-signup-queue", Attributes=attributes)
    clock.now += 2
    back = queue_hop()
    assert back["exists"] is True and back["visible"] == 0 and back["notes"] == []


# --- a closed pipe keeps a verdict -----------------------------------------------------------------------------------


def _closed_pipe() -> StdoutUnwritable:
    return StdoutUnwritable(BrokenPipeError(32, "Broken pipe"))


@pytest.mark.parametrize(("verdict", "moves_data", "expected"), [(0, False, (0, False)), (1, False, (1, False)),
                                                                  (0, True, (1, True)), (1, True, (1, True))])  # fmt: skip
def test_a_closed_pipe_ends_quietly_with_the_verdict(
    verdict: int, moves_data: bool, expected: tuple[int, bool]
) -> None:
    output = Output(streams=Streams(stdin=mock.Mock(), stdout=mock.Mock(), stderr=mock.Mock(), stdin_isatty=False,
                                    stdout_isatty=False, stderr_isatty=False))  # fmt: skip
    output.verdict, output.moves_data = verdict, moves_data
    assert exit_for(_closed_pipe(), output) == expected


# --- --failed-to a device, a FIFO or a link: written in place, never replaced -------------------------------------


def test_failed_to_a_fifo_is_written_in_place_not_replaced(tmp_path: Any) -> None:
    from evctl.core.common.files import AtomicFile

    fifo = tmp_path / "failed.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the writer's open does not wait
    try:
        out = AtomicFile.create(fifo, what="--failed-to")
        out.commit(['{"n":1}\n'])
        assert os.read(reader, 100) == b'{"n":1}\n'
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.fifo"]  # no temporary file left


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_failed_to_a_full_device_is_reported_and_the_device_stays(tmp_path: Any) -> None:
    """`--failed-to /dev/full` as root replaced the device node with a regular file; here on a node of our own."""
    from evctl.core.common.files import AtomicFile, FileWriteError

    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
    out = AtomicFile.create(full, what="--failed-to")
    with pytest.raises(FileWriteError, match=r"disk full writing --failed-to .*full"):
        out.commit(['{"n":1}\n'])
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_failed_to_a_symbolic_link_keeps_the_link(tmp_path: Any) -> None:
    from evctl.core.common.files import AtomicFile

    real, link = tmp_path / "real.jsonl", tmp_path / "failed.jsonl"
    real.write_text("from the previous run\n")
    link.symlink_to(real)
    AtomicFile.create(link, what="--failed-to").commit(['{"n":1}\n'])
    assert link.is_symlink() and real.read_text() == '{"n":1}\n'
