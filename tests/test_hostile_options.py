"""Hostile options, swept from the Typer app itself so a new option cannot escape:

- every int/float option of every command refuses nan, inf, -inf, 1e999, 'abc' and an out-of-range value with
  exit 2, one line on stderr, nothing on stdout, and no AWS client built (evctl/cli/options.py harden_numbers);
- Click's usage errors (a bad choice, a missing argument, an unknown option or command) are one line, exit 2;
- global options are accepted after the subcommand too (lift_global_options), and `--` ends the search.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
from typer._click import types as click_types

from evctl.cli.main import app
from evctl.cli.options import FiniteFloatRange, FiniteIntRange, iter_commands, lift_global_options
from tests.helpers import CliResult, run_cli

NUMERIC_TYPES = (click_types.IntParamType, click_types.FloatParamType)


def _tree() -> Any:
    return typer.main.get_command(app)


def _numeric_options() -> Iterator[tuple[tuple[str, ...], Any, list[str]]]:
    """(command path, the option, the arguments the command needs) for every numeric option of every command."""
    for path, command in iter_commands(_tree()):
        arguments = ["x" for p in command.params if p.param_type_name == "argument" and p.required]
        for param in command.params:
            if param.param_type_name == "option" and isinstance(param.type, NUMERIC_TYPES):
                yield path, param, arguments


NUMERIC = list(_numeric_options())
# Options whose lower bound the command checks itself, with its own message (exit 2 before anything is done).
LOWER_BOUND_CHECKED_BY_THE_COMMAND = {("redrive dlq", "--rate")}


def _out_of_range(param: Any) -> str:
    kind = param.type
    if kind.max is not None:
        return str(kind.max + 1)
    return str(kind.min - 1)


def _bad_values(param: Any) -> list[str]:
    return ["nan", "inf", "-inf", "1e999", "abc", "", _out_of_range(param)]


def _cases() -> Iterator[Any]:
    for path, param, arguments in NUMERIC:
        for value in _bad_values(param):
            yield pytest.param(
                path, param.opts[0], arguments, value, id=f"{' '.join(path) or 'evctl'} {param.opts[0]}={value}"
            )


def test_the_sweep_finds_the_numeric_options() -> None:
    found = {(" ".join(path), param.opts[0]) for path, param, _ in NUMERIC}
    # a few known ones prove the enumeration works (the sweep below covers all of them)
    assert {
        ("", "--max-attempts"),
        ("tail bus", "--duration"),
        ("redrive dlq", "--rate"),
        ("queue drain", "--max"),
    } <= found
    assert len(found) >= 20


@pytest.mark.parametrize(
    ("path", "param"), [pytest.param(p, o, id=f"{' '.join(p)} {o.opts[0]}") for p, o, _ in NUMERIC]
)
def test_every_numeric_option_is_finite_and_bounded(path: tuple[str, ...], param: Any) -> None:
    assert isinstance(param.type, FiniteIntRange | FiniteFloatRange), f"{path} {param.opts} escaped harden_numbers"
    assert param.type.max is not None  # a huge value is refused, never passed on
    if (" ".join(path), param.opts[0]) not in LOWER_BOUND_CHECKED_BY_THE_COMMAND:
        assert param.type.min is not None, f"{' '.join(path)} {param.opts[0]}: declare min= (none takes a negative)"


@pytest.mark.parametrize(("path", "option", "arguments", "value"), list(_cases()))
def test_garbage_numbers_exit_2_before_anything_is_done(
    path: tuple[str, ...], option: str, arguments: list[str], value: str
) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")) as built:
        result = run_cli([*path, *arguments, option, value])
    assert built.call_count == 0
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("evctl: error: "), result.stderr
    assert option in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "yaml", "templates", "list"],
        ["templates", "list", "--output", "yaml"],
        ["tail", "logs", "grp", "--format", "yaml"],
        ["redrive", "dlq", "q", "--mode", "fast"],
        ["queue", "peek"],
        ["templates", "show"],
        ["queue", "list", "--bogus"],
        ["--bogus", "queue", "list"],
        ["queue", "bogus"],
        ["bogus"],
        ["queue", "list", "a", "b"],
        ["--color", "sometimes", "queue", "list"],
    ],
)
def test_usage_errors_are_one_line(args: list[str]) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        result = run_cli(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("evctl: error: ") and "--help'" in result.stderr, result.stderr
    assert "Usage:" not in result.stderr and "Try '" not in result.stderr


def test_no_arguments_still_shows_the_help() -> None:
    result = run_cli([])
    assert "Usage: evctl [OPTIONS] COMMAND [ARGS]..." in result.stdout + result.stderr


# --- global options anywhere ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["templates", "list", "-o", "json"],
        ["templates", "-o", "json", "list"],
        ["-o", "json", "templates", "list"],
        ["templates", "list", "--output=json"],
        ["templates", "list", "-ojson"],
        ["templates", "list", "-q", "--color", "never", "-o", "json", "--region", "eu-west-1"],
        ["templates", "show", "signup", "-o", "json", "--debug"],
        ["templates", "show", "-o", "json", "signup"],
    ],
)
def test_global_options_are_accepted_anywhere(args: list[str]) -> None:
    result = run_cli(args, tty=True)  # on a terminal, only -o json can make it JSON
    assert (result.exit_code, result.stderr) == (0, "")
    json.loads(result.stdout)


def test_global_aws_options_after_the_subcommand_reach_the_client(moto_server: str) -> None:
    result = run_cli(["queue", "list", "--endpoint-url", moto_server, "--region", "eu-west-1", "-o", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == []


def test_a_subcommand_keeps_its_own_option_of_the_same_name() -> None:
    root = _tree()
    # publish declares --max-attempts itself: it stays publish's
    assert lift_global_options(root, ["publish", "--max-attempts", "3"]) == ["publish", "--max-attempts", "3"]
    # a root option after the subcommand moves in front of it, after the root options already there
    assert lift_global_options(root, ["--region", "r", "queue", "list", "-o", "json", "p"]) == [
        "--region",
        "r",
        "-o",
        "json",
        "queue",
        "list",
        "p",
    ]


def test_an_option_value_is_never_taken_for_a_global_option() -> None:
    root = _tree()
    args = ["publish", "--source", "-o", "--detail-type", "--region"]
    assert lift_global_options(root, args) == args


def test_double_dash_ends_the_search() -> None:
    root = _tree()
    args = ["queue", "send", "q", "--", "-o"]
    assert lift_global_options(root, args) == args
    assert lift_global_options(root, ["queue", "send", "-q", "q", "--", "-o"]) == [
        "-q",
        "queue",
        "send",
        "q",
        "--",
        "-o",
    ]


def test_a_body_after_double_dash_is_sent_as_is(moto_server: str) -> None:
    run_cli(["--endpoint-url", moto_server, "queue", "list"])  # the server answers
    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    result = run_cli(["queue", "send", "q", "--endpoint-url", moto_server, "--", "-o"])
    assert result.exit_code == 0, result.stderr
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    assert bodies == ["-o"]


# --- numeric template keys: --set and TOML --------------------------------------------------------------------


@pytest.fixture
def numeric_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "evctl.toml").write_text(
        '[templates.order]\nsource = "my.shop"\ndetail-type = "OrderPlaced"\n'
        "detail = { amount = 10, tags = [1], nested = { n = 1.5 } }\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "assignment",
    [
        "amount=NaN",
        "amount=nan",
        "amount=Infinity",
        "amount=-Infinity",
        "amount=1e999",
        "amount=-1e999",
        "tags=[NaN]",
        "tags=[1e400]",
        "nested.n=Infinity",
        'nested={"n": NaN}',
    ],
)
def test_set_refuses_non_finite_numbers(numeric_template: Path, assignment: str) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        for extra in ([], ["--dry-run"]):
            result: CliResult = run_cli(["publish", "order", "--set", assignment, *extra])
            assert result.exit_code == 2, result.stderr
            assert result.stdout == ""
            assert result.stderr.count("\n") == 1 and assignment.split("=")[0] in result.stderr, result.stderr


def test_set_still_takes_finite_numbers(numeric_template: Path, moto_server: str) -> None:
    args = ["publish", "order", "--set", "amount=12.5", "--set", "tags=[1e3]", "--dry-run", "-o", "json"]
    result = run_cli([*args, "--endpoint-url", moto_server])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["Detail"]["amount"] == 12.5


# --- the config file: UTF-8, known keys only, finite numbers (exit 4 naming the file and the key) -----------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"[publish]\nconcurency = 1\n",
            ["[publish] in", "unknown key(s) concurency", "did you mean concurrency?"],
        ),
        (b"[publsh]\nbus = 'x'\n", ["the top level in", "unknown key(s) publsh", "did you mean publish?"]),
        (b"verbose = true\n", ["unknown key(s) verbose", "known keys: publish, templates"]),
        (b"[publish]\nbsu = 1\ncolour = 2\n", ["unknown key(s) bsu, colour", "did you mean bus (for bsu)?"]),
        (
            b"[templates.o]\nsource = 'a'\ndetail-typ = 'b'\n",
            ["[templates.o] in", "unknown key(s) detail-typ", "did you mean detail-type?"],
        ),
        (b"[templates.o]\nsource = 'a'\ndetail-type = 'b'\ndetail = { n = nan }\n", ["templates.o.detail.n = nan"]),
        (b"[templates.o]\nsource = 'a'\ndetail-type = 'b'\ndetail = { l = [1, -inf] }\n", ["templates.o.detail.l[1]"]),
        (b"[publish]\nconcurrency = inf\n", ["publish.concurrency = inf is not a finite number"]),
        (b"[publish]\nbus = 'caf\xe9'\n", ["is not UTF-8 text", "save it as UTF-8"]),
        (b"\xff\xfe[\x00p\x00", ["is not UTF-8 text"]),
    ],
)
@pytest.mark.parametrize("args", [["templates", "list"], ["templates", "show", "signup"], ["publish", "signup"]])
def test_a_bad_config_file_is_exit_4_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: list[str], args: list[str]
) -> None:
    (tmp_path / "evctl.toml").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")):
        result = run_cli(args)
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(tmp_path / "evctl.toml") in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def test_a_good_config_file_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "evctl.toml").write_text(
        '[publish]\nbus = "orders"\nconcurrency = 2\nmax_attempts = 3\nmax_entry_size = "1MiB"\n'
        '[templates.o]\nsource = "a"\ndetail-type = "b"\ndescription = "d"\nresources = []\n'
        'detail = { n = 1.5, when = 2026-01-01T00:00:00Z, "café" = "ü" }\n'
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli(["templates", "show", "o", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["detail"]["n"] == 1.5


# --- quantities given as text (durations, rates, sizes, times): the same sweep ----------------------------------

QUANTITY_METAVARS = {"DURATION", "D", "R[/s|/m]", "SIZE", "WHEN", "TIME"}


# What a command needs besides its required arguments to reach the option's check.
QUANTITY_COMPANIONS = {("publish",): ["--source", "s", "--detail-type", "t", "--detail", "{}"]}


def _quantity_options() -> Iterator[tuple[tuple[str, ...], Any, list[str]]]:
    """Every text option that takes a quantity (found by its metavar, so a new one is swept as it lands)."""
    for path, command in iter_commands(_tree()):
        arguments = ["x" for p in command.params if p.param_type_name == "argument" and p.required]
        arguments += QUANTITY_COMPANIONS.get(path, [])
        for param in command.params:
            if param.param_type_name == "option" and param.metavar in QUANTITY_METAVARS:
                yield path, param, arguments


QUANTITIES = list(_quantity_options())


def test_the_quantity_sweep_finds_the_new_options() -> None:
    found = {(" ".join(path), param.opts[0]) for path, param, _ in QUANTITIES}
    assert {
        ("publish", "--rate"),
        ("publish", "--duration"),
        ("pipeline watch", "--doctor-every"),
        ("doctor", "--log-window"),
        ("tail logs", "--since"),
        ("publish", "--max-entry-size"),
    } <= found


@pytest.mark.parametrize(
    ("path", "option", "arguments", "value"),
    [
        pytest.param(path, param.opts[0], arguments, value, id=f"{' '.join(path)} {param.opts[0]}={value}")
        for path, param, arguments in QUANTITIES
        for value in ("nan", "inf", "-1", "1e309", "abc", "", "99999999999d", "5 m", "\udcff")
        if not (param.metavar == "SIZE" and value == "5 m")  # 5 MiB: a size
    ],
)
def test_garbage_quantities_exit_2_before_anything_is_done(
    path: tuple[str, ...], option: str, arguments: list[str], value: str
) -> None:
    with mock.patch("evctl.aws.ClientFactory.client", side_effect=AssertionError("an AWS client was built")) as built:
        result = run_cli([*path, *arguments, option, value])
    assert built.call_count == 0
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("evctl: error: "), result.stderr
    assert option in result.stderr, result.stderr
