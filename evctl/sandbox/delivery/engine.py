"""One event to one SQS target, as EventBridge does it: check, send, retry or dead-letter, and record.

Reads and writes moto's backends of this process directly (it runs inside moto's put_events). Sources for each
rule: access.py, retry.py and docs/sandbox.md, "What the sandbox enforces".
"""

from __future__ import annotations

import copy
import importlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.sandbox.delivery import access, records
from evctl.sandbox.delivery.access import KeyView, QueueView, Refusal
from evctl.sandbox.delivery.records import Entry, Where
from evctl.sandbox.delivery.retry import (
    INTERNAL_ERROR,
    INVALID_PARAMETER,
    NO_RESOURCE,
    TIME_SCALE,
    GiveUp,
    RetryPolicy,
    next_step,
)
from evctl.sandbox.delivery.scheduler import Scheduler

Mode = Literal["enforcing", "permissive"]
ENFORCING: Mode = "enforcing"
PERMISSIVE: Mode = "permissive"


def _moto(module: str) -> Any:
    return importlib.import_module(module)


def parse_queue_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, region, queue name) of an SQS queue ARN, or None."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs" or not parts[5]:
        return None
    return parts[4], parts[3], parts[5]


def find_queue(arn: str) -> Any:
    """moto's Queue object for an ARN, or None."""
    parsed = parse_queue_arn(arn)
    if parsed is None:
        return None
    account, region, name = parsed
    backends: Any = _moto("moto.sqs.models").sqs_backends
    return backends[account][region].queues.get(name)


def queue_view(queue: Any) -> QueueView:
    return QueueView(
        arn=queue.queue_arn,
        policy=queue.policy,
        kms_key_id=getattr(queue, "kms_master_key_id", None) or None,
        fifo=bool(queue.fifo_queue),
        content_based_dedup=str(getattr(queue, "content_based_deduplication", "false")).lower() == "true",
    )


def key_finder(account: str, region: str) -> Callable[[str], KeyView | None]:
    """Look a queue's KmsMasterKeyId up in moto's KMS (key id, key ARN, alias name or alias ARN)."""

    def find(key_id: str) -> KeyView | None:
        backends: Any = _moto("moto.kms.models").kms_backends
        parts = key_id.split(":")
        owner, where = (parts[4], parts[3]) if key_id.startswith("arn:") and len(parts) >= 6 else (account, region)
        kms = backends[owner][where]
        try:
            alias = kms.get_alias_name(key_id)
            raw = kms.get_key_id(alias)
            if raw.startswith("alias/"):
                found = next((k.id for k in kms.keys.values() if raw in k.aliases), None)
                if found is None:
                    return None
                raw = found
            key = kms.keys.get(raw)
        except (KeyError, AttributeError, TypeError):
            return None
        if key is None:
            return None
        return KeyView(arn=key.arn, policy=key.policy, manager=key.key_manager, state=key.key_state)

    return find


@dataclass
class Delivery:
    """One event on its way to one target."""

    where: Where
    event_id: str
    target: Mapping[str, Any]
    body: Any  # what goes to the queue (after the target's input transformation)
    event: dict[str, Any]  # the original event (what a DLQ receives)
    started: float
    retries: int = 0
    attempts: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def target_arn(self) -> str:
        return str(self.target.get("Arn", ""))

    @property
    def target_id(self) -> str:
        return str(self.target.get("Id", ""))

    @property
    def dlq_arn(self) -> str | None:
        config = self.target.get("DeadLetterConfig") or {}
        arn = config.get("Arn") if isinstance(config, Mapping) else None
        return str(arn) if arn else None


def wire_body(event: Any) -> str:
    """The event as moto's SQS target writes it (`time` as ISO 8601, seconds)."""
    if not isinstance(event, Mapping):
        return json.dumps(event)
    out = copy.deepcopy(dict(event))
    when = out.get("time")
    if isinstance(when, int | float) and not isinstance(when, bool):
        utils: Any = _moto("moto.core.utils")
        out["time"] = utils.iso_8601_datetime_without_milliseconds(utils.utcfromtimestamp(float(when)))
    return json.dumps(out)


