"""docs/doctor.md is generated from the catalogue and the registry (scripts/gen_doctor_doc.py): every check is in
it, with its id and whether this evctl implements it, and the file is current."""

from __future__ import annotations

from pathlib import Path

from evctl.core.doctor import CATALOGUE, REGISTRY
from scripts.gen_doctor_doc import render

ROOT = Path(__file__).resolve().parent.parent


def test_every_check_is_documented_with_its_status() -> None:
    text = render()
    for info in CATALOGUE:
        assert f"### {info.id}: " in text, info.id
        status = "yes" if info.id in REGISTRY else "not yet"
        assert f"| {status} |" in next(line for line in text.splitlines() if line.startswith(f"| [{info.id}]("))
    for heading in ("## Exit codes", "## The permissions doctor needs", "evctl.doctor/1", "## Sources"):
        assert heading in text


def test_doctor_doc_is_current() -> None:
    current = (ROOT / "docs" / "doctor.md").read_text(encoding="utf-8")
    assert current == render(), "docs/doctor.md is stale: run `make docs` (scripts/gen_doctor_doc.py)"
