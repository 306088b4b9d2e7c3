"""Benchmark: publishing 10,000 events to a moto server (a benchmark, not a test).

Contenders, each run as its own process against the same moto server (python -m moto.server on 127.0.0.1):
  evctl      `evctl publish --file events.jsonl` (default concurrency 4)
  reference  a hand-written boto3 script: the same batches of 10 and the same 4 threads, no validation
  naive      a boto3 loop, one put_events call per event (run on a sample; its rate does not depend on count)
  aws-cli    `aws events put-events --entries file://batch.json` once per 10-entry batch (run on a sample of
             batches and extrapolated: each call is a new ~0.4 s process)

Printed: events/s by process wall time (start-up included) and inside the publish loop (start-up excluded),
API calls per event, and the ratios the issue sets targets for: evctl >= 0.9x reference, >= 5x naive.

    .venv/bin/python bench/publish.py [--events 10000] [--repeat 3] [--naive-events 2000] [--cli-batches 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _lib import evctl_env, start_moto

BIN = Path(sys.executable).parent

REFERENCE = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

path, endpoint, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
entries = []
for line in open(path):
    obj = json.loads(line)
    obj["Detail"] = json.dumps(obj["Detail"], separators=(",", ":"))
    entries.append(obj)
client = boto3.client("events", endpoint_url=endpoint,
                      config=Config(max_pool_connections=threads, retries={"mode": "standard"}))
batches = [entries[i:i + 10] for i in range(0, len(entries), 10)]
calls = 0
def send(batch):
    global calls
    pending = batch
    while pending:
        calls += 1
        answer = client.put_events(Entries=pending)["Entries"]
        pending = [e for e, a in zip(pending, answer) if a.get("ErrorCode") in ("InternalFailure", "ThrottlingException")]
started = time.perf_counter()
with ThreadPoolExecutor(threads) as pool:
    list(pool.map(send, batches))
print(json.dumps({"calls": calls, "seconds": time.perf_counter() - started}))
"""

NAIVE = r"""
import json, sys, time
import boto3
path, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = boto3.client("events", endpoint_url=endpoint)
entries = [json.loads(line) for line, _ in zip(open(path), range(count))]
started = time.perf_counter()
for e in entries:
    client.put_events(Entries=[{**e, "Detail": json.dumps(e["Detail"])}])
print(json.dumps({"calls": len(entries), "seconds": time.perf_counter() - started}))
"""


CPU_SECONDS: dict[str, float] = {}  # CPU time (user + system) of each contender's processes, summed


