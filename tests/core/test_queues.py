"""Queue resolution, listing, peek and purge (moto, and botocore's Stubber where moto differs from AWS)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evctl.core.queues import (
    PeekMemory,
    list_queues,
    memory_key,
    peek_messages,
    purge_queue,
    queue_stats,
    resolve_queue,
)
from evctl.errors import ConfigError, NotFoundError, ServiceError, UsageError


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def stubbed(region: str = "us-east-1", endpoint: str | None = None) -> tuple[Any, Stubber]:
    client = boto3.client("sqs", region_name=region, endpoint_url=endpoint)
    return client, Stubber(client)


def test_resolve_by_name_url_and_arn(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for ref in ("jobs.fifo", url, "arn:aws:sqs:us-east-1:123456789012:jobs.fifo"):
        queue = resolve_queue(sqs, ref)
        assert (queue.name, queue.url, queue.account, queue.region, queue.fifo) == (
            "jobs.fifo", url, "123456789012", "us-east-1", True,
        )  # fmt: skip
        assert queue.arn == "arn:aws:sqs:us-east-1:123456789012:jobs.fifo"


def test_another_accounts_arn_asks_for_that_owner() -> None:
    client, stub = stubbed()
    theirs = "https://sqs.us-east-1.amazonaws.com/210987654321/shared"
    stub.add_response(
        "get_queue_url", {"QueueUrl": theirs}, {"QueueName": "shared", "QueueOwnerAWSAccountId": "210987654321"}
    )
    with stub:
        queue = resolve_queue(client, "arn:aws:sqs:us-east-1:210987654321:shared")
    assert queue.account == "210987654321" and queue.url == theirs and not queue.fifo


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://eu-west-1.queue.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://queue.amazonaws.com/123456789012/q", "us-east-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
    ],
)
def test_aws_url_forms_and_their_region(url: str, region: str) -> None:
    client, stub = stubbed(region)
    stub.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": "q", "QueueOwnerAWSAccountId": "123456789012"})
    with stub:
        queue = resolve_queue(client, url)
    assert queue.region == region
    assert queue.arn.startswith("arn:aws-cn:" if region.startswith("cn-") else "arn:aws:")


def test_local_endpoint_urls_are_accepted() -> None:
    client, stub = stubbed(endpoint="http://127.0.0.1:4566")
    for url in (
        "http://localhost:4566/000000000000/q",
        "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q",
    ):
        stub.add_response(
            "get_queue_url", {"QueueUrl": url}, {"QueueName": "q", "QueueOwnerAWSAccountId": "000000000000"}
        )
    with stub:
        assert resolve_queue(client, "http://localhost:4566/000000000000/q").account == "000000000000"
        assert resolve_queue(client, "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q").name == "q"


def test_unknown_queue_and_missing_region() -> None:
    client, stub = stubbed()
    stub.add_client_error("get_queue_url", "AWS.SimpleQueueService.NonExistentQueue", http_status_code=400)
    with stub, pytest.raises(NotFoundError, match="queue ghost not found in us-east-1"):
        resolve_queue(client, "ghost")
    import types

    no_region = types.SimpleNamespace(meta=types.SimpleNamespace(region_name=None))  # fails before any call
    with pytest.raises(ConfigError, match="no AWS region"):
        resolve_queue(no_region, "q")


def test_access_denied_on_resolve_is_a_permissions_error() -> None:
    client, stub = stubbed()
    stub.add_client_error("get_queue_url", "AccessDenied", "not allowed", http_status_code=403)
    with stub, pytest.raises(ConfigError, match="access denied"):
        resolve_queue(client, "locked")


def test_list_and_stats_with_dead_letter_links(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="a-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "5"})
    src = sqs.create_queue(QueueName="a-src", Attributes={"RedrivePolicy": policy, "VisibilityTimeout": "45"})[
        "QueueUrl"
    ]
    sqs.create_queue(QueueName="b-other")
    sqs.send_message(QueueUrl=dlq, MessageBody="dead")
    sqs.send_message(QueueUrl=src, MessageBody="live", DelaySeconds=60)
    names = [s.queue.name for s in list_queues(sqs, "a-")]
    assert names == ["a-dlq", "a-src"]
    stats = queue_stats(sqs, resolve_queue(sqs, "a-src"), with_dlq=True)
    assert stats.redrive is not None and stats.redrive.max_receive_count == 5 and stats.dlq_depth == 1
    assert stats.delayed == 1 and stats.visibility_timeout == 45
    assert queue_stats(sqs, resolve_queue(sqs, "a-dlq"), with_dlq=True).dlq_sources == ["a-src"]


def test_purge_in_progress_is_explained() -> None:
    client, stub = stubbed()
    stub.add_client_error("purge_queue", "AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue per 60s")
    from evctl.core.queues import ref_from_url

    queue = ref_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/q", "us-east-1")
    with stub, pytest.raises(ServiceError, match="already in progress"):
        purge_queue(client, queue)


def _message(mid: str, count: int) -> dict[str, Any]:
    return {
        "MessageId": mid,
        "ReceiptHandle": f"h-{mid}-{count}",
        "Body": "b",
        "Attributes": {"ApproximateReceiveCount": str(count)},
    }


def test_peek_dedupes_repeats_and_releases_every_handle() -> None:
    """AWS may hand the same message back (a short hold lapsed, or a second server's copy): it is shown once."""
    client, stub = stubbed()
    from evctl.core.queues import ref_from_url

    queue = ref_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/q", "us-east-1")
    stub.add_response("get_queue_attributes", {"Attributes": {}}, {"QueueUrl": queue.url, "AttributeNames": ["All"]})
    stub.add_response("receive_message", {"Messages": [_message("a", 1), _message("b", 1)]}, {
        "QueueUrl": queue.url, "MaxNumberOfMessages": 5, "WaitTimeSeconds": 1, "VisibilityTimeout": 30,
        "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"],
    })  # fmt: skip
    stub.add_response("receive_message", {"Messages": [_message("a", 2), _message("c", 1)]}, None)
    stub.add_response("receive_message", {"Messages": [_message("b", 2)]}, None)
    stub.add_response(
        "change_message_visibility_batch",
        {"Successful": [{"Id": "0"}, {"Id": "2"}], "Failed": [{"Id": "1", "SenderFault": True, "Code": "ReceiptHandleIsInvalid"}]},
        {"QueueUrl": queue.url, "Entries": [
            {"Id": "0", "ReceiptHandle": "h-a-2", "VisibilityTimeout": 0},
            {"Id": "1", "ReceiptHandle": "h-b-2", "VisibilityTimeout": 0},
            {"Id": "2", "ReceiptHandle": "h-c-1", "VisibilityTimeout": 0},
        ]},
    )  # fmt: skip
    with stub:
        result = peek_messages(client, queue, count=5)
    stub.assert_no_pending_responses()
    assert [m.message_id for m in result.messages] == ["a", "b", "c"]
    assert result.duplicates == 2 and result.stopped_by == "no-new"
    assert (result.released, result.release_failed) == (2, 1)


