"""Benchmark: `evctl publish --rate R --duration D` (open-loop load) against a local endpoint and a moto server.

Targets (each in its own process, so the client is measured, not a server sharing its interpreter):
  local-30ms  a threaded http.server answering every PutEvents with success after 30 ms (HTTP/1.1 keep-alive)
  moto        `python -m moto.server` on 127.0.0.1 (no rule on the bus)

For each target and each rate (500, 2,000, 4,000 events/s): the installed `evctl` publishes the signup template
(a fresh user_id per event) for --duration seconds with -o json; printed: achieved/offered, PutEvents latency
p50/p99, schedule lag p99, the calls in flight at most, and the CPU seconds evctl's process spent per event. Then
the maximum rate sustained on the local endpoint (achieved >= 0.98 x offered, nothing failed), stepping the rate
up, and the CPU bound (1 / CPU seconds per event at that rate).

    .venv/bin/python bench/load.py [--duration 10] [--rates 500,2000,4000] [--max-steps 1000,...] [--skip-moto]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from _lib import evctl_env, free_port, start_moto

BIN = Path(sys.executable).parent

SERVER = r"""
import json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = float(sys.argv[2])

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entries = json.loads(body or b"{}").get("Entries", [])
        time.sleep(DELAY)
        answer = json.dumps({"FailedEntryCount": 0,
                             "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def start_local(delay: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(delay)])
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("local endpoint did not start")


def load(endpoint: str, rate: int, duration: float) -> dict[str, Any]:
    """One `evctl publish signup --rate R --duration D -o json`; its summary plus the process's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [str(BIN / "evctl"), "publish", "signup", "--rate", str(rate), "--duration", f"{duration}s", "-o", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=evctl_env(endpoint))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"evctl failed ({done.returncode}): {done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    summary["cpu"] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return summary


def row(target: str, rate: int, s: dict[str, Any]) -> str:
    ratio = (s["achieved_rate"] or 0) / rate
    cpu_ms = s["cpu"] * 1000 / max(1, s["published"] + s["failed"])
    return (
        f"| {target} | {rate:,} | {s['achieved_rate'] or 0:,.0f} | {ratio:.3f} | {s['latency_ms']['p50']} / "
        f"{s['latency_ms']['p99']} | {s['schedule_lag_ms']['p99']} | {s['concurrency']['max_in_flight']} | "
        f"{s['failed']} | {cpu_ms:.3f} |"
    )


def sustained(s: dict[str, Any], rate: int) -> bool:
    return (s["achieved_rate"] or 0) >= 0.98 * rate and s["failed"] == 0 and s["not_sent"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rates", default="500,2000,4000")
    parser.add_argument("--max-steps", default="3000,4000,5000,6000,7000,8000,10000")
    parser.add_argument("--max-duration", type=float, default=6.0)
    parser.add_argument("--delay", type=float, default=0.030)
    parser.add_argument("--skip-moto", action="store_true")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    print(f"load benchmark: {os.cpu_count()} CPUs, load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    print(
        "| target | offered ev/s | achieved ev/s | achieved/offered | latency p50 / p99 ms | lag p99 ms |"
        " max in flight | failed | CPU ms/event |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    servers = [("local-30ms", start_local(args.delay))]
    if not args.skip_moto:
        servers.append(("moto", start_moto()))
    try:
        for target, (_, endpoint) in servers:
            load(endpoint, 50, 1.0)  # warm-up: bytecode cached, moto's models loaded
            for rate in rates:
                print(row(target, rate, load(endpoint, rate, args.duration)), flush=True)
        _, local = servers[0][1]
        best: tuple[int, dict[str, Any]] | None = None
        print()
        print(f"maximum sustained on local-30ms ({args.max_duration:g} s per step):")
        for rate in (int(r) for r in args.max_steps.split(",")):
            summary = load(local, rate, args.max_duration)
            print(row("local-30ms", rate, summary), flush=True)
            if not sustained(summary, rate):
                break
            best = (rate, summary)
        if best:
            rate, summary = best
            cpu_per_event = summary["cpu"] / max(1, summary["published"])
            print(
                f"max sustained: {rate:,} events/s; CPU {cpu_per_event * 1000:.3f} ms/event -> CPU bound "
                f"{1 / cpu_per_event:,.0f} events/s (one process: the GIL makes it one core)"
            )
        print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        for _, (proc, _) in servers:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
