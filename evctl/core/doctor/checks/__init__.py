"""The implemented checks, one module per hop group of the catalogue; importing this package registers them all."""

from __future__ import annotations

from . import queue  # noqa: F401