def timed(cmd: list[str], contender: str = "") -> tuple[float, str, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=evctl_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if contender:
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        CPU_SECONDS[contender] = CPU_SECONDS.get(contender, 0.0) + cpu
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of evctl and the reference; medians shown")
    parser.add_argument("--naive-events", type=int, default=2_000)
    parser.add_argument("--cli-batches", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    proc, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run_all(Path(tmp), endpoint, args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    report(rows, args)


def run_all(tmp: Path, endpoint: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    events = tmp / "events.jsonl"
    with events.open("w") as out:
        for n in range(args.events):
            detail = {"user_id": f"user-{n:06d}", "email": f"user{n}@example.com", "name": "Test User", "n": n}
            out.write(json.dumps({"Source": "my.webapp", "DetailType": "UserSignup", "Detail": detail}) + "\n")
    (tmp / "reference.py").write_text(REFERENCE)
    (tmp / "naive.py").write_text(NAIVE)
    rows: dict[str, dict[str, float]] = {}

    warm = tmp / "warm.jsonl"
    warm.write_text("".join(events.read_text().splitlines(keepends=True)[:20]))
    timed([sys.executable, str(tmp / "reference.py"), str(warm), endpoint, "1"])  # moto loads its models once
    timed([str(BIN / "evctl"), "--endpoint-url", endpoint, "publish", "--file", str(warm)])  # and bytecode is cached

    evctl_runs, ref_runs = [], []
    for _ in range(args.repeat):
        # evctl as a script would run it: piped, so one ndjson result per event on stdout, summary on stderr
        wall, out, err = timed(
            [
                str(BIN / "evctl"),
                "--endpoint-url",
                endpoint,
                "publish",
                "--file",
                str(events),
                "--concurrency",
                str(args.concurrency),
            ],
            "evctl",
        )
        assert sum(1 for line in out.splitlines() if '"status":"ok"' in line) == args.events, err
        found = re.search(r"published (\d+) of \d+ events in (\d+) call\(s\), \d+ entry re-send\(s\), ([\d.]+) s", err)
        assert found and int(found.group(1)) == args.events, err
        evctl_runs.append((wall, float(found.group(3)), int(found.group(2))))
        wall, out, _ = timed(
            [sys.executable, str(tmp / "reference.py"), str(events), endpoint, str(args.concurrency)], "reference"
        )
        ref = json.loads(out)
        ref_runs.append((wall, ref["seconds"], ref["calls"]))
    for name, runs in (("evctl", evctl_runs), ("reference", ref_runs)):
        rows[name] = {
            "events": args.events,
            "wall": statistics.median(r[0] for r in runs),
            "loop": statistics.median(r[1] for r in runs),
            "calls": runs[0][2],
        }

    wall, out, _ = timed(
        [sys.executable, str(tmp / "naive.py"), str(events), endpoint, str(args.naive_events)], "naive"
    )
    naive = json.loads(out)
    rows["naive"] = {"events": args.naive_events, "wall": wall, "loop": naive["seconds"], "calls": naive["calls"]}

    lines = events.read_text().splitlines()
    batch_files = []
    for b in range(args.cli_batches):
        chunk = [json.loads(line) for line in lines[b * 10 : b * 10 + 10]]
        path = tmp / f"batch{b}.json"
        path.write_text(json.dumps([{**e, "Detail": json.dumps(e["Detail"])} for e in chunk]))
        batch_files.append(path)
    started = time.perf_counter()
    for path in batch_files:
        timed(
            [str(BIN / "aws"), "events", "put-events", "--endpoint-url", endpoint, "--entries", f"file://{path}"],
            "aws-cli",
        )
    cli_wall = time.perf_counter() - started
    rows["aws-cli"] = {"events": args.cli_batches * 10, "wall": cli_wall, "loop": cli_wall, "calls": args.cli_batches}
    return rows


def report(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    evctl_rate = rows["evctl"]["events"] / rows["evctl"]["wall"]
    print(f"publish benchmark: {args.events} events, moto server on 127.0.0.1, concurrency {args.concurrency},")
    print(f"{os.cpu_count()} CPUs; evctl and reference: median of {args.repeat} runs; naive and aws-cli: one run")
    print("load average (1/5/15 min) at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    header = (
        f"{'contender':<10} {'events':>7} {'wall s':>8} {'ev/s wall':>10} {'ev/s loop':>10} "
        f"{'cpu ms/ev':>10} {'calls/ev':>9} {'evctl is':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        wall_rate = row["events"] / row["wall"]
        loop_rate = row["events"] / row["loop"]
        note = "" if name == "evctl" else f"{evctl_rate / wall_rate:.2f}x"
        runs = args.repeat if name in ("evctl", "reference") else 1
        cpu_per_event = CPU_SECONDS.get(name, 0.0) * 1000 / runs / row["events"]
        print(
            f"{name:<10} {int(row['events']):>7} {row['wall']:>8.2f} {wall_rate:>10.0f} {loop_rate:>10.0f} "
            f"{cpu_per_event:>10.3f} {row['calls'] / row['events']:>9.3f} {note:>9}"
        )
    cli = rows["aws-cli"]
    print()
    print(
        f"aws-cli extrapolated to {args.events} events: {cli['wall'] / cli['events'] * args.events:.0f} s "
        f"({args.cli_batches} batches measured)"
    )
    ev_loop = rows["evctl"]["events"] / rows["evctl"]["loop"]
    ref_loop = rows["reference"]["events"] / rows["reference"]["loop"]
    print(
        f"targets: evctl/reference {evctl_rate / (rows['reference']['events'] / rows['reference']['wall']):.2f}x wall, "
        f"{ev_loop / ref_loop:.2f}x loop (>= 0.9); evctl/naive "
        f"{evctl_rate / (rows['naive']['events'] / rows['naive']['wall']):.1f}x (>= 5); "
        f"evctl calls/event {rows['evctl']['calls'] / rows['evctl']['events']:.3f} (<= 0.1 + retries)"
    )


if __name__ == "__main__":
    main()
