"""Templates (built-in and from config) and the config file lookup."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from evctl.config import Config, find_config_file, load_config
from evctl.core.events import templates as tp
from evctl.errors import ConfigError, UsageError

ORDER_TOML = """
[publish]
concurrency = 8

[templates.order]
source = "my.shop"
detail-type = "OrderPlaced"
description = "An order"
bus = "orders"
resources = ["arn:aws:shop:::order"]
detail = { order_id = "{uuid}", amount = 10, paid = false, customer = { email = "a@b.c", tier = "gold" } }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_signup_is_the_seed_event_with_a_fresh_user_id() -> None:
    template = tp.get_template("signup", Config())
    first, second = tp.render(template, {}), tp.render(template, {})
    assert (first["Source"], first["DetailType"]) == ("my.webapp", "UserSignup")
    detail = json.loads(first["Detail"])
    assert detail["email"] == "test@example.com" and detail["name"] == "Test User"
    uuid.UUID(detail["user_id"])
    assert json.loads(second["Detail"])["user_id"] != detail["user_id"]
    assert "EventBusName" not in first  # the caller's --bus / default applies


def test_sets_override_detail_keys_and_a_set_user_id_is_kept() -> None:
    entry = tp.render(tp.BUILTIN["signup"], {"email": "ann@example.com", "name": "Ann", "user_id": "u-1"})
    assert entry["Detail"] == '{"user_id":"u-1","email":"ann@example.com","name":"Ann"}'


def test_setting_a_key_the_template_lacks_says_so() -> None:
    with pytest.raises(UsageError) as caught:
        tp.render(tp.BUILTIN["signup"], {"emial": "x"})
    assert str(caught.value) == "template 'signup' has no key 'emial' — its keys: user_id, email, name"
    assert caught.value.exit_code == 2


def test_unknown_template_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no template named 'nope' — known templates: signup"):
        tp.get_template("nope", Config())


def test_parse_sets_splits_on_the_first_equals_sign() -> None:
    assert tp.parse_sets(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        tp.parse_sets(["novalue"])


def test_user_template_from_the_project_file(project: Path) -> None:
    (project / "evctl.toml").write_text(ORDER_TOML)
    config = load_config()
    assert config.path == project / "evctl.toml"
    assert config.setting("publish", "concurrency", 4) == 8
    template = tp.get_template("order", config)
    assert template.keys() == ["order_id", "amount", "paid", "customer.email", "customer.tier"]
    entry = tp.render(template, {"amount": "12.5", "paid": "true", "customer.tier": "silver"}, new_uuid=lambda: "fixed")
    assert entry == {
        "Source": "my.shop",
        "DetailType": "OrderPlaced",
        "Detail": '{"order_id":"fixed","amount":12.5,"paid":true,"customer":{"email":"a@b.c","tier":"silver"}}',
        "Resources": ["arn:aws:shop:::order"],
        "EventBusName": "orders",
    }
    assert sorted(tp.all_templates(config)) == ["order", "signup"]


def test_a_non_string_default_needs_json(project: Path) -> None:
    (project / "evctl.toml").write_text(ORDER_TOML)
    with pytest.raises(UsageError, match="expects JSON here"):
        tp.render(tp.get_template("order", load_config()), {"amount": "lots"})


def test_project_file_wins_over_the_user_file(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    xdg = tmp_path_factory.mktemp("xdg")
    (xdg / "evctl").mkdir()
    (xdg / "evctl" / "config.toml").write_text('[publish]\nbus = "user-bus"\n')
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert find_config_file(environ=env) == xdg / "evctl" / "config.toml"
    assert load_config(environ=env).setting("publish", "bus", None) == "user-bus"
    (project / "evctl.toml").write_text('[publish]\nbus = "project-bus"\n')
    assert load_config(environ=env).setting("publish", "bus", None) == "project-bus"


def test_no_config_file_is_an_empty_config(project: Path) -> None:
    assert load_config(environ={"XDG_CONFIG_HOME": str(project / "none")}) == Config()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[templates.x\n", "is not valid TOML"),
        ("templates = 3\n", "[templates] in"),
        ('[templates.x]\nsource = "s"\n', "`detail-type` must be a non-empty string"),
        ('[templates.x]\ndetail-type = "t"\n', "`source` must be a non-empty string"),
        ('[templates.x]\nsource = "s"\ndetail-type = "t"\ndetail = 3\n', "`detail` must be a table"),
        ('[templates.x]\nsource = "s"\ndetail-type = "t"\ncolour = 1\n', "unknown key(s) colour"),
    ],
)
def test_broken_config_is_a_configuration_error(project: Path, toml: str, message: str) -> None:
    (project / "evctl.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        tp.all_templates(load_config())
    assert message in str(caught.value)
    assert caught.value.exit_code == 4
