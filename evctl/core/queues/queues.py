"""SQS queues as the user names them (name, URL or ARN, another account's too), and what is in them.

`resolve_queue` is the one place that turns a user's reference into a `QueueRef`. It costs one GetQueueUrl
call, which also proves the queue exists. Stats and listings read GetQueueAttributes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
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


def eventbridge_send_policy(queue_arn: str, rule_arn: str, sid: str) -> dict[str, Any]:
    """A queue policy letting EventBridge send to the queue on behalf of one rule only (aws:SourceArn)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


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


# ---- peek -------------------------------------------------------------------------------------


@dataclass
class PeekResult:
    """What a peek saw and why it stopped. Every message it received was released again (visibility 0)."""

    queue: QueueRef
    messages: list[Any]  # evctl.core.queues.messages.Received, in the order first seen
    stopped_by: str  # "count", "no-new", "limit", "stop"
    max_receive_count: int | None
    at_limit: list[str] = field(default_factory=list)  # ids whose receive count reached maxReceiveCount
    duplicates: int = 0  # messages received again (deduplicated by MessageId)
    released: int = 0
    release_failed: int = 0
    receives: int = 0


def peek_messages(
    sqs_client: Any,
    queue: QueueRef,
    *,
    count: int = 10,
    force: bool = False,
    wait_seconds: int = 1,
    hold_seconds: int = 30,
    should_stop: Any = None,
    memory: PeekMemory | None = None,
) -> PeekResult:
    """Show messages without consuming them: receive, hold for the peek, then release all (never delete).

    Each receive raises ApproximateReceiveCount, and SQS moves a message to the DLQ when a receive would take its
    count past maxReceiveCount. So: with maxReceiveCount 1 every receive is fatal and the peek refuses; otherwise
    it refuses when `memory` says an earlier peek saw a message one receive short of the limit, and stops at
    the first batch that contains a message whose count reached maxReceiveCount (another receive of it, by anyone,
    moves it to the DLQ), unless `force`. Messages are held invisible until the peek ends, so one
    peek receives each message once; repeats (a lapsed hold) are deduplicated by MessageId.
    """
    from evctl.core.queues.messages import Received

    if count < 1:
        raise UsageError("-n must be at least 1")
    policy = parse_redrive_policy(queue_attributes(sqs_client, queue).get("RedrivePolicy"))
    max_receives = policy.max_receive_count if policy else None
    if max_receives is not None and max_receives <= 1 and not force:
        raise UsageError(
            f"peeking {queue.name} would send what it shows to its dead-letter queue {policy.dead_letter_name if policy else ''}: "
            f"its maxReceiveCount is {max_receives}, and every receive counts",
            "pass --force to peek anyway",
        )
    remembered = memory.load(queue.arn) if memory is not None else {}
    if max_receives is not None and not force:
        at_risk = sorted(mid for mid, seen_count in remembered.items() if seen_count + 1 >= max_receives)
        if at_risk:
            raise UsageError(
                f"peeking {queue.name} again could push {len(at_risk)} message(s) to its dead-letter queue: an "
                f"earlier peek saw them at receive count {max_receives - 1} or more of maxReceiveCount {max_receives}",
                "let the consumer process them, drain them, or pass --force to peek anyway",
            )
    stop = stop_check(should_stop)
    result = PeekResult(queue=queue, messages=[], stopped_by="count", max_receive_count=max_receives)
    seen: dict[str, str] = {}  # message id -> latest receipt handle
    try:
        while len(result.messages) < count:
            if stop():
                result.stopped_by = "stop"
                break
            kwargs: dict[str, Any] = {
                "QueueUrl": queue.url,
                "MaxNumberOfMessages": min(10, count - len(result.messages)),
                "WaitTimeSeconds": wait_seconds,
                "VisibilityTimeout": hold_seconds,
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
            try:
                response = sqs_client.receive_message(**kwargs)
            except Exception as exc:
                raise _queue_error(exc, queue.name, queue.region) from exc
            result.receives += 1
            new = 0
            for raw in response.get("Messages", []):
                message = Received.from_sqs(raw, queue)
                if message.message_id in seen:
                    result.duplicates += 1
                else:
                    new += 1
                    if len(result.messages) < count:
                        result.messages.append(message)
                    if max_receives is not None and message.receive_count >= max_receives:
                        result.at_limit.append(message.message_id)
                seen[message.message_id] = message.receipt_handle
            if new == 0:
                result.stopped_by = "no-new"
                break
            if result.at_limit and not force:
                result.stopped_by = "limit"
                break
    finally:
        result.released, result.release_failed = release_messages(sqs_client, queue, list(seen.values()))
        if memory is not None:
            # A peek that saw everything visible (or was forced past the warning) replaces what was remembered:
            # messages it did not see were consumed meanwhile, and must not block later peeks for ever.
            memory.remember(
                queue.arn,
                {m.message_id: m.receive_count for m in result.messages},
                replace=force or result.stopped_by == "no-new",
            )
    return result


class PeekMemory:
    """The receive counts earlier peeks saw, per queue, so a later peek can refuse before it pushes a message
    to the DLQ (SQS shows a message's count only by receiving it). A small JSON file; bounded; best effort."""

    def __init__(self, path: Path, *, keep: int = 2000) -> None:
        self.path = path
        self.keep = keep

    def _read(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, queue_arn: str) -> dict[str, int]:
        counts = self._read().get(queue_arn, {})
        return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}

    def remember(self, queue_arn: str, counts: dict[str, int], *, replace: bool = False) -> None:
        data = self._read()
        merged = dict(counts) if replace else {**data.get(queue_arn, {}), **counts}
        if not merged and queue_arn not in data:
            return
        data[queue_arn] = dict(list(merged.items())[-self.keep :])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # memory is an aid, not a requirement


