"""The sandbox's state file: where a running sandbox is, so other evctl processes can reach it.

The record names the sandbox's process by pid and identity (start time, command line: see process.py); whatever
reads it checks the identity before believing or signalling the pid. A file that is not a valid record (not JSON,
a wrong type, a directory at its path...) is one ConfigError (exit 4) naming the file and the fix.

Standard library only: the root `--sandbox` option reads it on every command.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from evctl.aws import AwsSettings
from evctl.errors import ConfigError
from evctl.sandbox import process

REGION = "us-east-1"
# moto accepts any credentials; these say where they come from when they show up in a log.
CREDENTIALS = ("evctl-sandbox", "evctl-sandbox")
ACCOUNT_ID = "123456789012"  # moto's default account
START_HINT = "start one with `evctl sandbox up --detach` (or run `evctl demo`)"
MAX_BYTES = 1 << 20  # a state file is a few hundred bytes; more is not one of ours


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
    process_start: str = ""  # process.Identity of `pid` when it was recorded; "" = this system could not tell
    process_command: str = ""
    delivery: str = ""  # rule -> SQS delivery: "enforcing" or "permissive" (`up --permissive`); "" = not recorded
    metric_errors: int = 0  # failures of the metrics emitter so far (updated by the running sandbox)

    @classmethod
    def for_process(cls, pid: int, **fields: Any) -> SandboxState:
        """A record of process `pid`, with its identity (left empty when this system cannot tell it)."""
        try:
            identity = process.identify(pid)
        except process.IdentityUnknown:
            identity = None
        if identity is not None:
            fields.update(process_start=identity.start, process_command=identity.command)
        return cls(pid=pid, **fields)

    @property
    def identity(self) -> process.Identity | None:
        if not self.process_start:
            return None
        return process.Identity(self.process_start, self.process_command)

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


def lock_path() -> Path:
    return state_dir() / "sandbox.lock"


def _corrupt(path: Path, what: str, *, directory: bool = False) -> ConfigError:
    holder = process.lock_holder(lock_path())
    running = f"; a sandbox still runs as pid {holder}: stop it with `kill {holder}`" if holder else ""
    return ConfigError(
        f"the sandbox state file {path} {what}", f"remove it (`rm {'-r ' if directory else ''}{path}`){running}"
    )


# provision.PipelineSettings's fields, within what Lambda and SQS accept (`sandbox reset` provisions with them)
SETTINGS_RANGES = {
    "timeout": (1, 900),
    "memory_mb": (128, 10240),
    "max_receive_count": (1, 1000),
    "batch_size": (1, 10000),
    "batching_window": (0, 300),
    "visibility_timeout": (0, 43200),  # or null: 6 × timeout
}
_TEXT_FIELDS = (
    "endpoint",
    "region",
    "handler",
    "started_at",
    "log_file",
    "process_start",
    "process_command",
    "delivery",
)


def _parse(path: Path, data: bytes) -> SandboxState:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _corrupt(path, "is not UTF-8 text") from None

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        raw = json.loads(text, parse_constant=no_constants)
    except ValueError as exc:
        raise _corrupt(path, f"is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise _corrupt(path, f"holds a JSON {type(raw).__name__}, not an object")
    for key in ("endpoint", "port", "pid"):
        if key not in raw:
            raise _corrupt(path, f"has no {key!r}")
    for key in _TEXT_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise _corrupt(path, f"has {key!r} = {json.dumps(raw[key])}, not a string")
    for key, low, high in (("pid", 1, 2**31 - 1), ("port", 1, 65535)):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _corrupt(path, f"has {key!r} = {json.dumps(value)}, not a number from {low} to {high}")
    if not raw["endpoint"].startswith(("http://", "https://")):
        raise _corrupt(path, f"has 'endpoint' = {json.dumps(raw['endpoint'])}, not an http:// URL")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise _corrupt(path, "has 'settings' that is not an object")
    for key, (low, high) in SETTINGS_RANGES.items():
        value = settings.get(key)
        if value is None and (key not in settings or key == "visibility_timeout"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _corrupt(path, f"has 'settings.{key}' = {json.dumps(value)}, not a number from {low} to {high}")
    known = {k: v for k, v in raw.items() if k in SandboxState.__dataclass_fields__}  # a newer evctl may add keys
    return SandboxState(**known)


def read() -> SandboxState | None:
    """The recorded sandbox, alive or not; None when there is no state file; ConfigError (exit 4) when the file
    is not a valid record."""
    path = state_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: a FIFO at the path must not hang us
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _corrupt(path, f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _corrupt(path, "is a directory", directory=True)
        if not stat.S_ISREG(info.st_mode):
            raise _corrupt(path, "is not a regular file")
        data = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise _corrupt(path, f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _corrupt(path, f"is larger than {MAX_BYTES} bytes")
    return _parse(path, data)


def write(state: SandboxState) -> Path:
    """Atomically: readers never see half a file. ConfigError (exit 4) when the state directory is not writable."""
    path = state_path()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(
            f"cannot write the sandbox state file {path} ({exc.strerror})",
            "make $XDG_STATE_HOME/evctl (default ~/.local/state/evctl) a writable directory with free space",
        ) from None
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
    except OSError:
        return False


Verdict = Literal["same", "gone", "other"]
STALE_HINT = f"`evctl sandbox down` removes the stale file; {START_HINT}"


def verify(state: SandboxState) -> Verdict:
    """Is the recorded process still the sandbox? "same", "gone" or "other" (the pid now belongs to another
    program). By the recorded identity; where there is none, or this system cannot read one (no /proc, no `ps`),
    by the lock: only the process holding it is the sandbox. Anything unproven is not the sandbox."""
    identity = state.identity
    if identity is not None:
        try:
            return process.check(state.pid, identity)
        except process.IdentityUnknown:
            pass
    return process.check_holder(state.pid, lock_path())


def stale_reason(state: SandboxState, verdict: Verdict) -> str:
    if verdict == "gone":
        return f"process {state.pid} is gone"
    return f"process {state.pid} is now another program"


def unrecorded() -> ConfigError | None:
    """With no state file: the error for a sandbox that holds the lock all the same (starting, or its state file was
    removed by hand), or None when there is none."""
    holder = process.lock_holder(lock_path())
    if holder is None:
        return None
    return ConfigError(
        f"a sandbox (pid {holder}) holds the lock but has no state file: it is starting, or {state_path()} was removed",
        f"wait for `evctl sandbox up` to return and try again; otherwise stop it with `kill {holder}`",
    )


def running() -> SandboxState:
    """The running sandbox, or ConfigError (exit 4) saying none is running or the record is stale."""
    state = read()
    if state is None:
        raise unrecorded() or ConfigError("no sandbox is running", START_HINT)
    verdict = verify(state)
    if verdict != "same":
        raise ConfigError(
            f"the sandbox recorded in {state_path()} is not running ({stale_reason(state, verdict)}; stale state file)",
            STALE_HINT,
        )
    return state


def target(settings: AwsSettings) -> tuple[AwsSettings, SandboxState]:
    """`--sandbox` / EVCTL_SANDBOX=1: the same settings, aimed at the running sandbox (ConfigError, exit 4, if none)."""
    from dataclasses import replace

    current = running()
    aimed = replace(settings, endpoint_url=current.endpoint, region=current.region, sandbox_credentials=CREDENTIALS)
    return aimed, current
