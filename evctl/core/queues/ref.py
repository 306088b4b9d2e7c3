"""A queue as the user names it (name, URL or ARN, another account's too): QueueRef and its resolution.

`resolve_queue` is the one place that turns a user's reference into a `QueueRef`. It costs one GetQueueUrl
call, which also proves the queue exists. `ref_from_url` trusts a URL the service itself returned (no call).
This module is a leaf: it imports nothing from evctl but the errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from evctl.errors import QUEUE_NOT_FOUND_CODES, ConfigError, NotFoundError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_ACCOUNT = re.compile(r"^\d{12}$")
# sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com, queue.amazonaws.com (us-east-1), and the .cn/.aws forms.
_AWS_HOST = re.compile(
    r"^(?:sqs\.(?P<r1>[a-z0-9-]+)|(?P<r2>[a-z0-9-]+)\.queue|queue)\.amazonaws\.com(?:\.cn)?$|"
    r"^sqs\.(?P<r3>[a-z0-9-]+)\.api\.aws$"
)
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
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition_of(region)}:sqs:{region}:{account}:{name}"


def client_region(sqs_client: SQSClient) -> str:
    """The client's region; a ConfigError when none is configured."""
    region: str | None = sqs_client.meta.region_name
    if not region:
        raise ConfigError("no AWS region configured", "pass --region or set AWS_REGION")
    return region


def resolve_queue(sqs_client: SQSClient, ref: str) -> QueueRef:
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
    try:
        if owner:
            url = sqs_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
        else:
            url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception as exc:
        raise queue_error(exc, ref, region) from exc
    account = _account_from_url(url) or owner or ""
    return QueueRef(
        url=url, arn=queue_arn(region, account, name), name=name, account=account, region=region,
        fifo=name.endswith(".fifo"),
    )  # fmt: skip


def queue_error(exc: BaseException, ref: str, region: str) -> BaseException:
    """An AWS error about one queue as an EvctlError: a not-found names the queue and region, with a hint."""
    if error_code(exc) in QUEUE_NOT_FOUND_CODES:
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


def _parse_url(sqs_client: SQSClient, url: str, region: str) -> tuple[str, str]:
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


def _is_local_or_configured(sqs_client: SQSClient, host: str) -> bool:
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
    return QueueRef(
        url=url, arn=queue_arn(region, account, name), name=name, account=account, region=region,
        fifo=name.endswith(".fifo"),
    )  # fmt: skip
