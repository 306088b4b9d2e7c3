"""The suite passes wherever it runs: a child a test signals sees the signal even when pytest itself was started with
SIGINT ignored (`make test &`, nohup, some CI runners), because it starts with tests.helpers.restore_default_signals.
"""

from __future__ import annotations

import ast
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DEFAULT_SIGNALS, restore_default_signals

TESTS = Path(__file__).resolve().parent
SIGNALLING = {"send_signal", "kill", "terminate"}  # Popen methods; os.kill with a signal other than 0 counts too
SHOW = "import signal; print(*(int(signal.getsignal(s) == signal.SIG_IGN) for s in (2, 15, 1)))"


@pytest.fixture
def parent_ignores_signals() -> Iterator[None]:
    """This process ignores SIGINT, SIGTERM and SIGHUP for the test, as a background job or a CI runner would."""
    saved = {signum: signal.getsignal(signum) for signum in DEFAULT_SIGNALS}
    try:
        for signum in DEFAULT_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.mark.usefixtures("parent_ignores_signals")
def test_an_ignored_signal_is_inherited_unless_the_child_restores_the_defaults() -> None:
    inherited = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True, timeout=60)
    assert (inherited.returncode, inherited.stdout) == (0, "1 1 1\n")  # what made 5 tests fail in the background
    restored = subprocess.run(
        [sys.executable, "-c", SHOW], capture_output=True, text=True, timeout=60, preexec_fn=restore_default_signals
    )
    assert (restored.returncode, restored.stdout) == (0, "0 0 0\n")


@pytest.mark.usefixtures("parent_ignores_signals")
def test_a_restored_child_is_interrupted_by_sigint() -> None:
    code = "import sys, time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=restore_default_signals
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGINT and b"KeyboardInterrupt" in stderr  # Python ends by its own SIGINT


def _signals_a_child(tree: ast.AST) -> bool:
    """proc.send_signal(...), proc.kill(), proc.terminate(), or os.kill(pid, sig) with sig other than 0."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, owner = node.func.attr, node.func.value
        if isinstance(owner, ast.Name) and owner.id == "os":
            probe = len(node.args) == 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value == 0
            if method == "kill" and not probe:
                return True
        elif method in SIGNALLING:
            return True
    return False


def _popen_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "Popen":
                yield node


def test_every_child_a_test_signals_starts_with_default_signals() -> None:
    offenders = []
    checked = 0
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if not _signals_a_child(tree):
            continue
        for call in _popen_calls(tree):
            checked += 1
            restores = any(
                k.arg == "preexec_fn" and isinstance(k.value, ast.Name) and k.value.id == "restore_default_signals"
                for k in call.keywords
            )
            if not restores:
                offenders.append(f"{path.relative_to(TESTS.parent)}:{call.lineno}")
    assert checked >= 6, "the scan found too few Popen calls to be looking at the right files"
    assert offenders == [], (
        "these Popen calls are in a file that signals its children but do not pass "
        f"preexec_fn=restore_default_signals (tests/helpers.py): {offenders}"
    )
