from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

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


# ---- issue 11: strict JSON, -o text escapes, stdout write errors, refreshes, stops ---------------------------------

NON_FINITE = {"nan": float("nan"), "list": [float("inf"), -float("inf"), 1.5], "nested": {"x": (float("nan"),)}}
ENCODED = {"nan": "NaN", "list": ["Infinity", "-Infinity", 1.5], "nested": {"x": ["NaN"]}}


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"bare {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("mode", ["json", "ndjson", "auto"])
@pytest.mark.parametrize("how", ["result", "records", "refresh"])
def test_stdout_is_strict_json_nan_and_infinity_are_strings(mode: str, how: str) -> None:
    output, out, _ = make(mode)
    if how == "result":
        output.result(NON_FINITE)
    elif how == "records":
        with output.records() as records:
            records.write(NON_FINITE)
    else:
        output.refresh(NON_FINITE)
    text = out.getvalue()
    one_document = how == "result" and mode != "ndjson"  # pretty-printed over several lines
    assert ([_strict(text)] if one_document else [_strict(line) for line in text.splitlines()]) == [ENCODED]


def test_dumps_is_strict_in_both_shapes() -> None:
    from evctl.render.jsontext import dumps

    assert _strict(dumps(NON_FINITE)) == ENCODED and _strict(dumps(NON_FINITE, pretty=True)) == ENCODED
    assert dumps({"n": 1.5}) == '{"n":1.5}'  # finite values untouched


@pytest.mark.parametrize("how", ["result", "records"])
def test_text_mode_escapes_tabs_newlines_and_backslashes(how: str) -> None:
    output, out, _ = make("text")
    row = {"id": "m1", "body": "a\tb\nc\\d\re"}
    if how == "result":
        output.result([row])
    else:
        with output.records() as records:
            records.write(row)
    assert out.getvalue() == "m1\ta\\tb\\nc\\\\d\\re\n"  # one record, one line, two fields
    output.result({"key\t1": "x\ny"})
    assert out.getvalue().splitlines()[-1] == "key\\t1\tx\\ny"


class _Failing(io.StringIO):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def write(self, text: str) -> int:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "closed_pipe", "reason"),
    [
        (BrokenPipeError(32, "Broken pipe"), True, "the pipe was closed"),
        (OSError(28, "No space left on device"), False, "No space left on device"),
        (OSError(9, "Bad file descriptor"), False, "it is closed"),
        (ValueError("I/O operation on closed file."), False, "it is closed"),
    ],
)
@pytest.mark.parametrize("how", ["result", "records", "write_line", "table"])
def test_a_failed_stdout_write_is_stdout_unwritable(
    exc: BaseException, closed_pipe: bool, reason: str, how: str
) -> None:
    from evctl.output import StdoutUnwritable

    err = io.StringIO()
    output = Output(mode="table" if how == "table" else "auto", streams=Streams(stdout=_Failing(exc), stderr=err))
    with pytest.raises(StdoutUnwritable) as caught:
        if how in ("result", "table"):
            output.result(ROWS)
        elif how == "records":
            with output.records() as records:
                records.write(ROWS[0])
        else:
            output.write_line("x")
    assert caught.value.closed_pipe is closed_pipe and reason in str(caught.value)
    assert int(caught.value.exit_code) == 1 and output.stdout_error is caught.value
    with pytest.raises(StdoutUnwritable):  # every later write: the same error, no second attempt
        output.write_line("y")


def test_idle_notices_a_closed_pipe_while_waiting() -> None:
    import os
    import time

    from evctl.output import StdoutUnwritable

    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    try:
        output = Output(streams=Streams(stdout=stream, stderr=io.StringIO()))
        assert output.idle_sleep() is not None
        output.idle(0.01)  # a reader is there: just waits
        os.close(read_end)
        started = time.monotonic()
        with pytest.raises(StdoutUnwritable) as caught:
            output.idle(30)
        assert caught.value.closed_pipe and time.monotonic() - started < 10
    finally:
        with contextlib.suppress(OSError):
            stream.close()
    assert make()[0].idle_sleep() is None  # no descriptor to watch (tests' streams): the loop keeps its own sleep


