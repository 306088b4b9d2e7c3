"""Every bad input to `evctl publish`: the exit code, one error line, and what was (not) sent."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.cli.test_publish import jsonl, ndjson, received
from tests.cli.test_publish import queue as queue
from tests.helpers import CliResult, run_cli

GOOD = json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": {"n": 1}})


def error_line(result: CliResult) -> str:
    """The one `evctl: error:` line; fails if there is not exactly one, or a traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return errors[0]


def rejected(args: list[str], input: str | None = None) -> tuple[CliResult, str]:
    result = run_cli(args, input=input)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    return result, error_line(result)


@pytest.mark.parametrize(
    ("detail", "problem"),
    [
        ("[1, 2]", "Detail must be a JSON object, not an array"),
        ('"just text"', "Detail must be a JSON object, not a string"),
        ("{oops", "Detail is not valid JSON"),
    ],
)
def test_flag_detail_that_is_not_an_object(queue: str, detail: str, problem: str) -> None:
    result, line = rejected(["publish", "--source", "evctl.test", "--detail-type", "T", "--detail", detail])
    assert line.startswith(f"evctl: error: invalid event: {problem}") and line.endswith("— nothing was sent")
    assert result.stdout == "" and received(queue) == []


def test_missing_source(queue: str) -> None:
    _result, line = rejected(["publish", "--detail-type", "T", "--detail", "{}"])
    assert line == "evctl: error: invalid event: Source is missing — nothing was sent"
    assert received(queue) == []


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("{not json", "not valid JSON"),
        (
            json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": [1]}),
            "Detail must be a JSON object, not an array",
        ),
        (json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": "text"}), "Detail is not valid JSON"),
        (json.dumps({"DetailType": "T", "Detail": {}}), "Source is missing"),
        (
            json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": {"x": "y" * 270_000}}),
            "entry is 270019 bytes, over the 262144-byte cap",
        ),
    ],
)
def test_mixed_valid_and_invalid_lines_send_the_valid_ones(queue: str, bad_line: str, problem: str) -> None:
    result = run_cli(["publish", "--file", "-"], input=f"{GOOD}\n{bad_line}\n{GOOD}\n")
    assert result.exit_code == 1
    assert error_line(result) == (  # --failed-to never records invalid lines: the hint must not offer it (issue 11)
        "evctl: error: 1 of 3 events were not published — fix the invalid line named above and publish again"
    )
    assert f"evctl: warning: line 2: {problem}" in result.stderr
    records = {r["line"]: r for r in ndjson(result.stdout)}
    assert records[2]["status"] == "invalid" and problem in records[2]["error_message"]
    assert records[1]["status"] == records[3]["status"] == "ok"
    assert len(received(queue)) == 2


def test_strict_sends_nothing_when_any_line_is_invalid(queue: str) -> None:
    result, line = rejected(["publish", "--file", "-", "--strict"], input=f"{GOOD}\n{{bad\n")
    assert line == "evctl: error: 1 of 2 events are invalid; nothing was sent (--strict)"
    assert "line 2: not valid JSON" in result.stderr
    assert result.stdout == "" and received(queue) == []


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_empty_stdin(queue: str, content: str) -> None:
    _result, line = rejected(["publish", "--file", "-"], input=content)
    assert line == "evctl: error: no events in stdin — expected one JSON object per line"
    assert received(queue) == []


def test_empty_file(queue: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    _, line = rejected(["publish", "--file", str(path)])
    assert line == f"evctl: error: no events in {path} — expected one JSON object per line"


def test_binary_garbage(queue: str, tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    result, line = rejected(["publish", "--file", str(path)])
    assert line.startswith("evctl: error: none of the") and "nothing was sent" in line
    assert "not UTF-8 text" in result.stderr
    assert received(queue) == []


def test_missing_file(queue: str, tmp_path: Path) -> None:
    _, line = rejected(["publish", "--file", str(tmp_path / "nope.jsonl")])
    assert line == "evctl: error: cannot read " + str(tmp_path / "nope.jsonl") + (
        ": No such file or directory — check the path given to --file"
    )


def test_unknown_template(queue: str) -> None:
    _, line = rejected(["publish", "singup"])
    assert line == "evctl: error: no template named 'singup' — known templates: signup (evctl templates list)"
    assert received(queue) == []


def test_set_of_a_key_the_template_lacks(queue: str) -> None:
    _, line = rejected(["publish", "signup", "--set", "emial=ann@example.com"])
    assert line == "evctl: error: template 'signup' has no key 'emial' — its keys: user_id, email, name"
    assert received(queue) == []


def test_detail_at_missing_file(queue: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    _, line = rejected(["publish", "--source", "evctl.test", "--detail-type", "T", "--detail", f"@{missing}"])
    assert line == f"evctl: error: cannot read --detail file '{missing}': No such file or directory"
    assert received(queue) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "-", "signup"], "--file cannot be combined with signup"),
        (["--file", "-", "--source", "s"], "--file cannot be combined with --source"),
        (["signup", "--detail", "{}"], "--detail cannot be combined with template 'signup' — use --set KEY=VALUE"),
        (["--set", "a=b", "--source", "evctl.test", "--detail-type", "T"], "--set needs a template"),
        ([], "nothing to publish — give a template name, --source and --detail-type, or --file"),
        (["signup", "--set", "novalue"], "--set 'novalue' is not KEY=VALUE"),
        (["signup", "--max-entry-size", "huge"], "cannot read size 'huge'"),
    ],
)
def test_conflicting_or_missing_flags(queue: str, args: list[str], message: str) -> None:
    _, line = rejected(["publish", *args], input=GOOD)
    assert message in line
    assert received(queue) == []


