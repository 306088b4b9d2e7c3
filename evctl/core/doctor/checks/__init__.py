"""The implemented checks, one module per hop group of the catalogue; importing this package registers them all."""

from __future__ import annotations

from . import (  # noqa: F401
    bus,
    dlq,
    flow,
    function,
    logs,
    mapping,
    queue,
    queue_access,
    role,
    rule,
    target,
    target_dlq,
)
