"""Stream the events crossing a bus through a temporary rule and queue, and remove both afterwards.

`BusTail` creates an SQS queue (tagged as evctl's, with a policy that lets only its own rule send), a rule on the
bus (tagged too) and the rule's target; `poll()` yields events as they arrive; `remove()` deletes the target, the
rule and the queue, whatever happened before (Ctrl-C and SIGTERM included: the command calls it in `finally`).
A run killed with SIGKILL leaves them behind: `find_leftovers()` finds them by name prefix and tag, and
`remove_leftovers()` removes them. Clients, clock and sleep come from the caller; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from evctl.core.common.time import iso_utc
from evctl.core.queues import decode_body, eventbridge_send_policy
from evctl.errors import QUEUE_NOT_FOUND_CODES, ServiceError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

NAME_PREFIX = "evctl-tail-"
TAG_KEY = "evctl"
TAG_VALUE = "tail-bus"
CREATED_TAG = "evctl:created"
TARGET_ID = "evctl-tail"
# Every event has a source, and every string starts with "": the usual "whole bus" pattern.
MATCH_EVERYTHING: dict[str, Any] = {"source": [{"prefix": ""}]}
LONG_POLL_SECONDS = 20
RETENTION_SECONDS = 3600
_GONE = QUEUE_NOT_FOUND_CODES | {"ResourceNotFoundException"}  # already removed: nothing left to do


@dataclass
class TailResources:
    bus: str
    name: str
    rule_arn: str | None = None
    queue_url: str | None = None
    queue_arn: str | None = None
    target_added: bool = False


def new_name() -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(6)}"


def queue_policy(queue_arn: str, rule_arn: str) -> str:
    """Only EventBridge, and only on behalf of this one rule, may send to the queue."""
    return json.dumps(eventbridge_send_policy(queue_arn, rule_arn, sid="evctl-tail-bus"))


def event_from_body(body: str) -> dict[str, Any]:
    """The event a message carries (a target with no input configuration receives the whole event).

    A body that is not a JSON object (never the case for the tail's own rule) comes back as {"body": value}."""
    value = decode_body(body).value
    return value if isinstance(value, dict) else {"body": value}


@dataclass
class BusTail:
    events: EventBridgeClient
    sqs: SQSClient
    bus: str
    pattern: str | None = None  # JSON text; None: every event on the bus
    wait_seconds: int = LONG_POLL_SECONDS
    idle_sleep: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    name: str = field(default_factory=new_name)
    received: int = 0

    def __post_init__(self) -> None:
        self.resources = TailResources(self.bus, self.name)

    # ---- setting up ------------------------------------------------------------------------------------
    def create(self) -> TailResources:
        """Queue, rule, policy, target: in that order, so the queue exists before anything can send to it."""
        res = self.resources
        created = iso_utc(self.now())
        try:
            res.queue_url = self.sqs.create_queue(
                QueueName=self.name,
                Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)},
                tags={TAG_KEY: TAG_VALUE, CREATED_TAG: created},
            )["QueueUrl"]
            res.queue_arn = self.sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            res.rule_arn = self.events.put_rule(
                Name=self.name,
                EventBusName=self.bus,
                EventPattern=self.pattern or json.dumps(MATCH_EVERYTHING),
                State="ENABLED",
                Description="evctl tail bus: temporary, removed when the tail ends (evctl tail bus --cleanup)",
                Tags=[{"Key": TAG_KEY, "Value": TAG_VALUE}, {"Key": CREATED_TAG, "Value": created}],
            )["RuleArn"]
            self.sqs.set_queue_attributes(
                QueueUrl=res.queue_url, Attributes={"Policy": queue_policy(str(res.queue_arn), str(res.rule_arn))}
            )
            answer = self.events.put_targets(
                Rule=self.name, EventBusName=self.bus, Targets=[{"Id": TARGET_ID, "Arn": res.queue_arn}]
            )
            res.target_added = True
            if answer.get("FailedEntryCount"):
                failed = answer.get("FailedEntries", [{}])[0]
                raise ServiceError(f"could not add the queue as the rule's target: {failed.get('ErrorMessage')}")
        except BaseException as exc:
            self.remove()
            mapped = from_aws(exc, f"event bus {self.bus!r}") if isinstance(exc, Exception) else None
            if mapped is not None:
                raise mapped from exc
            raise
        return res

    # ---- streaming -------------------------------------------------------------------------------------
    def poll(self, *, max_events: int | None = None, duration: float | None = None) -> Iterator[dict[str, Any]]:
        """Events as they arrive, until `max_events` or `duration` seconds (forever when neither is given)."""
        url = self.resources.queue_url
        if url is None:
            raise RuntimeError("BusTail.create() must run before poll()")
        deadline = None if duration is None else self.clock() + duration
        while max_events is None or self.received < max_events:
            wait = self.wait_seconds
            if deadline is not None:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return
                wait = max(0, min(wait, int(remaining)))
            try:
                messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get(
                    "Messages", []
                )
            except Exception as exc:
                raise (from_aws(exc, f"queue {self.name}") or exc) from exc
            if not messages:
                if wait == 0:
                    self.sleep(self.idle_sleep)
                continue
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            for message in messages:
                if max_events is not None and self.received >= max_events:
                    return
                self.received += 1
                yield event_from_body(message.get("Body", ""))

    # ---- tearing down ----------------------------------------------------------------------------------
    def remove(self) -> list[str]:
        """Delete target, rule and queue; never raises. Returns what could not be removed."""
        res = self.resources
        problems: list[str] = []
        if res.rule_arn is not None or res.target_added:
            problems += _quietly(
                lambda: self.events.remove_targets(Rule=res.name, EventBusName=res.bus, Ids=[TARGET_ID]),
                f"target of rule {res.name}",
            )
            problems += _quietly(
                lambda: self.events.delete_rule(Name=res.name, EventBusName=res.bus), f"rule {res.name}"
            )
            if not problems:
                res.rule_arn = None
                res.target_added = False
        if res.queue_url is not None:
            url = res.queue_url
            failed = _quietly(lambda: self.sqs.delete_queue(QueueUrl=url), f"queue {res.name}")
            problems += failed
            if not failed:
                res.queue_url = None
        return problems


