"""docs/doctor.md is generated from the catalogue and the registry (scripts/gen_doctor_doc.py): every check is in
it, with its id and whether this evctl implements it, and the file is current."""

from __future__ import annotations

import re
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


def _readme_check_ids() -> list[str]:
    """The check ids README's Common Mistakes section names (`Q-POLICY-1/2/3` is three)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The seed's common mistakes", 1)[1].split("\n## ", 1)[0]
    ids: list[str] = []
    for stem, first, more in re.findall(r"\b([A-Z]{1,2}-[A-Z]+-)(\d+)((?:/\d+)*)", section):
        ids.extend(stem + n for n in [first, *[m for m in more.split("/") if m]])
    return ids


def test_readme_common_mistakes_name_implemented_checks() -> None:
    ids = _readme_check_ids()
    catalogue = {info.id for info in CATALOGUE}
    assert len(set(ids)) >= 35
    assert [i for i in ids if i not in catalogue] == []
    assert [i for i in ids if i not in REGISTRY] == [], "README says every check it names is implemented"
