"""The moto SQS speed adjustment: same answers as moto's own code, applied only when moto is the checked one."""

from __future__ import annotations

import time
from typing import Any

import pytest

from evctl.sandbox import moto_speed


def test_installed_moto_is_the_checked_one() -> None:
    # Fails when moto is upgraded and changes a function the adjustment replaces: re-check the adjustment
    # against the new moto, then record the new hashes in EXPECTED_SOURCES.
    assert moto_speed.incompatibility() is None, moto_speed.incompatibility()
    assert moto_speed.source_hashes() == moto_speed.EXPECTED_SOURCES


def test_a_changed_moto_function_blocks_the_adjustment(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = dict(moto_speed.EXPECTED_SOURCES, **{"Queue.messages": "0" * 64})
    monkeypatch.setattr(moto_speed, "EXPECTED_SOURCES", changed)
    reason = moto_speed.apply()
    assert reason == "moto changed Queue.messages"
    assert not moto_speed.is_applied()


def test_a_moto_outside_the_range_blocks_the_adjustment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_speed, "moto_version", lambda: (5, 3, 0))
    assert "outside the checked range" in (moto_speed.apply() or "")
    assert not moto_speed.is_applied()


def _queue_with_states() -> tuple[Any, Any]:
    from moto.sqs import models

    backend = models.SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue("speed-check", MessageRetentionPeriod="60")
    now = time.time() * 1000
    for index, (visible_in, delayed_for) in enumerate(
        [(0, 0), (0, 0), (30_000, 0), (-5, 0), (0, 30_000), (0, -5), (30_000, 30_000)]
    ):
        message = models.Message(f"m{index}", f"body {index}")
        message.mark_sent()
        message.visible_at = now + visible_in if visible_in else 0.0
        message.delayed_until = now + delayed_for if delayed_for else 0.0
        queue._messages.append(message)
    return backend, queue


def _answers(backend: Any, queue: Any) -> dict[str, Any]:
    return {
        "messages": [m.id for m in queue.messages],
        "delayed": queue.approximate_number_of_messages_delayed,
        "not_visible": queue.approximate_number_of_messages_not_visible,
        "visible": queue.approximate_number_of_messages,
        "attributes": {k: v for k, v in queue.attributes.items() if k.startswith("Approximate")},
        "retained": [backend.is_message_valid_based_on_retention_period("speed-check", m) for m in queue._messages],
    }


def test_adjusted_answers_equal_motos_and_restore_puts_moto_back() -> None:
    from moto.sqs import models

    original_messages = models.Queue.__dict__["messages"]
    backend, queue = _queue_with_states()
    before = _answers(backend, queue)
    assert before["visible"] == 4 and before["delayed"] == 2 and before["not_visible"] == 2  # the states are varied
    assert moto_speed.apply() is None
    try:
        assert moto_speed.is_applied()
        assert models.Queue.__dict__["messages"] is not original_messages
        assert _answers(backend, queue) == before
    finally:
        moto_speed.restore()
    assert models.Queue.__dict__["messages"] is original_messages
    assert not moto_speed.is_applied()


def test_adjusted_delete_message_keeps_motos_rules() -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    backend, queue = _queue_with_states()
    first = backend.receive_message("speed-check", 1, 0, 0)[0]
    old_handle = first.receipt_handle
    second_receive = backend.receive_message("speed-check", 10, 0, 0)
    assert moto_speed.apply() is None
    try:
        depth = len(queue._messages)
        queue.delete_message(old_handle)  # an older receipt handle of a message still deletes it
        assert len(queue._messages) == depth - 1
        queue.delete_message(old_handle)  # deleting again is accepted, as on AWS
        with pytest.raises(ReceiptHandleIsInvalid):
            queue.delete_message("not-a-handle")
        assert len(queue._messages) == depth - 1
        for message in second_receive:
            if message.id != first.id:
                queue.delete_message(message.receipt_handle)
        assert first.id not in [m.id for m in queue._messages]
    finally:
        moto_speed.restore()


# Here, not in test_server.py: that module keeps a sandbox running, which rightly keeps the adjustment on.
def test_stopping_the_server_gives_moto_back_its_own_code() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.sqs import models

    before = (LambdaBackend.create_event_source_mapping, models.Queue.__dict__["messages"])
    from evctl.sandbox.server import SandboxServer

    server = SandboxServer(port=0).start()
    assert LambdaBackend.create_event_source_mapping is not before[0]
    server.stop()
    assert (LambdaBackend.create_event_source_mapping, models.Queue.__dict__["messages"]) == before


def _batch_outcome(adjusted: bool) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    backend, queue = _queue_with_states()
    first = backend.receive_message("speed-check", 2, 0, 0)
    old_handle = first[0].receipt_handle
    again = backend.receive_message("speed-check", 10, 0, 0)
    entries = [
        {"Id": "old", "ReceiptHandle": old_handle},
        {"Id": "bogus", "ReceiptHandle": "not-a-handle"},
        *({"Id": f"r{n}", "ReceiptHandle": m.receipt_handle} for n, m in enumerate(again)),
        {"Id": "dup", "ReceiptHandle": old_handle},
    ]
    if adjusted:
        assert moto_speed.apply() is None
    try:
        success, errors = backend.delete_message_batch("speed-check", entries)
    finally:
        if adjusted:
            moto_speed.restore()
    return success, [(e["Id"], e["Code"]) for e in errors], sorted(m.id for m in queue._messages)


def test_adjusted_delete_message_batch_answers_as_moto_does() -> None:
    assert _batch_outcome(adjusted=True) == _batch_outcome(adjusted=False)
    success, errors, _left = _batch_outcome(adjusted=True)
    assert errors == [("bogus", "ReceiptHandleIsInvalid")]
    assert "old" in success and "dup" in success
