"""The implemented checks, one module per hop group of the catalogue; importing this package registers them all."""

from __future__ import annotations

from . import (  # noqa: F401
    bus,
    dlq,
    flow,
    function,
    logs,
    mapping,
    mapping_filter,
    queue,
    queue_access,
    queue_kms,
    role,
    rule,
    target,
    target_dlq,
    target_fifo,
    target_input,
    target_role,
)
