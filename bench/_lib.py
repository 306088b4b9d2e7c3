"""Helpers shared by the benchmarks (imported as `_lib`: each bench runs as a file, so bench/ is on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """`python -m moto.server` on 127.0.0.1 and a free port; returns the process and its endpoint once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto server did not start")


PYCACHE = Path(tempfile.gettempdir()) / "evctl-bench-pycache"


def evctl_env(endpoint: str | None = None) -> dict[str, str]:
    """Fake credentials, no AWS config files, and bytecode caching on (outside the work tree) as in a normal
    install: with PYTHONDONTWRITEBYTECODE set, every run would recompile evctl's modules."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = dict(
        base,
        PYTHONPYCACHEPREFIX=str(PYCACHE),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env
