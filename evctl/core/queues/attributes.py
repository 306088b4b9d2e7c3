"""What a queue is and holds: its attributes, RedrivePolicy, numbers (QueueStats), listing, DLQ sources, purge.

QueueStats is data only; evctl.render.queues turns it into table rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evctl.core.queues.ref import QueueRef, client_region, queue_error, ref_from_url, resolve_queue
from evctl.errors import EvctlError, NotFoundError, ServiceError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PURGE_IN_PROGRESS_CODES = frozenset({"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress"})


@dataclass(frozen=True)
class RedrivePolicy:
    dead_letter_arn: str
    max_receive_count: int

    @property
    def dead_letter_name(self) -> str:
        return self.dead_letter_arn.rsplit(":", 1)[-1]


@dataclass
class QueueStats:
    """One queue's numbers and settings, as `queue list` and `queue stats` show them."""

    queue: QueueRef
    visible: int
    in_flight: int
    delayed: int
    retention_seconds: int
    visibility_timeout: int
    maximum_message_size: int
    content_based_dedup: bool
    redrive: RedrivePolicy | None
    dlq_sources: list[str] | None = None  # names of the queues that use this one as their DLQ
    dlq_depth: int | None = None  # visible messages in this queue's DLQ
    attributes: dict[str, str] = field(default_factory=dict, repr=False)


def parse_redrive_policy(raw: str | None) -> RedrivePolicy | None:
    if not raw:
        return None
    try:
        policy = json.loads(raw)
        return RedrivePolicy(str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))
    except (ValueError, KeyError, TypeError):
        return None


def queue_attributes(sqs_client: SQSClient, queue: QueueRef) -> dict[str, str]:
    """Every attribute of the queue (GetQueueAttributes All)."""
    try:
        response = sqs_client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
    except Exception as exc:
        raise queue_error(exc, queue.name, queue.region) from exc
    return {str(key): value for key, value in response.get("Attributes", {}).items()}


def stats_from_attributes(queue: QueueRef, attributes: dict[str, str]) -> QueueStats:
    def number(key: str, default: int = 0) -> int:
        try:
            return int(attributes.get(key, default))
        except ValueError:
            return default

    return QueueStats(
        queue=queue,
        visible=number("ApproximateNumberOfMessages"),
        in_flight=number("ApproximateNumberOfMessagesNotVisible"),
        delayed=number("ApproximateNumberOfMessagesDelayed"),
        retention_seconds=number("MessageRetentionPeriod", 345600),
        visibility_timeout=number("VisibilityTimeout", 30),
        maximum_message_size=number("MaximumMessageSize", 1048576),
        content_based_dedup=attributes.get("ContentBasedDeduplication", "false").lower() == "true",
        redrive=parse_redrive_policy(attributes.get("RedrivePolicy")),
        attributes=attributes,
    )


def queue_stats(sqs_client: SQSClient, queue: QueueRef, *, with_dlq: bool = False) -> QueueStats:
    """A queue's numbers; with_dlq adds its dead-letter source queues and its own DLQ's depth."""
    stats = stats_from_attributes(queue, queue_attributes(sqs_client, queue))
    if with_dlq:
        stats.dlq_sources = sorted(ref_from_url(u, queue.region).name for u in dead_letter_sources(sqs_client, queue))
        if stats.redrive is not None:
            try:
                dlq = resolve_queue(sqs_client, stats.redrive.dead_letter_arn)
                stats.dlq_depth = stats_from_attributes(dlq, queue_attributes(sqs_client, dlq)).visible
            except NotFoundError:
                stats.dlq_depth = None
    return stats


def dead_letter_sources(sqs_client: SQSClient, queue: QueueRef) -> Iterator[str]:
    """URLs of the queues whose RedrivePolicy points at `queue`."""
    try:
        paginator = sqs_client.get_paginator("list_dead_letter_source_queues")
        for page in paginator.paginate(QueueUrl=queue.url, PaginationConfig={"PageSize": 1000}):
            yield from page.get("queueUrls", [])
    except EvctlError:
        raise
    except Exception as exc:
        raise queue_error(exc, queue.name, queue.region) from exc


def list_queues(sqs_client: SQSClient, prefix: str | None = None) -> list[QueueStats]:
    """Every queue (whose name starts with prefix), with its numbers; one GetQueueAttributes per queue."""
    region = client_region(sqs_client)
    result = []
    try:
        paginator = sqs_client.get_paginator("list_queues")
        pages = (
            paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 1000})
            if prefix
            else paginator.paginate(PaginationConfig={"PageSize": 1000})
        )
        for page in pages:
            for url in page.get("QueueUrls", []):
                queue = ref_from_url(url, region)
                try:
                    result.append(stats_from_attributes(queue, queue_attributes(sqs_client, queue)))
                except NotFoundError:
                    continue  # deleted between the listing and the look-up
    except EvctlError:
        raise
    except Exception as exc:
        raise (from_aws(exc, "queues") or exc) from exc
    return sorted(result, key=lambda s: s.queue.name)


def purge_queue(sqs_client: SQSClient, queue: QueueRef) -> None:
    """Delete every message (visible and in flight); AWS allows one purge per queue per 60 s."""
    try:
        sqs_client.purge_queue(QueueUrl=queue.url)
    except Exception as exc:
        if error_code(exc) in PURGE_IN_PROGRESS_CODES:
            raise ServiceError(
                f"a purge of {queue.name} is already in progress",
                "AWS allows one purge per queue every 60 seconds and it can take up to 60 s; "
                "messages may still be being deleted — try again in a minute",
            ) from exc
        raise queue_error(exc, queue.name, queue.region) from exc
