"""logs checks (catalogue §2)."""

from __future__ import annotations
