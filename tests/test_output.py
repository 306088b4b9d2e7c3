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


# ---- tables fitted to the terminal ----------------------------------------------------------------------------

STATS = [
    {"name": "user-signup-queue", "visible": 3, "dlq": "user-signup-dlq", "dlq_sources": [], "retention": "4d"},
    {"name": "user-signup-dlq", "visible": 1, "dlq": None, "dlq_sources": ["user-signup-queue"], "retention": "14d"},
]


def stats_columns() -> list[object]:
    from evctl.render.tables import Column

    return [
        Column("name", "QUEUE", priority=0, no_wrap=True),
        Column("visible", "VISIBLE", no_wrap=True),
        Column("dlq", "DLQ", no_wrap=True),
        Column("dlq_sources", "DLQ OF", priority=2, no_wrap=True),
        Column("retention", "RETENTION", priority=3, no_wrap=True),
    ]


def make_tty(mode: str = "auto", width: int = 40, quiet: bool = False) -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    streams = Streams(stdout=out, stderr=err, stdin_isatty=True, stdout_isatty=True, stderr_isatty=True, width=width)
    return Output(mode=mode, color="never", quiet=quiet, streams=streams), out, err  # type: ignore[arg-type]


def test_a_narrow_terminal_leaves_columns_out_with_one_note() -> None:
    output, out, err = make_tty(width=45)
    output.result(STATS, columns=stats_columns())  # type: ignore[arg-type]
    output.result(STATS, columns=stats_columns())  # redrawn (`queue stats --watch`): still one note
    assert out.getvalue().splitlines()[:3] == [
        "QUEUE              VISIBLE  DLQ",
        "user-signup-queue  3        user-signup-dlq",
        "user-signup-dlq    1        -",
    ]
    assert err.getvalue() == (
        "evctl: left out DLQ OF, RETENTION to fit 45 columns; -o wide or -o json shows every column\n"
    )
    quiet, _, err = make_tty(width=45, quiet=True)
    quiet.result(STATS, columns=stats_columns())  # type: ignore[arg-type]
    assert err.getvalue() == ""


def test_wide_is_a_table_with_every_column_and_no_note() -> None:
    output, out, err = make_tty(mode="wide", width=40)
    output.result(STATS, columns=stats_columns())  # type: ignore[arg-type]
    assert out.getvalue().splitlines() == [
        "QUEUE              VISIBLE  DLQ              DLQ OF             RETENTION",
        "user-signup-queue  3        user-signup-dlq  -                  4d",
        "user-signup-dlq    1        -                user-signup-queue  14d",
    ]
    assert err.getvalue() == ""
    assert output.format_for(stream=False) == output.format_for(stream=True) == "table"
    assert output.interactive


def test_an_empty_list_in_a_table_is_a_dash_not_brackets() -> None:
    output, out, _ = make_tty(width=120)
    output.result(STATS)
    assert "[]" not in out.getvalue() and "user-signup-queue  3        user-signup-dlq  -" in out.getvalue()


def test_text_mode_is_unchanged_by_column_specs() -> None:
    output, out, _ = make(mode="text")
    output.result(STATS, columns=stats_columns())  # type: ignore[arg-type]
    assert out.getvalue().splitlines()[1] == 'user-signup-dlq\t1\t\t["user-signup-queue"]\t14d'


def test_wide_is_an_output_choice_and_a_bad_one_is_exit_2() -> None:
    from tests.helpers import run_cli

    wide = run_cli(["-o", "wide", "templates", "list"], env={"COLUMNS": "30"})
    assert (wide.exit_code, wide.stderr) == (0, "")
    assert wide.stdout.splitlines()[0].split() == ["name", "source", "detail", "type", "keys", "from"]
    bad = run_cli(["--color", "sometimes", "templates", "list"])
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "--color" in bad.stderr and "'sometimes' is not one of 'auto', 'always', 'never'" in bad.stderr
