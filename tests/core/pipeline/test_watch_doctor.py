"""core/watch DoctorRuns on moto's seed: the first run checks the watch's own discovery (nothing read twice), later
runs discover afresh and see a change; only findings at high or above become alerts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.doctor.session import DoctorSession, SessionClients
from evctl.core.watch import DoctorRuns
from evctl.sandbox import provision as pv

REGION = "us-east-1"


@pytest.fixture
def session() -> Iterator[tuple[DoctorSession, dict[str, Any]]]:
    with mock_aws():
        names = ("events", "sqs", "lambda", "iam", "logs")
        raw: dict[str, Any] = {name: boto3.client(name, region_name=REGION) for name in names}  # type: ignore[call-overload]
        pv.provision(pv.SandboxClients(*(raw[name] for name in names)))
        raw["cloudwatch"] = boto3.client("cloudwatch", region_name=REGION)
        clients = SessionClients(raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["iam"], None,
                                 raw["cloudwatch"])  # fmt: skip
        yield DoctorSession(clients, region=REGION), raw


def test_the_first_run_reuses_discovery_and_a_later_one_sees_a_change(
    session: tuple[DoctorSession, dict[str, Any]],
) -> None:
    doctor_session, raw = session
    graph = doctor_session.discover(["user-signup-queue"])
    calls: Counter[str] = Counter()
    raw["sqs"].meta.events.register("before-call.sqs.*", lambda model, **_: calls.update([model.name]))
    runs = DoctorRuns(doctor_session, ["user-signup-queue"], graph=graph, samples=lambda g, account: [])
    assert runs() == ()  # the clean seed: nothing at high or above
    assert calls["GetQueueAttributes"] == 0  # the queues' attributes came from the watch's discovery
    raw["lambda"].update_function_configuration(FunctionName="user-signup-handler", Timeout=60)
    alerts = runs()
    assert calls["GetQueueAttributes"] >= 2  # read afresh
    vis = [a for a in alerts if a.check == "Q-VIS-1"]
    assert len(vis) == 1 and vis[0].severity == "critical" and vis[0].name == "user-signup-queue"
    assert all(a.severity in ("critical", "high") for a in alerts)