def default_peek_memory() -> PeekMemory:
    import os

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return PeekMemory(Path(base) / "evctl" / "peek-counts.json")


def release_messages(sqs_client: Any, queue: QueueRef, receipt_handles: Sequence[str]) -> tuple[int, int]:
    """Visibility 0 for each handle (ChangeMessageVisibilityBatch, Failed[] checked): (released, failed)."""
    released = failed = 0
    for start in range(0, len(receipt_handles), 10):
        chunk = receipt_handles[start : start + 10]
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)]
        try:
            response = sqs_client.change_message_visibility_batch(QueueUrl=queue.url, Entries=entries)
        except Exception:
            failed += len(chunk)  # they become visible again when the hold ends: delayed, not lost
            continue
        released += len(response.get("Successful", []))
        failed += len(response.get("Failed", []))
    return released, failed


def stop_check(should_stop: Any) -> Callable[[], bool]:
    """A threading.Event, a callable or None, as one `() -> bool` (Ctrl-C sets the event; loops poll it)."""
    if should_stop is None:
        return lambda: False
    if hasattr(should_stop, "is_set"):
        check: Callable[[], bool] = should_stop.is_set
        return check
    return cast(Callable[[], bool], should_stop)


# ---- send: from a body, a file, or drained JSON lines ------------------------------------------

# SendMessage's allowed characters: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def prepare_send(
    queue: QueueRef,
    attributes: dict[str, str],
    *,
    body: str | None,
    lines_from: str | None,
    stdin: Any,
    group_id: str | None = None,
    dedup_id: str | None = None,
    delay: int | None = None,
    message_attributes: Sequence[str] = (),
) -> list[Any]:
    """Build and check every message before anything is sent; any bad input is a UsageError naming where."""
    from evctl.core.queues.messages import OutgoingMessage

    require_fifo_options(queue, [("--group-id", group_id), ("--dedup-id", dedup_id)])
    if delay is not None and queue.fifo:
        raise UsageError(f"--delay does not apply to FIFO queues ({queue.name})", "set DelaySeconds on the queue")
    if (body is None) == (lines_from is None):
        raise UsageError("give a BODY (or @FILE), or --from FILE|- with JSON lines", "not both")
    attrs = _parse_attributes(message_attributes)
    messages: list[OutgoingMessage]
    if body is not None:
        text = _read_body(body)
        messages = [OutgoingMessage(body=text, message_attributes=dict(attrs), origin="the message")]
    else:
        messages = _read_lines(lines_from or "-", stdin)
        for message in messages:
            message.message_attributes = {**message.message_attributes, **attrs}
    stats = stats_from_attributes(queue, attributes)
    for message in messages:
        _complete(message, queue, stats, group_id=group_id, dedup_id=dedup_id, delay=delay)
    return messages


def _parse_attributes(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--attr {item!r} is not NAME=VALUE")
        out[name] = {"DataType": "String", "StringValue": value}
    if len(out) > 10:
        raise UsageError("at most 10 message attributes per message")
    return out


def _read_body(body: str) -> str:
    if not body.startswith("@"):
        return body
    path = body[1:]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {exc.start}): SQS bodies are text",
            "base64-encode binary data first (e.g. `base64 -w0 FILE`)",
        ) from exc


def _read_lines(source: str, stdin: Any) -> list[Any]:
    from evctl.core.queues.messages import from_record

    if source == "-":
        data: bytes = stdin.read()
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    messages = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"line {number} is not UTF-8 text", "JSON lines must be UTF-8") from exc
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise UsageError(
                f"line {number} is not valid JSON: {exc}", "use the lines `evctl queue drain` writes"
            ) from exc
        messages.append(from_record(record, f"line {number}"))
    if not messages:
        raise UsageError("no messages in the input", "give JSON lines as `evctl queue drain` writes them")
    return messages


def _complete(message: Any, queue: QueueRef, stats: QueueStats, **options: Any) -> None:
    from evctl.core.queues.messages import message_size

    where = message.origin
    if queue.fifo:
        message.group_id = message.group_id or options["group_id"]
        message.dedup_id = message.dedup_id or options["dedup_id"]
        if not message.group_id:
            raise UsageError(f"{where}: FIFO queue {queue.name} needs a message group", "pass --group-id")
        if not message.dedup_id and not stats.content_based_dedup:
            raise UsageError(
                f"{where}: FIFO queue {queue.name} needs a deduplication id (content-based deduplication is off)",
                "pass --dedup-id",
            )
    else:
        message.group_id = message.dedup_id = None  # FIFO ids from a drained FIFO queue do not apply here
        message.delay_seconds = options["delay"]
    if not message.body:
        raise UsageError(f"{where}: the body is empty", "SQS needs at least one character")
    bad = _INVALID_CHARS.search(message.body)
    if bad:
        raise UsageError(
            f"{where}: the body contains a character SQS does not allow (U+{ord(bad.group()):04X})",
            "SQS bodies are XML text; base64-encode binary data",
        )
    if len(message.message_attributes) > 10:
        raise UsageError(f"{where}: more than 10 message attributes")
    size = message_size(message)
    if size > stats.maximum_message_size:
        raise UsageError(
            f"{where}: the message is {size} bytes, over the {stats.maximum_message_size}-byte limit of {queue.name}",
            "put large payloads in S3 and send a reference",
        )
