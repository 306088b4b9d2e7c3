from __future__ import annotations

import io
import json

import pytest

from evctl.errors import UsageError
from evctl.output import Output, Streams


def make(
    mode: str = "auto", tty: bool = False, color: str = "auto", stdin: str = ""
) -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    streams = Streams(
        stdin=io.StringIO(stdin), stdout=out, stderr=err, stdin_isatty=tty, stdout_isatty=tty, stderr_isatty=tty
    )
    return Output(mode=mode, color=color, streams=streams), out, err  # type: ignore[arg-type]


ROWS = [{"name": "a", "n": 1}, {"name": "b", "n": 2}]


def test_auto_piped_result_is_json() -> None:
    output, out, err = make()
    output.result(ROWS)
    assert json.loads(out.getvalue()) == ROWS
    assert err.getvalue() == ""


def test_auto_piped_stream_is_ndjson_flushed_per_record() -> None:
    output, out, _ = make()
    with output.records() as records:
        records.write(ROWS[0])
        assert out.getvalue() == '{"name":"a","n":1}\n'
        records.write(ROWS[1])
    assert [json.loads(line) for line in out.getvalue().splitlines()] == ROWS


def test_tty_result_is_a_table() -> None:
    output, out, _ = make(tty=True, color="never")
    output.result(ROWS, columns=[("name", "NAME"), ("n", "COUNT")])
    text = out.getvalue()
    assert "NAME" in text and "COUNT" in text and "\x1b[" not in text


def test_text_mode_is_tab_separated() -> None:
    output, out, _ = make(mode="text")
    output.result(ROWS, columns=[("name", "NAME"), ("n", "COUNT")])
    assert out.getvalue() == "a\t1\nb\t2\n"


def test_ndjson_mode_for_a_single_result() -> None:
    output, out, _ = make(mode="ndjson")
    output.result({"a": 1})
    assert out.getvalue() == '{"a":1}\n'


def test_messages_go_to_stderr_and_quiet_silences_info_only() -> None:
    output, out, err = make()
    output.quiet = True
    output.info("narration")
    output.warn("careful")
    output.error("broken")
    assert out.getvalue() == ""
    assert err.getvalue() == "evctl: warning: careful\nevctl: error: broken\n"


def test_no_color_env_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    output, _, _ = make(tty=True)
    assert output.color is False and output.stderr_color is False


def test_confirm_refuses_without_yes_when_not_interactive() -> None:
    output, _, _ = make(tty=False)
    with pytest.raises(UsageError, match="pass --yes"):
        output.confirm("purge queue q", yes=False)
    output.confirm("purge queue q", yes=True)


def test_confirm_asks_on_a_tty() -> None:
    output, _, err = make(tty=True, stdin="y\n")
    output.confirm("purge queue q", yes=False)
    assert "Purge queue q? [y/N]" in err.getvalue()
    output, _, _ = make(tty=True, stdin="n\n")
    with pytest.raises(UsageError, match="not confirmed"):
        output.confirm("purge queue q", yes=False)


def test_progress_is_silent_when_stderr_is_not_a_tty() -> None:
    output, out, err = make(tty=False)
    with output.progress("x", total=3) as bar:
        bar.advance(3)
    assert out.getvalue() == err.getvalue() == ""


def test_table_to_a_pipe_is_not_folded_to_80_columns() -> None:
    output, out, _ = make(mode="table")
    long = "x" * 150
    output.result([{"name": long, "n": 1}], columns=[("name", "NAME"), ("n", "COUNT")])
    assert long in out.getvalue()
