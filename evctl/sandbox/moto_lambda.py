"""Lambda's LastModified as AWS keeps it, in the sandbox process: UpdateFunctionCode and UpdateFunctionConfiguration
set it to the time of the update (moto 5.1/5.2 keeps the creation time forever).

AWS: "LastModified — The date and time that the function was last updated" (Lambda API reference,
FunctionConfiguration). doctor reads it to ignore log lines older than the code (F-SHAPE-1, F-TIMEOUT-1): with
moto's value, a fixed handler's old errors were counted as current ones.

Counted like server.keep_moto_lambda_out: apply() on each sandbox start, restore() on its stop; the last restore
puts moto's methods back, so an in-process sandbox leaves moto as it found it.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

_lock = threading.Lock()
_users = 0
_originals: dict[str, Any] = {}
METHODS = ("update_configuration", "update_function_code")


def apply() -> None:
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        models: Any = importlib.import_module("moto.awslambda.models")
        function_class = models.LambdaFunction
        stamp = models.iso_8601_datetime_with_nanoseconds
        for name in METHODS:
            original = _originals[name] = getattr(function_class, name)
            setattr(function_class, name, _stamped(original, stamp))


def _stamped(original: Any, stamp: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.last_modified = stamp()
        return original(self, *args, **kwargs)

    update.__wrapped__ = original  # type: ignore[attr-defined]
    return update


def restore() -> None:
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users:
            return
        function_class: Any = importlib.import_module("moto.awslambda.models").LambdaFunction
        for name, original in _originals.items():
            setattr(function_class, name, original)
        _originals.clear()
