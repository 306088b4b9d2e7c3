"""Keep moto's SQS backend fast at depth: a version-guarded adjustment applied only in the sandbox process.

Why: moto 5.1/5.2 answers every SQS call by walking the whole queue, and for each message its `visible` and
`delayed` properties build a datetime (`unix_time_millis`); `Queue.attributes` does that walk three times and
`receive_message` fetches all attributes again for *every* message it returns (retention check). A call at
10,000 queued messages took 20-100 ms after the datetime fix alone, seconds before it.

What: the same answers with one clock read per walk and plain attribute reads, nothing else:
- `Queue.messages` and the two `approximate_number_of_messages_*` counts read the clock once per call;
- `SQSBackend.is_message_valid_based_on_retention_period` reads the queue's retention period directly
  instead of computing every queue attribute;
- `Queue.delete_message` finds the receipt handle in one pass instead of two list-building passes, and
  `SQSBackend.delete_message_batch` deletes all its entries in one pass instead of one pass per entry;
- `unix_time_millis` inside moto.sqs.models uses `time.time()` (the same epoch milliseconds, no datetime).

Guard: applied only when moto's version is in SUPPORTED and the source of every replaced function hashes to
the value recorded here; otherwise nothing is touched (the sandbox still works, only slower) and the reason is
returned. tests/sandbox/test_moto_speed.py fails when moto changes these functions, so they get re-checked.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import time
from typing import Any

from evctl.sandbox.patches import Patch, Refused, Replacement

SUPPORTED = ((5, 1), (5, 3))  # moto >= 5.1, < 5.3

# sha256 of inspect.getsource() of each function this module replaces, as shipped by moto 5.2.5.
EXPECTED_SOURCES: dict[str, str] = {
    "Queue.messages": "03a531dbcbcf9aee2e61c7254c08946a499f5c57f2447a8f2e534aa85b067dea",
    "Queue.approximate_number_of_messages_delayed": "c3c1dadb0c42ed5f8f5e1fddc8384de67db2df9a4055504f10903bd0b55e8d2f",
    "Queue.approximate_number_of_messages_not_visible": "5dbecc4dda174358d2aefa96e4b769def47fd6bb2c315241c451e8518c3fabab",
    "Queue.delete_message": "fa6fd5b9bd2cafb4aaacd79da7fc656e513e1513197c2939ff002f9ebfd4be46",
    "SQSBackend.delete_message": "9eb658afdceb6bd9de79334fb31591bc0aa44bc924c0486516165418bbfff777",
    "SQSBackend.delete_message_batch": "53c0bc5d5f51468ad2e6311da0417ec613b5da28d33337c66a3f1f51d99147b2",
    "SQSBackend.is_message_valid_based_on_retention_period": "cca23b94a5f3af9d9c5af1c09ee5e615017bdf6bd032301cb321c06c7e595d4b",
    "Message.visible": "5129b573308de62a700c40541df76673710ff2303258839ac66990eb56f27f27",
    "Message.delayed": "e2fd48abf582683aa4630cbd95daef06deb9f6de33e002a89f8c3d8a3f334838",
    "moto.core.utils.unix_time": "f0576ec9e5f586e54a3646c4bee8f05589aed07b2aecf0e1943ffcd2585c3960",
    "moto.core.utils.unix_time_millis": "7a37e1337d02962edf1a7396cbc8f3872997b0d7cbb22d50e53876019c11dbad",
}


def _targets() -> dict[str, Any]:
    utils: Any = importlib.import_module("moto.core.utils")
    models: Any = importlib.import_module("moto.sqs.models")

    return {
        "Queue.messages": models.Queue.messages.fget,
        "Queue.approximate_number_of_messages_delayed": models.Queue.approximate_number_of_messages_delayed.fget,
        "Queue.approximate_number_of_messages_not_visible": (
            models.Queue.approximate_number_of_messages_not_visible.fget
        ),
        "Queue.delete_message": models.Queue.delete_message,
        "SQSBackend.delete_message": models.SQSBackend.delete_message,
        "SQSBackend.delete_message_batch": models.SQSBackend.delete_message_batch,
        "SQSBackend.is_message_valid_based_on_retention_period": (
            models.SQSBackend.is_message_valid_based_on_retention_period
        ),
        "Message.visible": models.Message.visible.fget,
        "Message.delayed": models.Message.delayed.fget,
        "moto.core.utils.unix_time": utils.unix_time,
        "moto.core.utils.unix_time_millis": utils.unix_time_millis,
    }


def source_hashes() -> dict[str, str]:
    """The current sha256 of each replaced function's source (what EXPECTED_SOURCES must match)."""
    return {name: hashlib.sha256(inspect.getsource(fn).encode()).hexdigest() for name, fn in _targets().items()}