class Engine:
    """Deliveries in one sandbox process. `clock` (real seconds) and `jitter` are injected for tests; one simulated
    second of EventBridge's retry schedule lasts `scale` real seconds."""

    def __init__(
        self,
        mode: Mode,
        scheduler: Scheduler,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        scale: float = TIME_SCALE,
    ) -> None:
        self.mode = mode
        self.scheduler = scheduler
        self.clock = clock
        self.jitter = jitter
        self.scale = scale
        self._lock = threading.Lock()

    # --- the first attempt (inside put_events) -------------------------------------------------------------------

    def deliver(self, where: Where, target: Mapping[str, Any], body: Any, event: dict[str, Any]) -> None:
        delivery = Delivery(where, str(event.get("id", "")), dict(target), body, event, started=self.clock())
        self.attempt(delivery)

    def attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        refusal, message_id = self._send(delivery)
        if refusal is None:
            self._record(delivery, "delivered", message_id=message_id)
            records.put_metric(delivery.where, "Invocations")
            return
        age = (self.clock() - delivery.started) / self.scale
        step = next_step(RetryPolicy.of_target(delivery.target), refusal.code, delivery.retries, age, self.jitter)
        if isinstance(step, GiveUp):
            self._record(delivery, "refused", refusal=refusal)
            records.put_metric(delivery.where, "Invocations")
            records.put_metric(delivery.where, "FailedInvocations")
            self._dead_letter(delivery, refusal, step.condition)
            return
        self._record(delivery, "retrying", refusal=refusal)
        delivery.retries += 1
        self.scheduler.after(step.delay * self.scale, lambda: self.attempt(delivery))

    # --- sending --------------------------------------------------------------------------------------------------

    def _send(self, delivery: Delivery) -> tuple[Refusal | None, str | None]:
        queue = find_queue(delivery.target_arn)
        if queue is None:
            return Refusal(NO_RESOURCE, f"the target queue {delivery.target_arn} does not exist"), None
        group_id = (delivery.target.get("SqsParameters") or {}).get("MessageGroupId")
        if self.mode == ENFORCING:
            verdict = access.check(
                queue_view(queue),
                delivery.where.rule_arn,
                key_finder(*_account_region(queue.queue_arn)),
                fifo_target=bool(group_id),
            )
            delivery.notes.extend(note for note in verdict.notes if note not in delivery.notes)
            if verdict.refusal is not None:
                return verdict.refusal, None
        return self._send_message(queue, wire_body(delivery.body), group_id=group_id)

    def _send_message(
        self, queue: Any, body: str, *, group_id: str | None = None, attributes: dict[str, Any] | None = None
    ) -> tuple[Refusal | None, str | None]:
        account, region = _account_region(queue.queue_arn)
        backends: Any = _moto("moto.sqs.models").sqs_backends
        exceptions: Any = _moto("moto.sqs.exceptions")
        core: Any = _moto("moto.core.exceptions")
        client_errors = (core.ServiceException, core._RESTError)  # moto's 4xx answers
        try:
            message = backends[account][region].send_message(
                queue_name=queue.name, message_body=body, message_attributes=attributes, group_id=group_id
            )
        except exceptions.QueueDoesNotExist:
            return Refusal(NO_RESOURCE, f"the queue {queue.queue_arn} does not exist"), None
        except client_errors as exc:  # SQS refused the message (4xx): not retried
            return Refusal(INVALID_PARAMETER, f"SQS refused the message: {getattr(exc, 'message', '') or exc}"), None
        except Exception as exc:  # anything else is the service's failure (5xx): retried
            return Refusal(INTERNAL_ERROR, f"SQS failed: {type(exc).__name__}: {exc}"), None
        return None, str(message.id)

    # --- after the last attempt -----------------------------------------------------------------------------------

    def _dead_letter(self, delivery: Delivery, refusal: Refusal, condition: str) -> None:
        dlq_arn = delivery.dlq_arn
        retries = delivery.retries
        if dlq_arn is None:
            self._record(
                delivery, "dropped", refusal=refusal, retry_attempts=retries, exhausted_retry_condition=condition
            )
            return
        sent = self._to_dlq(delivery, dlq_arn, refusal, condition)
        if isinstance(sent, Refusal):
            records.put_metric(delivery.where, "InvocationsFailedToBeSentToDlq")
            delivery.notes.append(f"the target DLQ refused it too: {sent.code}: {sent.message}")
            outcome: records.Outcome = "dropped"
            message_id = None
        else:
            records.put_metric(delivery.where, "InvocationsSentToDlq")
            outcome, message_id = "sent_to_dlq", sent
        self._record(
            delivery,
            outcome,
            refusal=refusal,
            retry_attempts=retries,
            exhausted_retry_condition=condition,
            dlq_arn=dlq_arn,
            message_id=message_id,
        )

    def _to_dlq(self, delivery: Delivery, dlq_arn: str, refusal: Refusal, condition: str) -> Refusal | str:
        """Send the original event to the target's DLQ with AWS's attributes: the MessageId, or why it failed."""
        queue = find_queue(dlq_arn)
        if queue is None:
            return Refusal(NO_RESOURCE, f"the target DLQ {dlq_arn} does not exist")
        if queue.fifo_queue:  # "Only standard queues are supported" (eb-rule-dlq.html)
            return Refusal(INVALID_PARAMETER, f"the target DLQ {dlq_arn} is a FIFO queue; only standard queues work")
        if self.mode == ENFORCING:
            verdict = access.check(
                queue_view(queue),
                delivery.where.rule_arn,
                key_finder(*_account_region(queue.queue_arn)),
                fifo_target=False,
            )
            if verdict.refusal is not None:
                return verdict.refusal
        attributes = {
            "RULE_ARN": delivery.where.rule_arn,
            "TARGET_ARN": delivery.target_arn,
            "ERROR_CODE": refusal.code,
            "ERROR_MESSAGE": refusal.message,
            "EXHAUSTED_RETRY_CONDITION": condition,
            "RETRY_ATTEMPTS": str(delivery.retries),
        }
        failure, message_id = self._send_message(
            queue,
            wire_body(delivery.event),
            attributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
        )
        return failure if failure is not None else str(message_id)

    # --- the ledger -----------------------------------------------------------------------------------------------

    def _record(
        self,
        delivery: Delivery,
        outcome: records.Outcome,
        *,
        refusal: Refusal | None = None,
        retry_attempts: int | None = None,
        exhausted_retry_condition: str | None = None,
        dlq_arn: str | None = None,
        message_id: str | None = None,
    ) -> None:
        records.write_ledger(
            Entry(
                where=delivery.where,
                event_id=delivery.event_id,
                target_id=delivery.target_id,
                target_arn=delivery.target_arn,
                outcome=outcome,
                attempt=delivery.attempts,
                mode=self.mode,
                error_code=refusal.code if refusal else None,
                error_message=refusal.message if refusal else None,
                retry_attempts=retry_attempts,
                exhausted_retry_condition=exhausted_retry_condition,
                dlq_arn=dlq_arn if dlq_arn is not None else delivery.dlq_arn,
                message_id=message_id,
                notes=list(delivery.notes),
            )
        )

    def record_permissive(self, where: Where, target: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        """Permissive mode: moto delivered as it does; say so in the ledger and the metrics."""
        delivery = Delivery(where, str(event.get("id", "")), dict(target), {}, dict(event), started=self.clock())
        delivery.attempts = 1
        self._record(delivery, "delivered")
        records.put_metric(where, "Invocations")


def _account_region(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[3]
