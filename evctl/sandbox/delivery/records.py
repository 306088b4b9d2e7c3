"""What the sandbox writes about each delivery: the ledger (CloudWatch Logs) and AWS/Events metrics (CloudWatch),
straight into moto's backends of this process (no HTTP: it runs inside moto's own request handling).

Ledger: log group LEDGER_GROUP, one JSON object per line and per delivery outcome, with every field of
LEDGER_FIELDS (null when it does not apply). The field names are a contract (evctl trace reads them):
docs/sandbox.md, "The delivery ledger".

Metrics: AWS/Events with dimension RuleName on the default bus, EventBusName + RuleName on a custom bus
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html), through evctl.sandbox.metrics.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.core.common.time import iso_utc
from evctl.sandbox import metrics

LEDGER_GROUP = "/evctl/sandbox/deliveries"
LEDGER_STREAM = "deliveries"
NAMESPACE = "AWS/Events"

Outcome = Literal["delivered", "refused", "retrying", "sent_to_dlq", "dropped"]
LEDGER_FIELDS = (
    "time",  # ISO 8601 UTC with milliseconds, when the outcome happened
    "event_id",
    "rule_arn",
    "rule_name",
    "event_bus_name",
    "target_id",
    "target_arn",
    "outcome",  # delivered | refused | retrying | sent_to_dlq | dropped
    "attempt",  # 1 = the first attempt; on sent_to_dlq/dropped: the attempts made
    "error_code",  # EventBridge's ERROR_CODE (NO_PERMISSIONS, NO_RESOURCE, ...)
    "error_message",
    "retry_attempts",  # the DLQ's RETRY_ATTEMPTS: retries made after the first attempt
    "exhausted_retry_condition",  # MaximumRetryAttempts | MaximumEventAgeInSeconds
    "dlq_arn",  # the target's DeadLetterConfig.Arn
    "message_id",  # the SQS MessageId of what was sent (the target queue, or the DLQ)
    "mode",  # enforcing | permissive
    "notes",  # what the IAM evaluator could not decide (the delivery was let through)
)


@dataclass(frozen=True)
class Where:
    """The rule's account, region and names (metrics and the ledger go to the rule's account and region)."""

    account: str
    region: str
    rule_arn: str
    rule_name: str
    bus_name: str


@dataclass
class Entry:
    where: Where
    event_id: str
    target_id: str
    target_arn: str
    outcome: Outcome
    attempt: int
    mode: str
    error_code: str | None = None
    error_message: str | None = None
    retry_attempts: int | None = None
    exhausted_retry_condition: str | None = None
    dlq_arn: str | None = None
    message_id: str | None = None
    notes: list[str] = field(default_factory=list)
    time: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        moment = self.time or dt.datetime.now(dt.UTC)
        line = {
            "time": iso_utc(moment, precision="milliseconds"),
            "event_id": self.event_id,
            "rule_arn": self.where.rule_arn,
            "rule_name": self.where.rule_name,
            "event_bus_name": self.where.bus_name,
            "target_id": self.target_id,
            "target_arn": self.target_arn,
            "outcome": self.outcome,
            "attempt": self.attempt,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "retry_attempts": self.retry_attempts,
            "exhausted_retry_condition": self.exhausted_retry_condition,
            "dlq_arn": self.dlq_arn,
            "message_id": self.message_id,
            "mode": self.mode,
            "notes": list(self.notes),
        }
        assert tuple(line) == LEDGER_FIELDS
        return line


_lock = threading.Lock()


def _backend(service: str, account: str, region: str) -> Any:
    backends: Any = getattr(importlib.import_module(f"moto.{service}.models"), f"{service}_backends")
    return backends[account][region]


def write_ledger(entry: Entry) -> None:
    """One JSON line in LEDGER_GROUP (the group and stream are created when missing: after a reset too)."""
    line = entry.as_dict()
    logs = _backend("logs", entry.where.account, entry.where.region)
    timestamp = int(dt.datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp() * 1000)
    with _lock:
        if LEDGER_GROUP not in logs.groups:
            logs.create_log_group(LEDGER_GROUP, {})
        if LEDGER_STREAM not in logs.groups[LEDGER_GROUP].streams:
            logs.create_log_stream(LEDGER_GROUP, LEDGER_STREAM)
        logs.put_log_events(
            LEDGER_GROUP, LEDGER_STREAM, [{"timestamp": timestamp, "message": json.dumps(line, sort_keys=False)}]
        )


def put_metric(where: Where, name: str, value: float = 1.0) -> None:
    """One more of an AWS/Events count for the rule (RuleName; EventBusName + RuleName on a custom bus), through
    the sandbox's metrics emitter (evctl.sandbox.metrics: a no-op when no sandbox runs in this process)."""
    metrics.current().count(
        NAMESPACE,
        name,
        metrics.rule_dimensions(where.rule_name, where.bus_name),
        value,
        account=where.account,
        region=where.region,
    )
