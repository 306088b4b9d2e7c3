"""Benchmark: how long `evctl --version` and `evctl --help` take (a benchmark, not a test).

Each command runs --runs times as a fresh process (after one warm-up run that fills the OS file cache and the
bytecode cache, kept in a temporary directory: PYTHONPYCACHEPREFIX); the
table shows median, min and max wall time and the median CPU time (user + system), next to `python -c pass` and `aws --version` for scale.
Targets (issue 2): `evctl --version` median <= 80 ms, `evctl --help` median <= 150 ms on a 2-core machine.

    .venv/bin/python bench/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGETS_MS = {"evctl --version": 80.0, "evctl --help": 150.0}


# Bytecode caching on (outside the work tree), as in a normal install; with PYTHONDONTWRITEBYTECODE set (as in
# this project's shells) every run would recompile evctl's modules (~60 ms).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "evctl-bench-pycache")


def run_ms(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the child) in ms; CPU time is steadier on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def measure(cmd: list[str], runs: int) -> list[tuple[float, float]]:
    run_ms(cmd)  # warm-up
    return [run_ms(cmd) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "evctl --version": [str(BIN / "evctl"), "--version"],
        "evctl --help": [str(BIN / "evctl"), "--help"],
        "evctl publish --help": [str(BIN / "evctl"), "publish", "--help"],
        "aws --version": [str(BIN / "aws"), "--version"],
    }
    print(f"startup benchmark: {args.runs} runs each after one warm-up, {os.cpu_count()} CPUs")
    print("load average (1/5/15 min) at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    header = f"{'command':<22} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'cpu ms':>8} {'target':>8}"
    print(header)
    print("-" * len(header))
    verdicts = []
    for name, cmd in commands.items():
        runs = measure(cmd, args.runs)
        times = [wall for wall, _ in runs]
        median = statistics.median(times)
        cpu = statistics.median(c for _, c in runs)
        target = TARGETS_MS.get(name)
        print(f"{name:<22} {median:>10.1f} {min(times):>8.1f} {max(times):>8.1f} {cpu:>8.1f} {target or '':>8}")
        if target:
            verdicts.append(f"{name}: {'met' if median <= target else 'MISSED'} ({median:.0f} <= {target:.0f} ms)")
    print()
    print("; ".join(verdicts))


if __name__ == "__main__":
    main()
