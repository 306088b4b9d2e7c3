"""Benchmark: `evctl tail logs --follow` against a moto server (a benchmark, not a test).

1. Lag: a producer writes one event every 0.2 s (put_log_events) and, every 3 s, one event whose timestamp
   is 10 s old (ingested late). The lag of an event is the time from just before its put_log_events call to
   the moment its line is read from the tailer's stdout. Contenders, each a separate process on the same
   moto server (python -m moto.server on 127.0.0.1):
     evctl    `evctl tail logs GROUP --follow --format raw` (defaults: 1 s interval, 30 s lookback)
     aws-v2   `aws logs tail --follow` when the installed aws CLI has it; the aws CLI v1 in .venv does not,
              so its documented algorithm is re-implemented here (awscli/customizations/logs/tail.py in
              aws-cli v2: poll FilterLogEvents, dedupe by eventId at the newest timestamp, restart from the
              newest timestamp, sleep 5 s)
   Printed: lag p50 / p95 / max, late events shown, FilterLogEvents calls per minute per group.
2. Several groups: evctl following 5 groups at once; calls per minute per group and in total (the account
   quota is 5 requests/s; evctl's shared budget defaults to 4).
3. A simulated hour: evctl's Follower with a fake clock against an in-memory FilterLogEvents that answers
   like AWS (ordered pages of at most `limit` events) at --rate events/s; memory (tracemalloc) and the
   eventIds remembered, after 10, 30 and 60 simulated minutes.

    .venv/bin/python bench/tail.py [--seconds 40] [--groups 5] [--rate 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _lib import start_moto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers are imported from the project root
BIN = Path(sys.executable).parent

AWS_V2_ALGORITHM = r"""
# The follow loop of aws-cli v2 awscli/customizations/logs/tail.py (FollowLogEventsGenerator), re-implemented.
import sys, time
from collections import defaultdict
import boto3
endpoint, group, start_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = boto3.client("logs", endpoint_url=endpoint)
kwargs = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
ids_per_timestamp = defaultdict(set)
calls = 0
try:
    while True:
        response = client.filter_log_events(**kwargs)
        calls += 1
        for event in response["events"]:
            if event["eventId"] not in ids_per_timestamp[event["timestamp"]]:
                ids_per_timestamp[event["timestamp"]].add(event["eventId"])
                sys.stdout.write(event["message"] + "\n")
                sys.stdout.flush()
        if ids_per_timestamp:  # keep only the newest timestamp's ids
            newest = max(ids_per_timestamp)
            ids_per_timestamp = defaultdict(set, {newest: ids_per_timestamp[newest]})
        if "nextToken" in response:
            kwargs["nextToken"] = response["nextToken"]
        else:
            kwargs.pop("nextToken", None)
            if ids_per_timestamp:
                kwargs["startTime"] = max(ids_per_timestamp)
            time.sleep(5)
except KeyboardInterrupt:
    sys.stderr.write(f"calls {calls}\n")
"""


def env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return base


def logs_client(endpoint: str) -> Any:
    import boto3

    os.environ.update(env())
    return boto3.client("logs", endpoint_url=endpoint)


class Producer(threading.Thread):
    """Writes `seq N` every 0.2 s to each group, and every 3 s a `late N` stamped 10 s in the past."""

    def __init__(self, endpoint: str, groups: list[str], seconds: float) -> None:
        super().__init__(daemon=True)
        self.client = logs_client(endpoint)
        self.groups = groups
        self.seconds = seconds
        self.put_at: dict[str, float] = {}
        self.late: set[str] = set()

    def run(self) -> None:
        started = time.time()
        n = 0
        while time.time() - started < self.seconds:
            for group in self.groups:
                n += 1
                late = n % 15 == 0
                message = f"{'late' if late else 'seq'} {n}"
                stamp = int(time.time() * 1000) - (10_000 if late else 0)
                self.put_at[message] = time.time()
                self.client.put_log_events(
                    logGroupName=group, logStreamName="s", logEvents=[{"timestamp": stamp, "message": message}]
                )
                if late:
                    self.late.add(message)
            time.sleep(0.2)


def run_tailer(cmd: list[str], endpoint: str, groups: list[str], seconds: float) -> dict[str, Any]:
    """Starts a tailer, produces for `seconds`, waits for stragglers, stops it with SIGINT; returns figures."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    seen_at: dict[str, float] = {}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen_at.setdefault(line.strip(), time.time())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(3)  # the tailer's start-up (imports, first poll) is not part of the lag
    producer = Producer(endpoint, groups, seconds)
    producer.start()
    producer.join()
    time.sleep(7)  # stragglers: the slowest contender polls every 5 s
    started = time.time() - seconds - 10
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    reader.join(timeout=5)
    elapsed_min = (time.time() - started) / 60
    lags = sorted(seen_at[m] - t for m, t in producer.put_at.items() if m in seen_at and m not in producer.late)
    calls = _calls(stderr)
    return {
        "events": len(producer.put_at) - len(producer.late),
        "shown": len(lags),
        "late_shown": sum(1 for m in producer.late if m in seen_at),
        "late_total": len(producer.late),
        "p50": statistics.median(lags) if lags else float("nan"),
        "p95": lags[int(0.95 * (len(lags) - 1))] if lags else float("nan"),
        "max": lags[-1] if lags else float("nan"),
        "calls_per_min_per_group": calls / elapsed_min / len(groups) if calls else float("nan"),
        "calls_per_s_total": calls / (elapsed_min * 60) if calls else float("nan"),
        "stderr": stderr,
    }


def _calls(stderr: str) -> int:
    match = re.search(r"(\d+) FilterLogEvents calls", stderr) or re.search(r"calls (\d+)", stderr)
    return int(match.group(1)) if match else 0


