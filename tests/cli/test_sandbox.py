"""`evctl sandbox ...`, `--sandbox` and `evctl demo` in-process: stdout, stderr and exit codes apart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evctl.sandbox import provision as pv
from evctl.sandbox import state
from evctl.sandbox.server import SandboxServer
from tests.helpers import restore_default_signals, run_cli


@pytest.fixture
def running_sandbox() -> Iterator[tuple[SandboxServer, pv.Pipeline]]:
    """A provisioned sandbox in this process, recorded in the state file as the running one."""
    from evctl.cli.context import sandbox_clients

    server = SandboxServer(port=0).start()
    server.reset()  # moto's state is per process: start from nothing
    try:
        pipeline = pv.provision(sandbox_clients(server.endpoint), settings=pv.PipelineSettings())
        state.write(state.SandboxState.for_process(os.getpid(), endpoint=server.endpoint, port=server.port))
        yield server, pipeline
    finally:
        state.remove()
        server.stop()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"], preexec_fn=restore_default_signals)
    child.wait()
    return child.pid


@pytest.mark.parametrize("how", ["option", "env"])
def test_sandbox_target_without_a_running_sandbox_is_exit_4(how: str) -> None:
    args, env = (["--sandbox"], None) if how == "option" else ([], {"EVCTL_SANDBOX": "1"})
    result = run_cli([*args, "queue", "list"], env=env)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        "evctl: error: no sandbox is running — start one with `evctl sandbox up --detach` (or run `evctl demo`)\n"
    )


def test_sandbox_target_with_a_stale_state_file_is_exit_4() -> None:
    pid = _dead_pid()
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=pid))
    result = run_cli(["--sandbox", "queue", "list"])
    assert result.exit_code == 4
    assert f"is not running (process {pid} is gone; stale state file)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_sandbox_target_says_so_on_stderr_and_reaches_it(running_sandbox: tuple[SandboxServer, pv.Pipeline]) -> None:
    server, _ = running_sandbox
    result = run_cli(["--sandbox", "-o", "json", "queue", "list"])
    assert result.exit_code == 0, result.stderr
    assert f"evctl: targeting the local sandbox at {server.endpoint} (pid {os.getpid()})" in result.stderr
    names = json.dumps(json.loads(result.stdout))
    assert "user-signup-queue" in names and "user-signup-dlq" in names


def test_status_shows_endpoint_pid_resources_and_depths(running_sandbox: tuple[SandboxServer, pv.Pipeline]) -> None:
    from evctl.cli.context import sandbox_clients

    server, pipeline = running_sandbox
    sqs = sandbox_clients(server.endpoint).sqs
    sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody="x")
    sqs.send_message(QueueUrl=pipeline.dlq_url, MessageBody="y")
    sqs.send_message(QueueUrl=pipeline.dlq_url, MessageBody="z")
    result = run_cli(["-o", "json", "sandbox", "status"])
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["endpoint"] == server.endpoint
    assert status["pid"] == os.getpid()
    assert status["queue"] == pipeline.queue_url and status["dlq"] == pipeline.dlq_url
    assert status["function"] == pipeline.function_arn
    assert status["event_source_mapping"] == pipeline.esm_uuid
    assert (status["queue_visible"], status["queue_in_flight"], status["dlq_depth"]) == (1, 0, 2)
    table = run_cli(["sandbox", "status"], tty=True)
    assert table.exit_code == 0 and server.endpoint in table.stdout and "dlq_depth" in table.stdout


def test_status_without_a_sandbox_is_exit_4() -> None:
    result = run_cli(["sandbox", "status"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr.startswith("evctl: error: no sandbox is running — ")


def test_up_twice_is_refused_and_starts_nothing(running_sandbox: tuple[SandboxServer, pv.Pipeline]) -> None:
    server, _ = running_sandbox
    before = state.state_path().read_text()
    result = run_cli(["sandbox", "up", "--port", "0"])
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        f"evctl: error: a sandbox is already running (pid {os.getpid()}, {server.endpoint}) — reach it with "
        "`evctl --sandbox ...`, or stop it first with `evctl sandbox down`\n"
    )
    assert state.state_path().read_text() == before


def test_up_on_a_busy_port_is_exit_4_and_leaves_no_state() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["sandbox", "up", "--port", str(port)])
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        f"evctl: error: port {port} on 127.0.0.1 is already in use — pick another with --port, or --port 0 "
        "for any free port\n"
    )
    assert state.read() is None


@pytest.mark.parametrize(
    ("source", "spec", "message"),
    [
        (None, "{file}:handler", "handler file {file} does not exist — pass --handler FILE.py:FUNCTION"),
        ("def handler(e, c)\n", "{file}:handler", "handler file {file} has a syntax error: expected ':' (line 1)"),
        ("def other(e, c):\n    pass\n", "{file}:handler", "handler file {file} defines no function 'handler'"),
        ("x = 1\n", "{file}:not-a-name", "--handler '{file}:not-a-name': 'not-a-name' is not a Python function name"),
    ],
)
def test_up_with_a_bad_handler_is_exit_2_and_starts_nothing(
    tmp_path: Path, source: str | None, spec: str, message: str
) -> None:
    file = tmp_path / "handler.py"
    if source is not None:
        file.write_text(source)
    result = run_cli(["sandbox", "up", "--port", "0", "--handler", spec.format(file=file)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("evctl: error: " + message.format(file=file))
    assert result.stderr.count("\n") == 1
    assert state.read() is None


def _fifo(d: Path) -> str:
    os.mkfifo(d / "fifo.py")
    return f"{d}/fifo.py:handler"


def _written(name: str, content: bytes) -> Callable[[Path], str]:
    def write(d: Path) -> str:
        (d / name).write_bytes(content)
        return f"{d}/{name}:handler"

    return write


HOSTILE_HANDLERS: dict[str, tuple[Callable[[Path], str], str]] = {
    "a directory": (lambda d: f"{d}:handler", "handler file {d} is a directory"),
    "a FIFO": (_fifo, "handler file {d}/fifo.py is not a regular file"),
    "/dev/null": (lambda d: "/dev/null:handler", "handler file /dev/null is not a regular file"),
    "no file": (lambda d: ":handler", "--handler ':handler' names no file"),
    "null bytes": (
        _written("nul.py", b"def handler(e, c):\n    pass\n\0"),
        "has a syntax error: source code string cannot contain null bytes — fix it",
    ),
    "not UTF-8": (_written("bin.py", b"\xff\xfe garbage"), "has a syntax error: (unicode error)"),
}


@pytest.mark.parametrize("shape", HOSTILE_HANDLERS)
def test_up_with_a_hostile_handler_says_what_it_is(tmp_path: Path, shape: str) -> None:
    make, message = HOSTILE_HANDLERS[shape]
    result = run_cli(["sandbox", "up", "--port", "0", "--handler", make(tmp_path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert message.format(d=tmp_path) in result.stderr
    assert result.stderr.count("\n") == 1 and "None" not in result.stderr and "does not exist" not in result.stderr
    assert state.read() is None


def test_up_removes_a_stale_state_file_before_starting(tmp_path: Path) -> None:
    pid = _dead_pid()
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=pid))
    bad = tmp_path / "missing.py"
    result = run_cli(["sandbox", "up", "--handler", f"{bad}:h"])  # fails after the check, before starting
    assert result.exit_code == 2
    assert state.read() is not None  # the handler is checked first: nothing is touched on bad input
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli(["sandbox", "up", "--port", str(taken.getsockname()[1])])
    assert f"evctl: warning: removed a stale state file (sandbox process {pid} is gone)" in result.stderr
    assert state.read() is None


def test_down_without_a_sandbox_says_so_and_succeeds() -> None:
    result = run_cli(["-o", "json", "sandbox", "down"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"stopped": False, "reason": "no sandbox is running"}
    assert result.stderr == "no sandbox is running\n"


def test_down_with_a_stale_state_file_removes_it() -> None:
    pid = _dead_pid()
    state.write(state.SandboxState(endpoint="http://127.0.0.1:9", port=9, pid=pid))
    result = run_cli(["-o", "json", "sandbox", "down"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["reason"] == "stale state file removed (process was gone)"
    assert state.read() is None


def test_reset_refuses_without_yes_when_not_interactive(running_sandbox: tuple[SandboxServer, pv.Pipeline]) -> None:
    from evctl.cli.context import sandbox_clients

    server, pipeline = running_sandbox
    sqs = sandbox_clients(server.endpoint).sqs
    sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody="keep me")
    result = run_cli(["sandbox", "reset"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"evctl: error: refusing to reset the sandbox at {server.endpoint}")
    assert pv.queue_depths(sqs, pipeline.queue_url)["visible"] == 1  # nothing was reset


@pytest.mark.parametrize("handler", ["{d}/gone.py:handler", "{d}:handler", "{d}/h.py:not-a-name"])
def test_reset_when_the_recorded_handler_is_gone_or_broken_is_exit_4(
    running_sandbox: tuple[SandboxServer, pv.Pipeline], tmp_path: Path, handler: str
) -> None:
    record = state.read()
    assert record is not None
    state.write(state.SandboxState(**{**record.__dict__, "handler": handler.format(d=tmp_path)}))
    result = run_cli(["sandbox", "reset", "--yes"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr.startswith("evctl: error: the sandbox's handler cannot be provisioned again: ")
    assert "`evctl sandbox down`, then `evctl sandbox up --handler FILE.py:FN`" in result.stderr
    assert result.stderr.count("\n") == 1


def test_reset_with_yes_gives_a_fresh_pipeline(running_sandbox: tuple[SandboxServer, pv.Pipeline]) -> None:
    from evctl.cli.context import sandbox_clients

    server, pipeline = running_sandbox
    clients = sandbox_clients(server.endpoint)
    clients.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody="gone after reset")
    clients.sqs.create_queue(QueueName="something-else")
    result = run_cli(["-o", "json", "sandbox", "reset", "--yes"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queue"] == pipeline.queue_url
    assert pv.queue_depths(clients.sqs, pipeline.queue_url)["visible"] == 0
    urls = clients.sqs.list_queues()["QueueUrls"]
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == ["user-signup-dlq", "user-signup-queue"]
    assert "sandbox reset" in result.stderr


def test_demo_verifies_every_step_and_exits_0() -> None:
    result = run_cli(["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    steps = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["ok"] for s in steps] == [True] * 12
    assert any("Sending welcome email to: test@example.com" in line for line in steps[4]["log_lines"])
    assert steps[6]["failed_invocations"] == 3
    assert (steps[7]["dlq_depth"], steps[7]["queue_depth"]) == (1, 0)
    # after the fix: --dry-run first (manual mode: no move tasks in moto), then the redrive, then the handler's log
    assert (steps[9]["would_move"], steps[9]["mode"]) == (1, "manual")
    assert (steps[10]["redrive"]["moved"], steps[10]["redrive"]["failed"]) == (1, 0)
    assert any("No email in signup" in line for line in steps[11]["log_lines"])
    assert result.stderr.endswith("every step verified\n")
    assert state.read() is None  # the demo's sandbox is its own: no state file


@pytest.mark.slow
def test_demo_on_a_terminal_narrates(monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.sandbox import demo

    monkeypatch.setattr(demo, "STEPS", demo.STEPS[:3])
    result = run_cli(["demo"], tty=True)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("✓ 1. the seed's pipeline is provisioned\n")
    assert "✓ 3. rule user-signup-rule routes it to user-signup-queue\n" in result.stdout


def test_demo_exits_1_when_a_step_cannot_be_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.sandbox import demo

    def never(ctx: demo.DemoContext) -> demo.StepResult:
        return demo.StepResult("an impossible step", False, "it was not there")

    monkeypatch.setattr(demo, "STEPS", [demo.step_pipeline_ready, never, demo.step_publish_signup])
    result = run_cli(["demo"])
    assert result.exit_code == 1
    steps = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["ok"] for s in steps] == [True, False]  # it stops at the failed step
    assert "evctl: error: step 2 (an impossible step) could not be verified: it was not there" in result.stderr


# ---- without the `sandbox` extra (a plain `pip install evctl`) -------------------------------------------------

NO_MOTO = (
    "evctl: error: the local sandbox needs moto, which is not installed — pip install 'evctl[sandbox]'"
    " (with pipx: pipx inject evctl 'moto[server]>=5.1,<5.3')\n"
)


@pytest.mark.parametrize(
    "args",
    [["demo"], ["sandbox", "up"], ["sandbox", "up", "--detach"], ["sandbox", "status"], ["--sandbox", "queue", "list"]],
)
def test_without_moto_sandbox_commands_exit_4_naming_the_install(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # `import moto` fails as it does when moto is not installed
    result = run_cli(args)
    assert (result.exit_code, result.stdout, result.stderr) == (4, "", NO_MOTO)
    assert state.read() is None  # nothing was started


def test_without_moto_other_commands_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    result = run_cli(["templates", "list"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert [t["name"] for t in json.loads(result.stdout)] == ["signup"]


def test_a_sandbox_module_missing_mid_command_is_exit_4_not_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto installed without its server extra: the import fails inside the sandbox, and says what to install."""
    from evctl.sandbox import lifecycle

    def start(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'flask'", name="flask")

    monkeypatch.setattr(lifecycle, "start", start)
    result = run_cli(["demo"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == NO_MOTO.replace("needs moto", "needs flask")


def test_evctl_demo_without_moto_installed_in_a_fresh_process(project_root: Path) -> None:
    """The installed entry point, with every `moto` import refused as a plain `pip install evctl` would."""
    program = (
        "import sys\n"
        "class NoMoto:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'moto' or name.startswith('moto.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, NoMoto())\n"
        "from evctl.__main__ import main\n"
        "sys.argv = ['evctl', 'demo']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, cwd=project_root
    )
    assert (done.returncode, done.stdout, done.stderr) == (4, "", NO_MOTO)


# ---- a state file that outlived its sandbox: the pid is another program's now (issue 11) ------------------------


@pytest.fixture
def unrelated_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a sandbox (`sleep`), once it has exec'd."""
    from evctl.sandbox import process

    proc = subprocess.Popen(["sleep", "60"], preexec_fn=restore_default_signals)
    try:
        for _ in range(500):  # until its command line is sleep's (right after fork it is still ours)
            found = process.identify(proc.pid)
            if found is not None and found.command.startswith("sleep"):
                break
            time.sleep(0.01)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _stale_record_naming(pid: int, identity: bool = True) -> None:
    """What a crashed sandbox leaves: its pid (now reused) and its own identity; without `identity`, the record an
    older evctl (or a hand) wrote: endpoint, port and pid only."""
    if not identity:
        path = state.state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"endpoint": "http://127.0.0.1:9", "port": 9, "pid": pid}))
        return
    state.write(
        state.SandboxState(
            endpoint="http://127.0.0.1:9",
            port=9,
            pid=pid,
            process_start="linux:boot-before-the-reboot:4242",
            process_command="/usr/bin/python3 -m evctl sandbox up --port 4599 --timeout 3",
        )
    )


