"""Which queue is the dead-letter queue, and whose: the RedrivePolicy of a source queue names its DLQ,
ListDeadLetterSourceQueues names the sources of a DLQ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evctl.core.queues import (
    QueueRef,
    dead_letter_sources,
    list_queues,
    parse_redrive_policy,
    queue_attributes,
    resolve_queue,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class Discovery:
    """What the queue the user named turned out to be, and where its messages would go by default."""

    dlq: QueueRef
    sources: tuple[str, ...]  # URLs of the queues whose RedrivePolicy points at the DLQ
    named_source: QueueRef | None = None  # set when the user named a source queue rather than its DLQ

    @property
    def is_a_dlq(self) -> bool:
        return bool(self.sources)


def discover(sqs: SQSClient, queue: str) -> Discovery:
    """Resolve the queue the user named: a DLQ (it has sources), or a source queue (its RedrivePolicy names the
    DLQ), or neither (nobody's DLQ: Discovery with no sources, the caller warns and needs --to).

    A queue that is both (a DLQ that has its own DLQ) is taken as a DLQ: that is the queue with messages to move.
    """
    named = resolve_queue(sqs, queue)
    sources = list(dead_letter_sources(sqs, named))
    if sources:
        return Discovery(dlq=named, sources=tuple(sources))
    policy = parse_redrive_policy(queue_attributes(sqs, named).get("RedrivePolicy"))
    if policy is not None:
        dlq = resolve_queue(sqs, policy.dead_letter_arn)
        return Discovery(dlq=dlq, sources=tuple(dead_letter_sources(sqs, dlq)) or (named.url,), named_source=named)
    return Discovery(dlq=named, sources=())


def all_dlq_arns(sqs: SQSClient) -> set[str]:
    """The ARNs of every queue that some queue's RedrivePolicy names as its DLQ."""
    return {stats.redrive.dead_letter_arn for stats in list_queues(sqs) if stats.redrive is not None}
