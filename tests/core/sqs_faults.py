"""Fault injection for SQS clients through botocore event hooks (used by the mover, send and drain tests).

`FaultInjector(client, rate, seed)` makes calls fail as AWS would:
- whole calls: a 500 InternalError or a 400 ThrottlingException before the request is sent (botocore's retry
  handler sees a real error response and retries it like any other);
- batch entries: DeleteMessageBatch / SendMessageBatch / ChangeMessageVisibilityBatch entries are removed from
  the request before it is sent and reported back in Failed[] (SenderFault=false), so the entry really did not
  happen — exactly what a partial failure is.

Use it with a client of a moto *server* (the `moto_server` fixture): in-process `mock_aws` handles a request
even when an earlier before-send handler answered it, which would make an injected failure a silent success.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from botocore.awsrequest import AWSResponse

BATCH_OPS = ("DeleteMessageBatch", "SendMessageBatch", "ChangeMessageVisibilityBatch")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def error_response(status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message}).encode()
    headers = {
        "x-amzn-query-error": f"{code};{'Sender' if status < 500 else 'Receiver'}",
        "content-type": "application/x-amz-json-1.0",
    }
    return AWSResponse("https://sqs.local/", status, headers, _Raw(body))


class FaultInjector:
    def __init__(
        self,
        client: Any,
        *,
        rate: float = 0.2,
        seed: int = 0,
        whole_call_ops: tuple[str, ...] = ("ReceiveMessage", "DeleteMessageBatch", "SendMessageBatch"),
        entry_ops: tuple[str, ...] = BATCH_OPS,
        sender_fault: bool = False,
    ) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.whole_call_ops = whole_call_ops
        self.entry_ops = entry_ops
        self.sender_fault = sender_fault  # True: failed entries say the request was at fault (not retryable)
        self.calls_failed: dict[str, int] = {}
        self.entries_failed: dict[str, int] = {}
        self._local = threading.local()  # a call's before-send and after-call run on its thread; calls overlap
        self._lock = threading.Lock()
        events = client.meta.events
        events.register_first("before-send", self._before_send)
        events.register_first("after-call.sqs", self._after_call)

    def _before_send(self, request: Any, **kwargs: Any) -> Any:
        op = request.headers.get("X-Amz-Target", b"")
        op = (op.decode() if isinstance(op, bytes) else op).rsplit(".", 1)[-1]
        with self._lock:
            fail_call = op in self.whole_call_ops and self.random.random() < self.rate
            throttle = self.random.random() < 0.5
        if fail_call:
            with self._lock:
                self.calls_failed[op] = self.calls_failed.get(op, 0) + 1
            if throttle:
                return error_response(400, "ThrottlingException", "Rate exceeded")
            return error_response(500, "InternalError", "injected internal error")
        self._local.dropped = []
        if op in self.entry_ops and request.body:
            body = json.loads(request.body)
            keep, drop = [], []
            with self._lock:
                for entry in body.get("Entries", []):
                    (drop if self.random.random() < self.rate else keep).append(entry)
            if drop and keep:  # an all-dropped batch would be an empty (invalid) request
                body["Entries"] = keep
                request.body = json.dumps(body).encode()
                request.headers["Content-Length"] = str(len(request.body))
                self._local.dropped = drop
                with self._lock:
                    self.entries_failed[op] = self.entries_failed.get(op, 0) + len(drop)
        return None

    def _after_call(self, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        dropped = getattr(self._local, "dropped", [])
        if dropped and model.name in self.entry_ops:
            parsed.setdefault("Failed", []).extend(
                {
                    "Id": e["Id"],
                    "SenderFault": self.sender_fault,
                    "Code": "InvalidParameterValue" if self.sender_fault else "InternalError",
                    "Message": "injected",
                }
                for e in dropped
            )
        self._local.dropped = []
