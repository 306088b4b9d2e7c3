"""Discovery (source ↔ DLQ) and the choice of mode, against moto's SQS (RedrivePolicy and
ListDeadLetterSourceQueues behave as on AWS there)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core import redrive
from evctl.core.redrive import RedriveRequest, plan_redrive
from evctl.errors import NotFoundError, UsageError

NATIVE_OK: redrive.NativeProbe = lambda arn: None  # noqa: E731 - an endpoint that serves move tasks


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queue(sqs: Any, name: str, dlq: str | None = None, **attrs: str) -> str:
    attributes = dict(attrs)
    if name.endswith(".fifo"):
        attributes["FifoQueue"] = "true"
    if dlq:
        arn = sqs.get_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName=dlq)["QueueUrl"], AttributeNames=["QueueArn"]
        )
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
        )
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def test_a_dlq_with_one_source_goes_back_to_it(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    plan = plan_redrive(sqs, RedriveRequest("signup-dlq"), probe=NATIVE_OK)
    assert plan.mode == "native"
    assert plan.dlq.name == "signup-dlq"
    assert plan.destination is not None and plan.destination.name == "signup"


def test_naming_the_source_queue_finds_its_dlq(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    plan = plan_redrive(sqs, RedriveRequest("signup"), probe=NATIVE_OK)
    assert (plan.dlq.name, plan.destination and plan.destination.name) == ("signup-dlq", "signup")


def test_a_source_of_a_shared_dlq_gets_its_own_messages_back_by_name(sqs: Any) -> None:
    make_queue(sqs, "shared-dlq")
    make_queue(sqs, "a", dlq="shared-dlq")
    make_queue(sqs, "b", dlq="shared-dlq")
    plan = plan_redrive(sqs, RedriveRequest("a"), probe=NATIVE_OK)
    assert plan.destination is not None and plan.destination.name == "a"
    assert len(plan.sources) == 2


def test_several_sources_need_to(sqs: Any) -> None:
    make_queue(sqs, "shared-dlq")
    make_queue(sqs, "a", dlq="shared-dlq")
    make_queue(sqs, "b", dlq="shared-dlq")
    with pytest.raises(UsageError) as err:
        plan_redrive(sqs, RedriveRequest("shared-dlq"), probe=NATIVE_OK)
    assert "dead-letter queue of 2 queues (a, b)" in str(err.value)
    assert "--to QUEUE" in str(err.value) and "--to-sources" in str(err.value)


def test_to_sources_lets_sqs_return_each_message_home(sqs: Any) -> None:
    make_queue(sqs, "shared-dlq")
    make_queue(sqs, "a", dlq="shared-dlq")
    make_queue(sqs, "b", dlq="shared-dlq")
    plan = plan_redrive(sqs, RedriveRequest("shared-dlq", to_sources=True), probe=NATIVE_OK)
    assert plan.mode == "native" and plan.destination is None
    assert plan.destination_label == "their source queues (a, b)"
    with pytest.raises(UsageError, match="needs native mode"):
        plan_redrive(sqs, RedriveRequest("shared-dlq", to_sources=True, mode="manual"))
    with pytest.raises(UsageError, match="needs native mode"):
        plan_redrive(sqs, RedriveRequest("shared-dlq", to_sources=True, filter="body.x"), probe=NATIVE_OK)


def test_several_sources_with_to(sqs: Any) -> None:
    make_queue(sqs, "shared-dlq")
    make_queue(sqs, "a", dlq="shared-dlq")
    make_queue(sqs, "b", dlq="shared-dlq")
    make_queue(sqs, "elsewhere")
    plan = plan_redrive(sqs, RedriveRequest("shared-dlq", to="elsewhere"), probe=NATIVE_OK)
    assert plan.mode == "native" and plan.destination is not None and plan.destination.name == "elsewhere"


def test_dlq_sources_are_paginated(sqs: Any) -> None:
    make_queue(sqs, "big-dlq")
    for i in range(3):
        make_queue(sqs, f"src-{i}", dlq="big-dlq")
    pages = []
    original = sqs.get_paginator

    def spy(name: str) -> Any:
        paginator = original(name)
        real = paginator.paginate

        def paginate(**kwargs: Any) -> Any:
            pages.append(kwargs)
            return real(**kwargs)

        paginator.paginate = paginate
        return paginator

    sqs.get_paginator = spy
    found = redrive.discover(sqs, "big-dlq")
    assert len(found.sources) == 3
    assert pages[0]["PaginationConfig"]["PageSize"] == 1000  # MaxResults set: SQS returns NextToken only then


def test_nobodys_dlq_needs_to(sqs: Any) -> None:
    make_queue(sqs, "lonely")
    with pytest.raises(UsageError) as err:
        plan_redrive(sqs, RedriveRequest("lonely"), probe=NATIVE_OK)
    assert "not the dead-letter queue of any queue" in str(err.value)
    assert "--to QUEUE" in str(err.value) and "--to-bus" in str(err.value)


def test_nobodys_dlq_with_to_warns_and_goes_manual(sqs: Any) -> None:
    make_queue(sqs, "lonely")
    make_queue(sqs, "target")
    plan = plan_redrive(sqs, RedriveRequest("lonely", to="target"), probe=NATIVE_OK)
    assert plan.mode == "manual"
    assert any("not the dead-letter queue of any queue" in n for n in plan.notices)
    with pytest.raises(UsageError, match="native mode cannot serve"):
        plan_redrive(sqs, RedriveRequest("lonely", to="target", mode="native"), probe=NATIVE_OK)


def test_missing_destination_is_not_found(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    with pytest.raises(NotFoundError, match="nope"):
        plan_redrive(sqs, RedriveRequest("signup-dlq", to="nope"), probe=NATIVE_OK)


def test_to_the_dlq_itself_is_refused(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    with pytest.raises(UsageError, match="dead-letter queue itself"):
        plan_redrive(sqs, RedriveRequest("signup-dlq", to="signup-dlq"), probe=NATIVE_OK)


def test_fifo_dlq_to_standard_is_manual_and_explained(sqs: Any) -> None:
    make_queue(sqs, "orders-dlq.fifo")
    make_queue(sqs, "orders.fifo", dlq="orders-dlq.fifo")
    make_queue(sqs, "plain")
    plan = plan_redrive(sqs, RedriveRequest("orders-dlq.fifo", to="plain"), probe=NATIVE_OK)
    assert plan.mode == "manual"
    assert any("same type" in r for r in plan.manual_reasons)
    assert any("not their order, message group or deduplication" in n for n in plan.notices)
    with pytest.raises(UsageError, match="same type"):
        plan_redrive(sqs, RedriveRequest("orders-dlq.fifo", to="plain", mode="native"), probe=NATIVE_OK)


def test_standard_to_fifo_needs_group_id(sqs: Any) -> None:
    make_queue(sqs, "plain-dlq")
    make_queue(sqs, "plain", dlq="plain-dlq")
    make_queue(sqs, "orders.fifo")
    with pytest.raises(UsageError) as err:
        plan_redrive(sqs, RedriveRequest("plain-dlq", to="orders.fifo"), probe=NATIVE_OK)
    assert "--group-id" in str(err.value)
    plan = plan_redrive(sqs, RedriveRequest("plain-dlq", to="orders.fifo", group_id="g1"), probe=NATIVE_OK)
    assert plan.mode == "manual" and plan.group_id == "g1"


def test_group_id_elsewhere_is_refused(sqs: Any) -> None:
    make_queue(sqs, "plain-dlq")
    make_queue(sqs, "plain", dlq="plain-dlq")
    with pytest.raises(UsageError, match="--group-id"):
        plan_redrive(sqs, RedriveRequest("plain-dlq", group_id="g"), probe=NATIVE_OK)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"filter": "detail.plan"}, "--filter"),
        ({"max_messages": 5}, "--max"),
        ({"journal": "moved.jsonl"}, "--journal"),
    ],
)
def test_what_native_cannot_do_picks_manual(sqs: Any, extra: dict[str, Any], reason: str) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    plan = plan_redrive(sqs, RedriveRequest("signup-dlq", **extra), probe=NATIVE_OK)
    assert plan.mode == "manual" and any(reason in r for r in plan.manual_reasons)


def test_an_endpoint_without_move_tasks_falls_back_to_manual(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    plan = plan_redrive(sqs, RedriveRequest("signup-dlq"))  # moto in-process: NotImplementedError
    assert plan.mode == "manual"
    assert plan.manual_reasons == ("this endpoint does not implement SQS message move tasks",)
    with pytest.raises(UsageError, match="native mode is not available"):
        plan_redrive(sqs, RedriveRequest("signup-dlq", mode="native"))


@pytest.mark.parametrize("rate", [0, -3])
def test_non_positive_rates_are_refused(sqs: Any, rate: float) -> None:
    with pytest.raises(UsageError, match="positive"):
        plan_redrive(sqs, RedriveRequest("anything", rate=rate))


def test_rate_above_500_is_refused_for_native_only(sqs: Any) -> None:
    make_queue(sqs, "signup-dlq")
    make_queue(sqs, "signup", dlq="signup-dlq")
    with pytest.raises(UsageError, match="1 to 500"):
        plan_redrive(sqs, RedriveRequest("signup-dlq", rate=501), probe=NATIVE_OK)
    assert plan_redrive(sqs, RedriveRequest("signup-dlq", rate=501, mode="manual")).mode == "manual"


def test_to_bus_is_manual(sqs: Any) -> None:
    make_queue(sqs, "rule-target-dlq")
    plan = plan_redrive(sqs, RedriveRequest("rule-target-dlq", to_bus="orders"), probe=NATIVE_OK)
    assert plan.mode == "manual" and plan.to_bus == "orders" and plan.destination is None
    assert plan.destination_label == "bus orders"


def test_two_destinations_are_refused(sqs: Any) -> None:
    with pytest.raises(UsageError, match="choose one destination"):
        plan_redrive(sqs, RedriveRequest("x", to="a", to_bus="b"))