@pytest.mark.parametrize("identity", [True, False], ids=["recorded identity", "no identity"])
def test_down_never_signals_a_process_that_reused_the_sandbox_pid(
    unrelated_process: subprocess.Popen[bytes], identity: bool
) -> None:
    pid = unrelated_process.pid
    _stale_record_naming(pid, identity)
    status = run_cli(["sandbox", "status"])
    assert (status.exit_code, status.stdout) == (4, "")
    assert f"is not running (process {pid} is now another program; stale state file)" in status.stderr
    assert status.stderr.count("\n") == 1
    targeted = run_cli(["--sandbox", "queue", "list"])
    assert targeted.exit_code == 4 and "now another program" in targeted.stderr
    assert state.read() is not None  # status is read-only
    down = run_cli(["-o", "json", "sandbox", "down"])
    assert down.exit_code == 0, down.stderr
    assert json.loads(down.stdout) == {
        "stopped": False,
        "pid": pid,
        "reason": f"stale state file removed (process {pid} is now another program, not signalled)",
    }
    assert down.stderr == f"stale state file removed (process {pid} is now another program, not signalled)\n"
    assert state.read() is None
    assert unrelated_process.poll() is None  # alive: no SIGTERM, and no SIGKILL 15 s later
    status = run_cli(["sandbox", "status"])
    assert status.exit_code == 4 and "no sandbox is running" in status.stderr


