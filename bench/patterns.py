"""Benchmark: which of 300 rules match each of 10,000 events, with evctl's RuleSet and with moto's matcher.

    .venv/bin/python bench/patterns.py [--rules 300] [--events 10000] [--moto-events 2000] [--seed 7]

Both engines get the same rules (a realistic mix: exact source/detail-type, value lists, numeric ranges, prefix,
suffix, equals-ignore-case, wildcard, anything-but, exists, cidr, $or, fields inside arrays of objects) and the
same events. moto's matcher (moto.events.models.EventPattern.matches_event, the one its PutEvents routing uses)
runs in-process, as it does inside a moto server; no server is needed to time it. moto is slow enough that it
runs on the first --moto-events events; its rate is events per second like evctl's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from typing import Any

from evctl.core.patterns import RuleSet, compile_pattern

SOURCES = [f"com.example.{name}" for name in ("orders", "billing", "users", "shipping", "catalog", "search")] + [
    "aws.ec2",
    "aws.s3",
    "aws.cloudwatch",
    "aws.guardduty",
]
TYPES = [
    "OrderPlaced",
    "OrderCancelled",
    "PaymentFailed",
    "UserSignedUp",
    "ParcelShipped",
    "PriceChanged",
    "EC2 Instance State-change Notification",
    "Object Created",
    "CloudWatch Alarm State Change",
    "GuardDuty Finding",
]
STATES = ["pending", "running", "stopped", "terminated", "paid", "refunded", "new"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]


def make_rule(rng: random.Random, index: int) -> dict[str, Any]:
    source = rng.choice(SOURCES)
    kind = index % 20
    pattern: dict[str, Any] = {"source": [source]}
    if kind < 6:
        pattern["detail-type"] = [rng.choice(TYPES)]
    elif kind < 8:
        pattern["detail-type"] = rng.sample(TYPES, 2)
        pattern["detail"] = {"state": rng.sample(STATES, 2)}
    elif kind < 10:
        low = rng.randint(0, 500)
        pattern["detail"] = {"amount": [{"numeric": [">=", low, "<", low + rng.randint(10, 400)]}]}
    elif kind == 10:
        pattern["detail-type"] = [{"prefix": rng.choice(TYPES)[:5]}]
    elif kind == 11:
        pattern["detail"] = {"state": [{"anything-but": rng.sample(STATES, 3)}]}
    elif kind == 12:
        pattern["detail"] = {"customer": {"email": [{"exists": True}]}, "coupon": [{"exists": False}]}
    elif kind == 13:
        pattern["$or"] = [{"detail-type": [rng.choice(TYPES)]}, {"detail": {"amount": [{"numeric": [">", 900]}]}}]
    elif kind == 14:
        pattern["detail"] = {"sourceIp": [{"cidr": f"10.{rng.randint(0, 3)}.0.0/16"}]}
    elif kind == 15:
        pattern["resources"] = [{"wildcard": f"arn:aws:s3:::bucket-{rng.randint(0, 9)}/*.png"}]
    elif kind == 16:
        pattern["detail"] = {"customer": {"name": [{"equals-ignore-case": f"USER{rng.randint(0, 50)}"}]}}
    elif kind == 17:
        pattern["detail"] = {"file": [{"suffix": rng.choice([".png", ".jpg", ".csv"])}]}
    elif kind == 18:
        pattern["detail"] = {"items": {"sku": [f"SKU-{rng.randint(0, 30)}"], "quantity": [{"numeric": [">=", 2]}]}}
    else:
        pattern["region"] = [rng.choice(REGIONS)]
        pattern["detail"] = {"state": [rng.choice(STATES)]}
    return pattern


def make_event(rng: random.Random, index: int) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "state": rng.choice(STATES),
        "amount": round(rng.uniform(0, 1000), 2),
        "customer": {"name": f"user{rng.randint(0, 60)}"},
        "sourceIp": f"10.{rng.randint(0, 5)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "file": f"upload-{index}{rng.choice(['.png', '.jpg', '.csv', '.txt'])}",
        "items": [
            {"sku": f"SKU-{rng.randint(0, 30)}", "quantity": rng.randint(1, 4)} for _ in range(rng.randint(0, 4))
        ],
    }
    if rng.random() < 0.7:
        detail["customer"]["email"] = f"user{index}@example.com"
    if rng.random() < 0.2:
        detail["coupon"] = "SPRING"
    return {
        "version": "0",
        "id": f"{index:08d}-0000-0000-0000-000000000000",
        "detail-type": rng.choice(TYPES),
        "source": rng.choice(SOURCES),
        "account": "123456789012",
        "time": "2026-11-27T10:00:00Z",
        "region": rng.choice(REGIONS),
        "resources": [f"arn:aws:s3:::bucket-{rng.randint(0, 9)}/{index}{rng.choice(['.png', '.jpg'])}"],
        "detail": detail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--moto-events", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from moto.events.models import EventPattern  # imported here: the engine under test never needs moto

    rng = random.Random(args.seed)
    rules = [make_rule(rng, index) for index in range(args.rules)]
    events = [make_event(rng, index) for index in range(args.events)]

    started = time.perf_counter()
    ruleset = RuleSet()
    for index, rule in enumerate(rules):
        ruleset.add(f"rule-{index}", compile_pattern(json.dumps(rule)))
    ruleset.matching(events[0])  # builds the index
    compile_seconds = time.perf_counter() - started

    per_event: list[float] = []
    evctl_matches: list[list[str]] = []
    clock = time.perf_counter
    started, cpu = clock(), time.process_time()
    per_event_cpu: list[int] = []
    thread_cpu = time.thread_time_ns
    for event in events:
        before, before_cpu = clock(), thread_cpu()
        evctl_matches.append(ruleset.matching(event))
        per_event_cpu.append(thread_cpu() - before_cpu)
        per_event.append(clock() - before)
    evctl_seconds, evctl_cpu = clock() - started, time.process_time() - cpu

    compiled = [(f"rule-{index}", compile_pattern(rule)) for index, rule in enumerate(rules)]
    moto_events = events[: args.moto_events]
    started, cpu = clock(), time.process_time()
    for event in moto_events:
        [name for name, pattern in compiled if pattern.matches(event)]
    loop_seconds, loop_cpu = clock() - started, time.process_time() - cpu

    moto_rules = [(f"rule-{index}", EventPattern.load(json.dumps(rule))) for index, rule in enumerate(rules)]
    moto_matches: list[list[str]] = []
    started, cpu = clock(), time.process_time()
    for event in moto_events:
        moto_matches.append([name for name, pattern in moto_rules if pattern.matches_event(event)])
    moto_seconds, moto_cpu = clock() - started, time.process_time() - cpu

    evctl_rate = len(events) / evctl_seconds
    loop_rate = len(moto_events) / loop_seconds
    moto_rate = len(moto_events) / moto_seconds
    disagreements = sum(1 for ours, theirs in zip(evctl_matches, moto_matches, strict=False) if ours != theirs)
    matched = sum(len(names) for names in evctl_matches)
    ordered = sorted(per_event)

    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {args.rules} rules, seed {args.seed}")
    print(
        f"rules compiled and indexed in {compile_seconds * 1000:.1f} ms; {matched / len(events):.2f} matches per event"
    )
    print()
    print(f"{'engine':<34} {'events':>7} {'events/s':>10} {'ms/event':>9} {'CPU ms/event':>13}")
    for label, count, rate, cpu_seconds in (
        ("evctl RuleSet (indexed)", len(events), evctl_rate, evctl_cpu),
        ("evctl, every pattern in turn", len(moto_events), loop_rate, loop_cpu),
        ("moto EventPattern.matches_event", len(moto_events), moto_rate, moto_cpu),
    ):
        print(f"{label:<34} {count:>7} {rate:>10,.0f} {1000 / rate:>9.3f} {cpu_seconds * 1000 / count:>13.3f}")
    print()
    print(
        f"RuleSet wall time per event: median {statistics.median(per_event) * 1e6:.0f} µs, "
        f"p99 {ordered[int(len(ordered) * 0.99)] * 1e6:.0f} µs, max {ordered[-1] * 1e6:.0f} µs"
    )
    cpu_ordered = sorted(per_event_cpu)
    print(
        f"RuleSet CPU per event: median {cpu_ordered[len(cpu_ordered) // 2] / 1e3:.0f} µs, "
        f"p99 {cpu_ordered[int(len(cpu_ordered) * 0.99)] / 1e3:.0f} µs, max {cpu_ordered[-1] / 1e3:.0f} µs"
    )
    print(
        f"RuleSet vs moto: {evctl_rate / moto_rate:.1f}x wall, {(moto_cpu / len(moto_events)) / (evctl_cpu / len(events)):.1f}x CPU;"
        " targets: >= 10x and <= 1 ms per event"
    )
    print(f"answers differing from moto's on {disagreements} of {len(moto_events)} events (moto's semantics differ)")
    print("load average (1/5/15 min) at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
