"""patches.Patch: the one counted way the sandbox replaces moto's attributes, and every moto patch built on it."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from evctl.sandbox import mapping_state, moto_lambda, moto_speed, server
from evctl.sandbox.delivery import hook
from evctl.sandbox.metrics import reads, sqs
from evctl.sandbox.patches import Patch, Refused


class Owner:
    def own(self) -> str:
        return "original"


class Child(Owner):
    pass


def test_the_first_install_replaces_the_last_uninstall_restores() -> None:
    original = Owner.__dict__["own"]
    built: list[int] = []

    def build() -> list[Any]:
        built.append(1)
        return [(Owner, "own", lambda self: "patched")]

    patch = Patch("test", build)
    patch.install()
    patch.install()
    assert Owner().own() == "patched" and patch.users == 2 and built == [1]  # built once
    patch.uninstall()
    assert Owner().own() == "patched"  # one user left
    patch.uninstall()
    assert Owner.__dict__["own"] is original and not patch.installed
    patch.uninstall()  # an extra call changes nothing
    assert Owner.__dict__["own"] is original and patch.users == 0


def test_an_inherited_attribute_is_removed_again_not_copied_onto_the_owner() -> None:
    patch = Patch("test", lambda: [(Child, "own", lambda self: "patched")])
    patch.install()
    assert Child().own() == "patched"
    patch.uninstall()
    assert "own" not in Child.__dict__ and Child().own() == "original"


def test_a_module_attribute_is_restored_and_on_restore_runs_after_the_last() -> None:
    module = types.SimpleNamespace(value=1)
    restored: list[int] = []
    patch = Patch("test", lambda: [(module, "value", 2)], on_restore=lambda: restored.append(module.value))
    patch.install()
    assert module.value == 2
    patch.uninstall()
    assert module.value == 1 and restored == [1]


def test_refused_changes_nothing_and_counts_no_user() -> None:
    def build() -> list[Any]:
        raise Refused("moto changed")

    patch = Patch("test", build)
    with pytest.raises(Refused, match="moto changed"):
        patch.install()
    assert not patch.installed


def test_a_failure_half_way_puts_back_what_was_replaced() -> None:
    original = Owner.__dict__["own"]

    def build() -> Any:
        yield (Owner, "own", lambda self: "patched")
        raise RuntimeError("boom")

    patch = Patch("test", build)
    with pytest.raises(RuntimeError):
        patch.install()
    assert Owner.__dict__["own"] is original and not patch.installed


def test_concurrent_installs_and_uninstalls_leave_the_original() -> None:
    original = Owner.__dict__["own"]
    patch = Patch("test", lambda: [(Owner, "own", lambda self: "patched")])
    start = threading.Barrier(8)

    def user() -> None:
        start.wait()
        for _ in range(200):
            patch.install()
            assert Owner().own() == "patched"
            patch.uninstall()

    threads = [threading.Thread(target=user) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Owner.__dict__["own"] is original and patch.users == 0


def _snapshot() -> dict[str, Any]:
    """The functions and properties of every class (and module) a sandbox patch changes, as moto has them now."""
    from moto.awslambda import models as lambda_models
    from moto.cloudwatch import models as cw_models
    from moto.events import models as events_models
    from moto.sqs import models as sqs_models
    from moto.sqs import responses as sqs_responses

    owners = {
        "LambdaBackend": lambda_models.LambdaBackend,
        "LambdaFunction": lambda_models.LambdaFunction,
        "EventSourceMapping": lambda_models.EventSourceMapping,
        "Rule": events_models.Rule,
        "SQSBackend": sqs_models.SQSBackend,
        "Queue": sqs_models.Queue,
        "SQSResponse": sqs_responses.SQSResponse,
        "sqs.models": sqs_models,
        "Dimension": cw_models.Dimension,
        "Statistics": cw_models.Statistics,
    }
    return {  # code only: moto keeps bookkeeping (instances_tracked, ...) on its classes too
        f"{label}.{name}": value
        for label, owner in owners.items()
        for name, value in vars(owner).items()
        if callable(value) or isinstance(value, property)
    }


def test_every_sandbox_patch_puts_moto_back_when_its_last_user_stops() -> None:
    before = _snapshot()
    patches = [
        server.LAMBDA_OUT,
        moto_speed.PATCH,
        moto_lambda.PATCH,
        mapping_state.PATCH,
        sqs.PATCH,
        reads.PATCH,
        hook.PATCH,
    ]
    assert not any(patch.installed for patch in patches)  # no sandbox runs in this test
    for patch in patches:
        patch.install()
    changed = {key for key, value in _snapshot().items() if before.get(key) is not value}
    assert {"LambdaBackend.create_event_source_mapping", "Rule.send_to_targets", "sqs.models.unix_time_millis"} <= (
        changed
    )
    for patch in reversed(patches):
        patch.uninstall()
    after = _snapshot()
    assert after.keys() == before.keys()
    assert [key for key in before if after[key] is not before[key]] == []


@pytest.mark.parametrize("failing", ["provision", "metrics", "state file"])
def test_a_start_that_fails_part_way_leaves_moto_as_it_was(failing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.cli.context import sandbox_clients
    from evctl.errors import ConfigError
    from evctl.sandbox import delivery, lifecycle, mapping_guard

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise ConfigError(f"{failing} failed")

    target = {"provision": (lifecycle, "provision"), "metrics": (lifecycle.sandbox_metrics, "start_for_sandbox")}
    owner, name = target.get(failing, (lifecycle.state_file, "write"))
    monkeypatch.setattr(owner, name, boom)
    before = _snapshot()
    with pytest.raises(ConfigError, match=f"{failing} failed"):
        lifecycle.start(sandbox_clients, record=True, wait_seconds=0)
    for patch in (server.LAMBDA_OUT, moto_speed.PATCH, moto_lambda.PATCH, mapping_state.PATCH, sqs.PATCH, reads.PATCH):
        assert not patch.installed, patch.name
    assert not hook.PATCH.installed and delivery.current_mode() is None
    assert not mapping_guard.active()
    after = _snapshot()
    assert [key for key in before if after.get(key) is not before[key]] == []