def test_up_replaces_a_record_whose_pid_is_another_program(unrelated_process: subprocess.Popen[bytes]) -> None:
    pid = unrelated_process.pid
    _stale_record_naming(pid)
    with socket.socket() as taken:  # the start fails after the check: nothing is left running by the test
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli(["sandbox", "up", "--port", str(taken.getsockname()[1])])
    assert f"evctl: warning: removed a stale state file (sandbox process {pid} is now another program)" in (
        result.stderr
    )
    assert state.read() is None
    assert unrelated_process.poll() is None


# ---- one sandbox at a time: the lock -------------------------------------------------------------------------------


@pytest.mark.parametrize("detach", [False, True])
def test_up_while_another_start_holds_the_lock_fails_at_once(detach: bool) -> None:
    from evctl.sandbox import lifecycle

    with lifecycle.take_lock():  # another `sandbox up` is starting (no state file yet)
        result = run_cli(["sandbox", "up", "--port", "0", *(["--detach"] if detach else [])])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"evctl: error: a sandbox is already running or starting (pid {os.getpid()}) — reach it with "
        "`evctl --sandbox ...`, or stop it first with `evctl sandbox down`\n"
    )
    assert not state.log_path().exists()  # no child was started
    assert state.read() is None


@pytest.mark.parametrize("command", ["status", "down", "--sandbox"])
def test_a_sandbox_still_starting_is_not_reported_as_none(command: str) -> None:
    """It holds the lock, and has not written its state file yet: status, down and --sandbox say so (exit 4)."""
    from evctl.sandbox import lifecycle

    args = {"status": ["sandbox", "status"], "down": ["sandbox", "down"], "--sandbox": ["--sandbox", "queue", "list"]}
    with lifecycle.take_lock():
        result = run_cli(args[command])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"evctl: error: a sandbox (pid {os.getpid()}) holds the lock but has no state file: it is starting, or "
        f"{state.state_path()} was removed — wait for `evctl sandbox up` to return and try again; otherwise stop it "
        f"with `kill {os.getpid()}`\n"
    )
    with lifecycle.take_lock():  # the probes took nothing
        pass


