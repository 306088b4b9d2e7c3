"""`evctl tail logs` end to end in-process (moto): stdout, stderr and exit code apart, in each mode."""

from __future__ import annotations

import datetime as dt
import io
import json
import types
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from evctl.aws import ClientFactory
from tests.core.test_logs_harness import FakeClock, Faults
from tests.helpers import run_cli

FN = "user-signup-handler"
GROUP = f"/aws/lambda/{FN}"
STREAM = "2026/11/27/[$LATEST]0123456789abcdef"
REQ = "8f5a2c3e-2b7d-4c8e-9a1f-0123456789ab"
INVOCATION = [
    f"START RequestId: {REQ} Version: $LATEST\n",
    "Processing user signup event: {'email': 'ann@example.com'}\n",
    f"[ERROR]\t2026-11-27T10:00:00.000Z\t{REQ}\tKeyError: 'name'\rTraceback (most recent call last):\r  File \"/var/task/app.py\"\r",
    f"END RequestId: {REQ}\n",
    f"REPORT RequestId: {REQ}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB\t\n",
]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """A function with one invocation logged 60 s ago, and an unrelated log group. Tests only read them."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName=FN, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": _zip()}
        )
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        base = (int(dt.datetime.now(dt.UTC).timestamp()) - 60) * 1000
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=STREAM,
            logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(INVOCATION)],
        )
        logs.create_log_group(logGroupName="/custom/payments")
        logs.create_log_stream(logGroupName="/custom/payments", logStreamName="p")
        logs.put_log_events(
            logGroupName="/custom/payments", logStreamName="p", logEvents=[{"timestamp": base + 2, "message": "paid"}]
        )
        logs.base = base  # type: ignore[attr-defined]
        yield logs


def hhmmss(epoch_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%H:%M:%S.") + f"{epoch_ms % 1000:03d}"


@contextmanager
def hooked_clients(register: Callable[[str, Any], None]) -> Iterator[None]:
    """Lets a test hook (fault-inject) the clients the command builds."""
    original = ClientFactory._build

    def build(self: ClientFactory, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        register(service, client)
        return client

    with mock.patch.object(ClientFactory, "_build", build):
        yield


@contextmanager
def fake_time(clock: FakeClock) -> Iterator[None]:
    with mock.patch("evctl.core.logs.tail.time", types.SimpleNamespace(time=clock, sleep=clock.sleep)):
        yield


def test_piped_short_format_one_line_per_event(aws: Any) -> None:
    result = run_cli(["tail", "logs", FN])
    assert result.exit_code == 0
    assert result.stderr == ""
    base = aws.base
    assert result.stdout.splitlines() == [
        f"{hhmmss(base)} START RequestId: {REQ} Version: $LATEST",
        f"{hhmmss(base + 1)} Processing user signup event: {{'email': 'ann@example.com'}}",
        f"{hhmmss(base + 2)} [ERROR]\t2026-11-27T10:00:00.000Z\t{REQ}\tKeyError: 'name'\\nTraceback (most recent call last):\\n  File \"/var/task/app.py\"",
        f"{hhmmss(base + 3)} END RequestId: {REQ}",
        f"{hhmmss(base + 4)} REPORT RequestId: {REQ}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB",
    ]


def test_terminal_output_is_styled(aws: Any) -> None:
    result = run_cli(["tail", "logs", FN], tty=True)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].endswith(f"\x1b[2mSTART RequestId: {REQ} Version: $LATEST\x1b[0m")
    assert "\x1b[31m[ERROR]" in lines[2] and lines[3] == "Traceback (most recent call last):"
    assert "\x1b[36m15.74 ms\x1b[0m" in result.stdout


def test_json_when_output_is_json_and_other_formats(aws: Any) -> None:
    result = run_cli(["-o", "json", "tail", "logs", FN])
    assert result.exit_code == 0 and result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records] == ["start", "log", "traceback", "end", "report"]
    assert {r["requestId"] for r in records} == {REQ}
    assert {r["group"] for r in records} == {GROUP} and {r["source"] for r in records} == {FN}
    assert records[0]["message"] == INVOCATION[0] and records[0]["eventId"]
    raw = run_cli(["tail", "logs", GROUP, "--format", "raw"])
    assert raw.stdout.splitlines()[3] == f"END RequestId: {REQ}"
    detailed = run_cli(["tail", "logs", GROUP, "--format", "detailed"])
    assert detailed.stdout.splitlines()[3].split(" ", 1)[1] == f"{GROUP} {STREAM} END RequestId: {REQ}"


def test_several_targets_are_merged_by_time_and_labelled(aws: Any) -> None:
    result = run_cli(["tail", "logs", FN, "/custom/payments"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[2] == f"{hhmmss(aws.base + 2)} {FN}".ljust(len(hhmmss(0)) + 1 + len("/custom/payments")) + " " + (
        f"[ERROR]\t2026-11-27T10:00:00.000Z\t{REQ}\tKeyError: 'name'\\nTraceback (most recent call last):\\n  File \"/var/task/app.py\""
    )
    assert lines[3] == f"{hhmmss(aws.base + 2)} /custom/payments    paid"  # labels padded to the longest


def test_errors_and_request_id_filters(aws: Any) -> None:
    errors = run_cli(["tail", "logs", FN, "--errors", "--format", "raw"])
    assert errors.exit_code == 0
    assert errors.stdout.count("\n") == 1 and errors.stdout.startswith("[ERROR]")
    invocation = run_cli(["tail", "logs", FN, "--request-id", REQ, "--format", "raw"])
    assert len(invocation.stdout.splitlines()) == 5  # the print() line carries no id but is inside START..END
    other = run_cli(["tail", "logs", FN, "--request-id", "other-id"])
    assert (other.exit_code, other.stdout) == (0, "")
    assert other.stderr == "no log events in the window (widen it with --since, or --follow to wait for new ones)\n"


@pytest.mark.parametrize(
    ("args", "exit_code", "stderr"),
    [
        (["user-signup-handlr"], 3, "evctl: error: no function or log group named 'user-signup-handlr' — did you mean user-signup-handler?"),
        (["/custom/paymnts"], 3, "evctl: error: log group /custom/paymnts not found — did you mean /custom/payments?"),
        ([FN, "--since", "2999-01-01T00:00:00Z"], 2, "evctl: error: --since 2999-01-01T00:00:00Z is in the future"),
        ([FN, "--since", "1h", "--until", "2h"], 2, "evctl: error: --until ("),
        ([FN, "--since", "5 minutes"], 2, "evctl: error: --since: cannot read '5 minutes' as a time — use a duration"),
        ([FN, "--follow", "--interval", "1x"], 2, "evctl: error: --interval: malformed duration '1x' — use e.g. 500ms, 30s, 5m, 2h, 1d"),
        ([FN, "--follow", "--lookback", "soon"], 2, "evctl: error: --lookback: malformed duration 'soon'"),
        ([FN, "--live", "--since", "5m"], 2, "evctl: error: --live shows new events only and takes no --since — drop --since, or use --follow"),
        ([f"/g/{i}" for i in range(11)] + ["--live"], 2, "evctl: error: --live takes at most 10 log groups (11 given) — use --follow instead"),
    ],
)  # fmt: skip
def test_bad_input(aws: Any, args: list[str], exit_code: int, stderr: str) -> None:
    built: list[str] = []
    with hooked_clients(lambda service, _client: built.append(service)):
        result = run_cli(["tail", "logs", *args])
    assert result.exit_code == exit_code
    assert result.stdout == ""
    assert result.stderr.startswith(stderr) and result.stderr.count("\n") == 1
    if exit_code == 2:
        assert built == []  # refused before any client was built: nothing was sent


def test_bad_format_is_a_usage_error_before_any_call(aws: Any) -> None:
    """--format is a Typer choice (Literal): a bad value is Typer's usage error, exit 2, before any client exists."""
    built: list[str] = []
    with hooked_clients(lambda service, _client: built.append(service)):
        result = run_cli(["tail", "logs", FN, "--format", "yaml"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--format': 'yaml' is not one of 'short', 'detailed', 'json', 'raw'." in result.stderr
    assert built == []


def test_the_format_choices_are_the_formatters_formats() -> None:
    from typing import get_args

    from evctl.cli.tail_logs import Format
    from evctl.render.logs import FORMATS

    assert get_args(Format) == FORMATS


def test_access_denied_exits_4(aws: Any) -> None:
    def deny(service: str, client: Any) -> None:
        def answer(**_: Any) -> Any:
            error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: logs:FilterLogEvents"}
            return AWSResponse("https://logs.test", 400, {}, None), {
                "Error": error,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }

        if service == "logs":
            client.meta.events.register("before-call.cloudwatch-logs.FilterLogEvents", answer)

    with hooked_clients(deny):
        result = run_cli(["tail", "logs", FN])
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr == (
        "evctl: error: access denied: not authorized to perform: logs:FilterLogEvents — "
        "check the IAM permissions of your credentials\n"
    )


def test_follow_prints_new_events_survives_throttling_and_stops_after_until(aws: Any) -> None:
    clock = FakeClock()
    faults: list[Faults] = []
    group = "/custom/follow"
    aws.create_log_group(logGroupName=group)
    aws.create_log_stream(logGroupName=group, logStreamName="s")
    aws.put_log_events(
        logGroupName=group, logStreamName="s", logEvents=[{"timestamp": clock.now_ms - 60_000, "message": "old"}]
    )
    start = clock.now

    def put_one() -> None:
        if clock.now - start <= 20:
            message = f"tick {clock.now - start:.2f}"
            aws.put_log_events(
                logGroupName=group, logStreamName="s", logEvents=[{"timestamp": clock.now_ms, "message": message}]
            )

    clock.on_sleep.append(put_one)
    inject = lambda s, c: faults.append(Faults(c, throttle_rate=0.3, seed=5)) if s == "logs" else None  # noqa: E731
    with fake_time(clock), hooked_clients(inject):
        until = dt.datetime.fromtimestamp(start + 10, tz=dt.UTC).isoformat()
        result = run_cli(
            [
                "tail",
                "logs",
                group,
                "--follow",
                "--since",
                "2m",
                "--until",
                until,
                "--lookback",
                "5s",
                "--format",
                "raw",
            ]
        )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "old"
    ticks = [float(line.split()[1]) for line in lines[1:]]
    # Every tick written up to --until is printed once, in order; none after it; then the follow ended.
    assert ticks == sorted(set(ticks)) and len(ticks) >= 8
    assert max(ticks) <= 10.0 and ticks[-1] >= 9.0
    assert sum(f.throttles for f in faults) > 0
    assert result.stderr.count("evctl: warning: FilterLogEvents is throttled") >= 1


def test_ctrl_c_ends_cleanly_with_a_summary(aws: Any) -> None:
    clock = FakeClock()

    def interrupt() -> None:
        if len(clock.slept) == 3:
            raise KeyboardInterrupt

    clock.on_sleep.append(interrupt)
    with fake_time(clock):
        result = run_cli(["tail", "logs", FN, "-f", "--format", "raw"])
    assert result.exit_code == 130
    assert len(result.stdout.splitlines()) == 5
    assert result.stderr == (
        "evctl: error: interrupted after 5 events from 1 log group; 3 FilterLogEvents calls, 0 throttled, "
        "2 overlap duplicates dropped, 0 late events shown\n"  # the newest millisecond is read again
    )