def test_peek_memory_refuses_then_force_goes_on(sqs: Any, tmp_path: Path) -> None:
    dlq = sqs.create_queue(QueueName="d")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="p", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    memory = PeekMemory(tmp_path / "mem.json")
    queue = resolve_queue(sqs, "p")
    first = peek_messages(sqs, queue, memory=memory)
    assert [m.receive_count for m in first.messages] == [1] and first.at_limit == []
    with pytest.raises(UsageError, match="could push 1 message"):
        peek_messages(sqs, queue, memory=memory)
    forced = peek_messages(sqs, queue, memory=memory, force=True)
    assert forced.at_limit == [first.messages[0].message_id]
    created = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["CreatedTimestamp"]
    assert memory.load(memory_key(sqs.meta.endpoint_url, url, created)) == {first.messages[0].message_id: 2}


def test_peek_memory_is_keyed_by_the_queues_identity(sqs: Any, tmp_path: Path) -> None:
    """The same name (and ARN) recreated, another endpoint: a fresh queue is never refused for messages that no
    longer exist."""
    dlq = sqs.create_queue(QueueName="d")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})}
    url = sqs.create_queue(QueueName="p", Attributes=policy)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    memory = PeekMemory(tmp_path / "mem.json")
    peek_messages(sqs, resolve_queue(sqs, "p"), memory=memory)
    with pytest.raises(UsageError, match="could push 1 message"):
        peek_messages(sqs, resolve_queue(sqs, "p"), memory=memory)
    sqs.delete_queue(QueueUrl=url)
    time.sleep(0.01)  # moto's CreatedTimestamp has sub-second precision (SQS forbids reusing a name for 60 s)
    url = sqs.create_queue(QueueName="p", Attributes=policy)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    again = peek_messages(sqs, resolve_queue(sqs, "p"), memory=memory)
    assert [m.body for m in again.messages] == ["fresh"]
    keys = {memory_key(e, url, "1700000000") for e in ("http://localhost:4566", "http://localhost:4566/", "https://x")}
    assert len(keys) == 2  # the endpoint is part of the identity (a trailing slash is not)
    assert memory_key("e", "u", "1") != memory_key("e", "u", "2")


