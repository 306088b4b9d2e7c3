"""The sandbox's state file: where a running sandbox is, so other evctl processes can reach it.

Standard library only: the root `--sandbox` option reads it on every command.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evctl.aws import AwsSettings
from evctl.errors import ConfigError

REGION = "us-east-1"
# moto accepts any credentials; these say where they come from when they show up in a log.
CREDENTIALS = ("evctl-sandbox", "evctl-sandbox")
ACCOUNT_ID = "123456789012"  # moto's default account
START_HINT = "start one with `evctl sandbox up --detach` (or run `evctl demo`)"


@dataclass(frozen=True)
class SandboxState:
    endpoint: str
    port: int
    pid: int
    region: str = REGION
    handler: str = ""  # "path/to/file.py:function"; "" = the built-in default handler
    started_at: str = ""
    log_file: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # provision.PipelineSettings as a dict

    def exports(self) -> list[str]:
        """Shell lines that point other tools (boto3, the aws CLI v2, SDKs) at the sandbox."""
        key, secret = CREDENTIALS
        return [
            f"export AWS_ENDPOINT_URL={self.endpoint}",
            f"export AWS_REGION={self.region}",
            f"export AWS_DEFAULT_REGION={self.region}",
            f"export AWS_ACCESS_KEY_ID={key}",
            f"export AWS_SECRET_ACCESS_KEY={secret}",
        ]


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "evctl"


def state_path() -> Path:
    return state_dir() / "sandbox.json"


def log_path() -> Path:
    return state_dir() / "sandbox.log"


def read() -> SandboxState | None:
    """The recorded sandbox, alive or not; None when there is no state file."""
    path = state_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return SandboxState(**raw)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"the sandbox state file {path} is unreadable ({exc})", "remove it, or run `evctl sandbox down`"
        ) from exc


def write(state: SandboxState) -> Path:
    """Atomically: readers never see half a file."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def remove(pid: int | None = None) -> bool:
    """Remove the state file; with `pid`, only when it still records that process (never another's)."""
    path = state_path()
    if pid is not None:
        try:
            current = read()
        except ConfigError:
            current = None
        if current is None or current.pid != pid:
            return False
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def running() -> SandboxState:
    """The running sandbox, or ConfigError (exit 4) saying none is running or the record is stale."""
    state = read()
    if state is None:
        raise ConfigError("no sandbox is running", START_HINT)
    if not pid_alive(state.pid):
        raise ConfigError(
            f"the sandbox recorded in {state_path()} is not running (process {state.pid} is gone; stale state file)",
            START_HINT,
        )
    return state


def target(settings: AwsSettings) -> tuple[AwsSettings, SandboxState]:
    """`--sandbox` / EVCTL_SANDBOX=1: the same settings, aimed at the running sandbox (ConfigError, exit 4, if none)."""
    from dataclasses import replace

    current = running()
    aimed = replace(settings, endpoint_url=current.endpoint, region=current.region, sandbox_credentials=CREDENTIALS)
    return aimed, current
