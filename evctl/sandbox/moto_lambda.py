"""Lambda's LastModified as AWS keeps it, in the sandbox process: UpdateFunctionCode and UpdateFunctionConfiguration
set it to the time of the update (moto 5.1/5.2 keeps the creation time forever).

AWS: "LastModified — The date and time that the function was last updated" (Lambda API reference,
FunctionConfiguration). doctor reads it to ignore log lines older than the code (F-SHAPE-1, F-TIMEOUT-1): with
moto's value, a fixed handler's old errors were counted as current ones.

Counted (patches.Patch): apply() on each sandbox start, restore() on its stop; the last restore puts moto's methods
back, so an in-process sandbox leaves moto as it found it.
"""

from __future__ import annotations

import importlib
from typing import Any

from evctl.sandbox.patches import Patch, Replacement

METHODS = ("update_configuration", "update_function_code")


def _stamped(original: Any, stamp: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.last_modified = stamp()
        return original(self, *args, **kwargs)

    update.__wrapped__ = original  # type: ignore[attr-defined]
    return update


def _replacements() -> list[Replacement]:
    models: Any = importlib.import_module("moto.awslambda.models")
    function_class = models.LambdaFunction
    stamp = models.iso_8601_datetime_with_nanoseconds
    return [(function_class, name, _stamped(getattr(function_class, name), stamp)) for name in METHODS]


PATCH = Patch("Lambda LastModified set by updates", _replacements)
apply = PATCH.install
restore = PATCH.uninstall
