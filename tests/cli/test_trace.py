"""`evctl trace` refuses bad input before it publishes anything: one line, exit 2."""

from __future__ import annotations

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "nothing to trace"),
        (["signup", "--event", "@x.json"], "give a template or --event, not both"),
        (["--event", "x.json"], "give @FILE or - (stdin)"),
        (["--event", "@/no/such/file.json"], "check the path given to --event"),
        (["--event", "-", "--set", "a=b"], "--set needs a template"),
        (["signup", "--timeout", "0"], "--timeout"),
        (["signup", "--timeout", "nan"], "not a finite number"),
        (["no-such-template"], "no template named 'no-such-template'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    result = run_cli(["trace", *args])
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("evctl: error: ") and says in line
    assert result.stdout == ""
