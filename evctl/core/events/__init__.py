"""events: being reorganised (issue 10)."""

from __future__ import annotations

from .entries import RETRYABLE_CODES, InvalidEntry, compact_json, entry_from_json, publish, validate_entry

__all__ = ["RETRYABLE_CODES", "InvalidEntry", "compact_json", "entry_from_json", "publish", "validate_entry"]