def moto_version() -> tuple[int, ...]:
    from importlib.metadata import version

    parts = []
    for piece in version("moto").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def incompatibility() -> str | None:
    """Why the adjustment cannot be applied to the installed moto, or None when it can."""
    low, high = SUPPORTED
    current = moto_version()
    if not (low <= current[:2] < high):
        return f"moto {'.'.join(map(str, current))} is outside the checked range {low} to {high}"
    changed = sorted(name for name, digest in source_hashes().items() if EXPECTED_SOURCES.get(name) != digest)
    if changed:
        return f"moto changed {', '.join(changed)}"
    return None


def is_applied() -> bool:
    return PATCH.installed


def apply() -> str | None:
    """Apply the adjustment (counted: pair with restore()). Returns None when applied, else why it was not."""
    try:
        PATCH.install()
    except Refused as refused:
        return str(refused)
    return None


def restore() -> None:
    """Undo apply(); moto is back to its own code when the last user restores."""
    PATCH.uninstall()


def _now_millis(dt: Any = None) -> float:
    if dt is not None:
        from moto.core.utils import unix_time_millis

        return float(unix_time_millis(dt))
    return time.time() * 1000.0


def _replacements() -> list[Replacement]:
    reason = incompatibility()
    if reason:
        raise Refused(reason)
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    models: Any = importlib.import_module("moto.sqs.models")

    def messages(self: Any) -> list[Any]:
        now = time.time() * 1000.0
        # visible: now > visible_at; not delayed: not now < delayed_until
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed_count(self: Any) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible_count(self: Any) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if not now > m.visible_at)

    def remove_messages(queue: Any, handles: set[str]) -> None:
        """One pass: drop every message that ever had one of `handles` (moto's rule for deletes)."""
        kept = []
        for message in queue._messages:
            old = message._old_receipt_handles
            if message.receipt_handle in handles or (old and not handles.isdisjoint(old)):
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)
                continue
            kept.append(message)
        queue._messages = kept

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: AWS accepts it again
        remove_messages(self, {receipt_handle})
        if receipt_handle not in self.deleted_messages:
            raise ReceiptHandleIsInvalid()

    def delete_message_batch(
        self: Any, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        queue = self.get_queue(queue_name)
        handles = {entry["ReceiptHandle"] for entry in receipts} - queue.deleted_messages
        if handles:
            remove_messages(queue, handles)
        success: list[str] = []
        errors: list[dict[str, Any]] = []
        for entry in receipts:
            if entry["ReceiptHandle"] in queue.deleted_messages:
                success.append(entry["Id"])
            else:
                errors.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": True,
                        "Code": "ReceiptHandleIsInvalid",
                        "Message": f'The input receipt handle "{entry["ReceiptHandle"]}" is not a valid receipt handle.',
                    }
                )
        return success, errors

    def retention_ok(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > time.time())

    if "unix_time_millis" not in vars(models):
        raise Refused("moto.sqs.models no longer imports unix_time_millis")
    return [
        (models.Queue, "messages", property(messages)),
        (models.Queue, "approximate_number_of_messages_delayed", property(delayed_count)),
        (models.Queue, "approximate_number_of_messages_not_visible", property(not_visible_count)),
        (models.Queue, "delete_message", delete_message),
        (models.SQSBackend, "delete_message_batch", delete_message_batch),
        (models.SQSBackend, "is_message_valid_based_on_retention_period", retention_ok),
        (models, "unix_time_millis", _now_millis),
    ]


PATCH = Patch("moto SQS speed", _replacements)
