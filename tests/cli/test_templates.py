"""`evctl templates list|show` in each output mode, with and without a config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

CONFIG = """
[templates.order]
source = "my.shop"
detail-type = "OrderPlaced"
detail = { order_id = "{uuid}", amount = 10 }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text(CONFIG)
    return tmp_path


def test_list_piped_is_json(project: Path) -> None:
    result = run_cli(["templates", "list"])
    assert result.exit_code == 0 and result.stderr == ""
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["order", "signup"]
    assert rows[1]["keys"] == ["user_id", "email", "name"] and rows[1]["origin"] == "built-in"
    assert rows[0]["origin"] == str(project / "evctl.toml")


def test_list_on_a_tty_is_a_table() -> None:
    result = run_cli(["templates", "list"], tty=True)
    assert result.exit_code == 0
    assert "signup" in result.stdout and "UserSignup" in result.stdout and "user_id, email, name" in result.stdout


def test_list_ndjson_and_text() -> None:
    [row] = [json.loads(line) for line in run_cli(["-o", "ndjson", "templates", "list"]).stdout.splitlines()]
    assert row["name"] == "signup"
    text = run_cli(["-o", "text", "templates", "list"]).stdout
    assert text.split("\t")[:3] == ["signup", "my.webapp", "UserSignup"]


def test_show(project: Path) -> None:
    result = run_cli(["templates", "show", "order"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["detail"] == {"order_id": "{uuid}", "amount": 10} and shown["detail_type"] == "OrderPlaced"
    tty = run_cli(["templates", "show", "signup"], tty=True)
    assert tty.exit_code == 0 and "my.webapp" in tty.stdout and "test@example.com" in tty.stdout


def test_show_unknown_template() -> None:
    result = run_cli(["templates", "show", "nope"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "evctl: error: no template named 'nope' — known templates: signup (evctl templates list)\n"


def test_broken_config_is_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text("[templates.x\n")
    result = run_cli(["templates", "list"])
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr.startswith(f"evctl: error: {tmp_path / 'evctl.toml'} is not valid TOML")
    assert len(result.stderr.splitlines()) == 1


def test_bad_output_mode() -> None:
    result = run_cli(["--output", "yaml", "templates", "list"])
    assert result.exit_code == 2 and "--output" in result.stderr