def test_unwritable_failed_to_is_refused_before_sending(queue: str, tmp_path: Path) -> None:
    _, line = rejected(["publish", "signup", "--failed-to", str(tmp_path / "no" / "such" / "dir.jsonl")])
    assert "cannot write --failed-to file" in line
    assert received(queue) == []


def test_unknown_bus_is_not_found_and_nothing_is_delivered(queue: str, tmp_path: Path) -> None:
    failed = tmp_path / "failed.jsonl"
    result = run_cli(["publish", "signup", "--bus", "nope", "--failed-to", str(failed)])
    assert result.exit_code == 3
    assert error_line(result).startswith("evctl: error: event bus 'nope' not found — Event bus nope does not exist")
    [record] = ndjson(result.stdout)
    assert (record["status"], record["error_code"]) == ("failed", "ResourceNotFoundException")
    assert received(queue) == []
    assert json.loads(failed.read_text())["EventBusName"] == "nope"  # kept for a retry


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    result = run_cli(["--endpoint-url", "http://127.0.0.1:9", "publish", "signup"])
    assert result.exit_code == 4
    assert error_line(result).startswith("evctl: error: no AWS credentials found — ")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli(["--endpoint-url", endpoint, "--max-attempts", "1", "publish", "--file", "-"], input=jsonl(3))
    assert result.exit_code == 5
    line = error_line(result)
    assert (
        line.startswith("evctl: error: could not reach the endpoint") and "is the endpoint / sandbox running?" in line
    )
    assert {r["status"] for r in ndjson(result.stdout)} == {"failed"}


def test_invalid_region() -> None:
    result = run_cli(["--region", "not a region!", "publish", "signup"])
    assert result.exit_code == 4
    assert "not a region!" in error_line(result)
    assert result.stdout == ""


def test_unreadable_time(queue: str) -> None:
    _, line = rejected(["publish", "signup", "--time", "yesterday"])
    assert line == (  # the option is named (issue 11)
        "evctl: error: --time: cannot read 'yesterday' as a time — use RFC 3339 (2026-11-27T10:15:06Z) or epoch seconds"
    )
    assert received(queue) == []


def test_failed_to_a_directory_is_refused_before_sending(queue: str, tmp_path: Path) -> None:
    _, line = rejected(["publish", "signup", "--failed-to", str(tmp_path)])
    assert line == f"evctl: error: --failed-to '{tmp_path}' is a directory — give a file name"
    assert received(queue) == []


@pytest.mark.parametrize("setting", ['concurrency = "many"', "concurrency = 500", 'max_entry_size = "huge"'])
def test_bad_publish_settings_in_the_config_file(
    queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text(f"[publish]\n{setting}\n")
    result = run_cli(["publish", "signup"])
    assert result.exit_code == 4
    assert error_line(result).startswith("evctl: error: ") and "[publish]" in error_line(result)
    assert received(queue) == []


def test_only_invalid_lines_failed_the_hint_is_true(queue: str, tmp_path: Path) -> None:
    """--failed-to records events that failed to send; invalid lines it never holds, so the hint does not offer it."""
    failed = tmp_path / "failed.jsonl"
    bad = json.dumps({"Source": "evctl.test", "DetailType": "T", "Detail": [1]})
    lines = f"{GOOD}\n{bad}\n{bad}\n"
    result = run_cli(["publish", "--file", "-"], input=lines)
    assert result.exit_code == 1
    assert error_line(result) == (
        "evctl: error: 2 of 3 events were not published — fix the invalid lines named above and publish again"
    )
    assert "--failed-to" not in result.stderr
    result = run_cli(["publish", "--file", "-", "--failed-to", str(failed)], input=lines)
    assert error_line(result) == (
        "evctl: error: 2 of 3 events were not published — fix the invalid lines named above and publish again "
        f"({failed} holds only events that failed to send)"
    )
    assert failed.read_text() == ""


@pytest.mark.parametrize("dry_run", [True, False])
def test_many_lines_with_one_problem_are_one_warning(queue: str, dry_run: bool) -> None:
    """100,000 lines with the same problem used to print 100,000 warnings (issue 11): one per distinct problem, with
    the count and the first line numbers; a problem of one line keeps its own line."""
    missing = json.dumps({"DetailType": "T", "Detail": {}})
    lines = [GOOD, *[missing] * 3000, "{oops", GOOD]
    args = ["publish", "--file", "-", *(["--dry-run"] if dry_run else [])]
    result = run_cli(args, input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    warnings = [line for line in result.stderr.splitlines() if line.startswith("evctl: warning:")]
    assert warnings[:2] == [
        "evctl: warning: 3000 lines (2, 3, 4, 5, 6, …): Source is missing",
        "evctl: warning: line 3002: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
    ]
    assert len(warnings) <= 3  # and, for the dry run, one for the valid events no rule takes
