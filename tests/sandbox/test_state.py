from __future__ import annotations

import os
import subprocess
import sys

import pytest

from evctl.aws import AwsSettings
from evctl.errors import ConfigError
from evctl.sandbox import state


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_state_file_lives_under_xdg_state_home(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/somewhere")
    assert str(state.state_path()) == "/somewhere/evctl/sandbox.json"


def test_write_read_remove_round_trip() -> None:
    record = state.SandboxState.for_process(
        os.getpid(), endpoint="http://127.0.0.1:1234", port=1234, settings={"timeout": 3}
    )
    state.write(record)
    assert state.read() == record
    assert state.running() == record
    assert not state.remove(pid=os.getpid() + 1)  # another process's record is left alone
    assert state.read() == record
    assert state.remove(pid=os.getpid())
    assert state.read() is None


def test_no_state_file_means_no_sandbox_running() -> None:
    with pytest.raises(ConfigError) as caught:
        state.running()
    assert caught.value.exit_code == 4
    assert str(caught.value).startswith("no sandbox is running — start one with `evctl sandbox up --detach`")


def test_a_dead_pid_is_reported_as_stale() -> None:
    pid = _dead_pid()
    state.write(state.SandboxState(endpoint="http://127.0.0.1:1", port=1, pid=pid))
    with pytest.raises(ConfigError, match=f"not running \\(process {pid} is gone; stale state file\\)"):
        state.running()


def test_a_corrupt_state_file_is_a_config_error() -> None:
    state.state_path().parent.mkdir(parents=True, exist_ok=True)
    state.state_path().write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        state.read()


def test_exports_point_other_tools_at_the_sandbox() -> None:
    record = state.SandboxState(endpoint="http://127.0.0.1:4599", port=4599, pid=1)
    assert record.exports() == [
        "export AWS_ENDPOINT_URL=http://127.0.0.1:4599",
        "export AWS_REGION=us-east-1",
        "export AWS_DEFAULT_REGION=us-east-1",
        "export AWS_ACCESS_KEY_ID=evctl-sandbox",
        "export AWS_SECRET_ACCESS_KEY=evctl-sandbox",
    ]


def test_target_aims_settings_at_the_running_sandbox() -> None:
    state.write(state.SandboxState.for_process(os.getpid(), endpoint="http://127.0.0.1:4599", port=4599))
    aimed, running = state.target(AwsSettings(profile="prod", region="eu-west-1", max_attempts=2))
    assert aimed.endpoint_url == "http://127.0.0.1:4599"
    assert aimed.region == "us-east-1"
    assert aimed.sandbox_credentials == state.CREDENTIALS
    assert aimed.max_attempts == 2
    assert running.pid == os.getpid()


def test_every_pipeline_setting_is_checked_when_the_state_is_read() -> None:
    """A hand-edited `settings` (`"timeout": "x"`, a batch size Lambda refuses) is a corrupt file, not a crash in
    `sandbox reset`: each field of PipelineSettings has a range, and what evctl itself records reads back."""
    from evctl.sandbox.provision import DEMO_SETTINGS, PipelineSettings

    assert set(state.SETTINGS_RANGES) == set(PipelineSettings.__dataclass_fields__)
    for settings in (PipelineSettings(), DEMO_SETTINGS, PipelineSettings(timeout=900)):
        record = state.SandboxState(endpoint="http://127.0.0.1:1", port=1, pid=1, settings=settings.as_dict())
        state.write(record)
        assert state.read() == record
