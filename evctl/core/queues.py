"""SQS queues as the user names them (name, URL or ARN, another account's too), and what is in them.

`resolve_queue` is the one place that turns a user's reference into a `QueueRef`. It costs one GetQueueUrl
call, which also proves the queue exists. Stats and listings read GetQueueAttributes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from evctl.errors import EvctlError, NotFoundError, ServiceError, UsageError, error_code, from_aws

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_ACCOUNT = re.compile(r"^\d{12}$")
# sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com, queue.amazonaws.com (us-east-1), and the .cn/.aws forms.
_AWS_HOST = re.compile(
    r"^(?:sqs\.(?P<r1>[a-z0-9-]+)|(?P<r2>[a-z0-9-]+)\.queue|queue)\.amazonaws\.com(?:\.cn)?$|"
    r"^sqs\.(?P<r3>[a-z0-9-]+)\.api\.aws$"
)
_NOT_FOUND = {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue"}
LIST_HINT = "list queues with `evctl queue list`"


@dataclass(frozen=True)
class QueueRef:
    """A queue that exists: its URL (what the API wants), ARN, name, owner account, region and type."""

    url: str
    arn: str
    name: str
    account: str
    region: str
    fifo: bool

    def __str__(self) -> str:
        return self.name


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def client_region(sqs_client: Any) -> str:
    region: str | None = sqs_client.meta.region_name
    if not region:
        from evctl.errors import ConfigError

        raise ConfigError("no AWS region configured", "pass --region or set AWS_REGION")
    return region


def resolve_queue(sqs_client: Any, ref: str) -> QueueRef:
    """Resolve a queue name, URL or ARN (another account's too) to a QueueRef; one GetQueueUrl call.

    Raises UsageError for something that is not a queue reference, or an ARN/URL in a region other than the
    client's; NotFoundError when the queue does not exist (or is not visible to these credentials).
    """
    ref = ref.strip()
    region = client_region(sqs_client)
    owner: str | None = None
    if ref.startswith("arn:"):
        name, owner = _parse_arn(ref, region)
    elif "://" in ref:
        name, owner = _parse_url(sqs_client, ref, region)
    else:
        if not _NAME.match(ref):
            raise UsageError(
                f"{ref!r} is not a queue name, URL or ARN",
                "a name is 1-80 letters, digits, '-' or '_' (FIFO names end in .fifo)",
            )
        name = ref
    kwargs: dict[str, str] = {"QueueName": name}
    if owner:
        kwargs["QueueOwnerAWSAccountId"] = owner
    try:
        url: str = sqs_client.get_queue_url(**kwargs)["QueueUrl"]
    except Exception as exc:
        raise _queue_error(exc, ref, region) from exc
    account = _account_from_url(url) or owner or ""
    arn = f"arn:{partition_of(region)}:sqs:{region}:{account}:{name}"
    return QueueRef(url=url, arn=arn, name=name, account=account, region=region, fifo=name.endswith(".fifo"))


def _queue_error(exc: BaseException, ref: str, region: str) -> BaseException:
    if error_code(exc) in _NOT_FOUND:
        return NotFoundError(f"queue {ref} not found in {region}", LIST_HINT)
    return from_aws(exc, f"queue {ref}") or exc


def _parse_arn(arn: str, region: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise UsageError(f"{arn!r} is not an SQS queue ARN", "expected arn:aws:sqs:<region>:<account>:<queue-name>")
    _, _, _, arn_region, account, name = parts
    if not _ACCOUNT.match(account) or not _NAME.match(name):
        raise UsageError(f"{arn!r} is not an SQS queue ARN", "expected arn:aws:sqs:<region>:<account>:<queue-name>")
    if arn_region != region:
        raise UsageError(
            f"queue {name} is in region {arn_region}, but evctl is using {region}", f"pass --region {arn_region}"
        )
    return name, account


def _parse_url(sqs_client: Any, url: str, region: str) -> tuple[str, str]:
    expected = "expected https://sqs.<region>.amazonaws.com/<account>/<queue-name>"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a queue URL", expected) from exc
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or not host or len(segments) != 2 or parts.query or parts.fragment:
        raise UsageError(f"{url!r} is not a queue URL", expected)
    account, name = segments
    if not _ACCOUNT.match(account):
        raise UsageError(f"{url!r} is not a queue URL: {account!r} is not a 12-digit account id", expected)
    if not _NAME.match(name):
        raise UsageError(f"{url!r} is not a queue URL: {name!r} is not a queue name", expected)
    match = _AWS_HOST.match(host)
    if match:
        url_region = match.group("r1") or match.group("r2") or match.group("r3") or "us-east-1"
        if url_region != region:
            raise UsageError(
                f"queue {name} is in region {url_region}, but evctl is using {region}", f"pass --region {url_region}"
            )
    elif not _is_local_or_configured(sqs_client, host):
        raise UsageError(
            f"{url!r} is not an SQS queue URL: unknown host {host}",
            f"{expected} (or the host of --endpoint-url)",
        )
    return name, account


def _is_local_or_configured(sqs_client: Any, host: str) -> bool:
    endpoint_host = (urlsplit(str(sqs_client.meta.endpoint_url)).hostname or "").lower()
    return (
        host == endpoint_host
        or host in ("localhost", "::1")
        or host.startswith("127.")
        or host.endswith((".localstack.cloud", ".localhost"))
    )


def _account_from_url(url: str) -> str | None:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[0] if len(segments) == 2 and _ACCOUNT.match(segments[0]) else None


def ref_from_url(url: str, region: str) -> QueueRef:
    """A QueueRef for a URL the service itself returned (ListQueues, ListDeadLetterSourceQueues): no call."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) >= 2:
        account, name = segments[0], segments[1]
    else:
        account, name = "", (segments[-1] if segments else url)
    arn = f"arn:{partition_of(region)}:sqs:{region}:{account}:{name}"
    return QueueRef(url=url, arn=arn, name=name, account=account, region=region, fifo=name.endswith(".fifo"))


def ref_from_arn(arn: str, sqs_client: Any) -> QueueRef:
    """A QueueRef for an ARN found in a RedrivePolicy (same account and region by AWS's rule)."""
    return resolve_queue(sqs_client, arn)


# ---- attributes, stats, listing -----------------------------------------------------------------


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

    def row(self) -> dict[str, Any]:
        return {
            "name": self.queue.name,
            "type": "fifo" if self.queue.fifo else "standard",
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "dlq": self.redrive.dead_letter_name if self.redrive else None,
            "max_receive_count": self.redrive.max_receive_count if self.redrive else None,
            "retention": _duration(self.retention_seconds),
            "visibility_timeout": self.visibility_timeout,
            **({"dlq_depth": self.dlq_depth} if self.redrive is not None and self.dlq_depth is not None else {}),
            **({"dlq_sources": self.dlq_sources} if self.dlq_sources is not None else {}),
            "url": self.queue.url,
            "arn": self.queue.arn,
        }


LIST_COLUMNS = [
    ("name", "QUEUE"),
    ("type", "TYPE"),
    ("visible", "VISIBLE"),
    ("in_flight", "IN FLIGHT"),
    ("delayed", "DELAYED"),
    ("dlq", "DLQ"),
    ("max_receive_count", "MAX RECEIVES"),
    ("retention", "RETENTION"),
    ("visibility_timeout", "VISIBILITY (S)"),
]
STATS_COLUMNS = [*LIST_COLUMNS[:7], ("dlq_depth", "DLQ DEPTH"), ("dlq_sources", "DLQ OF"), *LIST_COLUMNS[7:]]


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_redrive_policy(raw: str | None) -> RedrivePolicy | None:
    if not raw:
        return None
    try:
        policy = json.loads(raw)
        return RedrivePolicy(str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))
    except (ValueError, KeyError, TypeError):
        return None


