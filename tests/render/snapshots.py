"""Snapshot files for rendered text: tests/render/snapshots/<name>.txt.

A missing or different snapshot fails. `EVCTL_UPDATE_SNAPSHOTS=1 pytest tests/render` writes the missing and
different ones instead (then read the diff before committing it)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
# Read at import: the autouse isolated_aws fixture removes every EVCTL_ variable before a test runs.
UPDATE = os.environ.get("EVCTL_UPDATE_SNAPSHOTS") == "1"


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}: run EVCTL_UPDATE_SNAPSHOTS=1 pytest tests/render, then review it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True), text.splitlines(keepends=True), f"{path.name} (expected)", "rendered"
        )
        raise AssertionError("rendered text differs from its snapshot:\n" + "".join(diff))