def make_groups(endpoint: str, names: list[str]) -> None:
    client = logs_client(endpoint)
    for name in names:
        client.create_log_group(logGroupName=name)
        client.create_log_stream(logGroupName=name, logStreamName="s")


# ---- a simulated hour ---------------------------------------------------------------------------------


class SyntheticLogs:
    """FilterLogEvents over `rate` events/s since `origin_ms`, answered like AWS (ordered, paged by `limit`)."""

    def __init__(self, clock: Any, rate: int, origin_ms: int) -> None:
        self.clock = clock
        self.rate = rate
        self.origin_ms = origin_ms
        self.calls = 0

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        step = 1000 / self.rate
        now_ms = int(self.clock() * 1000)
        end = min(params.get("endTime") or now_ms, now_ms)
        first = max(0, -(-(params["startTime"] - self.origin_ms) // int(step)))
        first = int(params.get("nextToken") or first)
        last = int((end - self.origin_ms) // step)
        limit = params.get("limit") or 10_000
        stop = min(last + 1, first + limit)
        events = [
            {
                "logStreamName": f"2026/11/27/[$LATEST]{k % 4:032x}",
                "timestamp": self.origin_ms + int(k * step),
                "ingestionTime": self.origin_ms + int(k * step) + 200,
                "eventId": f"{k:056d}",
                "message": f"[INFO]\t2026-11-27T10:00:00.000Z\t8f5a2c3e-2b7d-4c8e-9a1f-0123456789ab\tprocessed signup {k}\n",
            }
            for k in range(first, stop)
        ]
        page: dict[str, Any] = {"events": events}
        if stop <= last:
            page["nextToken"] = str(stop)
        return page


def simulated_hour(rate: int) -> list[tuple[int, float, float, int, int]]:
    from evctl.core.logs import Follower

    class Clock:
        now = 1_795_000_000.0

        def __call__(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    service = SyntheticLogs(clock, rate, int(clock.now * 1000))
    follower = Follower(
        service, ["/aws/lambda/user-signup-handler"], int(clock.now * 1000), clock=clock, sleep=clock.sleep
    )
    rows = []
    tracemalloc.start()
    shown = 0
    for minute in range(1, 61):
        for _ in range(60):
            shown += len(follower.poll_once())
            clock.sleep(1.0)
        if minute in (1, 10, 30, 60):
            current, peak = tracemalloc.get_traced_memory()
            rows.append((minute, current / 1024, peak / 1024, follower.remembered_ids, shown))
    tracemalloc.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0, help="production time per contender")
    parser.add_argument("--groups", type=int, default=5, help="groups in the several-groups run")
    parser.add_argument("--rate", type=int, default=10, help="events/s in the simulated hour")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; production {args.seconds:g} s per run\n")
    proc, endpoint = start_moto()
    try:
        make_groups(endpoint, ["/bench/one", "/bench/v2"] + [f"/bench/many-{i}" for i in range(args.groups)])
        has_tail = (
            subprocess.run([str(BIN / "aws"), "logs", "tail", "help"], capture_output=True, env=env()).returncode == 0
        )
        evctl = [
            str(BIN / "evctl"),
            "--endpoint-url",
            endpoint,
            "tail",
            "logs",
            "--follow",
            "--format",
            "raw",
            "--since",
            "1m",
        ]
        since_ms = str(int(time.time() * 1000) - 60_000)  # both contenders start a minute back
        if has_tail:
            v2_name = "aws logs tail --follow"
            v2 = [
                str(BIN / "aws"),
                "--endpoint-url",
                endpoint,
                "logs",
                "tail",
                "/bench/v2",
                "--follow",
                "--since",
                "1m",
            ]
        else:
            v2_name = "aws-v2 algorithm (5 s poll)"
            v2 = [sys.executable, "-c", AWS_V2_ALGORITHM, endpoint, "/bench/v2", since_ms]
        runs = {
            "evctl --follow": run_tailer([*evctl, "/bench/one"], endpoint, ["/bench/one"], args.seconds),
            v2_name: run_tailer(v2, endpoint, ["/bench/v2"], args.seconds),
        }
        many = [f"/bench/many-{i}" for i in range(args.groups)]
        runs[f"evctl --follow, {args.groups} groups"] = run_tailer([*evctl, *many], endpoint, many, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print("| tailer | events | shown | lag p50 | lag p95 | lag max | late shown | calls/min/group | calls/s total |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        print(
            f"| {name} | {r['events']} | {r['shown']} | {r['p50']:.2f} s | {r['p95']:.2f} s | {r['max']:.2f} s | "
            f"{r['late_shown']}/{r['late_total']} | {r['calls_per_min_per_group']:.1f} | {r['calls_per_s_total']:.2f} |"
        )
    if not has_tail:
        print("\n(the installed aws CLI has no `logs tail`: aws-v2 row = its documented algorithm, re-implemented)")
    evctl_p95 = runs["evctl --follow"]["p95"]
    print(
        f"\ntarget p95 lag <= 2 s at the default interval: {'met' if evctl_p95 <= 2 else 'MISSED'} ({evctl_p95:.2f} s)"
    )

    print(f"\nsimulated hour, {args.rate} events/s, 1 s interval, 30 s lookback (tracemalloc of the whole process):")
    print("| minute | memory now | memory peak | eventIds remembered | events shown |")
    print("|---|---|---|---|---|")
    for minute, current, peak, ids, shown in simulated_hour(args.rate):
        print(f"| {minute} | {current:.0f} KiB | {peak:.0f} KiB | {ids} | {shown} |")
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
