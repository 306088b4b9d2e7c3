"""AWS/SQS metrics from moto's SQS in this process: counts hooked where moto does the work, gauges sampled.

Counts (dimension QueueName, unit Count), reported to `emitter.current()` as they happen:
- NumberOfMessagesSent: every message `SQSBackend.send_message` adds (SendMessage, each entry of
  SendMessageBatch, and EventBridge's deliveries to a queue target). A message moved to a DLQ by the source queue's
  redrive policy is not a send (moto moves it with `Queue.add_message`), as on AWS.
- NumberOfMessagesReceived / NumberOfEmptyReceives: the messages `SQSBackend.receive_message` returns / a receive
  that returns none.
- NumberOfMessagesDeleted: the messages DeleteMessage / DeleteMessageBatch answer as deleted, duplicates included
  (AWS counts every successful deletion with a valid receipt handle). Counted at moto's API layer
  (`SQSResponse`): the sandbox's speed adjustment (moto_speed) replaces the backend's delete functions, so
  hooking them there would fight it.

Gauges, sampled for every queue by `sample_queues` (one pass over the queue's messages, no moto property):
ApproximateNumberOfMessagesVisible, ApproximateNumberOfMessagesNotVisible, ApproximateNumberOfMessagesDelayed
(Count) and ApproximateAgeOfOldestMessage (Seconds; standard queues leave out messages received 3 or more times, as
AWS does with poison pills; a message moved to a DLQ is aged from the move). Each sample also adds 0 to the four
counts, so an active queue has a datapoint every minute, 0 when nothing happened, as on AWS.

`install()` / `uninstall()` are counted (patches.Patch: every in-process sandbox installs once; moto gets its own
functions back when the last one stops). The hooks cost a function call and a dict update per SQS call.
"""

from __future__ import annotations

import functools
import importlib
import time
from typing import Any

from evctl.sandbox.patches import Patch, Replacement

from .emitter import SandboxMetrics, current

NAMESPACE = "AWS/SQS"
COUNTS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives")
POISON_RECEIVES = 3  # a standard queue's message received this often leaves ApproximateAgeOfOldestMessage
ENQUEUED = "_evctl_enqueued_ms"  # set on moto's Message by Queue.add_message: when it entered *this* queue


def _count(metric: str, queue: str, value: float, account: str, region: str) -> None:
    emitter = current()
    if emitter.active:
        emitter.count(NAMESPACE, metric, {"QueueName": queue}, value, account=account, region=region)


def _hooks() -> list[Replacement]:
    models: Any = importlib.import_module("moto.sqs.models")
    responses: Any = importlib.import_module("moto.sqs.responses")
    backend = models.SQSBackend
    api = responses.SQSResponse
    queue_class = models.Queue

    send_message = backend.__dict__["send_message"]
    receive_message = backend.__dict__["receive_message"]
    delete_one = api.__dict__["delete_message"]
    delete_batch = api.__dict__["delete_message_batch"]
    add_message = queue_class.__dict__["add_message"]

    @functools.wraps(send_message)
    def sent(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send_message(self, queue_name, *args, **kwargs)
        _count("NumberOfMessagesSent", queue_name, 1.0, self.account_id, self.region_name)
        return message

    @functools.wraps(receive_message)
    def received(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        messages = receive_message(self, queue_name, *args, **kwargs)
        if messages:
            _count("NumberOfMessagesReceived", queue_name, float(len(messages)), self.account_id, self.region_name)
        else:
            _count("NumberOfEmptyReceives", queue_name, 1.0, self.account_id, self.region_name)
        return messages

    @functools.wraps(delete_one)
    def deleted(self: Any) -> Any:
        answer = delete_one(self)
        _count("NumberOfMessagesDeleted", self._get_queue_name(), 1.0, self.current_account, self.region)
        return answer

    @functools.wraps(delete_batch)
    def deleted_batch(self: Any) -> Any:
        answer = delete_batch(self)
        result = getattr(answer, "result", None)
        done = len(result.get("Successful") or []) if isinstance(result, dict) else 0
        if done:
            _count("NumberOfMessagesDeleted", self._get_queue_name(), float(done), self.current_account, self.region)
        return answer

    @functools.wraps(add_message)
    def added(self: Any, message: Any) -> Any:
        setattr(message, ENQUEUED, time.time() * 1000.0)
        return add_message(self, message)

    return [
        (backend, "send_message", sent),
        (backend, "receive_message", received),
        (api, "delete_message", deleted),
        (api, "delete_message_batch", deleted_batch),
        (queue_class, "add_message", added),
    ]


PATCH = Patch("AWS/SQS counts", _hooks)
install = PATCH.install  # hook moto's SQS in this process (counted: pair with uninstall)
uninstall = PATCH.uninstall


def is_installed() -> bool:
    return PATCH.installed


def queue_levels(queue: Any, now_ms: float) -> dict[str, float]:
    """The four gauges of one moto queue at `now_ms` (epoch milliseconds), in one pass over its messages."""
    visible = not_visible = delayed = 0
    oldest: float | None = None
    fifo = bool(getattr(queue, "fifo_queue", False))
    for message in list(queue._messages):
        if now_ms < message.delayed_until:
            delayed += 1
        elif now_ms > message.visible_at:
            visible += 1
        else:
            not_visible += 1
        if not fifo and message.approximate_receive_count >= POISON_RECEIVES:
            continue
        enqueued = getattr(message, ENQUEUED, None) or message.sent_timestamp
        if enqueued is not None and (oldest is None or enqueued < oldest):
            oldest = float(enqueued)
    age = 0.0 if oldest is None else max(0.0, (now_ms - oldest) / 1000.0)
    return {
        "ApproximateNumberOfMessagesVisible": float(visible),
        "ApproximateNumberOfMessagesNotVisible": float(not_visible),
        "ApproximateNumberOfMessagesDelayed": float(delayed),
        "ApproximateAgeOfOldestMessage": float(int(age)),
    }


def sample_queues(emitter: SandboxMetrics) -> None:
    """Report every queue's gauges (and a 0 for each count, so an active queue has a datapoint every minute)."""
    models: Any = importlib.import_module("moto.sqs.models")
    now = emitter.clock()
    for account, regions in list(models.sqs_backends.items()):
        for region, backend in list(regions.items()):
            for name, queue in list(backend.queues.items()):
                dims = {"QueueName": name}
                for metric, value in queue_levels(queue, now * 1000.0).items():
                    unit = "Seconds" if metric == "ApproximateAgeOfOldestMessage" else "Count"
                    emitter.gauge(NAMESPACE, metric, dims, value, unit, at=now, account=account, region=region)
                for metric in COUNTS:
                    emitter.zero(NAMESPACE, metric, dims, at=now, account=account, region=region)