# ---- a corrupt state file: one line, exit 4, the file named, the fix given --------------------------------------

CORRUPT_SHAPES: dict[str, Callable[[Path], object]] = {
    "not JSON": lambda p: p.write_text("{not json"),
    "empty": lambda p: p.write_text(""),
    "a list": lambda p: p.write_text("[]"),
    "null": lambda p: p.write_text("null"),
    "pid is text": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": "abc"}'),
    "pid is true": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": true}'),
    "pid is negative": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": -1}'),
    "pid is a float": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": 1.5}'),
    "pid is huge": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": 99999999999999}'),
    "pid is NaN": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9, "pid": NaN}'),
    "no pid": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": 9}'),
    "port is text": lambda p: p.write_text('{"endpoint": "http://127.0.0.1:9", "port": "9", "pid": 1}'),
    "endpoint is a number": lambda p: p.write_text('{"endpoint": 9, "port": 9, "pid": 1}'),
    "endpoint is no URL": lambda p: p.write_text('{"endpoint": "localhost:9", "port": 9, "pid": 1}'),
    "settings is a list": lambda p: p.write_text('{"endpoint": "http://x:9", "port": 9, "pid": 1, "settings": []}'),
    "settings.timeout is text": lambda p: p.write_text(
        '{"endpoint": "http://x:9", "port": 9, "pid": 1, "settings": {"timeout": "x"}}'
    ),
    "settings.batch_size too big": lambda p: p.write_text(
        '{"endpoint": "http://x:9", "port": 9, "pid": 1, "settings": {"batch_size": 100000}}'
    ),
    "settings.memory_mb is true": lambda p: p.write_text(
        '{"endpoint": "http://x:9", "port": 9, "pid": 1, "settings": {"memory_mb": true}}'
    ),
    "identity is a number": lambda p: p.write_text(
        '{"endpoint": "http://x:9", "port": 9, "pid": 1, "process_start": 1}'
    ),
    "not UTF-8": lambda p: p.write_bytes(b'{"endpoint": "\xff\xfe"}'),
    "a directory": lambda p: p.mkdir(),
    "a FIFO": lambda p: os.mkfifo(p),
    "a symlink loop": lambda p: p.symlink_to(p),
    "too large": lambda p: p.write_text(" " * (state.MAX_BYTES + 1)),
}
COMMANDS = {
    "status": ["sandbox", "status"],
    "down": ["sandbox", "down"],
    "up": ["sandbox", "up", "--port", "0"],
    "reset": ["sandbox", "reset", "--yes"],
    "--sandbox": ["--sandbox", "queue", "list"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("shape", CORRUPT_SHAPES)
def test_a_corrupt_state_file_is_one_line_exit_4_naming_the_file(shape: str, command: str) -> None:
    path = state.state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    CORRUPT_SHAPES[shape](path)
    result = run_cli(COMMANDS[command])
    assert (result.exit_code, result.stdout) == (4, ""), result.stderr
    assert result.stderr.startswith(f"evctl: error: the sandbox state file {path} ")
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
    assert f"remove it (`rm {'-r ' if shape == 'a directory' else ''}{path}`)" in result.stderr
    assert os.path.lexists(path)  # left as it was: the user decides
    assert not state.log_path().exists()  # nothing was started


def test_a_corrupt_state_file_names_the_sandbox_that_still_holds_the_lock() -> None:
    from evctl.sandbox import lifecycle

    with lifecycle.take_lock():  # a running sandbox (this process) whose state file was damaged
        state.state_path().write_text('{"pid": "abc"}')
        result = run_cli(["sandbox", "down"])
    assert result.exit_code == 4
    assert result.stderr.endswith(f"; a sandbox still runs as pid {os.getpid()}: stop it with `kill {os.getpid()}`\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_directory_that_is_a_file_is_exit_4(command: str) -> None:
    state.state_dir().parent.mkdir(parents=True, exist_ok=True)
    state.state_dir().write_text("not a directory")
    result = run_cli(COMMANDS[command])
    assert (result.exit_code, result.stdout) == (4, ""), result.stderr
    assert str(state.state_dir()) in result.stderr
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr


LOCK_SHAPES: dict[str, Callable[[Path], object]] = {
    "a directory": lambda p: p.mkdir(),
    "a symlink": lambda p: p.symlink_to(p.with_name("elsewhere")),
    "a FIFO": lambda p: os.mkfifo(p),
}


@pytest.mark.parametrize("shape", LOCK_SHAPES)
def test_a_hostile_lock_file_is_exit_4_and_never_hangs(shape: str) -> None:
    lock = state.lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    LOCK_SHAPES[shape](lock)
    up = run_cli(["sandbox", "up", "--port", "0"])
    assert (up.exit_code, up.stdout) == (4, ""), up.stderr
    assert up.stderr.startswith(f"evctl: error: cannot open the sandbox lock file {lock}")
    assert up.stderr.count("\n") == 1
    _stale_record_naming(os.getpid(), identity=False)  # no identity: the lock is probed, and must not hang
    status = run_cli(["sandbox", "status"])
    assert status.exit_code == 4 and status.stderr.count("\n") == 1
    down = run_cli(["sandbox", "down"])
    assert down.exit_code == 0 and state.read() is None