def _quietly(call: Callable[[], Any], what: str) -> list[str]:
    try:
        call()
    except Exception as exc:
        if error_code(exc) in _GONE:
            return []
        return [f"{what}: {exc}"]
    return []


# ---- leftovers of killed runs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Leftover:
    kind: Literal["rule", "queue"]
    name: str
    bus: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.bus is not None:
            data["bus"] = self.bus
        if self.url is not None:
            data["url"] = self.url
        return data


def _bus_names(events: EventBridgeClient) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = events.list_event_buses(NextToken=token) if token else events.list_event_buses()
        names += [bus["Name"] for bus in page.get("EventBuses", [])]
        token = page.get("NextToken")
        if not token:
            return names


def find_leftovers(events: EventBridgeClient, sqs: SQSClient) -> list[Leftover]:
    """Rules and queues named evctl-tail-… that carry evctl's tag, on every bus of the account and region."""
    found: list[Leftover] = []
    try:
        for bus in _bus_names(events):
            pages = events.get_paginator("list_rules").paginate(EventBusName=bus, NamePrefix=NAME_PREFIX)
            for rule in (r for page in pages for r in page.get("Rules", [])):
                rule_tags = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
                if {"Key": TAG_KEY, "Value": TAG_VALUE} in rule_tags:
                    found.append(Leftover("rule", rule["Name"], bus=bus))
        for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=NAME_PREFIX):
            for url in page.get("QueueUrls", []):
                tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
                if tags.get(TAG_KEY) == TAG_VALUE:
                    found.append(Leftover("queue", url.rstrip("/").rsplit("/", 1)[-1], url=url))
    except Exception as exc:
        raise (from_aws(exc) or exc) from exc
    return found


def remove_leftovers(events: EventBridgeClient, sqs: SQSClient, leftovers: list[Leftover]) -> list[str]:
    """Remove each leftover (a rule's targets first). Returns what could not be removed."""
    problems: list[str] = []
    for item in leftovers:
        if item.kind == "rule":
            bus = str(item.bus)

            def remove_rule(rule: str = item.name, bus: str = bus) -> None:
                pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
                ids = [t["Id"] for page in pages for t in page.get("Targets", [])]
                if ids:
                    events.remove_targets(Rule=rule, EventBusName=bus, Ids=ids)
                events.delete_rule(Name=rule, EventBusName=bus)

            problems += _quietly(remove_rule, f"rule {item.name} on bus {bus}")
        else:

            def remove_queue(url: str = str(item.url)) -> None:
                sqs.delete_queue(QueueUrl=url)

            problems += _quietly(remove_queue, f"queue {item.name}")
    return problems
