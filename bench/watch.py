"""API calls a minute of `evctl pipeline watch` at the default interval (docs/performance.md, "Watch").

A moto server holding the seed pipeline (1 rule, 2 queues: the queue and its DLQ, 1 function). The watch's core
(evctl.core.watch.Watcher, real clock, real sleeps) runs for --minutes; every API call its clients make is counted
with a botocore `before-call` hook, per minute of the run. Discovery and the doctor are counted apart (the doctor
runs every 5 minutes; its cost is one run's calls).

    .venv/bin/python bench/watch.py [--minutes 3] [--interval 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import Counter
from typing import Any

import _lib
import boto3

from evctl.core.doctor.session import DoctorSession, SessionClients
from evctl.core.watch import DoctorRuns, WatchClients, Watcher, plan_hops
from evctl.sandbox import provision as pv

REGION = "us-east-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    proc, endpoint = _lib.start_moto()
    try:
        names = ("events", "sqs", "lambda", "iam", "logs", "cloudwatch")
        raw: dict[str, Any] = {n: boto3.client(n, region_name=REGION, endpoint_url=endpoint) for n in names}  # type: ignore[call-overload]
        pv.provision(pv.SandboxClients(*(raw[n] for n in names[:5])))
        phase = {"name": "discovery", "start": time.monotonic()}
        calls: Counter[tuple[str, str]] = Counter()

        def count(model: Any, **_: Any) -> None:
            operation = str(model.name)
            if phase["name"] == "watch":
                minute = int((time.monotonic() - phase["start"]) // 60)
                calls[(f"minute {minute + 1}", operation)] += 1
            else:
                calls[(phase["name"], operation)] += 1

        for client in raw.values():
            client.meta.events.register("before-call.*.*", count)
        session = DoctorSession(SessionClients(raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["iam"],
                                               None, raw["cloudwatch"]), region=REGION)  # fmt: skip
        graph = session.discover(["user-signup-queue"])
        hops = plan_hops(graph)
        phase["name"] = "doctor (first run, on discovery's reads)"
        runs = DoctorRuns(session, ["user-signup-queue"], graph=graph, samples=lambda g, a: [])
        runs()
        phase["name"] = "doctor (a later run: discovery again + checks)"
        runs()
        watcher = Watcher(hops, WatchClients(raw["sqs"], raw["cloudwatch"]), targets=["user-signup-queue"],
                          interval=args.interval)  # fmt: skip
        phase.update(name="watch", start=time.monotonic())
        end = phase["start"] + args.minutes * 60

        def sleep(seconds: float) -> None:
            if time.monotonic() + seconds >= end:
                raise TimeoutError
            time.sleep(seconds)

        with contextlib.suppress(TimeoutError):
            watcher.run(lambda _: None, sleep=sleep)
    finally:
        proc.kill()
    groups: dict[str, Counter[str]] = {}
    for (group, operation), n in calls.items():
        groups.setdefault(group, Counter())[operation] += n
    print(f"hops: {', '.join(f'{h.role} {h.name}' for h in hops)}; interval {args.interval:g}s")
    for group in sorted(
        groups, key=lambda g: (g.startswith("minute"), int(g.split()[1]) if g.startswith("minute") else 0)
    ):
        counts = groups[group]
        detail = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
        print(f"{group}: {sum(counts.values())} calls ({detail})")


if __name__ == "__main__":
    main()