def test_refresh_is_one_compact_document_per_line_when_piped() -> None:
    output, out, _ = make()
    output.refresh(ROWS)
    output.refresh(ROWS[:1])
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [ROWS, ROWS[:1]]


def test_refresh_redraws_in_place_on_a_terminal() -> None:
    output, out, _ = make(tty=True)
    output.refresh(ROWS)
    output.refresh(ROWS)
    assert out.getvalue().count("\x1b[H\x1b[2J") == 2


def test_exit_status_rules() -> None:
    import signal

    from evctl.cli import stopping
    from evctl.errors import Interrupted, NotFoundError
    from evctl.output import StdoutUnwritable

    output, _, _ = make()
    pipe = StdoutUnwritable(BrokenPipeError(32, "Broken pipe"))
    full = StdoutUnwritable(OSError(28, "No space left on device"))
    assert stopping.exit_for(pipe, output) == (0, False)  # a read-only command ends quietly
    assert stopping.exit_for(full, output) == (1, True)
    assert stopping.exit_for(NotFoundError("x"), output) == (3, True)
    output.moves_data = True
    assert stopping.exit_for(pipe, output) == (1, True)  # a command that moves data reports it
    stopping.reset()
    assert stopping.exit_for(Interrupted("x"), output) == (130, True)
    for signum, code, word in [(signal.SIGTERM, 143, "terminated"), (signal.SIGHUP, 129, "hung up")]:
        stopping.reset()
        stopping._record(signum)
        assert stopping.exit_for(Interrupted("x"), output) == (code, True) and stopping.stop_word() == word
    stopping.reset()


@contextlib.contextmanager
def as_in_the_foreground(sig: int) -> Iterator[None]:
    """The signal's disposition as a command started in the foreground has it. A background job or CI runner starts
    with SIGINT ignored (nohup: SIGHUP), and an ignored signal stays ignored (test_a_signal_ignored_at_start_...)."""
    import signal

    started_with = signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(sig, started_with)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_stop_signals_raise_keyboard_interrupt_and_are_recorded(signum: str) -> None:
    import os
    import signal
    import time

    from evctl.cli import stopping

    sig = getattr(signal, signum)
    with as_in_the_foreground(sig):
        before = signal.getsignal(sig)
        with pytest.raises(KeyboardInterrupt), stopping.stop_signals():
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the handler raises as soon as the signal arrives
        assert stopping.received() == sig and stopping.exit_code() == 128 + sig
        assert signal.getsignal(sig) == before  # restored
    stopping.reset()


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGHUP"])
def test_graceful_stop_first_signal_sets_the_event_second_quits(signum: str) -> None:
    import os
    import signal

    from evctl.cli import stopping

    sig = getattr(signal, signum)
    output, _, err = make()
    with as_in_the_foreground(sig), pytest.raises(KeyboardInterrupt), stopping.graceful_stop(
        output, "finishing the batch in hand"
    ) as stop:
        os.kill(os.getpid(), sig)
        assert stop.wait(5)
        assert "finishing the batch in hand" in err.getvalue() and f"{signum} again" in err.getvalue()
        os.kill(os.getpid(), sig)
        stop.wait(0.5)
    stopping.reset()


def test_a_signal_ignored_at_start_stays_ignored() -> None:
    import signal

    from evctl.cli import stopping

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
    try:
        with stopping.stop_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_the_strict_json_check_of_the_suite_can_fail() -> None:
    """tests.helpers checks every JSON stdout of run_cli/run_evctl; it must catch a bare NaN in both shapes."""
    from tests.helpers import NotStrictJson, assert_strict_json

    for text in ['{"a": NaN}\n', '{"a":1}\n{"b":Infinity}\n', "[\n  -Infinity\n]\n"]:
        with pytest.raises(NotStrictJson):
            assert_strict_json(["queue", "peek", "q"], text)
    assert_strict_json(["-o", "text", "queue", "peek", "q"], "NaN\n")  # text output is not JSON
    assert_strict_json(["tail", "logs", "g"], "12:00:00.000 NaN is not a number\n")  # a log line, not JSON