def queue_attributes(sqs_client: Any, queue: QueueRef) -> dict[str, str]:
    try:
        response = sqs_client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
    except Exception as exc:
        raise _queue_error(exc, queue.name, queue.region) from exc
    attributes: dict[str, str] = response.get("Attributes", {})
    return attributes


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


def queue_stats(sqs_client: Any, queue: QueueRef, *, with_dlq: bool = False) -> QueueStats:
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


def dead_letter_sources(sqs_client: Any, queue: QueueRef) -> Iterator[str]:
    """URLs of the queues whose RedrivePolicy points at `queue`."""
    try:
        paginator = sqs_client.get_paginator("list_dead_letter_source_queues")
        for page in paginator.paginate(QueueUrl=queue.url, PaginationConfig={"PageSize": 1000}):
            yield from page.get("queueUrls", [])
    except EvctlError:
        raise
    except Exception as exc:
        raise _queue_error(exc, queue.name, queue.region) from exc


def list_queues(sqs_client: Any, prefix: str | None = None) -> list[QueueStats]:
    """Every queue (whose name starts with prefix), with its numbers; one GetQueueAttributes per queue."""
    region = client_region(sqs_client)
    kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 1000}}
    if prefix:
        kwargs["QueueNamePrefix"] = prefix
    result = []
    try:
        for page in sqs_client.get_paginator("list_queues").paginate(**kwargs):
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


# ---- purge ------------------------------------------------------------------------------------


def purge_queue(sqs_client: Any, queue: QueueRef) -> None:
    """Delete every message (visible and in flight); AWS allows one purge per queue per 60 s."""
    try:
        sqs_client.purge_queue(QueueUrl=queue.url)
    except Exception as exc:
        code = error_code(exc)
        if code in ("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress"):
            raise ServiceError(
                f"a purge of {queue.name} is already in progress",
                "AWS allows one purge per queue every 60 seconds and it can take up to 60 s; "
                "messages may still be being deleted — try again in a minute",
            ) from exc
        raise _queue_error(exc, queue.name, queue.region) from exc


def require_fifo_options(queue: QueueRef, options: Sequence[tuple[str, object]]) -> None:
    """FIFO-only options (group id, dedup id) on a standard queue are a usage error."""
    used = [name for name, value in options if value not in (None, False, "")]
    if used and not queue.fifo:
        raise UsageError(
            f"{', '.join(used)} {'only applies' if len(used) == 1 else 'only apply'} to FIFO queues, "
            f"and {queue.name} is a standard queue",
            "drop the option, or name a .fifo queue",
        )