def test_an_unwritable_peek_memory_is_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where a directory should be")
    memory = PeekMemory(blocker / "evctl" / "peek-counts.json")
    why = memory.remember("k", {"m": 1})
    assert why is not None and "cannot write the peek memory" in why and "\n" not in why
    assert [p.name for p in tmp_path.iterdir()] == ["state"]  # nothing left behind


def test_peek_memory_is_bounded_and_survives_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json")
    memory = PeekMemory(path, keep=3)
    assert memory.load("arn") == {}
    memory.remember("arn", {f"m{i}": i for i in range(5)})
    assert memory.load("arn") == {"m2": 2, "m3": 3, "m4": 4}


def test_send_batches_keep_to_ten_entries_and_the_request_size_cap() -> None:
    from evctl.core.queues import OutgoingMessage
    from evctl.core.queues.send import MAX_REQUEST_BYTES, send_batches

    small = [OutgoingMessage(body="x") for _ in range(25)]
    assert [len(b) for b in send_batches(small)] == [10, 10, 5]
    big = [OutgoingMessage(body="y" * 300_000) for _ in range(7)]  # 3 fit under 1 MiB, a 4th would not
    batches = list(send_batches(big))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert all(sum(len(m.body) for m in b) <= MAX_REQUEST_BYTES for b in batches)


def test_send_retries_only_what_was_not_the_senders_fault() -> None:
    from evctl.core.queues import OutgoingMessage, ref_from_url, send_messages

    client, stub = stubbed()
    queue = ref_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/q", "us-east-1")
    messages = [OutgoingMessage(body=f"m{i}", origin=f"line {i + 1}") for i in range(3)]
    stub.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "id-0", "MD5OfMessageBody": "x"}],
            "Failed": [
                {"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"},
                {"Id": "2", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"},
            ],
        },
        {"QueueUrl": queue.url, "Entries": [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]},
    )
    stub.add_response(  # only the retryable one is sent again
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "id-1", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": queue.url, "Entries": [{"Id": "0", "MessageBody": "m1"}]},
    )
    sleeps: list[float] = []
    with stub:
        outcomes = send_messages(client, queue, messages, sleep=sleeps.append)
    stub.assert_no_pending_responses()
    assert [o.message_id for o in outcomes] == ["id-0", "id-1", None]
    assert outcomes[2].code == "InvalidMessageContents" and not outcomes[2].retryable and sleeps == [0.2]


def test_peek_stops_when_asked_and_releases_what_it_saw(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="stopme")["QueueUrl"]
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    queue = resolve_queue(sqs, "stopme")
    receives = {"n": 0}
    real = sqs.receive_message

    def counting(**kwargs: Any) -> Any:
        receives["n"] += 1
        return real(**kwargs)

    sqs.receive_message = counting
    result = peek_messages(sqs, queue, count=25, wait_seconds=0, should_stop=lambda: receives["n"] >= 1)
    assert result.stopped_by == "stop" and len(result.messages) == 10 and result.released == 10
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "25"


def test_peek_memory_forgets_messages_consumed_since(sqs: Any, tmp_path: Path) -> None:
    dlq = sqs.create_queue(QueueName="d2")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="busy", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    memory = PeekMemory(tmp_path / "mem.json")
    queue = resolve_queue(sqs, "busy")
    peek_messages(sqs, queue, memory=memory, wait_seconds=0)  # "old" at count 1: one more would reach 2
    got = sqs.receive_message(QueueUrl=url)["Messages"][0]  # the consumer takes it and deletes it
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="new")
    with pytest.raises(UsageError):  # evctl cannot know "old" is gone without looking
        peek_messages(sqs, queue, memory=memory, wait_seconds=0)
    forced = peek_messages(sqs, queue, memory=memory, wait_seconds=0, force=True)
    assert [m.body for m in forced.messages] == ["new"]
    created = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["CreatedTimestamp"]
    key = memory_key(sqs.meta.endpoint_url, url, created)
    assert list(memory.load(key)) == [forced.messages[0].message_id]  # "old" forgotten
